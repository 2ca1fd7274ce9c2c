"""The runtime namespace compiled DP code runs in. It holds DP's globals and the
helpers the compiler names (all spelled with `·`, which DP identifiers cannot
contain), and nothing else: `__builtins__` is empty, so DP code reaches nothing of
the host unless an embedder grants it."""
from __future__ import annotations

import ast as py
import math

from dp.dsl import lazy_numpy
from dp.dsl import primitives as P
from dp.dsl.diagnostics import DPRuntimeError  # noqa: F401 — raised here, and imported from here by others
from dp.dsl.types import FLOAT, INT, BOOL, STRING, TENSOR, UNIT, DefaultDictT, DictT, EnumT, FnT, ListT, SetT, StructT, TupleT, Prim

from .tangents import accumulate, make_tangent_op, zeros_like
from .values import DPDefaultDict, DPSet, EnumClass, format_value, make_struct_class, values_equal

np = lazy_numpy.module(globals())          # numpy, imported when a program first needs it


class OutputFailed(DPRuntimeError):
    """What `print` writes cannot be written (`dp run` with stdout a full disk)."""


class DPStop(BaseException):
    """Ends a running program: a step limit, a timeout, a cancel, a refused price
    (interpreter/limits.py, meter.py). Not an Exception, so no `except Exception` (in
    DP's own code, in numpy, in a registered Python function) swallows it; the session
    turns it into a diagnostic like a DPRuntimeError. A stop sent to another thread is
    raised by class (limits.py), with the class's text and advice."""
    text = "stopped"
    advice: str | None = None

    def __init__(self, message: str | None = None, hint: str | None = None):
        super().__init__(message or self.text)
        self.message = message or self.text
        self.hint = hint if message is not None else self.advice


def _idiv(a: int, b: int) -> int:
    """int division truncating toward zero (`//` floors); b == 0 raises."""
    q = a // b
    if q < 0 and q * b != a:
        q += 1
    return q


def _imod(a: int, b: int) -> int:
    """The remainder that goes with _idiv: it has the sign of a."""
    r = a % b
    if r and (a < 0) != (b < 0):
        r -= b
    return r


def _ipow(a: int, b: int) -> int:
    if b < 0:
        raise DPRuntimeError("negative exponent in int ** int", "use floats: `float(a) ** float(b)`")
    return a ** b


def _fmod(a: float, b: float) -> float:
    if b == 0.0:
        raise ZeroDivisionError
    return math.fmod(a, b)


def _fpow(a: float, b: float) -> float:
    return math.pow(a, b)


def _to_int(x) -> int:
    if isinstance(x, float) and not math.isfinite(x):
        raise DPRuntimeError(f"cannot convert {format_value(x)} to int")
    return int(x)


def _pop(xs: list):
    if not xs:
        raise DPRuntimeError("pop from an empty list")
    return xs.pop()


def _insert(xs: list, i: int, v) -> None:
    if not -len(xs) <= i <= len(xs):
        raise DPRuntimeError(f"insert index {i} is out of range for a list of {len(xs)}")
    xs.insert(i, v)


def _remove(d: dict, k) -> None:
    del d[k]


def _slot(d: DPDefaultDict, k):
    """d[k] as a place to change in place: a missing key is added with the default first."""
    if k in d:
        return d[k]
    v = d[k] = d.factory()
    return v


def _set_add(s: DPSet, v) -> None:
    s[v] = True


def _set_remove(s: DPSet, v) -> None:
    if v not in s:
        raise DPRuntimeError(f"{format_value(v, False)} is not in the set", "check with `s.contains(v)` first")
    del s[v]


def _set_union(a: DPSet, b: DPSet) -> DPSet:
    out = DPSet(a)
    out.update(b)
    return out


def _set_intersection(a: DPSet, b: DPSet) -> DPSet:
    return DPSet.fromkeys([x for x in a if x in b], True)


def _set_difference(a: DPSet, b: DPSet) -> DPSet:
    return DPSet.fromkeys([x for x in a if x not in b], True)


