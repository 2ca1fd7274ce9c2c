"""The primitive table (dsl/primitives.py), checked entry by entry: every primitive,
its float and its tensor versions (broadcasting), to third order, against float64
central differences and between modes, at points drawn from its declared domain away
from its kinks. The cases come from the table: a new primitive is checked without
touching this file.

Each case is one DP function `f(t)` that applies the primitive to arguments moving
along random directions with `t` (`sin(0.3 + t * -0.7)`); its derivative in `t` of
order k, by reverse over reverse, forward over reverse and forward over forward, is
checked against central differences of DP's own derivative of order k - 1 (itself
checked one order lower) and against the other modes. Tensor versions skip some
forward modes (see `Case.modes`); DP_PRIMITIVES_ALL=1 checks every mode everywhere.

Then the table's facts: rules for every differentiable entry, the builtins' arities and
derivatives, the audited rules by closed form, and the conventions at non-differentiable
points at every order."""
from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import os
import random
import zlib

import numpy as np
import pytest

from dp.dsl import primitives as P
from dp.dsl import records
from dp.dsl import syntax as S
from dp.dsl.parser import parse
from dp.dsl.primitive import Primitive
from dp.dsl.printer import float_src
from dp.dsl.types import FLOAT, INT, TENSOR, ListT
from dp.interpreter.embed import DPError, Interpreter

LF, LLF, LLLF, LI, LT = ListT(FLOAT), ListT(ListT(FLOAT)), ListT(ListT(ListT(FLOAT))), ListT(INT), ListT(TENSOR)
ACTIVE = (FLOAT, TENSOR, LF, LLF, LLLF, LT)
H = 1e-5                    # central differences' step
MARGIN = 0.15               # samples stay this far (per coordinate) from kinks and domain edges
BOX = 2.0                   # samples lie in [-BOX, BOX]
FD_TOL = 1e-6               # against central differences, relative to max(1, |value|)
MODE_TOL = 1e-9             # between modes
ALL_MODES = os.environ.get("DP_PRIMITIVES_ALL") == "1"

# Derivative modes by order, named r (reverse, grad) and j (forward, jvp), outermost
# first: `jr` is jvp of grad. Each is a DP expression of its value at t, where `f_j`
# and `f_jj` are the forward derivatives of orders 1 and 2 as functions.
MODES = {
    1: {"r": "grad(f)(t)", "j": "jvp(f, t, 1.0).1"},
    2: {"rr": "grad(grad(f))(t)", "jr": "jvp(grad(f), t, 1.0).1", "jj": "jvp(f_j, t, 1.0).1"},
    3: {"rrr": "grad(grad(grad(f)))(t)", "jrr": "jvp(grad(grad(f)), t, 1.0).1", "jjj": "jvp(f_jj, t, 1.0).1"},
}
LOWER = {1: None, 2: "r", 3: "rr"}      # central differences of this (None: f) give order k
NEEDS = {"jj": ["j"], "jjj": ["j", "jj"]}


# ---------------------------------------------------------------- the table itself

def _active(t) -> bool:
    return t in ACTIVE


def test_every_entry_with_a_derivative_to_give_has_rules():
    """An entry without rules is a constant to the transforms: a primitive taking and
    giving differentiable values must have both, one cotangent per parameter."""
    for p in P.TABLE:
        if _active(p.ret) and any(_active(t) for t in p.types):
            assert p.jvp is not None and p.vjp is not None, f"{p} has no derivative rules"
            assert len(p.vjp) == len(p.params), f"{p}: {len(p.vjp)} cotangents for {len(p.params)} parameters"


def _names(e, out):
    if isinstance(e, S.Name):
        out.add(e.id)
    elif records.is_record(e):
        for f in records.fields(e):
            _names(getattr(e, f.name), out)
    elif isinstance(e, list):
        for x in e:
            _names(x, out)
    return out


