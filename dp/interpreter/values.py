"""Runtime values that have no Python counterpart: structs and enums, and how every
DP value prints. Floats, ints, bools, strings, lists, dicts and tuples are Python's own."""
from __future__ import annotations

import ast as py
import math
import operator

from dp.dsl import lazy_numpy
from dp.dsl.diagnostics import DPRuntimeError
from dp.dsl.symbols import field_attr

np = lazy_numpy.module(globals())          # numpy, imported when a program first needs it


class DPStruct:
    """Base of every struct class. A subclass stores field `x` in the slot `x·`
    (dsl.symbols.field_attr), the only attributes compiled DP code reads or writes:
    no other Python object has them, so no field access reaches anything but a DP
    field. For Python (embedders, tests) each field is also a property of its DP name."""
    __slots__ = ()
    _fields: tuple[str, ...] = ()    # the DP names, in declaration order
    _type = None                     # the StructT

    def __eq__(self, other):
        return values_equal(self, other)

    def __hash__(self):
        return value_hash(self)

    def __repr__(self):
        return format_value(self)

    def to_dict(self) -> dict:
        return {f: getattr(self, a) for f, a in zip(self._fields, self.__slots__)}


# Equality, hashing and printing walk a value with a stack of their own, not by
# recursion: a recursive enum or struct can nest as deep as a program makes it
# (100_000 `Cons`), and recursion through `==`, `hash` and `str.join` is recursion of
# C functions, which overflows the host's stack (a crash, not an error) long before
# a high max_depth stops it.

_SCALARS = (float, int, bool, str)


