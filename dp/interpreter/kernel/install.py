"""`dp kernel install`: register DP's kernel spec with Jupyter."""
from __future__ import annotations

import json
import os
import sys
import tempfile

from jupyter_client.kernelspec import KernelSpecManager

from dp.interpreter import VERSION


def kernel_spec() -> dict:
    return {
        "argv": [sys.executable, "-m", "dp.interpreter.kernel", "-f", "{connection_file}"],
        "display_name": "DP",
        "language": "dp",
        "interrupt_mode": "signal",
        "metadata": {"dp_version": VERSION},
    }


def install(where: str = "user", name: str = "dp") -> int:
    """where: "user" (the user's Jupyter directory), "sys-prefix" (this Python
    environment's), or a directory prefix (DIR/share/jupyter/kernels)."""
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "kernel.json"), "w", encoding="utf-8") as f:
            json.dump(kernel_spec(), f, indent=2)
        ksm = KernelSpecManager()
        if where == "user":
            dest = ksm.install_kernel_spec(d, name, user=True)
        elif where == "sys-prefix":
            dest = ksm.install_kernel_spec(d, name, prefix=sys.prefix)
        else:
            dest = ksm.install_kernel_spec(d, name, prefix=os.path.abspath(where))
    print(f"installed the DP kernel `{name}` in {dest}")
    return 0