def test_rules_name_only_parameters_tangents_the_result_and_primitives():
    callable_ = P.CALLABLE | P.SPECIAL_BUILTINS
    for p in P.TABLE:
        if not p.differentiable:
            continue
        allowed_jvp = set(p.params) | {f"{n}_dot" for n in p.params} | {"y"} | callable_
        allowed_vjp = set(p.params) | {"y", "y_bar"} | callable_
        for rule, allowed in [(p.jvp, allowed_jvp)] + [(c, allowed_vjp) for c in p.vjp]:
            names = _names(parse(f"let rule = {rule}\n", "<rule>").body[0].value, set())
            assert names <= allowed, f"{p}: `{rule}` names {sorted(names - allowed)}"


@pytest.mark.parametrize("param", ["y", "y_bar", "x_dot", "x_bar"])
def test_a_parameter_cannot_take_a_name_of_the_rule_language(param):
    with pytest.raises(ValueError, match="cannot be named"):
        Primitive("bad", (param,), (FLOAT,), FLOAT, abs, jvp="0.0", vjp=("0.0",))


def test_a_partial_for_each_float_parameter():
    from dp.dsl.primitive import elementwise
    with pytest.raises(ValueError, match="partial"):
        elementwise("bad", "a b", max, None, "1.0")


# A call kept only for its error compiles to a test of the domain (compiler._domain_guard):
# that is right only if the entry cannot fail where its domain holds.
SPECIAL = (-math.inf, -1e308, -2.0, -1.0, -0.5, -1e-300, -0.0, 0.0, 1e-300, 0.5, 1.0, 2.0, 1e308, math.inf, math.nan)


@pytest.mark.parametrize("p", [p for p in P.TABLE if p.total_in_domain], ids=lambda p: p.name)
def test_an_entry_total_in_its_domain_cannot_fail_there(p):
    assert p.domain is not None and all(t == FLOAT for t in p.types)
    impl = p.impl if p.impl is not None else {"/": lambda a, b: a / b}[p.py_op]
    inside = _domain(p).inside
    tried = 0
    for point in itertools.product(SPECIAL, repeat=len(p.params)):
        if inside(*point):
            impl(*point)                     # raises (the test fails) if the fact is wrong
            tried += 1
    assert tried > 0


def test_a_call_kept_for_its_error_fails_where_the_function_does():
    for _ in range(2):                       # the second session reuses the table's domains
        dp = Interpreter()
        dp.load("fn f(x1: float, x2: float) -> float { return log(x1) + x1 * x2 - sin(x2) }\n"
                "fn h(x: float) -> float {\n    let unused = asin(x) + x / (x - 1.0) + 1.0 / x\n    return x * x\n}")
        g, gh = dp.eval("grad(f, (0, 1))"), dp.eval("grad(h)")
        assert g(2.0, 5.0) == pytest.approx((0.5 + 5.0, 2.0 - math.cos(5.0)), rel=1e-15)
        with pytest.raises(DPError, match="math domain error") as e:
            g(-1.0, 5.0)
        assert e.value.diagnostics[0].span.line == 1
        assert gh(0.5) == 1.0
        cases = ((2.0, "math domain error", 18), (1.0, "division by zero", 28), (0.0, "division by zero", 44))
        for x, message, col in cases:
            with pytest.raises(DPError, match=message) as e:
                gh(x)
            assert (e.value.diagnostics[0].span.line, e.value.diagnostics[0].span.col) == (3, col)


# ---------------------------------------------------------------- sampling from the declared domain

class Domain:
    """An entry's domain and kinks, evaluated by DP on float (and int) arguments."""

    def __init__(self, p: Primitive):
        self.everywhere = p.domain is None and p.kinks is None
        params = [(n, t) for n, t in zip(p.params, p.types) if t in (FLOAT, INT, TENSOR)]
        sig = ", ".join(f"{n}: {'int' if t == INT else 'float'}" for n, t in params)
        self.kinds = [t for _, t in params]
        self.dp = Interpreter()
        self.dp.load(f"fn inside({sig}) -> bool {{ return {p.domain or 'true'} }}\n"
                     f"fn kink({sig}) -> float {{ return {p.kinks or '1.0'} }}")
        self.inside, self.kink = self.dp.function("inside"), self.dp.function("kink")

    def ok(self, point: list) -> bool:
        """Defined at point and MARGIN around it along each axis, on one side of every kink."""
        if self.everywhere:
            return True
        side = self._side(point)
        if not side:
            return False
        for k, kind in enumerate(self.kinds):
            if kind == INT:
                continue
            for step in (-MARGIN, MARGIN):
                q = list(point)
                q[k] += step
                if self._side(q) != side:
                    return False
        return True

    def _side(self, point) -> float:
        try:
            if not self.inside(*point):
                return 0.0
            return float(np.sign(self.kink(*point)))
        except DPError:
            return 0.0


