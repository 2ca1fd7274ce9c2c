"""Shared helpers: run DP source and capture what it prints."""
from __future__ import annotations

from dsl.diagnostics import DPError
from interpreter.runtime import Output
from interpreter.session import Session


class Captured(Output):
    def __init__(self):
        self.lines: list[str] = []
        self.write = self.lines.append

    @property
    def text(self) -> str:
        return "".join(self.lines)


def run(src: str, file: str = "test.dp") -> str:
    """Run DP source in a fresh session; return what it printed."""
    out = Captured()
    Session(out).run(src, file)
    return out.text


def session() -> tuple[Session, Captured]:
    out = Captured()
    return Session(out), out


def error_of(src: str, file: str = "test.dp") -> DPError:
    try:
        run(src, file)
    except DPError as e:
        return e
    raise AssertionError("expected a DP error")
