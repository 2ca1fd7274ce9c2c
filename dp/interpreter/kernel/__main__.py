"""`python -m dp.interpreter.kernel -f CONNECTION_FILE`: what Jupyter runs (kernel.json)."""
from dp.interpreter.kernel.kernel import launch

raise SystemExit(launch(None))
