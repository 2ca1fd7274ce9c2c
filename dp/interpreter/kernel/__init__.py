"""DP's Jupyter kernel (`dp kernel install`): an ipykernel wrapper kernel around one DP
session. kernel.py runs cells, completes and inspects; install.py registers the
kernel spec; cells.py reads a cell's `%time` / `%%time` and the REPL's `:` commands."""
