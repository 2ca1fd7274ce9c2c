"""What a primitive is, and the two forms the table (dsl/primitives.py) declares one in.

`elementwise(...)` declares a function of floats once, with its derivative written as
DP: one partial derivative per parameter, in terms of the parameters and the result
`y` (ChainRules' `@scalar_rule tan(x) 1 + Ω^2` is the model). From that one entry come

  * its float version and its tensor versions (every mix of tensor and float
    arguments, broadcasting), all with the same partials;
  * the jvp, Σ ∂y/∂x · x_dot, and for each argument the vjp, y_bar · ∂y/∂x, summed
    back to the argument's shape (`unbroadcast(…, x)`) where it may have been broadcast.

A helper that a partial calls (`sqrt_deriv`, `pow_dbase`, `tie_share`) is itself an
elementwise primitive of the table with its own partials, so derivatives of every
order come from the table.

`Primitive(...)` declares anything else (matmul, reductions, shapes) with explicit
`jvp` and `vjp` templates in the same rule language: the parameters and `y` (the
result) name values, `x_dot` the tangent of parameter `x`, `y_bar` the result's
cotangent. So no parameter may be named `y` or `y_bar`, or end in `_dot` or `_bar`.
"""
from __future__ import annotations

import functools
import itertools

from . import syntax as S
from .records import Record, define, record
from .types import FLOAT, INT, TENSOR, Type


class Primitive:
    """One entry of the table: a primitive at one signature.

    The transforms read `params`, `types`, `ret`, `jvp` (the tangent of the result) and
    `vjp` (one cotangent per parameter); the compiler `impl` (a Python callable, None
    for an operator compiled inline, see `py_op`) and `view`. The facts:
      elementwise         a tensor result shaped like its operands broadcast together
      keeps_shape         a tensor result shaped like its one tensor argument
      reduction           sums, averages or picks along an axis, or over the whole tensor
      view                the result may share memory with an argument (a numpy view)
      piecewise_constant  every derivative is zero (where one exists)
      total               cannot fail (raise) for any arguments of its types (say so: the
                          default is that it may)
      domain              a DP condition on the parameters: where it is defined and
                          smooth (None: everywhere)
      total_in_domain     cannot fail where its domain holds, so a call whose value is
                          unused (derived code keeps one for its error) compiles to the
                          test `if not domain: call` (tests/test_primitives.py checks it)
      kinks               a DP expression whose zeros include every point where it is
                          not smooth: a kink, a jump or a pole (None: nowhere)
      helper              made for derivative rules; derived code calls it
      partials            ∂y/∂param as DP, one per parameter (None for an int), when
                          declared elementwise
      examples            arguments to test a non-elementwise entry at (see tests/test_primitives.py)
    """

    def __init__(self, name: str, params: tuple[str, ...] | str, types: tuple[Type, ...], ret: Type, impl=None, *,
                 py_op: str | None = None, jvp: str | None = None, vjp: tuple[str, ...] | None = None,
                 partials: tuple[str | None, ...] | None = None, doc: str = "", view: bool = False,
                 elementwise: bool = False, keeps_shape: bool = False, reduction: bool = False,
                 piecewise_constant: bool = False, total: bool = False, domain: str | None = None,
                 total_in_domain: bool = False, kinks: str | None = None, helper: bool = False,
                 examples: tuple = ()):
        self.name = name
        self.params = tuple(params.split()) if isinstance(params, str) else tuple(params)
        self.types, self.ret, self.impl, self.py_op, self.doc = tuple(types), ret, impl, py_op, doc
        self.view, self.elementwise, self.keeps_shape, self.reduction = view, elementwise, keeps_shape, reduction
        self.piecewise_constant, self.total, self.domain, self.kinks = piecewise_constant, total, domain, kinks
        self.total_in_domain = total_in_domain
        self.helper, self.examples, self.partials = helper, examples, partials
        self._jvp, self._vjp = jvp, vjp
        self.rules: dict = {}
        _check_params(self)

    # An elementwise entry's rules are made from its partials on first use: parsing them
    # all when the table is built would cost every session's start.
    @property
    def jvp(self) -> str | None:
        if self._jvp is None and self.partials is not None:
            self._jvp, self._vjp = _rules_from_partials(self)
        return self._jvp

    @property
    def vjp(self) -> tuple[str, ...] | None:
        if self._vjp is None and self.partials is not None:
            self._jvp, self._vjp = _rules_from_partials(self)
        return self._vjp

    @property
    def differentiable(self) -> bool:
        return self.partials is not None or self._jvp is not None

    def call_src(self, *args: str) -> str:
        """DP source that applies this primitive to argument sources (for tests and docs)."""
        if self.name == "neg":
            return f"-({args[0]})"
        if not self.name[0].isalpha():
            return f"({args[0]}) {self.name.removesuffix('int')} ({args[1]})"
        return f"{self.name}({', '.join(args)})"

    def __repr__(self) -> str:
        return f"<primitive {self.name}({', '.join(map(str, self.types))}) -> {self.ret}>"


