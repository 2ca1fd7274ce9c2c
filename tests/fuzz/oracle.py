"""The fuzzers' oracle: an input, run in-process by an embedded Interpreter under
limits, must end as a result or a DPError. Anything else is a finding:

- "exception": a Python exception other than DPError reached the embedder;
- "internal": a DPError that is DP's own bug ("internal error", "please report it");
- "hang": the call took longer than the timeout allows (plus SLACK seconds of CPU
  time: a loaded machine that does not run the process for a while is no hang);
- "stderr": Python wrote to stderr (a warning, an "Exception ignored" report);
- "broken": afterwards the interpreter no longer evaluates `1 + 1` (a failed or
  stopped input must leave the session as it was).

A host crash (a segfault) ends the process: the campaign script runs the oracle in
worker processes and reports the input a worker died on."""
from __future__ import annotations

import contextlib
import io
import time
import traceback
from dataclasses import dataclass

from dp.dsl.diagnostics import DPError
from dp.interpreter.embed import Interpreter
from dp.interpreter.files import decode_source

TIMEOUT = 1.0
MAX_STEPS = 300_000
MAX_DEPTH = 200
SLACK = 1.5                 # CPU seconds past the timeout that count as a hang (gc, a stop arriving)
WALL_SLACK = 20.0           # wall-clock seconds past it: a loaded machine may not run us for a while


@dataclass
class Outcome:
    kind: str               # "ok", "dp-error", or a finding: "exception", "internal", "hang", "stderr", "broken"
    detail: str = ""
    seconds: float = 0.0

    @property
    def finding(self) -> bool:
        return self.kind not in ("ok", "dp-error")


class Runner:
    """Runs inputs one after another in one interpreter (as a REPL session would),
    starting a fresh one every `fresh` inputs."""

    def __init__(self, fresh: int = 40, timeout: float = TIMEOUT, max_steps: int = MAX_STEPS):
        self.fresh, self.timeout, self.max_steps = fresh, timeout, max_steps
        self.dp = None
        self.count = 0
        self.printed = 0

    def _interpreter(self) -> Interpreter:
        if self.dp is None or self.count % self.fresh == 0:
            self.dp = Interpreter(timeout=self.timeout, max_steps=self.max_steps, max_depth=MAX_DEPTH,
                                  stdout=self._sink)
        self.count += 1
        return self.dp

    def _sink(self, text: str) -> None:
        self.printed += len(text)
        if self.printed > 10_000_000:
            raise MemoryError("the fuzz input printed more than 10 MB")   # becomes a DP runtime error

    def run(self, source, file: str = "<fuzz>") -> Outcome:
        dp = self._interpreter()
        self.printed = 0
        err = io.StringIO()
        start, cpu = time.perf_counter(), time.thread_time()
        kind, detail = "ok", ""
        with contextlib.redirect_stderr(err):
            try:
                text = decode_source(source, file) if isinstance(source, bytes) else source
                dp.load(text, file)
            except DPError as e:
                kind, detail = "dp-error", e.first.kind + ": " + e.message
                if any(d.kind == "internal error" or d.message.startswith("internal error")
                       or "please report it" in (d.hint or "") for d in e.diagnostics):
                    kind, detail = "internal", e.render()       # a DP diagnostic, but a bug of DP's
            except KeyboardInterrupt:
                raise
            except BaseException as e:          # noqa: BLE001 — what the oracle is for
                kind, detail = "exception", "".join(traceback.format_exception(e))
            elapsed, used = time.perf_counter() - start, time.thread_time() - cpu
            if kind not in ("exception",):
                try:
                    if dp.eval("1 + 1") != 2:
                        kind, detail = "broken", "1 + 1 is not 2 afterwards"
                except BaseException as e:      # noqa: BLE001
                    kind, detail = "broken", "".join(traceback.format_exception(e))
        if used > self.timeout + SLACK or elapsed > self.timeout + WALL_SLACK:
            kind, detail = "hang", (f"{elapsed:.2f} s ({used:.2f} s of CPU) under a {self.timeout} s timeout "
                                    f"({kind}: {detail[:200]})")
        if err.getvalue() and kind in ("ok", "dp-error"):
            kind, detail = "stderr", err.getvalue()[:2000]
        if kind == "exception":
            self.dp = None                      # start afresh after a finding
        return Outcome(kind, detail, elapsed)
