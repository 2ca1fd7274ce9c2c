"""Running DP: compile checked syntax trees to Python code objects and run them."""

VERSION = "0.1.0"