def _matmul(a, b):
    try:
        return a @ b
    except (ValueError, TypeError):
        if np.ndim(a) == 0 or np.ndim(b) == 0:
            raise DPRuntimeError(f"`@` needs tensors with at least one axis, not shapes {np.shape(a)} and {np.shape(b)}",
                                 "a tensor with no axes is a single number: multiply it with `*`") from None
        raise DPRuntimeError(f"cannot multiply a tensor of shape {np.shape(a)} by one of shape {np.shape(b)}",
                             "the last axis of the left must match the first (or only) axis of the right") from None


def check_sizes(value, what: str, written: str, sizes: tuple, bound: dict):
    """value against its type `tensor[n, 3, _]`: sizes holds ints, names and None
    for `_`. A name bound earlier in this call (in bound) must agree; a new one is
    bound here. Returns value."""
    shape = np.shape(value)
    if len(shape) != len(sizes):
        raise DPRuntimeError(f"{what} has shape {shape}, but its type `{written}` has {len(sizes)} "
                             f"dimension{'s' if len(sizes) != 1 else ''}",
                             "pass a tensor of that shape, or change the type")
    for axis, (got, want) in enumerate(zip(shape, sizes)):
        if want is None:
            continue
        if isinstance(want, str):
            if want not in bound:
                bound[want] = got
                bound[want + "·from"] = what
                continue
            expected, source = bound[want], f"{want} = {bound[want]} from {bound[want + '·from']}"
        else:
            expected, source = want, None
        if got != expected:
            why = f" ({source})" if source else ""
            raise DPRuntimeError(f"{what} has shape {shape}, but its type `{written}` wants size {expected} "
                                 f"on axis {axis}{why}", "pass a tensor of that shape, or change the type")
    return value


def _sublist(xs: list, lo: int, hi: int) -> list:
    if not (0 <= lo <= hi <= len(xs)):
        raise DPRuntimeError(f"sublist({lo}, {hi}) is out of range for a list of {len(xs)}")
    return xs[lo:hi]


def _splice(xs: list, lo: int, hi: int, ys: list) -> list:
    if not (0 <= lo <= hi <= len(xs)):
        raise DPRuntimeError(f"splice({lo}, {hi}) is out of range for a list of {len(xs)}")
    return xs[:lo] + ys + xs[hi:]


def _range(a: int, b: int | None = None) -> list[int]:
    return list(range(a)) if b is None else list(range(a, b))


class Output:
    """Where `print` writes; the REPL and embedders swap the sink."""
    muted = 0           # > 0 while a derivative recomputes the primal: its effects happened already

    def __init__(self):
        import sys
        self.write = lambda s: sys.stdout.write(s)


# IEEE arithmetic on tensors: 1/0 is inf, 0/0 is nan, silently, as numpy users expect
lazy_numpy.when_loaded(lambda numpy: numpy.seterr(divide="ignore", invalid="ignore", over="ignore"))


def base_namespace(output: Output) -> dict:
    ns: dict = {"__builtins__": {}}

    def dp_print(*args):
        if output.muted:
            return
        output.write(" ".join(format_value(a) for a in args) + "\n")

    ns.update({
        "rt·print": dp_print, "rt·len": len, "rt·range": range, "rt·range_list": _range,
        "rt·float": float, "rt·int": _to_int, "rt·str": format_value, "rt·values_equal": values_equal,
        "rt·idiv": _idiv, "rt·imod": _imod, "rt·ipow": _ipow, "rt·fpow": _fpow, "rt·fmod": _fmod,
        "rt·pop": _pop, "rt·insert": _insert, "rt·remove": _remove, "rt·list": list,
        "rt·reversed_range": lambda a, b: range(b - 1, a - 1, -1),
        "rt·tensor_fmod": lazy_numpy.functions.fmod,
        "rt·tensor_truth": lambda c: np.asarray(c, dtype=np.float64),   # comparisons: 1.0 / 0.0
        "rt·sublist": _sublist,
        "rt·splice": _splice,
        "rt·defaultdict": DPDefaultDict, "rt·slot": _slot,
        "rt·set": lambda xs: DPSet.fromkeys(xs, True), "rt·set_add": _set_add, "rt·set_remove": _set_remove,
        "rt·set_union": _set_union, "rt·set_intersection": _set_intersection,
        "rt·set_difference": _set_difference,
        "rt·matmul": _matmul, "rt·check_sizes": check_sizes,
        "rt·zeros_like": zeros_like, "rt·accumulate": accumulate, "rt·stop_gradient": lambda x: x,
    })
    for name, prims in P.BY_NAME.items():
        for i, p in enumerate(prims):
            if p.impl is not None:
                ns[prim_py_name(p)] = p.impl
    return ns


