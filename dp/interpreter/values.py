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
        return type(self) is type(other) and all(
            _eq(getattr(self, a), getattr(other, a)) for a in self.__slots__)

    def __hash__(self):
        return hash(tuple(getattr(self, a) for a in self.__slots__))

    def __repr__(self):
        return format_value(self)

    def to_dict(self) -> dict:
        return {f: getattr(self, a) for f, a in zip(self._fields, self.__slots__)}


def _eq(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return bool(np.array_equal(a, b))
    return a == b


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
        return isinstance(other, DPEnum) and self.enum is other.enum and self.tag == other.tag and all(
            _eq(a, b) for a, b in zip(self.vals, other.vals))

    def __hash__(self):
        return hash((self.tag, self.vals))

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


def format_value(v, top: bool = True) -> str:
    """How DP prints a value; strings are quoted only inside aggregates."""
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
    if isinstance(v, list):
        return "[" + ", ".join(format_value(x, False) for x in v) + "]"
    if isinstance(v, tuple):
        return "(" + ", ".join(format_value(x, False) for x in v) + ("," if len(v) == 1 else "") + ")"
    if isinstance(v, DPSet):
        return "set([" + ", ".join(format_value(x, False) for x in v) + "])"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{format_value(k, False)}: {format_value(x, False)}" for k, x in v.items()) + "}"
    if isinstance(v, DPStruct):
        inner = ", ".join(f"{f}: {format_value(getattr(v, a), False)}" for f, a in zip(v._fields, v.__slots__))
        return f"{type(v).__name__} {{ {inner} }}" if inner else f"{type(v).__name__} {{}}"
    if isinstance(v, DPEnum):
        base = f"{v.enum.name}.{v.name}"
        return base + ("(" + ", ".join(format_value(x, False) for x in v.vals) + ")" if v.vals else "")
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