@functools.lru_cache(maxsize=None)
def _domain(p: Primitive) -> Domain:
    return Domain(p)


def _uniform(rng, shape=None):
    if shape is None:
        return rng.uniform(-BOX, BOX)
    return np.array([rng.uniform(-BOX, BOX) for _ in range(int(np.prod(shape)))]).reshape(shape)


def sample(p: Primitive, rng, shapes: list, ints: dict) -> list:
    """Arguments for entry p: a float, or an array of the given shape, per float or
    tensor parameter, ints as given; every broadcast position inside p's domain."""
    dom = _domain(p)
    for _ in range(200):
        args = [ints[k] if t == INT else _uniform(rng, shapes[k] if t == TENSOR else None) for k, t in enumerate(p.types)]
        for _ in range(500):
            bad = _first_bad_position(dom, args, p.types)
            if bad is None:
                return args
            for k, t in enumerate(p.types):
                if t == TENSOR:
                    index = tuple(i if d != 1 else 0 for i, d in zip(bad[-args[k].ndim:], args[k].shape)) if args[k].ndim else ()
                    args[k][index] = rng.uniform(-BOX, BOX)
            if not any(t == TENSOR for t in p.types):
                break
    raise AssertionError(f"no sample point found in the domain of {p}")


def _first_bad_position(dom, args, types):
    arrays = [np.asarray(a) if t == TENSOR else None for a, t in zip(args, types)]
    shape = np.broadcast_shapes(*[a.shape for a in arrays if a is not None]) if any(a is not None for a in arrays) else ()
    for pos in np.ndindex(*shape):
        point = []
        for a, arr, t in zip(args, arrays, types):
            if arr is None:
                point.append(a)
            else:
                point.append(float(np.broadcast_to(arr, shape)[pos]))
        if not dom.ok(point):
            return pos
    return None


# ---------------------------------------------------------------- DP source for arguments moving with t

def fsrc(v: float) -> str:
    return float_src(float(v))


def tsrc(a) -> str:
    a = np.asarray(a, dtype=float)
    if a.ndim == 0:                       # a tensor with no axes: the product of two vectors
        return f"(tensor([{fsrc(a)}]) @ tensor([1.0]))"
    return f"tensor({_nested(a.tolist())})"


def _nested(v) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_nested(x) for x in v) + "]"
    return fsrc(v)


def moving(value, direction) -> str:
    """`value + t * direction` as DP."""
    if isinstance(value, np.ndarray):
        return f"{tsrc(value)} + t * {tsrc(direction)}"
    return f"{fsrc(value)} + t * {fsrc(direction)}"


def reduced(term: str, ret) -> str:
    """A float from a float or tensor result."""
    return term if ret == FLOAT else f"sum({term})"


# ---------------------------------------------------------------- cases

@dataclasses.dataclass
class Case:
    id: str
    entries: list
    body: str                  # the float expression in t that f returns
    lets: list = dataclasses.field(default_factory=list)     # `let` lines before it

    def modes(self) -> list[tuple[int, str]]:
        """(order, mode) pairs to check: every mode for float versions. A tensor version
        has its float version's partials; what is its own is in reverse mode (undoing
        broadcasting) and in its kernels, so it is checked by reverse mode at every order
        and by forward mode over reverse, and a rule helper's tensor version to second
        order (already a fourth derivative of the primitive whose rule calls it). With
        DP_PRIMITIVES_ALL=1 every entry is checked in every mode (several minutes)."""
        p = self.entries[0]
        every = [(k, m) for k in MODES for m in MODES[k]]
        if ALL_MODES or not (TENSOR in p.types or p.ret == TENSOR):
            return every
        return [(k, m) for k, m in every if m in ("r", "j", "rr", "jr") or (m == "rrr" and not p.helper)]

    def source(self) -> str:
        lines = "".join(f"    {line}\n" for line in self.lets)
        return f"fn f(t: float) -> float {{\n{lines}    return {self.body}\n}}"