def _struct_copier(cls, names, inners):
    """`lambda s: cls(s.a, copy_b(s.b), ...)`, built as a Python ast: as fast as a
    hand-written copy."""
    def load(n):
        return py.Name(id=n, ctx=py.Load())

    def field(n):
        return py.Attribute(value=load("s"), attr=n, ctx=py.Load())
    args = [field(n) if c is None else py.Call(func=load(f"c{i}"), args=[field(n)], keywords=[])
            for i, (n, c) in enumerate(zip(names, inners))]
    copy = py.FunctionDef(name="copy", args=_args(["s"]), body=[py.Return(value=py.Call(
        func=load("cls"), args=args, keywords=[]))], decorator_list=[], returns=None, type_params=[])
    used = [f"c{i}" for i, c in enumerate(inners) if c is not None]
    make = py.FunctionDef(name="make", args=_args(["cls"] + used), body=[copy, py.Return(value=load("copy"))],
                          decorator_list=[], returns=None, type_params=[])
    ns: dict = {"__builtins__": {}}
    exec(compile(py.fix_missing_locations(py.Module(body=[make], type_ignores=[])), f"<copy {cls.__name__}>", "exec"), ns)
    return ns["make"](cls, *[c for c in inners if c is not None])


def _args(names):
    return py.arguments(posonlyargs=[], args=[py.arg(arg=n) for n in names], kwonlyargs=[], kw_defaults=[],
                        defaults=[])


def prim_py_name(p) -> str:
    i = P.BY_NAME[p.name].index(p)
    return f"rt·{_opname(p.name)}·{i}"


def _opname(name: str) -> str:
    return {"+": "add", "-": "sub", "*": "mul", "/": "div", "%": "mod", "**": "pow", "**int": "powi"}.get(name, name)


