"""Shared helpers: run DP source and capture what it prints; the examples, run once."""
from __future__ import annotations

import copy
import sys

from dp.dsl import syntax as S
from dp.dsl.diagnostics import DPError
from dp.dsl.parser import parse
from dp.interpreter.runtime import Output
from dp.interpreter.session import Session


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


# ---------------------------------------------------------------- the examples, run once per test run


class Example:
    """The example run in A (where its derivatives are made, with the arguments its
    functions are first called with recorded) and in B (where printed text is loaded)."""

    def __init__(self, path: str):
        self.path = path
        with open(path, encoding="utf-8") as f:
            self.text = f.read()
        self.a = Session(Captured())
        names = {s.name for s in parse(self.text, path).body if isinstance(s, S.FnDef)}
        self.calls = _recording(lambda: self.a.run(self.text, path), path, names)
        self._b = None

    @property
    def b(self) -> Session:
        if self._b is None:
            self._b = Session(Captured())
            self._b.run(self.text, self.path)
            self.b_env = self._b.env
        return self._b

    def load_printed(self, text: str, label: str):
        """Load text into B beside the example alone: B's globals are the example's."""
        self.b.env = self.b_env
        self.b.run(text, f"<printed {label}>")

    def arguments(self, fn: S.FnDef):
        """The arguments fn (or a derivative of it) was first called with, else None."""
        n = len(fn.params)
        got = self.calls.get(fn.sym.py)
        if got is None:
            for d in self.a.ad.by_name.values():
                if d.source is fn and d.py in self.calls and len(self.calls[d.py]) >= n:
                    got = self.calls[d.py]
                    break
        return None if got is None else got[:n]


def _recording(run, path: str, names: set[str]) -> dict:
    """Run, noting the arguments of the first call of each function compiled from
    path, until the functions named (Python names) have all been called."""
    calls: dict = {}
    waiting = set(names)

    def trace(frame, event, arg):                 # called for each new frame only
        code = frame.f_code
        if code.co_filename == path and code.co_name not in calls:
            try:
                calls[code.co_name] = [copy.deepcopy(frame.f_locals[v]) for v in code.co_varnames[:code.co_argcount]]
            except Exception:                     # noqa: BLE001 — a value that cannot be copied: not recorded
                pass
            waiting.discard(code.co_name)
            if not waiting:
                sys.settrace(None)                # tracing slows the run several times over
        return None
    old = sys.gettrace()
    sys.settrace(trace)
    try:
        run()
    finally:
        sys.settrace(old)
    return calls


_EXAMPLES: dict[str, "Example"] = {}


def example(path: str) -> "Example":
    """The example at path, run (once per test run: tests that only derive and print
    share it)."""
    if path not in _EXAMPLES:
        _EXAMPLES[path] = Example(path)
    return _EXAMPLES[path]