def _rng(key: str) -> random.Random:
    return random.Random(zlib.crc32(key.encode()))


def _int_choices(p: Primitive) -> list[dict]:
    """Int arguments: each of 0 … 3 once (0 and 1 are the edges of powers' rules)."""
    ks = [k for k, t in enumerate(p.types) if t == INT]
    if not ks:
        return [{}, {}]
    many_floats = len(p.types) - len(ks) > 2          # pow_term: its third order is long
    return [{k: n for k in ks} for n in ((0, 2) if many_floats else range(4))]


def _elementwise_float_case(p: Primitive) -> Case:
    rng = _rng(p.name + " float")
    floats = [k for k, t in enumerate(p.types) if t == FLOAT]
    terms = []
    points = [sample(p, rng, [None] * len(p.types), ints) for ints in _int_choices(p)]
    for args in points:
        dirs = [rng.uniform(-1, 1) for _ in p.types]
        terms.append(p.call_src(*[moving(a, d) if t == FLOAT else str(a) for a, d, t in zip(args, dirs, p.types)]))
    if len(floats) > 1:                      # each float argument alone moving
        for k in floats:
            args = points[0]
            terms.append(p.call_src(*[moving(a, 0.9) if j == k else (fsrc(a) if t == FLOAT else str(a))
                                      for j, (a, t) in enumerate(zip(args, p.types))]))
    return Case(_case_id(p), [p], _weighted(terms, rng))


# broadcasting: the tensor arguments take these shapes in turn
SHAPES = [(2, 3), (3,), (2, 1)]


def _elementwise_tensor_case(p: Primitive) -> Case:
    rng = _rng(f"{p.name} {p.types}")
    shapes = [SHAPES[p.types[:k].count(TENSOR) % len(SHAPES)] if t == TENSOR else None for k, t in enumerate(p.types)]
    args = sample(p, rng, shapes, _int_choices(p)[-1])
    parts = []
    for a, t in zip(args, p.types):
        if t == INT:
            parts.append(str(a))
        elif t == TENSOR:
            parts.append(moving(a, _uniform(rng, a.shape) / BOX))
        else:
            parts.append(moving(a, rng.uniform(-1, 1)))
    return Case(_case_id(p), [p], reduced(p.call_src(*parts), p.ret))


def _case_id(p: Primitive) -> str:
    return f"{p.name}({', '.join(str(t) for t in p.types)})"


def _explicit_case(p: Primitive) -> Case:
    rng = _rng(f"{p.name} {p.types} explicit")
    lets, terms = [], []
    for example in p.examples:
        term, value = _explicit_term(p, example, rng)
        if p.ret in (FLOAT, TENSOR):
            terms.append(reduced(term, p.ret))
        else:                                 # a list: bind it, then add up its elements
            r = f"r{len(lets)}"
            lets.append(f"let {r} = {term}")
            terms.append(" + ".join(_elements(r, value, p.ret)))
    return Case(_case_id(p), [p], _weighted(terms, rng), lets)


