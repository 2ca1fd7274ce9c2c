"""Python exceptions raised while DP code runs → DP diagnostics.

Compiled code carries DP spans as its Python positions, so the innermost DP frame's
current instruction position is the failing DP expression, and the outer DP frames'
positions are their call sites. No bookkeeping runs while the program runs."""
from __future__ import annotations

from dsl.diagnostics import SOURCES, Diagnostic
from dsl.span import Span

from .runtime import DPRuntimeError

_MESSAGES = {
    ZeroDivisionError: ("division by zero", "check the divisor before dividing"),
    IndexError: ("index out of range", "valid indices of a list of n elements are 0 … n-1 (and -n … -1 from the end)"),
    KeyError: (None, "check with `d.contains(k)` or use `d.get(k, default)`"),
    RecursionError: ("recursion too deep", "does the recursion reach its base case?"),
    OverflowError: ("numeric overflow", "a value grew beyond the float range"),
    ValueError: ("math domain error", "the argument is outside the function's domain (log of a negative, sqrt of a negative, …)"),
}


def frame_span(code, lasti: int) -> Span | None:
    if code.co_filename not in SOURCES._texts:
        return None
    positions = list(code.co_positions())
    idx = lasti // 2
    if idx >= len(positions):
        return None
    line, end_line, col, end_col = positions[idx]
    if line is None:
        return None
    return Span(code.co_filename, line, (col or 0) + 1, end_line or line, (end_col or col or 0) + 1)


def dp_name(code) -> str:
    name = code.co_name
    if name == "<module>":
        return "<top level>"
    return name.split("·")[0]


def runtime_diagnostic(exc: BaseException) -> Diagnostic:
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        span = frame_span(tb.tb_frame.f_code, tb.tb_lasti)
        if span is not None:
            frames.append((dp_name(tb.tb_frame.f_code), span))
        tb = tb.tb_next
    if isinstance(exc, DPRuntimeError):
        message, hint = exc.message, exc.hint
    elif isinstance(exc, KeyError):
        from .values import format_value
        key = exc.args[0] if exc.args else "?"
        message, hint = f"key {format_value(key, False)} is not in the dict", _MESSAGES[KeyError][1]
    elif isinstance(exc, NameError) and getattr(exc, "name", None):
        # a function called at the top level before a global it reads is defined
        name = exc.name.split("·")[0]
        message = f"`{name}` is used before its definition has run"
        hint = f"move `{name}`'s definition above the statement that led here"
    elif isinstance(exc, IndexError) and str(exc) == "pop from empty list":
        message, hint = "pop from an empty list", "check `len(xs) > 0` before popping"
    elif isinstance(exc, KeyboardInterrupt):
        message, hint = "interrupted", None
    else:
        message, hint = None, None
        for cls, (m, h) in _MESSAGES.items():
            if isinstance(exc, cls):
                message, hint = m, h
                break
        if isinstance(exc, ValueError) and str(exc) and "domain" not in str(exc):
            message = str(exc)
            if any(w in message for w in ("shape", "broadcast", "dimension", "matmul", "reshape")):
                hint = "the tensors' shapes do not fit together here; `shape(t)` shows a tensor's shape"
            else:
                hint = None
        if message is None:
            message, hint = f"internal error: {type(exc).__name__}: {exc}", "this is a bug in DP; please report it"
    span = frames[-1][1] if frames else None
    stack = frames if len(frames) > 1 else []     # the failing function is named last
    if len(stack) > 12:                         # deep recursion: the ends tell the story
        stack = stack[:5] + [(f"… {len(stack) - 10} more calls …", stack[5][1])] + stack[-5:]
    return Diagnostic("runtime error", message, span, hint, stack=stack)
