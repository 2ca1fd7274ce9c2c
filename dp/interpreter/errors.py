"""Python exceptions raised while DP code runs → DP diagnostics.

Compiled code carries DP spans as its Python positions, so the innermost DP frame's
current instruction position is the failing DP expression, and the outer DP frames'
positions are their call sites. No bookkeeping runs while the program runs."""
from __future__ import annotations

import re

from dp.dsl import lazy_numpy
from dp.dsl.diagnostics import Diagnostic, SourceRegistry
from dp.dsl.span import Span

from .runtime import DPRuntimeError, DPStop

np = lazy_numpy.module(globals())          # numpy, imported when a program first needs it

_MESSAGES = {
    ZeroDivisionError: ("division by zero", "check the divisor before dividing"),
    IndexError: ("index out of range", "valid indices of a list of n elements are 0 … n-1 (and -n … -1 from the end)"),
    KeyError: (None, "check with `d.contains(k)` or use `d.get(k, default)`"),
    RecursionError: ("recursion too deep", "does the recursion reach its base case?"),
    OverflowError: ("numeric overflow", "a value grew beyond the float range"),
    ValueError: ("math domain error", "the argument is outside the function's domain (log of a negative, sqrt of a negative, …)"),
}


def tb_last(exc: BaseException, sources: SourceRegistry):
    """The traceback entry of the innermost DP frame (where the failing expression is):
    DP code is compiled from the files a session's sources hold."""
    tb, last = exc.__traceback__, None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename in sources:
            last = tb
        tb = tb.tb_next
    return last


def _axes(n: int) -> str:
    return f"{n}-D tensor" if n else "tensor with no axes"


def _numpy_diagnostic(exc: BaseException, tb) -> tuple[str, str | None] | None:
    """numpy's and the tensor primitives' exceptions that a DP program can cause, as a
    message and a hint; None for anything else."""
    text = str(exc).strip()
    if lazy_numpy.loaded() and isinstance(exc, np.exceptions.AxisError):
        m = re.match(r"axis (-?\d+) is out of bounds for array of dimension (\d+)", text)
        if m:
            axis, n = int(m[1]), int(m[2])
            if n == 0:
                return (f"axis {axis} is out of range: the tensor has no axes",
                        "a tensor with no axes is a single number; it has no axis to reduce or join along")
            return (f"axis {axis} is out of range for a {n}-D tensor",
                    f"an axis of a {n}-D tensor is -{n} … {n - 1} (negative axes count from the end)")
        return text, "`shape(t)` shows a tensor's shape; its length is the number of axes"
    if isinstance(exc, MemoryError):
        m = re.search(r"(\d+(?:\.\d+)? [KMGTPE]?i?B) for an array with shape (\([\d, ]*\))", text)
        what = f"a tensor of shape {m[2]} ({m[1]})" if m else "this tensor"
        return (f"not enough memory for {what}",
                "make the tensor smaller: a tensor of floats takes 8 bytes per element")
    if isinstance(exc, IndexError):
        return _index_diagnostic(text, tb)
    if isinstance(exc, TypeError):
        if text.startswith("object of type 'numpy.") and text.endswith("has no len()"):
            return ("len of a tensor with no axes",
                    "a tensor with no axes (such as `a[i]` of a 1-D `a`) is a single number; "
                    "`shape(t)` shows a tensor's shape")
        return None
    if not isinstance(exc, ValueError):
        return None
    if text.startswith("need at least one array to "):
        what = "concat" if text.endswith("concatenate") else "stack"
        return (f"`{what}` of an empty list", f"`{what}` needs at least one tensor to know the result's shape")
    m = re.match(r"zero-size array to reduction operation (maximum|minimum) which has no identity", text)
    if m:
        what = "max" if m[1] == "maximum" else "min"
        return (f"`{what}` of an empty tensor",
                f"an empty tensor has no {'largest' if what == 'max' else 'smallest'} element; "
                "check its size with `shape(t)` first")
    m = re.match(r"attempt to get (argmax|argmin) of an empty sequence", text)
    if m:
        return (f"`{m[1]}` of an empty tensor",
                "an empty tensor has no element to point at; check its size with `shape(t)` first")
    m = re.match(r"Number of samples, (-?\d+), must be non-negative", text)
    if m:
        return (f"`linspace` cannot make {m[1]} points", "the number of points must be 0 or more")
    if text == "expected non-negative integer":
        return ("a random seed must be 0 or more",
                "the first argument of `normal` and `uniform` is the seed (key): pass an int ≥ 0")
    if text == "negative dimensions are not allowed":
        return ("a tensor's size cannot be negative", "every size in a shape must be 0 or more")
    if text.startswith("array is too big"):
        return ("this tensor is too big to make", "make the tensor smaller: its number of elements is the "
                "product of its sizes")
    m = re.match(r"could not broadcast input array from shape (\([\d, ]*\)) into shape (\([\d, ]*\))", text)
    if m:                                     # `t[1:3] = u`: u must broadcast to the place written
        value, place = (_shape_text(g) for g in m.groups())
        return (f"a tensor of shape {value} does not fit the place written, of shape {place}",
                "the value must broadcast to the place: the same shape, or sizes of 1 (or missing axes) "
                "where the place's differ; `shape(t)` shows a tensor's shape")
    if "inhomogeneous shape" in text:
        return ("the rows of this tensor have different lengths",
                "a tensor is rectangular: every row must have the same number of elements")
    return None