def _explicit_term(p: Primitive, example, rng) -> tuple[str, object]:
    """DP source applying p to an example's arguments moving with t, and its value at
    t = 0. An example gives, per parameter: a tensor's shape, None for a sampled
    float, an int, a list of ints, a list of tensors' shapes, or the sizes of a
    (nested) list of floats."""
    parts, values = [], []
    for spec, t in zip(example, p.types):
        if t == TENSOR:
            v = _uniform(rng, spec)
            parts.append(moving(v, _uniform(rng, spec) / BOX))
        elif t == FLOAT:
            v = rng.uniform(-BOX, BOX)
            parts.append(moving(v, rng.uniform(-1, 1)))
        elif t in (INT, LI):
            v = spec
            parts.append(str(spec))
        elif t == LT:
            v = [_uniform(rng, shape) for shape in spec]
            parts.append("[" + ", ".join(moving(x, _uniform(rng, x.shape) / BOX) for x in v) + "]")
        else:
            v = _uniform(rng, (spec,) if isinstance(spec, int) else tuple(spec)).tolist()
            parts.append(_nested_moving(v, rng))
        values.append(v)
    return p.call_src(*parts), p.impl(*values)


def _nested_moving(v, rng) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_nested_moving(x, rng) for x in v) + "]"
    return moving(v, rng.uniform(-1, 1))


def _elements(src: str, value, ret) -> list[str]:
    """The float (or summed tensor) elements of a list value, as DP reading them."""
    if ret == LT:
        return [f"sum({src}[{i}])" for i in range(len(value))]
    if isinstance(value, list):
        return [e for i, x in enumerate(value) for e in _elements(f"{src}[{i}]", x, ret)]
    return [src]


def _weighted(terms: list[str], rng) -> str:
    if len(terms) == 1:
        return terms[0]
    return " + ".join(f"{fsrc(rng.choice((-1, 1)) * rng.uniform(0.5, 1.5))} * ({t})" for t in terms)


def _cases() -> list[Case]:
    cases = []
    for p in P.TABLE:
        if not (p.differentiable and _active(p.ret) and any(_active(t) for t in p.types)):
            continue
        if p.partials is not None:
            cases.append(_elementwise_tensor_case(p) if TENSOR in p.types else _elementwise_float_case(p))
        elif p.examples:
            cases.append(_explicit_case(p))
    return cases


def test_every_differentiable_entry_is_checked():
    checked = {id(p) for c in CASES for p in c.entries}
    missing = [p for p in P.TABLE if p.differentiable and _active(p.ret) and any(_active(t) for t in p.types)
               and id(p) not in checked]
    assert not missing, f"entries without a test case (give them `examples`): {missing}"


# ---------------------------------------------------------------- running a case

class Harness:
    """One interpreter per case; each derivative mode is loaded on first use."""

    def __init__(self, case: Case):
        self.case = case
        self.dp = Interpreter()
        self.dp.load(case.source(), f"<{case.id}>")
        self.f = self.dp.function("f")
        self.modes: dict = {}

    def mode(self, mode: str):
        if mode not in self.modes:
            for need in NEEDS.get(mode, []):
                self.mode(need)
            self.dp.load(f"fn f_{mode}(t: float) -> float {{ return {MODES[len(mode)][mode]} }}",
                         f"<{self.case.id} {mode}>")
            self.modes[mode] = self.dp.function(f"f_{mode}")
        return self.modes[mode]

    def central_difference(self, order: int) -> float:
        g = self.f if LOWER[order] is None else self.mode(LOWER[order])
        return (g(H) - g(-H)) / (2 * H)


@functools.lru_cache(maxsize=None)
def harness(case_id: str) -> Harness:
    return Harness(BY_ID[case_id])


CASES = _cases()
BY_ID = {c.id: c for c in CASES}

# Failures in the transforms (dsl/ad/*), not in the table: (case, mode) → why. Those of
# helpers' tensor versions at third order show with DP_PRIMITIVES_ALL=1.
TRANSFORM_BUGS: dict[tuple[str, str], str] = {}


def _params():
    for c in CASES:
        for order, mode in c.modes():
            bug = TRANSFORM_BUGS.get((c.id, mode))
            marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
            yield pytest.param(c.id, order, mode, marks=marks, id=f"{c.id}-{mode}")


