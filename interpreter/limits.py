"""Limits on a running DP program, for embedders that run code they do not trust:
a step limit, a wall-clock timeout, and cancellation from another thread. Each ends
the program with a DP runtime error at the line that was running.

Nothing here runs while no limit is set, except a lock taken once per call from
Python into DP (so that `cancel()` knows which thread to stop):

- steps are counted by a trace function (`sys.settrace`) that is installed only
  while a step limit is set; a step is one instruction of DP's compiled code (a
  simple statement takes a few), and code outside DP is not counted;
- a timeout or a cancel raises an exception in the running thread with
  `PyThreadState_SetAsyncExc`, which Python delivers between two bytecodes, so an
  endless `while true {}` stops too. A single long call into C (a huge integer
  power, a numpy operation) finishes before the exception is seen.

The recursion limit is the session's `max_depth` (see session.py)."""
from __future__ import annotations

import ctypes
import sys
import threading
import time

from dsl.diagnostics import Diagnostic, DPError

from .runtime import DPRuntimeError


class Stop(DPRuntimeError):
    """Raised inside a running DP program to end it. An asynchronous exception is
    raised by class, so each stop sent is a class of its own, carrying its message
    and noting when it arrives."""
    text = "stopped"
    advice: str | None = None
    arrived = False

    def __init__(self, *args):
        type(self).arrived = True
        super().__init__(self.text, self.advice)


def _stop_class(text: str, advice: str | None) -> type[Stop]:
    return type("Stop", (Stop,), {"text": text, "advice": advice})


# Raise an exception in a thread, delivered at its next check between bytecodes.
# (Withdrawing one with NULL is not used: on CPython 3.11 it leaves the eval loop's
# "pending" flag set, and a later trace function then hangs the thread.)
_raise_in = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.py_object)(
    ("PyThreadState_SetAsyncExc", ctypes.pythonapi))


class Guard:
    """Runs calls into DP one at a time, under the limits currently set."""

    IDLE_SECONDS = 5.0                        # the watchdog thread ends after this long unused

    def __init__(self, sources=()):
        self.sources = sources                # the files DP code is compiled from: its steps are counted
        self.max_steps: int | None = None
        self.timeout: float | None = None
        self._busy = threading.RLock()        # one program at a time; a host function may call back in
        self._lock = threading.Lock()         # guards the fields below
        self._wake = threading.Condition(self._lock)     # the watchdog waits on it
        self._thread: int | None = None       # the thread running DP code, while it does
        self._run = 0                         # counts runs, so a stop meant for one never hits the next
        self._posted = None                   # the stop sent to this run, if one was
        self._deadline = None                 # (monotonic time, run, stop class) while a timeout runs
        self._watchdog: threading.Thread | None = None

    def run(self, fn):
        with self._busy:
            if self._thread == threading.get_ident():       # a nested call: the outer run guards it
                return fn()
            return self._outermost(fn)

    def _outermost(self, fn):
        traced = self.max_steps is not None
        try:
            try:
                with self._lock:
                    self._run += 1
                    self._thread, self._posted = threading.get_ident(), None
                    if self.timeout is not None:
                        self._arm(self.timeout)
                if traced:
                    old_trace = sys.gettrace()
                    sys.settrace(self._step_tracer(self.max_steps, self.sources))
                return fn()
            finally:
                # At most one stop is sent per run, and it can arrive in any call:
                # finishing again after it is safe, and after _finish none is pending.
                while True:
                    try:
                        self._finish()
                        break
                    except Stop:
                        continue
                if traced:
                    sys.settrace(old_trace)
        except Stop as stop:       # arrived outside DP code, as the program was ending
            raise DPError(Diagnostic("runtime error", stop.message, None, stop.hint)) from None

    def _finish(self):
        with self._lock:
            self._thread, self._deadline = None, None
            sent, self._posted = self._posted, None
        if sent is not None:
            # A stop was sent: if it has not arrived yet, it arrives at the next
            # check, so let it arrive here, where it stops nothing.
            for _ in range(10_000):
                if sent.arrived:
                    break
                try:
                    for _ in range(10):
                        pass
                except Stop:
                    pass

    def _post(self, run: int, exc: type[Stop]) -> bool:
        """Stop run `run` with exc, if it is still running (the lock is held)."""
        if self._thread is None or self._run != run or self._posted is not None:
            return False
        self._posted = exc
        _raise_in(self._thread, exc)
        return True

    def cancel(self) -> bool:
        """Stop the program running now, from any thread; False if none is running."""
        with self._lock:
            return self._post(self._run, _stop_class("cancelled", "the embedding program called `cancel()`"))

    # ------------------------------------------------------------------ the timeout
    def _arm(self, seconds: float) -> None:
        exc = _stop_class(f"time limit exceeded: the program ran longer than {seconds:g} s",
                          "it may not end; or raise the interpreter's `timeout`")
        self._deadline = (time.monotonic() + seconds, self._run, exc)
        if self._watchdog is None:
            self._watchdog = threading.Thread(target=self._watch, name="dp-timeout", daemon=True)
            self._watchdog.start()
        else:
            self._wake.notify()

    def _watch(self) -> None:
        with self._wake:
            while True:
                if self._deadline is None:
                    if not self._wake.wait(self.IDLE_SECONDS) and self._deadline is None:
                        self._watchdog = None
                        return
                    continue
                when, run, exc = self._deadline
                now = time.monotonic()
                if now < when:
                    self._wake.wait(when - now)
                    continue
                self._deadline = None
                self._post(run, exc)

    # ------------------------------------------------------------------ steps
    @staticmethod
    def _step_tracer(limit: int, sources):
        """Counts the instructions DP's compiled code executes. (Lines would read
        better but do not do: a loop on one line, `while true {}`, has no line events.)"""
        left = limit

        def on_opcode(frame, event, arg):
            nonlocal left
            if event == "opcode":
                left -= 1
                if left < 0:
                    raise _StepLimit(limit)
            return on_opcode

        def on_call(frame, event, arg):
            if frame.f_code.co_filename in sources:
                frame.f_trace_opcodes = True
                return on_opcode
            return None
        return on_call


class _StepLimit(Stop):
    def __init__(self, limit: int):
        DPRuntimeError.__init__(self, f"step limit exceeded: the program took more than {limit} steps",
                                "it may not end; or raise the interpreter's `max_steps`")
