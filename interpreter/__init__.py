"""Running DP: compile checked syntax trees to Python code objects and run them."""