@pytest.mark.parametrize("case_id,order,mode", list(_params()))
def test_derivative(case_id, order, mode):
    h = harness(case_id)
    got = h.mode(mode)(0.0)
    want = h.central_difference(order)
    assert abs(got - want) <= FD_TOL * max(1.0, abs(want)), \
        f"{mode} = {got}, central differences {want}\n{h.case.source()}"
    checked = [m for k, m in h.case.modes() if k == order]
    others = [m for m in checked if m != mode and (case_id, m) not in TRANSFORM_BUGS]
    if others:
        other = h.mode(others[0])(0.0)
        assert abs(got - other) <= MODE_TOL * max(1.0, abs(other)), f"{mode} = {got}, {others[0]} = {other}"



# ---------------------------------------------------------------- the special builtins

def _count_error(message: str) -> bool:
    import re
    return bool(re.search(r"takes (\d|a function|the function)|needs a function", message))


@pytest.mark.parametrize("b", P.BUILTINS, ids=lambda b: b.name)
def test_a_builtin_takes_the_arguments_its_entry_says(b):
    dp = Interpreter()
    dp.load("fn g(x: float) -> float { return x }")
    first = "g" if b.derivative == "transform" or b.name == "source" else "1.0"
    if b.arity is None:                         # the count depends on the function (vjp)
        return
    for n in range(5):
        args = ", ".join([first] + ["0"] * (n - 1)) if n else ""
        try:
            dp.session.check_text(f"let v = {b.name}({args})\n", "<arity>")
            message = ""
        except DPError as e:
            message = str(e).split("\n")[0]
        assert _count_error(message) != (n in b.arity), f"{b.name} with {n} arguments: {message!r}"


def _through(b):
    """A program f(x) using builtin b and the right f'(1.5)."""
    if b.derivative == "zero":
        return f"{b.name}(x) + x * x", 3.0               # d/dx (c + x²) = 2x
    if b.derivative == "identity":
        return f"{b.name}(x) * x", 3.0                   # d/dx x² = 2x
    if b.name == "accumulate":
        return "accumulate(x * x, x)", 4.0               # d/dx (x² + x) = 2x + 1
    if b.name == "sublist":
        return "sublist([x, x * x, 3.0 * x], 1, 3)[0]", 3.0
    if b.name == "splice":                                 # x + 3x + x + 7, x * x replaced
        return "sum(splice([x, x * x, 7.0], 1, 2, [3.0 * x, x]))", 5.0
    raise AssertionError(f"no derivative test for the {b.derivative} builtin `{b.name}`")


BUGS_THROUGH: dict[str, str] = {}


@pytest.mark.parametrize("b", [pytest.param(b, marks=[pytest.mark.xfail(strict=True, reason=BUGS_THROUGH[b.name])]
                                            if b.name in BUGS_THROUGH else [], id=b.name)
                               for b in P.BUILTINS if b.derivative in ("zero", "identity", "linear")])
def test_derivatives_pass_through_a_builtin_as_its_entry_says(b):
    """Right, or a differentiation error: never a wrong number."""
    expr, want = _through(b)
    dp = Interpreter()
    dp.load(f"fn f(x: float) -> float {{ return {expr} }}")
    for mode in ("grad(f)(1.5)", "jvp(f, 1.5, 1.0).1"):
        try:
            got = dp.eval(mode)
        except DPError as e:
            assert "differentiation error" in str(e), str(e)
            continue
        assert got == pytest.approx(want, rel=1e-12), f"{mode} of {expr}"


# ---------------------------------------------------------------- rules an audit found wrong (issue 11)

def _values(src: str, exprs: list[str]) -> list:
    dp = Interpreter()
    dp.load(src)
    return [dp.eval(e) for e in exprs]


def test_second_derivatives_of_powers():
    src = """fn sq(x: float) -> float { return x ** 2.0 }
fn root(x: float) -> float { return x ** 0.5 }
fn cube(x: float) -> float { return pow(x, 3.0) }
fn cube_int(x: float) -> float { return x ** 3 }"""
    got = _values(src, ["grad(grad(sq))(3.0)", "grad(grad(root))(4.0)", "grad(grad(cube))(1.0)",
                        "grad(grad(grad(cube)))(1.0)", "grad(grad(grad(cube_int)))(1.3)", "jvp(grad(root), 4.0, 1.0).1"])
    assert got == pytest.approx([2.0, -0.25 * 4.0 ** -1.5, 6.0, 6.0, 6.0, -0.25 * 4.0 ** -1.5], rel=1e-12)