class Runtime:
    """One interpreter's namespace plus the classes, copiers and constants the compiler
    asks it to name."""

    def __init__(self, output: Output | None = None):
        self.output = output or Output()
        self.ns = base_namespace(self.output)
        self.numpy_ready = lazy_numpy.loaded()     # ns holds numpy's own functions (see ready_numpy)
        self.meter = None                          # the session installs one (meter.py)
        self._names: dict[int, str] = {}
        self._keep: list = []                      # objects named here stay alive
        self.struct_classes: dict = {}
        self.enum_classes: dict = {}
        self._copiers: dict = {}
        self._building: set = set()                # copiers being made (recursive types)
        self.made: list | None = None              # while a list: what `named` names (module_code.py)

    def ready_numpy(self) -> None:
        """Once numpy is imported (by a program's first tensor operation, or by an
        embedder), put numpy's own functions in ns in place of the names the table made
        them with (dsl/lazy_numpy.py)."""
        if lazy_numpy.loaded():
            lazy_numpy.resolve_all(self.ns)
            self.numpy_ready = True

    def name(self, obj, hint: str) -> str:
        """A namespace name bound to obj (one name per object). Its number is written
        `n3`, never a bare number as a primitive's (`rt·abs·0`): a struct the program
        names `abs` must not take the primitive's place."""
        key = id(obj)
        if key not in self._names:
            n = f"rt·{hint}·n{len(self._names)}"
            self._names[key] = n
            self.ns[n] = obj
            self._keep.append(obj)
        return self._names[key]

    def named(self, kind: str, t, member: str | None = None) -> str | None:
        """The name of what compiled code calls for a type t: its copier ("copy"; None
        when values of t need none), its zeroer ("zeros_like") or accumulator
        ("accumulate"), a struct's class ("struct"), an enum's variant `member`
        ("variant"). Each is noted in `made` while that is a list: a standard module's
        code kept in the cache is given them again by it (module_code.py)."""
        if kind == "copy":
            obj, hint = self.copier(t), "copy"
            if obj is None:
                return None
        elif kind == "zeros_like" or kind == "accumulate":
            obj, hint = self.zeroer(t) if kind == "zeros_like" else self.accumulator(t), kind
        elif kind == "struct":
            obj, hint = self.struct_class(t), t.name
        elif kind == "variant":
            obj, hint = self.enum_class(t).members[member], f"{t.name}·{member}"
        else:
            raise ValueError(kind)
        name = self.name(obj, hint)
        if self.made is not None:
            self.made.append((name, kind, t, member))
        return name

    def struct_class(self, st: StructT) -> type:
        cls = self.struct_classes.get(st)
        if cls is None:
            cls = make_struct_class(st)
            self.struct_classes[st] = cls
        return cls

    def enum_class(self, et: EnumT) -> EnumClass:
        ec = self.enum_classes.get(et)
        if ec is None:
            ec = EnumClass(et)
            self.enum_classes[et] = ec
        return ec

    def zeroer(self, t):
        """zeros_like specialised to type t."""
        return self._tangent_op(t, "zero")

    def accumulator(self, t):
        """accumulate (tangent addition) specialised to type t."""
        return self._tangent_op(t, "acc")

    def _tangent_op(self, t, kind):
        key = (kind, t)
        op = self._copiers.get(key)
        if op is None:
            op = make_tangent_op(self, t, kind)
            self._copiers[key] = op
        return op

    def copier(self, t):
        """A function that deep-copies a value of type t, or None if values of t are
        immutable (so sharing them is already value semantics)."""
        key = t
        if key in self._copiers:
            return self._copiers[key]
        if key in self._building:                  # a recursive struct: look it up when it runs
            copiers = self._copiers
            return lambda v: copiers[key](v)
        self._building.add(key)
        try:
            c = self._make_copier(t)
        finally:
            self._building.discard(key)
        self._copiers[key] = c
        return c

    def _make_copier(self, t):
        if isinstance(t, Prim):
            return (np.copy if lazy_numpy.loaded() else lazy_numpy.functions.copy) if t == TENSOR else None
        if isinstance(t, ListT):
            inner = self.copier(t.elem)
            return list.copy if inner is None else (lambda xs: [inner(x) for x in xs])
        if isinstance(t, DefaultDictT):
            inner = self.copier(t.value)
            if inner is None:
                return lambda d: DPDefaultDict(d.factory, d)
            return lambda d: DPDefaultDict(d.factory, {k: inner(v) for k, v in d.items()})
        if isinstance(t, DictT):
            inner = self.copier(t.value)
            return dict.copy if inner is None else (lambda d: {k: inner(v) for k, v in d.items()})
        if isinstance(t, SetT):
            return DPSet                             # its elements are immutable
        if isinstance(t, TupleT):
            inners = [self.copier(x) for x in t.items]
            if all(c is None for c in inners):
                return None
            return lambda tup: tuple(v if c is None else c(v) for c, v in zip(inners, tup))
        if isinstance(t, StructT):
            cls = self.struct_class(t)
            inners = [self.copier(ft) for ft in t.fields.values()]
            return _struct_copier(cls, list(cls.__slots__), inners)
        return None                              # enums, functions, unit: immutable

    def zero(self, t):
        """The zero of type t: what an inactive or untouched part's gradient is."""
        if t == FLOAT:
            return 0.0
        if t == INT:
            return 0
        if t == BOOL:
            return False
        if t == STRING:
            return ""
        if t == UNIT:
            return None
        if isinstance(t, TupleT):
            return tuple(self.zero(x) for x in t.items)
        if isinstance(t, StructT):
            return self.struct_class(t)(*(self.zero(ft) for ft in t.fields.values()))
        if isinstance(t, ListT):
            return []
        if isinstance(t, DefaultDictT):
            return DPDefaultDict(lambda: self.zero(t.value))
        if isinstance(t, DictT):
            return {}
        if isinstance(t, SetT):
            return DPSet()
        raise DPRuntimeError(f"no zero value for `{t}`")


_unused = (FnT, FLOAT)