def _shape_text(shape: str) -> str:
    """numpy's `(2,4)` as DP prints a shape, `(2, 4)`."""
    sizes = [d.strip() for d in shape.strip("()").split(",") if d.strip()]
    return f"({sizes[0]},)" if len(sizes) == 1 else "(" + ", ".join(sizes) + ")"


def _index_diagnostic(text: str, tb) -> tuple[str, str | None] | None:
    m = re.match(r"index (-?\d+) is out of bounds for axis (\d+) with size (\d+)", text)
    if m:
        index, axis, size = int(m[1]), int(m[2]), int(m[3])
        shape = _indexed_shape(tb, lambda s: len(s) > axis and s[axis] == size)
        of = f"a tensor of shape {shape}" if shape is not None else f"a tensor (axis {axis} has size {size})"
        if size == 0:
            return (f"index {index} is out of range for axis {axis} of {of}", "that axis is empty: it has no elements")
        return (f"index {index} is out of range for axis {axis} of {of}",
                f"valid indices on an axis of size {size} are 0 … {size - 1} (and -{size} … -1 from the end)")
    m = re.match(r"too many indices for array: array is (\d+)-dimensional, but (\d+) were indexed", text)
    if m:
        n, given = int(m[1]), int(m[2])
        shape = _indexed_shape(tb, lambda s: len(s) == n)
        of = f"a tensor of shape {shape}" if shape is not None else f"a {_axes(n)}"
        return (f"too many indices for {of}",
                f"{given} indices were given, but the tensor has {n} ax{'i' if n == 1 else 'e'}s; "
                "`shape(t)` shows a tensor's shape")
    if text.startswith("invalid index to scalar variable"):
        return ("cannot index a tensor with no axes",
                "a tensor with no axes (such as `a[i]` of a 1-D `a`) is a single number")
    return None


_LOADS = {"LOAD_FAST", "LOAD_NAME", "LOAD_GLOBAL", "LOAD_DEREF", "LOAD_CLASSDEREF"}


def _indexed_shape(tb, fits):
    """The shape of the tensor that the failing `t[...]` indexed, if t was a variable
    (or a field of one), found from the bytecode before the subscript; None if not
    found. fits checks the shape against numpy's message."""
    if tb is None:
        return None
    import dis                                 # only when a program fails: not at start-up
    try:
        frame = tb.tb_frame
        ins = list(dis.get_instructions(frame.f_code))
        at = next(i for i, x in enumerate(ins) if x.offset == tb.tb_lasti)
        if ins[at].opname not in ("BINARY_SUBSCR", "STORE_SUBSCR"):
            return None
        depth, k = 0, at - 1
        while k >= 0:                       # the index expression: the code that leaves one value
            x = ins[k]
            if x.opcode in dis.hasjrel or x.opcode in dis.hasjabs:
                return None
            depth += dis.stack_effect(x.opcode, x.arg if x.opcode >= dis.HAVE_ARGUMENT else None)
            if depth == 1:
                break
            k -= 1
        k -= 1
        attrs = []
        while k >= 0 and ins[k].opname == "LOAD_ATTR":
            attrs.append(ins[k].argval)
            k -= 1
        if k < 0 or ins[k].opname not in _LOADS or (ins[k].opname == "LOAD_GLOBAL" and ins[k].arg & 1):
            return None
        name = ins[k].argval
        scope = frame.f_locals
        value = scope[name] if name in scope else frame.f_globals[name]
        for a in reversed(attrs):
            value = getattr(value, a)
        if not isinstance(value, np.ndarray):
            return None
        shape = tuple(int(s) for s in value.shape)
        return shape if fits(shape) else None
    except Exception:                       # noqa: BLE001 — only a nicer message is lost
        return None


# ---------------------------------------------------------------------- a list's index and length

_BINARY = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
           "//": lambda a, b: a // b, "%": lambda a, b: a % b}