def test_derivatives_in_the_exponent():
    src = """fn exp2(p: float) -> float { return 2.0 ** p }
fn f(x: float, p: float) -> float { return x ** p }
fn df_dp(x: float, p: float) -> float { return grad(f, 1)(x, p) }"""
    x, p, ln2 = 1.7, 2.3, math.log(2.0)
    got = _values(src, ["grad(grad(exp2))(1.5)", "grad(grad(grad(exp2)))(1.5)", "grad(df_dp, 0)(1.7, 2.3)",
                        "grad(df_dp, 1)(1.7, 2.3)", "jvp(df_dp, (1.7, 2.3), (0.0, 1.0)).1"])
    assert got == pytest.approx([2 ** 1.5 * ln2 ** 2, 2 ** 1.5 * ln2 ** 3, x ** (p - 1) * (1 + p * math.log(x)),
                                 x ** p * math.log(x) ** 2, x ** p * math.log(x) ** 2], rel=1e-12)


def test_second_derivative_of_sqrt():
    got = _values("fn r(x: float) -> float { return sqrt(x) }",
                  ["grad(grad(sqrt))(0.7)", "grad(grad(r))(0.7)", "grad(grad(grad(r)))(0.7)"])
    assert got == pytest.approx([-0.25 * 0.7 ** -1.5, -0.25 * 0.7 ** -1.5, 0.375 * 0.7 ** -2.5], rel=1e-12)


def test_hessians_of_tensor_powers_and_sqrt():
    src = """fn squares(x: tensor) -> float { return sum(x ** 2) }
fn powers(x: tensor) -> float { return sum(x ** 2.5) }
fn exps(x: tensor) -> float { return sum(2.0 ** x) }
fn roots(x: tensor) -> float { return sum(sqrt(x)) }"""
    x = np.array([0.5, 1.0, 2.0])
    got = _values(src, [f"hessian({f})(tensor([0.5, 1.0, 2.0]))" for f in ("squares", "powers", "exps", "roots")])
    want = [2.0 * np.ones(3), 2.5 * 1.5 * x ** 0.5, 2.0 ** x * math.log(2.0) ** 2, -0.25 * x ** -1.5]
    for g, w in zip(got, want):
        assert np.allclose(g, np.diag(w), rtol=1e-12, atol=0)


def test_outer_of_a_matrix_gives_gradients_of_its_arguments_shapes():
    """outer flattens its arguments (as numpy's); their cotangents are reshaped back."""
    src = """fn f(a: tensor, b: tensor) -> float { return sum(outer(a, b) * reshape(arange(12), [4, 3])) }"""
    a, b, w = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.5, -1.0, 2.0]), np.arange(12.0).reshape(4, 3)
    ga, gb = _values(src, ["grad(f, (0, 1))(tensor([[1.0, 2.0], [3.0, 4.0]]), tensor([0.5, -1.0, 2.0]))"])[0]
    assert ga.shape == (2, 2) and np.allclose(ga, (w @ b).reshape(2, 2), rtol=1e-12)
    assert gb.shape == (3,) and np.allclose(gb, w.T @ a.ravel(), rtol=1e-12)


def test_linspace_is_differentiable_in_its_ends():
    """It was a constant to the transforms: a silently zero derivative."""
    src = "fn f(a: float, b: float) -> float { return sum(linspace(a, b, 5) * arange(5)) }"
    s = np.linspace(0.0, 1.0, 5)
    got = _values(src, ["grad(f, (0, 1))(0.5, 2.0)", "jvp(f, (0.5, 2.0), (1.0, 0.0)).1"])
    assert got[0] == pytest.approx((float(np.sum((1 - s) * np.arange(5))), float(np.sum(s * np.arange(5)))), rel=1e-12)
    assert got[1] == pytest.approx(float(np.sum((1 - s) * np.arange(5))), rel=1e-12)


