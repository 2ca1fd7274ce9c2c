"""What a cell asks for besides DP code: `%time` before a line or `%%time` heading the
cell (time it), and the REPL's commands (`:type EXPR`, `:grad NAME`, …)."""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass
class Cell:
    code: str                 # the DP source to run ('' when there is none)
    timed: bool = False       # report how long it took
    command: str | None = None   # a REPL command line, `:type x`


def read(text: str) -> Cell:
    stripped = text.strip()
    if stripped.startswith("%%time"):
        first, _, rest = text.lstrip().partition("\n")
        if first.strip() != "%%time":
            return Cell(text)                     # `%%timeit` & co.: DP says it cannot read it
        return Cell(rest, timed=True)
    m = re.match(r"\s*%time[ \t]+(.*)", text, re.S)
    if m:
        return Cell(m.group(1), timed=True)
    if stripped.startswith(":") and "\n" not in stripped:
        return Cell("", command=stripped)
    return Cell(text)


def duration(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.3f} s"
