"""The `dp lsp` and `dp kernel` commands: DP's editor and notebook services, whose
packages are optional extras (`pip install "dp-lang[lsp]"`, `"dp-lang[jupyter]"`)."""
from __future__ import annotations

import argparse
import sys

COMMANDS = ("lsp", "kernel")


def add_commands(sub) -> None:
    sub.add_parser("lsp", help="run DP's language server on stdin and stdout (for editors)")
    k = sub.add_parser("kernel", help="the Jupyter kernel: `dp kernel install` registers it")
    ks = k.add_subparsers(dest="kernel_command", required=True)
    i = ks.add_parser("install", help="register the DP kernel with Jupyter")
    where = i.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="for this user only (the default)")
    where.add_argument("--sys-prefix", action="store_true", help="in this Python environment (sys.prefix)")
    where.add_argument("--prefix", metavar="DIR", help="under DIR/share/jupyter/kernels")
    r = ks.add_parser("run", help="start the kernel (what Jupyter runs)")
    r.add_argument("-f", dest="connection_file", metavar="FILE", help="the connection file Jupyter gives")


def _missing(what: str, extra: str, package: str) -> int:
    package = package.split(".")[0]
    print(f"dp: {what} needs the Python package `{package}`, which is not installed\n"
          f"  hint: pip install \"dp-lang[{extra}]\"", file=sys.stderr)
    return 2


def run(ns: argparse.Namespace) -> int:
    if ns.command == "lsp":
        try:
            from interpreter.lsp.server import main
        except ImportError as e:
            return _missing("`dp lsp`", "lsp", e.name or "pygls")
        return main()
    if ns.kernel_command == "install":
        try:
            from interpreter.kernel.install import install
        except ImportError as e:
            return _missing("`dp kernel install`", "jupyter", e.name or "jupyter_client")
        where = "sys-prefix" if ns.sys_prefix else ns.prefix if ns.prefix else "user"
        return install(where)
    try:
        from interpreter.kernel.kernel import launch
    except ImportError as e:
        return _missing("`dp kernel`", "jupyter", e.name or "ipykernel")
    return launch(ns.connection_file)