def _replay(frame, ins) -> object:
    """The value the instructions ins leave, worked out again from the frame's
    variables when they only load names, constants and fields, index, and do integer
    arithmetic (nothing they do has an effect); _UNKNOWN otherwise."""
    stack: list = []
    for x in ins:
        op = x.opname
        if op in ("LOAD_FAST", "LOAD_DEREF", "LOAD_CLOSURE", "LOAD_NAME", "LOAD_CLASSDEREF"):
            if x.argval not in frame.f_locals and op != "LOAD_NAME":
                return _UNKNOWN
            stack.append(frame.f_locals[x.argval] if x.argval in frame.f_locals else frame.f_globals[x.argval])
        elif op == "LOAD_GLOBAL" and not x.arg & 1:
            stack.append(frame.f_globals[x.argval])
        elif op == "LOAD_CONST":
            stack.append(x.argval)
        elif op == "LOAD_ATTR" and stack:
            stack.append(getattr(stack.pop(), x.argval))
        elif op == "BINARY_SUBSCR" and len(stack) >= 2:
            key = stack.pop()
            stack.append(stack.pop()[key])
        elif op == "BINARY_OP" and len(stack) >= 2 and x.argrepr in _BINARY:
            b, a = stack.pop(), stack.pop()
            if not (type(a) is int and type(b) is int):
                return _UNKNOWN
            stack.append(_BINARY[x.argrepr](a, b))
        elif op == "UNARY_NEGATIVE" and stack and type(stack[-1]) is int:
            stack.append(-stack.pop())
        elif op in ("NOP", "CACHE"):
            continue
        else:
            return _UNKNOWN
    return stack[0] if len(stack) == 1 else _UNKNOWN


_UNKNOWN = object()


def _subscript_operands(tb) -> tuple[object, object]:
    """The container and the index of the subscript tb failed at (`xs[i]`, `xs[i] = v`),
    each _UNKNOWN where the code computing it cannot be worked out again."""
    if tb is None:
        return _UNKNOWN, _UNKNOWN
    import dis                                 # only when a program fails: not at start-up
    try:
        frame = tb.tb_frame
        ins = list(dis.get_instructions(frame.f_code))
        at = next(i for i, x in enumerate(ins) if x.offset == tb.tb_lasti)
        if ins[at].opname not in ("BINARY_SUBSCR", "STORE_SUBSCR"):
            return _UNKNOWN, _UNKNOWN
        starts, depth, k = [], 0, at - 1     # where the index, then the container, begins
        while k >= 0 and len(starts) < 2:
            x = ins[k]
            if x.opcode in dis.hasjrel or x.opcode in dis.hasjabs:
                break
            depth += dis.stack_effect(x.opcode, x.arg if x.opcode >= dis.HAVE_ARGUMENT else None)
            if depth == len(starts) + 1:
                starts.append(k)
            elif depth > len(starts) + 1:
                break
            k -= 1
        if not starts:
            return _UNKNOWN, _UNKNOWN
        index = _replay(frame, ins[starts[0]:at])
        container = _replay(frame, ins[starts[1]:starts[0]]) if len(starts) == 2 else _UNKNOWN
        return container, index
    except Exception:                       # noqa: BLE001 — only a nicer message is lost
        return _UNKNOWN, _UNKNOWN


def _list_index_diagnostic(exc: IndexError, tb) -> tuple[str, str]:
    """A list's (or string's) index out of range, with the index and the length when
    they can be found."""
    container, index = _subscript_operands(tb)
    what = "string" if "string" in str(exc) else "list"
    if isinstance(container, (list, str)):
        what = "string" if isinstance(container, str) else "list"
    known = isinstance(container, (list, str))
    n = len(container) if known else None
    at = f"index {index}" if type(index) is int else "index"
    if not known:
        return (f"{at} is out of range",
                f"valid indices of a {what} of n elements are 0 … n-1 (and -n … -1 from the end); "
                f"`len(xs)` is its length")
    message = f"{at} is out of range for a {what} of length {n}"
    if n == 0:
        return message, f"the {what} is empty: it has no elements; check `len(xs) > 0` first"
    if n == 1:
        return message, f"the only index of a {what} of length 1 is 0 (or -1, from the end)"
    return message, f"valid indices of a {what} of length {n} are 0 … {n - 1} (and -{n} … -1 from the end)"


def frame_span(code, lasti: int, sources: SourceRegistry) -> Span | None:
    if code.co_filename not in sources:
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


def runtime_diagnostic(exc: BaseException, sources: SourceRegistry) -> Diagnostic:
    """The diagnostic for an exception raised while the DP code of the session whose
    sources these are ran."""
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        span = frame_span(tb.tb_frame.f_code, tb.tb_lasti, sources)
        if span is not None:
            frames.append((dp_name(tb.tb_frame.f_code), span))
        tb = tb.tb_next
    kind = "runtime error"
    if isinstance(exc, (DPRuntimeError, DPStop)):
        message, hint = exc.message, exc.hint
        kind = getattr(exc, "kind", kind)
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
    elif (known := _numpy_diagnostic(exc, tb_last(exc, sources))) is not None:
        message, hint = known
    elif isinstance(exc, IndexError):
        message, hint = _list_index_diagnostic(exc, tb_last(exc, sources))
    else:
        message, hint = None, None
        for cls, (m, h) in _MESSAGES.items():
            if isinstance(exc, cls):
                message, hint = m, h
                break
        if isinstance(exc, ValueError) and str(exc) and "domain" not in str(exc):
            message = str(exc).strip()
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
    return Diagnostic(kind, message, span, hint, stack=stack)
