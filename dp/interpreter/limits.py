"""Limits on a running DP program, for embedders that run code they do not trust: a
step limit, a wall-clock timeout and cancellation from another thread. Each ends the
program with a DP runtime error at the line that was running.

- Steps are counted by the compiled code itself when the session is metered (code
  compiled while a limit was set: interpreter/meter.py). Code compiled before any
  limit was set is counted, if a step limit is set later, by a trace function that
  counts calls and backward jumps, which is slower.
- A timeout or a cancel raises a stop (a DPStop, which no `except Exception`
  catches) in the running thread with `PyThreadState_SetAsyncExc`; Python delivers
  it between two bytecodes, so an endless `while true {}` stops too. A single long
  call into C (a huge numpy operation) finishes first; metered code refuses, before
  making it, a call whose price is more than the time left (meter.py).

Where a stop may land. A stop is delivered only inside a *region*: while DP code
runs, or while a program is parsed, checked, derived and compiled. Between regions
the session does its bookkeeping (binding the globals a program defined, putting
them back when it failed), which a stop arriving half-way would leave half-done; a
stop that comes due there waits for the next region and is raised as it opens. As a
region closes, a stop sent but not yet arrived is let arrive, harmlessly, so none
is ever pending outside a region.

A stop is sticky: once one came due, every region the run opens raises it at once,
and a region that finishes normally raises it as it closes (so a stop that was
caught and dropped, by a gc callback, a `__del__` or a registered function with a
bare `except`, still ends the run). While DP code keeps running after its stop
arrived, the stop is sent again every REPOST seconds until the run ends.

The recursion limit is the session's `max_depth` (see session.py)."""
from __future__ import annotations

import functools
import sys
import threading
import time

from dp.dsl.diagnostics import Diagnostic, DPError

from .meter import StepLimit
from .runtime import DPStop

@functools.cache
def _raiser():
    """Raise an exception in a thread, delivered at its next check between bytecodes.
    (Withdrawing one with NULL is not used: on CPython 3.11 it leaves the eval loop's
    "pending" flag set, and a later trace function then hangs the thread.) Made with
    the first Guard (an embedded Interpreter): `dp run` never imports ctypes."""
    import ctypes
    return ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.py_object)(
        ("PyThreadState_SetAsyncExc", ctypes.pythonapi))


def _stop_kind(text: str, advice: str | None) -> type[DPStop]:
    return type("Stop", (DPStop,), {"text": text, "advice": advice})


def _sent(kind: type[DPStop]) -> type[DPStop]:
    """A class of its own for each stop sent, noting when it arrives (an asynchronous
    exception is raised by class: Python makes the instance in the target thread)."""
    def __init__(self, *args):
        type(self).arrived = True
        DPStop.__init__(self, *args)
    return type("Stop", (kind,), {"arrived": False, "__init__": __init__})


class _NoGuard:
    """A session run by no guard (the REPL, `dp run`): regions cost nothing."""

    def region(self):
        return _NOTHING

    shield = region

    def open(self):
        return None

    def close(self, token, failed=False):
        pass


class _Nothing:
    __slots__ = ()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


NO_GUARD, _NOTHING = _NoGuard(), _Nothing()


class _Region:
    """`with guard.region():` a stretch where a stop may be delivered (open), or
    `with guard.shield():` one where it may not (closed), nested in the run's stack."""
    __slots__ = ("guard", "open", "token")

    def __init__(self, guard: "Guard", open_: bool):
        self.guard, self.open = guard, open_

    def __enter__(self):
        g = self.guard
        self.token = len(g._stack)
        try:
            g._push(self.token, self.open)
        except DPStop:
            g._pop(self.token)
            raise
        return self

    def __exit__(self, kind, value, tb):
        self.guard._pop(self.token)
        if kind is None and self.open:
            due = self.guard._due
            if due is not None and self.guard._thread == threading.get_ident():
                raise due()               # it came while this ran, and was dropped or is late
        return False