def elementwise(name: str, params: str, float_impl, tensor_impl, *partials: str | None, tensor_name: str | None = None,
                tensors: str | None = None, constant: bool = False, total: bool | None = None,
                domain: str | None = None, total_in_domain: bool = False, kinks: str | None = None,
                py_op: str | None = None, helper: bool = False, doc: str = "") -> list[Primitive]:
    """A function of floats, declared once, as its float version and its tensor versions.

    params     parameter names, `n:int` for an int parameter (never a tensor, no partial)
    partials   ∂y/∂param as DP, one per float parameter, in the parameters and `y`
    constant   piecewise constant: every partial is 0 (give none)
    tensors    the parameters that may be tensors (default: every float one); None
               tensor_impl: a float version only
    tensor_name  the tensor versions' name, when it differs (`max` → `maximum`)
    total      the float version cannot fail (default: when it has no domain)
    total_in_domain  the float version cannot fail where domain holds
    """
    names, types = _parse_params(params)
    floats = [n for n, t in zip(names, types) if t == FLOAT]
    if constant:
        partials = tuple("0.0" if t == FLOAT else None for t in types)
    else:
        partials = _align(name, names, types, partials)
    facts = dict(partials=partials, domain=domain, kinks=kinks, piecewise_constant=constant, py_op=py_op,
                 helper=helper, doc=doc)
    out = [Primitive(name, names, types, FLOAT, float_impl, total=domain is None if total is None else total,
                     total_in_domain=total_in_domain, **facts)]
    if tensor_impl is None:
        return out
    may_be_tensor = floats if tensors is None else tensors.split()
    choices = [(TENSOR, FLOAT) if n in may_be_tensor else (t,) for n, t in zip(names, types)]
    for combo in itertools.product(*choices):
        n_tensors = combo.count(TENSOR)
        if n_tensors:
            out.append(Primitive(tensor_name or name, names, combo, TENSOR, tensor_impl, elementwise=True,
                                 keeps_shape=n_tensors == 1, total=n_tensors == 1, **facts))
    return out


def _parse_params(spec: str) -> tuple[tuple[str, ...], tuple[Type, ...]]:
    names, types = [], []
    for word in spec.split():
        n, _, t = word.partition(":")
        names.append(n)
        types.append({"": FLOAT, "int": INT}[t])
    return tuple(names), tuple(types)


def _align(name, names, types, partials) -> tuple[str | None, ...]:
    """One partial per float parameter given: spread over the parameters, None for ints."""
    floats = [t == FLOAT for t in types]
    if len(partials) != sum(floats):
        raise ValueError(f"`{name}` has {sum(floats)} float parameter(s) but {len(partials)} partial(s)")
    given = iter(partials)
    return tuple(next(given) if f else None for f in floats)


def _check_params(p: Primitive) -> None:
    """The rule language's own names cannot be parameters: `sqrt_deriv(y)` would read
    its argument as the result."""
    for n in p.params:
        if n in ("y", "y_bar") or n.endswith(("_dot", "_bar")):
            raise ValueError(f"primitive `{p.name}`: a parameter cannot be named `{n}`; `y`, `y_bar`, `…_dot` and "
                             f"`…_bar` are the rule language's names for the result and the (co)tangents")
    if len(p.types) != len(p.params):
        raise ValueError(f"primitive `{p.name}`: {len(p.params)} parameter names for {len(p.types)} types")


# ---------------------------------------------------------------- jvp and vjp from partials

def _rules_from_partials(p: Primitive) -> tuple[str, tuple[str, ...]]:
    """The jvp Σ ∂y/∂x · x_dot and, per parameter, the vjp y_bar · ∂y/∂x (unbroadcast
    where the argument may have been broadcast)."""
    from .printer import expr_src
    tangent = None
    cotangents = []
    for name, t, partial in zip(p.params, p.types, p.partials):
        if partial is None:                                  # an int: no derivative
            cotangents.append("0")
            continue
        d = _parse(partial)
        if not _is_zero(d):
            dot = S.Name(f"{name}_dot")
            term = S.Binary("*", dot, d) if _later_factor(p, name, d) else _scaled(d, dot)
            tangent = term if tangent is None else _plus(tangent, term)
        cotangents.append(_cotangent(p, name, t, d))
    if tangent is None:
        jvp = "zeros_like(y)" if p.ret == TENSOR else "0.0"
    else:
        jvp = expr_src(tangent)
    return jvp, tuple(cotangents)


