"""`progress(xs)`: the list xs itself, and, while a `for` loop runs over it, a progress
bar: on a terminal, in the Jupyter kernel as a line of text it rewrites, and nothing
at all when the output is neither (a pipe, a file, a test) or when the loop is quick.

    for step in progress(0..1000) { … }     # `a..b` as an argument is the list a … b-1

The bar is a capability like printing: a session shows none until its owner gives it
a sink (`dp run` and the REPL when stderr is a terminal, the kernel always)."""
from __future__ import annotations

import sys
import time

DELAY = 0.5          # seconds a loop runs before its bar appears
INTERVAL = 0.1       # seconds between redraws


class Progress:
    def __init__(self, session):
        self.output = session.runtime.output
        self.sink = None             # a callable given each line of text ("\r…"), or None: no bar
        from dp.dsl import primitives as P
        from .runtime import prim_py_name
        for p in P.BY_NAME.get("progress", []):
            session.runtime.ns[prim_py_name(p)] = self.wrap

    def wrap(self, xs):
        if self.sink is None or self.output.muted:
            return xs
        return Tracked(xs, self.sink)


class Tracked(list):
    """A list whose iteration draws a bar. Copied or indexed, it is a plain list."""

    def __init__(self, xs, sink):
        super().__init__(xs)
        self.sink = sink

    def __iter__(self):
        n, start, last, shown, done = len(self), time.monotonic(), 0.0, False, 0
        try:
            for x in list.__iter__(self):
                yield x
                done += 1
                now = time.monotonic()
                if now - start >= DELAY and now - last >= INTERVAL:
                    self.sink("\r" + bar(done, n, now - start))
                    last, shown = now, True
        finally:                       # the loop ended, by its end, a `break` or an error
            if shown:
                self.sink("\r" + bar(done, n, time.monotonic() - start) + "\n")


def bar(done: int, total: int, elapsed: float, width: int = 30) -> str:
    frac = done / total if total else 1.0
    filled = int(round(frac * width))
    rate = done / elapsed if elapsed > 0 else 0.0
    eta = (total - done) / rate if rate > 0 else 0.0
    return (f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} "
            f"{_clock(elapsed)} elapsed, {_clock(eta)} left")


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 60}:{s % 60:02d}" if s < 3600 else f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def terminal_sink(stream=None):
    """A sink writing to stream (stderr) if it is a terminal, else None: no bar."""
    stream = stream or sys.stderr
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    if not tty:
        return None

    def write(text: str) -> None:
        stream.write(text)
        stream.flush()
    return write