class Guard:
    """Runs calls into DP one at a time, under the limits currently set."""

    IDLE_SECONDS = 5.0          # the watchdog thread ends after this long unused
    REPOST = 0.02               # a stop dropped while DP code runs is sent again this often

    def __init__(self, meter, sources=(), unmetered=lambda: False):
        self.meter = meter                    # the session's step counter (meter.py)
        self.sources = sources                # the files DP code is compiled from
        self.unmetered = unmetered            # whether the session has code compiled without limits
        self.max_steps: int | None = None
        self.timeout: float | None = None
        self._busy = threading.RLock()        # one program at a time; a host function may call back in
        self._lock = threading.Lock()         # guards the fields below
        self._wake = threading.Condition(self._lock)     # the watchdog waits on it
        self._thread: int | None = None       # the thread running DP code, while it does
        self._run = 0                         # counts runs, so a stop meant for one never hits the next
        self._stack: list[bool] = []          # the running thread's regions: True where a stop may land
        self._due: type[DPStop] | None = None  # the stop this run has come to (sticky)
        self._posted: type[DPStop] | None = None   # the last stop sent, maybe not arrived yet
        self._posted_at = 0.0
        self._deadline = None                 # (monotonic time, run, stop kind) while a timeout runs
        self._watchdog: threading.Thread | None = None
        _raiser()                             # made here, not in the watchdog as a stop is sent

    def region(self) -> _Region:
        return _Region(self, True)

    def shield(self) -> _Region:
        return _Region(self, False)

    def open(self):
        """Open a region around a call into DP code (a `with guard.region()` without the
        object, for the calls from Python: they are many): a token for close()."""
        if self._thread != threading.get_ident():
            return None
        token = len(self._stack)
        try:
            self._push(token, True)
        except DPStop:
            self._pop(token)
            raise
        return token

    def close(self, token, failed: bool = False) -> None:
        """Close the region open() opened; a stop that came due while it ran is raised
        here unless the call failed anyway (as a region's exit does)."""
        if token is None:
            return
        self._pop(token)
        if not failed and self._due is not None and self._thread == threading.get_ident():
            raise self._due()

    # ------------------------------------------------------------------ runs
    def run(self, fn):
        with self._busy:
            if self._thread == threading.get_ident():       # a nested call: the outer run guards it
                return fn()
            return self._outermost(fn)

    def _outermost(self, fn):
        traced = self.max_steps is not None and self.unmetered()
        try:
            with self._lock:
                self._run += 1
                self._thread = threading.get_ident()
                self._stack, self._due, self._posted = [], None, None
                self.meter.start(self.max_steps, self.timeout)
                if self.timeout is not None:
                    self._arm(self.timeout)
            if traced:
                old_trace = sys.gettrace()
                sys.settrace(self._step_tracer(self.meter, self.sources))
            try:
                return fn()
            finally:
                if traced:
                    sys.settrace(old_trace)
                self._end()
        except DPStop as stop:       # raised outside DP code: as a region opened or closed
            raise DPError(Diagnostic("runtime error", stop.message, None, stop.hint)) from None

    def _end(self):
        with self._lock:
            self._thread, self._deadline, self._due = None, None, None
            self._stack = []
            sent, self._posted = self._posted, None
            self.meter.end()
        _drain(sent)

    # ------------------------------------------------------------------ regions
    def _push(self, token: int, open_: bool) -> None:
        with self._lock:
            if self._thread != threading.get_ident():
                return                        # not a guarded run (a session used directly)
            del self._stack[token:]
            was_open = bool(self._stack) and self._stack[-1]
            if open_ and self._due is not None:
                raise self._due()             # sticky: a run that came to a stop goes no further
            self._stack.append(open_)
            sent = None
            if was_open and not open_:
                sent, self._posted = self._posted, None
        _drain(sent)

    def _pop(self, token: int) -> None:
        sent, due = None, None
        while True:
            try:
                with self._lock:
                    if self._thread != threading.get_ident():
                        return
                    if len(self._stack) > token:           # not done yet (a retry finds it done)
                        was_open = self._stack[-1]
                        del self._stack[token:]
                        now_open = bool(self._stack) and self._stack[-1]
                        if was_open and not now_open:
                            sent, self._posted = self._posted, None
                        elif now_open and not was_open and self._due is not None:
                            due = self._due               # back in DP code after a shield it waited behind
                break
            except DPStop:            # the stop sent arrived just now: it is handled below
                continue
        _drain(sent)
        if due is not None:
            raise due()

    # ------------------------------------------------------------------ stopping
    def _come_due(self, run: int, kind: type[DPStop]) -> bool:
        """Run `run` is to stop with kind, if it is still going (the lock is held)."""
        if self._thread is None or self._run != run:
            return False
        if self._due is None:
            self._due = kind
            self.meter.halt(kind)             # metered code raises it at its next step
            if self._stack and self._stack[-1]:
                self._send()
        return True

    def _send(self) -> None:
        _quiet_unraisable()
        sent = _sent(self._due)
        self._posted, self._posted_at = sent, time.monotonic()
        _raiser()(self._thread, sent)

    def cancel(self) -> bool:
        """Stop the program running now, from any thread; False if none is running."""
        with self._lock:
            done = self._come_due(self._run, _stop_kind("cancelled", "the embedding program called `cancel()`"))
            if done:
                self._ensure_watchdog()
            return done

    # ------------------------------------------------------------------ the watchdog
    def _arm(self, seconds: float) -> None:
        kind = _stop_kind(f"time limit exceeded: the program ran longer than {seconds:g} s",
                          "it may not end; or raise the interpreter's `timeout`")
        self._deadline = (time.monotonic() + seconds, self._run, kind)
        self._ensure_watchdog()

    def _ensure_watchdog(self) -> None:
        if self._watchdog is None:
            self._watchdog = threading.Thread(target=self._watch, name="dp-timeout", daemon=True)
            self._watchdog.start()
        else:
            self._wake.notify()

    def _watch(self) -> None:
        with self._wake:
            while True:
                now = time.monotonic()
                if self._deadline is not None and now >= self._deadline[0]:
                    _, run, kind = self._deadline
                    self._deadline = None
                    self._come_due(run, kind)
                if self._due is not None and self._thread is not None:
                    self._send_again(now)
                    self._wake.wait(self.REPOST)
                    continue
                if self._deadline is not None:
                    self._wake.wait(self._deadline[0] - now)
                    continue
                if not self._wake.wait(self.IDLE_SECONDS) and self._deadline is None and self._due is None:
                    self._watchdog = None
                    return

    def _send_again(self, now: float) -> None:
        """A stop that arrived and was dropped while DP code goes on is sent again."""
        if not (self._stack and self._stack[-1]):
            return
        sent = self._posted
        if sent is None:
            self._send()
            return
        if not sent.arrived or now - self._posted_at < self.REPOST:
            return
        frame = sys._current_frames().get(self._thread)
        if frame is not None and frame.f_code.co_filename in self.sources:
            self._send()

    # ------------------------------------------------------------------ steps of code compiled without limits
    @staticmethod
    def _step_tracer(meter, sources):
        """Counts, in code compiled before any limit was set, what metered code counts
        itself: a step per call and per backward jump (a line event on a line not
        after the previous one)."""
        steps = meter.steps

        def on_call(frame, event, arg):
            code = frame.f_code
            if code.co_filename not in sources or "rt·steps" in code.co_names:
                return None
            for _ in steps:
                break
            else:
                meter.out()
            last = frame.f_lineno

            def on_line(frame, event, arg):
                nonlocal last
                if event == "line":
                    if frame.f_lineno <= last:
                        for _ in steps:
                            break
                        else:
                            meter.out()
                    last = frame.f_lineno
                return on_line
            return on_line
        return on_call


def _drain(sent) -> None:
    """A stop sent but not arrived yet arrives at the next check between bytecodes: let
    it arrive here, where it stops nothing."""
    if sent is None:
        return
    for _ in range(100_000):
        if sent.arrived:
            return
        try:
            for _ in range(10):
                pass
        except DPStop:
            pass


_unraisable_hook = None


def _quiet_unraisable() -> None:
    """A stop that lands in a gc callback or a `__del__` cannot propagate; Python
    reports it on stderr as unraisable. It is sent again (see the module's doc), so
    say nothing of it; anything else goes to the hook that was there before."""
    global _unraisable_hook
    if _unraisable_hook is not None and sys.unraisablehook is _unraisable_hook:
        return
    previous = sys.unraisablehook

    def hook(info):
        if isinstance(info.exc_value, DPStop):
            return
        previous(info)
    _unraisable_hook = sys.unraisablehook = hook


__all__ = ["Guard", "NO_GUARD", "StepLimit"]