# ---------------------------------------------------------------- conventions at non-differentiable points, every order

CONVENTIONS = [
    # (function of x, point, [f', f'', f'''] by the documented convention or the limit)
    ("abs(x)", 0.0, [0.0, 0.0, 0.0]),
    ("max(x, 1.0)", 1.0, [0.5, 0.0, 0.0]),
    ("min(1.0, x)", 1.0, [0.5, 0.0, 0.0]),
    ("clip(x, 0.0, 1.0)", 1.0, [0.5, 0.0, 0.0]),
    ("sqrt(x)", 0.0, [math.inf, -math.inf, math.inf]),                    # the limits from the right
    ("x ** 0.5", 0.0, [math.inf, -math.inf, math.inf]),
    ("x ** 2.0", 0.0, [0.0, 2.0, 0.0]),
    ("x ** 1.0", 0.0, [1.0, 0.0, 0.0]),
    ("x ** 0.0", 0.0, [0.0, 0.0, 0.0]),                                    # x ** 0 is 1 everywhere
    ("x ** 3", 0.0, [0.0, 0.0, 6.0]),
    ("x ** 1", 0.0, [1.0, 0.0, 0.0]),
    ("x ** 0", 0.0, [0.0, 0.0, 0.0]),
    ("0.0 ** x", 2.0, [0.0, 0.0, 0.0]),                                    # 0 ** p is 0 for p > 0
    ("pow(0.0, x)", 0.5, [0.0, 0.0, 0.0]),
    ("sign(x) + floor(x)", 0.0, [0.0, 0.0, 0.0]),
    ("relu(x)", 0.0, [0.0, 0.0, 0.0]),
]


@pytest.mark.parametrize("expr,x,want", CONVENTIONS, ids=[c[0] for c in CONVENTIONS])
def test_conventions_hold_at_every_order(expr, x, want):
    src = f"fn f(x: float) -> float {{ return {expr} }}"
    got = _values(src, [f"grad(f)({x})", f"grad(grad(f))({x})", f"grad(grad(grad(f)))({x})", f"jvp(f, {x}, 1.0).1"])
    assert got == [want[0], want[1], want[2], want[0]]


@pytest.mark.parametrize("expr,x,want", [pytest.param(*c, id=c[0]) for c in CONVENTIONS])
def test_conventions_hold_in_forward_mode_over_a_derivative(expr, x, want):
    src = f"fn f(x: float) -> float {{ return {expr} }}\nfn fj(x: float) -> float {{ return jvp(f, x, 1.0).1 }}"
    assert _values(src, [f"jvp(grad(f), {x}, 1.0).1", f"jvp(fj, {x}, 1.0).1"]) == [want[1], want[1]]


def test_a_mixed_derivative_of_a_power_at_zero_is_its_limit():
    """∂²(x ** p)/∂x∂p = x^(p-1) (1 + p log x) → 0 as x → 0 for p > 1."""
    got = _values("fn f(x: float, p: float) -> float { return x ** p }\n"
                  "fn dx(x: float, p: float) -> float { return grad(f, 0)(x, p) }",
                  ["grad(dx, 1)(0.0, 2.5)", "grad(grad(dx, 1), 1)(0.0, 2.5)"])
    assert got == [0.0, 0.0]


# ---------------------------------------------------------------- failures in the transforms, not in the table

def test_a_broadcast_cotangent_keeps_its_shape():
    src = """fn g(t: float) -> float {
    var p = zeros(0)
    var q: tensor = zeros(0)
    p = tensor([1.5]) + t
    q = p - 1.0
    var s = q
    s = accumulate(s, unbroadcast(zeros([2, 1]) * (p - 1.0), p))
    return sum(s)
}"""
    assert _values(src, ["grad(g)(0.0)"]) == [1.0]          # sum(s) = 0.5 + t


def test_third_order_through_a_list_of_tensors():
    src = """fn g(t: float) -> float {
    let r = [tensor([1.0]) * t * t * t]
    return sum(r[0])
}"""
    assert _values(src, ["grad(grad(grad(g)))(0.7)"]) == [6.0]