def _cotangent(p: Primitive, name: str, t: Type, partial: S.Expr) -> str:
    from .printer import expr_src
    if _is_zero(partial):
        return f"zeros_like({name})" if t == TENSOR else "0.0"
    g = S.Name("y_bar")
    c = expr_src(_times(g, partial) if _later_factor(p, name, partial) or not _is_param(p, partial) else
                 S.Binary("*", partial, g))
    if p.ret == TENSOR and _may_be_broadcast(p, t):
        return f"unbroadcast({c}, {name})"
    return c


def _is_param(p: Primitive, e: S.Expr) -> bool:
    return isinstance(e, S.Name) and e.id in p.params


def _later_factor(p: Primitive, name: str, partial: S.Expr) -> bool:
    """Whether the partial is a parameter after `name`: in a product `a * b` each
    factor's (co)tangent keeps its side, `y_bar * b` for a and `a * y_bar` for b."""
    return _is_param(p, partial) and p.params.index(partial.id) > p.params.index(name)


def _may_be_broadcast(p: Primitive, t: Type) -> bool:
    """A float beside a tensor is broadcast; a tensor is, unless it is the only one."""
    return t == FLOAT or p.types.count(TENSOR) > 1


@functools.lru_cache(maxsize=None)
def _parse(src: str) -> S.Expr:
    """A partial's syntax tree (each parsed once: the tensor versions share it; read,
    never changed)."""
    from .parser import parse
    return parse(f"let rule = {src}\n", "<rule>").body[0].value


# Small algebra, so a generated rule reads as one would write it: `y_bar / x` for the
# partial `1.0 / x`, `-(y_bar * sin(x))` for `-sin(x)`.

def _is_zero(e) -> bool:
    return isinstance(e, S.Num) and e.value == 0


def _is_one(e) -> bool:
    return isinstance(e, S.Num) and e.value == 1


def _neg(e: S.Expr) -> S.Expr:
    if isinstance(e, S.Num):
        return S.Num(-e.value)
    if isinstance(e, S.Unary) and e.op == "-":
        return e.operand
    return S.Unary("-", e)


def _negated(e: S.Expr) -> S.Expr | None:
    """-e, if e has a leading minus (`-x`, `-2.0 * y`, `-a / b`) to drop; else None."""
    if isinstance(e, S.Unary) and e.op == "-":
        return e.operand
    if isinstance(e, S.Num) and e.value < 0:
        return S.Num(-e.value)
    if isinstance(e, S.Binary) and e.op in ("*", "/"):
        left = _negated(e.left)
        return None if left is None else S.Binary(e.op, left, e.right)
    return None


def _times(g: S.Expr, partial: S.Expr) -> S.Expr:
    """g · partial, the cotangent first: `y_bar * cos(x)`, `y_bar / x`, `-(y_bar * y / b)`."""
    if _is_one(partial):
        return g
    inner = _negated(partial)
    if inner is not None:
        return _neg(_times(g, inner))
    if isinstance(partial, S.Binary) and partial.op == "/":
        return S.Binary("/", _times(g, partial.left), partial.right)
    if isinstance(partial, S.Binary) and partial.op == "*":
        return S.Binary("*", _times(g, partial.left), partial.right)
    return S.Binary("*", g, partial)


def _scaled(partial: S.Expr, dot: S.Expr) -> S.Expr:
    """partial · dot, the partial first: `cos(x) * x_dot`, `x_dot / x`, `-(sin(x) * x_dot)`."""
    if _is_one(partial):
        return dot
    inner = _negated(partial)
    if inner is not None:
        return _neg(_scaled(inner, dot))
    if isinstance(partial, S.Binary) and partial.op == "/":
        return S.Binary("/", _scaled(partial.left, dot), partial.right)
    return S.Binary("*", partial, dot)


def _plus(a: S.Expr, b: S.Expr) -> S.Expr:
    inner = _negated(b)
    if inner is not None:
        return S.Binary("-", a, inner)
    return S.Binary("+", a, b)


# ---------------------------------------------------------------- special builtins

@record(frozen=True)
class Builtin(Record):
    """A builtin whose type depends on its arguments; the checker types it itself.

    derivative, how derivatives pass through it:
      none       its result carries none (an int, a string, unit, source text)
      zero       its result's derivative is zero
      identity   its result's derivative is its argument's
      linear     its result's derivative is the same operation on its arguments' derivatives
      transform  a derivative operator: derivatives of its result are derivatives of a derivative
    """
    name: str
    arity: tuple[int, ...] | None      # the numbers of arguments it takes; None: any
    derivative: str
    doc: str

    def __post_init__(self):
        assert self.derivative in ("none", "zero", "identity", "linear", "transform"), self.derivative


define((Builtin,), __file__ + ":builtin", by_value=(Builtin,))          # its methods (dsl/records.py)