def values_equal(a, b, tick=None) -> bool:
    """DP's `==` on two values of one type. Metered code gives tick(n, flat), called
    with the pairs walked here since its last call (flat: the elements of a list of
    scalars compared at once, in C), and meter.py prices them: a list shared many
    times over costs what it is to walk, not what it is to build."""
    stack = [(a, b)]
    walked = 0
    while stack:
        a, b = stack.pop()
        if tick is not None:
            walked += 1
            if walked >= 1024:
                tick(walked, False)
                walked = 0
            if type(a) is list and type(b) is list and a and type(a[0]) in _SCALARS:
                tick(len(a) + sum(len(x) // 8 for x in a[:1] if type(x) is str) * len(a), True)
                if a != b:                       # flat: one C comparison, priced first
                    return False
                continue
        if a is b:              # as Python's own `==` of lists and tuples does: a shared nan is equal
            continue
        if isinstance(a, DPEnum):
            if not (isinstance(b, DPEnum) and a.enum is b.enum and a.tag == b.tag and len(a.vals) == len(b.vals)):
                return False
            stack.extend(zip(a.vals, b.vals))
        elif isinstance(a, DPStruct):
            if type(b) is not type(a):
                return False
            stack.extend((getattr(a, f), getattr(b, f)) for f in a.__slots__)
        elif type(a) is list or type(a) is tuple:
            if type(b) is not type(a) or len(a) != len(b):
                return False
            stack.extend(zip(a, b))
        elif isinstance(a, dict):
            if not isinstance(b, dict) or len(a) != len(b):
                return False
            for k, v in a.items():
                if k not in b:
                    return False
                stack.append((v, dict.__getitem__(b, k)))
        elif isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            if not np.array_equal(a, b):
                return False
        elif not a == b:
            return False
    return True


def value_hash(v) -> int:
    """A hash agreeing with values_equal (dict keys and set elements)."""
    parts, stack = [], [v]
    while stack:
        x = stack.pop()
        if isinstance(x, DPEnum):
            parts.append(("enum", x.tag, len(x.vals)))
            stack.extend(x.vals)
        elif isinstance(x, DPStruct):
            parts.append(type(x).__name__)
            stack.extend(getattr(x, f) for f in x.__slots__)
        elif type(x) is tuple or type(x) is list:
            parts.append(len(x))
            stack.extend(x)
        else:
            parts.append(hash(x))
    return hash(tuple(parts))


def make_struct_class(st) -> type:
    """A Python class for a DP struct type, with a positional __init__ built as an AST."""
    fields = tuple(st.fields)
    attrs = tuple(field_attr(f) for f in fields)
    args = [py.arg(arg=f"a{i}") for i in range(len(fields))]
    body = [py.Assign(targets=[py.Attribute(value=py.Name("self", py.Load()), attr=a, ctx=py.Store())],
                      value=py.Name(f"a{i}", py.Load())) for i, a in enumerate(attrs)] or [py.Pass()]
    init = py.FunctionDef(name="__init__", args=py.arguments(posonlyargs=[], args=[py.arg(arg="self")] + args,
                          kwonlyargs=[], kw_defaults=[], defaults=[]), body=body, decorator_list=[], returns=None,
                          type_params=[])
    mod = py.fix_missing_locations(py.Module(body=[init], type_ignores=[]))
    ns: dict = {"__builtins__": {}}
    exec(compile(mod, f"<struct {st.name}>", "exec"), ns)
    members = {"__slots__": attrs, "_fields": fields, "_type": st, "__init__": ns["__init__"]}
    for f, a in zip(fields, attrs):
        if not any(f in vars(k) for k in DPStruct.__mro__):      # the checker refuses these anyway
            members[f] = property(operator.attrgetter(a), _setter(a))
    return type(st.name, (DPStruct,), members)


def _setter(attr):
    def set_field(self, value):
        setattr(self, attr, value)
    return set_field


class DPSet(dict):
    """A DP `set[T]`: its elements are the keys of a dict (all True), so it keeps the
    order they were added in, as dicts do, and compares by contents."""
    __slots__ = ()


class DPDefaultDict(dict):
    """A DP `defaultdict[K, V]`: a missing key reads as factory() (the default, made
    afresh), and is not added by the read."""
    __slots__ = ("factory",)

    def __init__(self, factory, items=()):
        super().__init__(items)
        self.factory = factory

    def __missing__(self, key):
        return self.factory()


class DPEnum:
    """A value of a DP enum: its type, variant tag and payload."""
    __slots__ = ("enum", "tag", "name", "vals")

    def __init__(self, enum, tag, name, vals=()):
        self.enum, self.tag, self.name, self.vals = enum, tag, name, vals

    def __eq__(self, other):
        return values_equal(self, other)

    def __hash__(self):
        return value_hash(self)

    def __repr__(self):
        return format_value(self)


class EnumClass:
    """The runtime side of an enum type: one singleton per plain variant, a
    constructor per variant with a payload."""

    def __init__(self, et):
        self.type = et
        self.name = et.name
        self.members = {}
        for tag, (vname, payload) in enumerate(et.variants.items()):
            if payload:
                ctor = (lambda t, n: (lambda *vals: DPEnum(self, t, n, vals)))(tag, vname)
                ctor.__name__ = f"{et.name}.{vname}"            # prints as <fn Shape.Circle>
                self.members[vname] = ctor
            else:
                self.members[vname] = DPEnum(self, tag, vname)
        self.tags = {n: i for i, n in enumerate(et.variants)}


def format_float(x: float) -> str:
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return repr(float(x))                  # numpy's float64 prints like a float


_TEXT, _VALUE = 0, 1


def format_value(v, top: bool = True, tick=None) -> str:
    """How DP prints a value; strings are quoted only inside aggregates. (A stack of
    what is left to write, not recursion: see values_equal; tick as there, with the
    pieces written.)"""
    out, todo = [], [(_VALUE, v, top)]
    written = 0
    while todo:
        kind, x, t = todo.pop()
        if tick is not None:
            written += 1
            if written >= 1024:
                tick(written)
                written = 0
        if kind == _TEXT:
            out.append(x)
            continue
        parts = _parts(x)
        if parts is None:
            out.append(_format_one(x, t))
            continue
        opening, items, closing = parts
        todo.append((_TEXT, closing, False))
        for before, item in reversed(items):
            todo.append((_VALUE, item, False))
            if before:
                todo.append((_TEXT, before, False))
        todo.append((_TEXT, opening, False))
    return "".join(out)


def _parts(v):
    """An aggregate as (opening, [(text before, item)], closing); None for the rest."""
    if isinstance(v, list):
        return "[", _listed(v), "]"
    if isinstance(v, tuple):
        return "(", _listed(v), ",)" if len(v) == 1 else ")"
    if isinstance(v, DPSet):
        return "set([", _listed(v), "])"
    if isinstance(v, dict):
        items = []
        for k, x in v.items():
            items += [(", " if items else None, k), (": ", x)]
        return "{", items, "}"
    if isinstance(v, DPStruct):
        if not v._fields:
            return f"{type(v).__name__} {{", [], "}"
        fields = [((", " if i else "") + f"{f}: ", getattr(v, a)) for i, (f, a) in enumerate(zip(v._fields, v.__slots__))]
        return f"{type(v).__name__} {{ ", fields, " }"
    if isinstance(v, DPEnum) and v.vals:
        return f"{v.enum.name}.{v.name}(", _listed(v.vals), ")"
    return None


def _listed(xs) -> list:
    return [(", " if i else None, x) for i, x in enumerate(xs)]


def _format_one(v, top: bool) -> str:
    if v is None:
        return "()"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return format_float(v)
    if isinstance(v, int):
        return format_int(v)
    if isinstance(v, str):
        return v if top else '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, DPEnum):                  # a variant without a payload
        return f"{v.enum.name}.{v.name}"
    if isinstance(v, np.ndarray):
        return format_tensor(v)
    if isinstance(v, np.bool_):
        return "true" if v else "false"
    if isinstance(v, np.integer):
        return str(int(v))
    if isinstance(v, np.floating):
        return format_float(float(v))
    if callable(v):
        return f"<fn {fn_name(v)}>"
    return "<value>"                       # never a host object's repr (it may name paths, modules, …)


MAX_DIGITS = 4300            # as Python's default: turning a longer int into text takes quadratic time


def format_int(v: int) -> str:
    """An int in decimal, up to MAX_DIGITS digits (whatever limit the host set)."""
    if v.bit_length() <= 14_000:             # fewer than 4215 digits
        try:
            return str(v)
        except ValueError:                   # the host set a lower limit
            pass
    elif v.bit_length() <= 14_300:
        s = str(v) if _digits_allowed() else None
        if s is not None and len(s.lstrip("-")) <= MAX_DIGITS:
            return s
    digits = int(v.bit_length() * 0.30103) + 1
    raise DPRuntimeError(f"an int of about {digits} digits is too long to print (at most {MAX_DIGITS})",
                         "print it in parts, e.g. `x % 10 ** 100` for its last 100 digits")


def _digits_allowed() -> bool:
    import sys
    limit = sys.get_int_max_str_digits()
    return limit == 0 or limit >= MAX_DIGITS


def fn_name(f) -> str:
    """The DP name of a function value: `f`, `optim.adam`, `f_grad`, `lambda`."""
    name = getattr(f, "__name__", None)
    return name.split("·")[0] if isinstance(name, str) and name else "fn"


def format_tensor(a: np.ndarray) -> str:
    a = np.asarray(a)
    if a.size == 0 and a.ndim > 1:
        return f"zeros({list(a.shape)})"          # `tensor([])` would lose the shape
    if a.dtype == bool:
        fmt = {"bool": lambda b: "true" if b else "false"}
    else:
        fmt = {"float_kind": format_float, "int": str}
    body = np.array2string(a, separator=", ", prefix="tensor(", formatter=fmt, max_line_width=100, threshold=1000)
    return f"tensor({body})"
