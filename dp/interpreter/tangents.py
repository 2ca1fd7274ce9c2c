"""Runtime arithmetic on (co)tangents, which have the type of the value they belong
to: the zero of a value's shape, and the sum of two tangents of one type."""
from __future__ import annotations

import operator

from dp.dsl import lazy_numpy
from dp.dsl.symbols import field_attr

from .values import DPDefaultDict, DPEnum, DPSet, DPStruct

np = lazy_numpy.module(globals())          # numpy, imported when a program first needs it


def zeros_like(v):
    if isinstance(v, bool):
        return False
    if isinstance(v, float):
        return 0.0
    if isinstance(v, int):
        return 0
    if isinstance(v, str):
        return ""
    if isinstance(v, list):
        return [zeros_like(x) for x in v]
    if isinstance(v, tuple):
        return tuple(zeros_like(x) for x in v)
    if isinstance(v, DPSet):
        return v                          # a set holds no float: inactive, its own zero
    if isinstance(v, DPDefaultDict):      # a missing key's cotangent (or tangent) is zero
        factory = v.factory
        return DPDefaultDict(lambda: zeros_like(factory()), {k: zeros_like(x) for k, x in v.items()})
    if isinstance(v, dict):
        return {k: zeros_like(x) for k, x in v.items()}
    if isinstance(v, DPStruct):
        new = object.__new__(type(v))
        for a in v.__slots__:
            object.__setattr__(new, a, zeros_like(getattr(v, a)))
        return new
    if isinstance(v, np.ndarray):
        # np.zeros takes zeroed pages from the system untouched; zeros_like writes them
        return np.zeros(v.shape) if v.dtype == np.float64 else np.zeros_like(v)
    if isinstance(v, DPEnum) and v.vals:
        return DPEnum(v.enum, v.tag, v.name, tuple(zeros_like(x) for x in v.vals))
    return v                              # plain enum values, functions, unit: inactive


def accumulate(a, b):
    t = type(a)
    if t is float or t is int:            # the common case first: no lookup of numpy's types
        return a + b
    if isinstance(a, DPEnum):
        return _accumulate_enum(a, b)
    if isinstance(a, bool) or isinstance(a, str) or a is None or callable(a) and not isinstance(a, DPStruct):
        return a
    if isinstance(a, (float, int, np.ndarray)):
        return a + b
    if isinstance(a, list):
        if len(a) != len(b):
            from dp.dsl.diagnostics import DPRuntimeError
            raise DPRuntimeError(f"cannot add gradients of lists of different lengths ({len(a)} and {len(b)})")
        return [accumulate(x, y) for x, y in zip(a, b)]
    if isinstance(a, tuple):
        return tuple(accumulate(x, y) for x, y in zip(a, b))
    if isinstance(a, DPSet):
        return a
    if isinstance(a, dict):
        out = DPDefaultDict(a.factory, a) if isinstance(a, DPDefaultDict) else dict(a)
        for k, y in b.items():
            out[k] = accumulate(out[k], y) if k in out else accumulate(zeros_like(y), y)   # unshared
        return out
    if isinstance(a, DPStruct):
        new = object.__new__(type(a))
        for f in a.__slots__:
            object.__setattr__(new, f, accumulate(getattr(a, f), getattr(b, f)))
        return new
    return a


def _accumulate_enum(a, b):
    """The cotangent of an enum value is of the value's variant; a zero of another
    variant (where a variable held another variant before) adds nothing."""
    if a.tag == b.tag:
        if not a.vals:
            return a
        return DPEnum(a.enum, a.tag, a.name, tuple(accumulate(x, y) for x, y in zip(a.vals, b.vals)))
    if _is_zero(b):
        return a
    if _is_zero(a):
        return b
    from dp.dsl.diagnostics import DPRuntimeError
    raise DPRuntimeError(f"cannot add gradients of the variants `{a.name}` and `{b.name}`")


def _is_zero(v) -> bool:
    if isinstance(v, (float, int)):
        return v == 0
    if isinstance(v, np.ndarray):
        return not v.any()
    if isinstance(v, (list, tuple)):
        return all(_is_zero(x) for x in v)
    if isinstance(v, dict):
        return all(_is_zero(x) for x in v.values())
    if isinstance(v, DPStruct):
        return all(_is_zero(getattr(v, f)) for f in v._fields)
    if isinstance(v, DPEnum):
        return all(_is_zero(x) for x in v.vals)
    return True


def make_tangent_op(runtime, t, kind):
    """zeros_like (kind "zero") or accumulate (kind "acc") for static type t, built
    as plain Python: for a struct of floats, `Particle(a.x + b.x, a.v + b.v, …)`."""
    from dp.dsl.types import FLOAT, TENSOR, ListT, StructT
    if t == FLOAT:
        return (lambda v: 0.0) if kind == "zero" else (lambda a, b: a + b)
    if t == TENSOR:
        if kind == "zero":
            return np.zeros_like if lazy_numpy.loaded() else lazy_numpy.functions.zeros_like
        return lambda a, b: a + b
    if isinstance(t, ListT) and t.elem == FLOAT:
        if kind == "zero":
            return lambda v: [0.0] * len(v)
        return _list_add
    if isinstance(t, StructT) and all(ft == FLOAT for ft in t.fields.values()):
        cls = runtime.struct_class(t)
        fields = [field_attr(f) for f in t.fields]
        n = len(fields)
        if kind == "zero":
            zeros = (0.0,) * n
            return lambda v: cls(*zeros)
        fields_of = operator.attrgetter(*fields) if n > 1 else (lambda s: (getattr(s, fields[0]),))
        return lambda a, b: cls(*map(operator.add, fields_of(a), fields_of(b)))
    return zeros_like if kind == "zero" else accumulate


def _list_add(a, b):
    if len(a) != len(b):
        from dp.dsl.diagnostics import DPRuntimeError
        raise DPRuntimeError(f"cannot add gradients of lists of different lengths ({len(a)} and {len(b)})")
    return [x + y for x, y in zip(a, b)]
