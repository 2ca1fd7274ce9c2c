"""The one table of primitives. Each entry gives a primitive's type, its Python
implementation, and its derivative rules:

  jvp  — the tangent of the result, in terms of the arguments, their tangents
         (`x_dot`) and the result `y`;
  vjp  — for each argument, its cotangent contribution, in terms of the arguments,
         the result `y` and the result's cotangent `y_bar`.

Rules are DP expressions, parsed once, and spliced into derived code by the
transforms, so a derived function is plain DP. Adding a primitive touches this
table and its tests, nothing else.

Conventions at non-differentiable points (documented in docs/derivatives.md):
  abs'(0) = 0;  max/min split the cotangent equally on ties;  sqrt'(0) = +inf;
  x ** p at x = 0 has d/dp = 0.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from .types import BOOL, FLOAT, INT, STRING, UNIT, ListT, Type
from .tensor_primitives import tensor_primitives


@dataclass
class Primitive:
    name: str                          # the DP name (operators use their symbol)
    params: tuple[str, ...]            # parameter names used by the rules
    types: tuple[Type, ...]            # parameter types
    ret: Type
    impl: object = None                # a Python callable, or None when `py_op` is set
    py_op: str | None = None           # a Python operator the compiler emits inline
    jvp: str | None = None
    vjp: tuple[str, ...] | None = None
    doc: str = ""
    view: bool = False                 # the result may share memory with an argument (numpy views)
    elementwise: bool = False          # tensor result shaped like its operands broadcast together
    rules: dict = field(default_factory=dict)   # parsed rules, filled lazily by dsl.rules

    @property
    def differentiable(self) -> bool:
        return self.jvp is not None


def _sign(x: float) -> float:
    return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0)


def _sqrt_deriv(y: float) -> float:
    """d sqrt(x)/dx written in terms of y = sqrt(x); +inf at 0 by convention."""
    return 0.5 / y if y != 0.0 else math.inf


def _pow_dbase(x: float, p: float) -> float:
    return p * math.pow(x, p - 1.0) if p != 0.0 else 0.0


def _pow_dexp(x: float, y: float) -> float:
    return math.log(x) * y if x > 0.0 else 0.0


def _tie_share(a: float, b: float) -> float:
    """The share of max(a, b)'s cotangent that goes to a: 1, 0, or 1/2 on a tie."""
    return 1.0 if a > b else (0.0 if a < b else 0.5)


def _sigmoid(x: float) -> float:
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _fmod(a: float, b: float) -> float:
    return math.fmod(a, b)


def _trunc_div(a: float, b: float) -> float:
    return float(math.trunc(a / b))


F, FF = (FLOAT,), (FLOAT, FLOAT)


def _plot_signatures():
    """plot(ys), plot(ys, label), plot(xs, ys), plot(xs, ys, label), of lists or tensors."""
    from .types import TENSOR
    for seq in (ListT(FLOAT), TENSOR):
        yield ("ys",), (seq,)
        yield ("ys", "label"), (seq, STRING)
        yield ("xs", "ys"), (seq, seq)
        yield ("xs", "ys", "label"), (seq, seq, STRING)

TABLE: list[Primitive] = [
    # arithmetic on floats: the compiler emits the Python operator inline
    Primitive("+", ("a", "b"), FF, FLOAT, py_op="+", jvp="a_dot + b_dot", vjp=("y_bar", "y_bar")),
    Primitive("-", ("a", "b"), FF, FLOAT, py_op="-", jvp="a_dot - b_dot", vjp=("y_bar", "-y_bar")),
    Primitive("*", ("a", "b"), FF, FLOAT, py_op="*", jvp="a_dot * b + a * b_dot", vjp=("y_bar * b", "a * y_bar")),
    Primitive("/", ("a", "b"), FF, FLOAT, py_op="/", jvp="(a_dot - y * b_dot) / b", vjp=("y_bar / b", "-(y_bar * y / b)")),
    Primitive("%", ("a", "b"), FF, FLOAT, impl=_fmod, jvp="a_dot - trunc_div(a, b) * b_dot", vjp=("y_bar", "-(y_bar * trunc_div(a, b))")),
    Primitive("neg", ("x",), F, FLOAT, py_op="neg", jvp="-x_dot", vjp=("-y_bar",)),
    Primitive("**", ("x", "p"), FF, FLOAT, impl=math.pow,
              jvp="pow_dbase(x, p) * x_dot + pow_dexp(x, y) * p_dot",
              vjp=("y_bar * pow_dbase(x, p)", "y_bar * pow_dexp(x, y)")),
    Primitive("**int", ("x", "n"), (FLOAT, INT), FLOAT, py_op="**",
              jvp="float(n) * x ** (n - 1) * x_dot", vjp=("y_bar * float(n) * x ** (n - 1)", "")),
    # elementary functions
    Primitive("sin", ("x",), F, FLOAT, impl=math.sin, jvp="cos(x) * x_dot", vjp=("y_bar * cos(x)",)),
    Primitive("cos", ("x",), F, FLOAT, impl=math.cos, jvp="-(sin(x) * x_dot)", vjp=("-(y_bar * sin(x))",)),
    Primitive("tan", ("x",), F, FLOAT, impl=math.tan, jvp="(1.0 + y * y) * x_dot", vjp=("y_bar * (1.0 + y * y)",)),
    Primitive("exp", ("x",), F, FLOAT, impl=math.exp, jvp="y * x_dot", vjp=("y_bar * y",)),
    Primitive("log", ("x",), F, FLOAT, impl=math.log, jvp="x_dot / x", vjp=("y_bar / x",)),
    Primitive("sqrt", ("x",), F, FLOAT, impl=math.sqrt, jvp="sqrt_deriv(y) * x_dot", vjp=("y_bar * sqrt_deriv(y)",)),
    Primitive("relu", ("x",), F, FLOAT, impl=lambda x: x if x > 0.0 else 0.0, jvp="heaviside(x) * x_dot",
              vjp=("y_bar * heaviside(x)",)),
    Primitive("log1p", ("x",), F, FLOAT, impl=math.log1p, jvp="x_dot / (1.0 + x)", vjp=("y_bar / (1.0 + x)",)),
    Primitive("expm1", ("x",), F, FLOAT, impl=math.expm1, jvp="(y + 1.0) * x_dot", vjp=("y_bar * (y + 1.0)",)),
    Primitive("sinh", ("x",), F, FLOAT, impl=math.sinh, jvp="cosh(x) * x_dot", vjp=("y_bar * cosh(x)",)),
    Primitive("cosh", ("x",), F, FLOAT, impl=math.cosh, jvp="sinh(x) * x_dot", vjp=("y_bar * sinh(x)",)),
    Primitive("asin", ("x",), F, FLOAT, impl=math.asin, jvp="x_dot / sqrt(1.0 - x * x)", vjp=("y_bar / sqrt(1.0 - x * x)",)),
    Primitive("acos", ("x",), F, FLOAT, impl=math.acos, jvp="-(x_dot / sqrt(1.0 - x * x))", vjp=("-(y_bar / sqrt(1.0 - x * x))",)),
    Primitive("atan", ("x",), F, FLOAT, impl=math.atan, jvp="x_dot / (1.0 + x * x)", vjp=("y_bar / (1.0 + x * x)",)),
    # atan2(a, b): the angle of the point (b, a)
    Primitive("atan2", ("a", "b"), FF, FLOAT, impl=math.atan2, jvp="(b * a_dot - a * b_dot) / (a * a + b * b)",
              vjp=("y_bar * b / (a * a + b * b)", "-(y_bar * a / (a * a + b * b))")),
    Primitive("clip", ("x", "lo", "hi"), (FLOAT, FLOAT, FLOAT), FLOAT, impl=lambda x, lo, hi: min(max(x, lo), hi),
              jvp="clip_inside(x, lo, hi) * x_dot + heaviside(lo - x) * lo_dot + heaviside(x - hi) * hi_dot",
              vjp=("y_bar * clip_inside(x, lo, hi)", "y_bar * heaviside(lo - x)", "y_bar * heaviside(x - hi)")),
    Primitive("tanh", ("x",), F, FLOAT, impl=math.tanh, jvp="(1.0 - y * y) * x_dot", vjp=("y_bar * (1.0 - y * y)",)),
    Primitive("sigmoid", ("x",), F, FLOAT, impl=_sigmoid, jvp="y * (1.0 - y) * x_dot", vjp=("y_bar * y * (1.0 - y)",)),
    Primitive("abs", ("x",), F, FLOAT, impl=abs, jvp="sign(x) * x_dot", vjp=("y_bar * sign(x)",)),
    Primitive("max", ("a", "b"), FF, FLOAT, impl=max,
              jvp="tie_share(a, b) * a_dot + tie_share(b, a) * b_dot",
              vjp=("y_bar * tie_share(a, b)", "y_bar * tie_share(b, a)")),
    Primitive("min", ("a", "b"), FF, FLOAT, impl=min,
              jvp="tie_share(b, a) * a_dot + tie_share(a, b) * b_dot",
              vjp=("y_bar * tie_share(b, a)", "y_bar * tie_share(a, b)")),
    Primitive("pow", ("x", "p"), FF, FLOAT, impl=math.pow,
              jvp="pow_dbase(x, p) * x_dot + pow_dexp(x, y) * p_dot",
              vjp=("y_bar * pow_dbase(x, p)", "y_bar * pow_dexp(x, y)")),
    # helpers the rules use; piecewise constant, so their derivatives are zero
    Primitive("sign", ("x",), F, FLOAT, impl=_sign, jvp="0.0", vjp=("0.0",)),
    Primitive("floor", ("x",), F, FLOAT, impl=lambda x: float(math.floor(x)), jvp="0.0", vjp=("0.0",)),
    Primitive("trunc_div", ("a", "b"), FF, FLOAT, impl=_trunc_div, jvp="0.0", vjp=("0.0", "0.0")),
    Primitive("tie_share", ("a", "b"), FF, FLOAT, impl=_tie_share, jvp="0.0", vjp=("0.0", "0.0")),
    Primitive("sqrt_deriv", ("y",), F, FLOAT, impl=_sqrt_deriv,
              jvp="-(2.0 * sqrt_deriv(y) * sqrt_deriv(y) * y_dot)", vjp=("-(y_bar * 2.0 * sqrt_deriv(y) * sqrt_deriv(y))",)),
    Primitive("pow_dbase", ("x", "p"), FF, FLOAT, impl=_pow_dbase,
              jvp="pow_dbase(x, p) * (p - 1.0) / x * x_dot", vjp=("y_bar * (p - 1.0) * pow_dbase(x, p - 1.0)", "0.0")),
    Primitive("pow_dexp", ("x", "y"), FF, FLOAT, impl=_pow_dexp, jvp="0.0", vjp=("0.0", "0.0")),
    Primitive("clip_inside", ("x", "lo", "hi"), (FLOAT, FLOAT, FLOAT), FLOAT, impl=lambda x, lo, hi: 1.0 if lo <= x <= hi else 0.0,
              jvp="0.0", vjp=("0.0", "0.0", "0.0")),
    # integer versions: inactive
    Primitive("abs", ("x",), (INT,), INT, impl=abs),
    Primitive("max", ("a", "b"), (INT, INT), INT, impl=max),
    Primitive("min", ("a", "b"), (INT, INT), INT, impl=min),
    # a script's command-line arguments (`dp run FILE ARGS…`); each session binds its own
    Primitive("args", (), (), ListT(STRING), impl=lambda: [], doc="the script's arguments"),
    # plots and progress bars: effects each session binds (interpreter/plots.py, progress.py)
    *[Primitive("plot", names, types, UNIT, doc="add a line to the figure (shown in Jupyter, written by savefig)")
      for names, types in _plot_signatures()],
    Primitive("savefig", ("path",), (STRING,), UNIT, doc="write the figure to an image file, where writes are granted"),
    Primitive("progress", ("xs",), (ListT(INT),), ListT(INT), doc="xs; a `for` over it shows a progress bar"),
]

# Derivatives of pow_dbase need more care than a one-line rule at x = 0; it appears only
# in third and higher derivatives of `**`, where the rule above holds for x != 0.

TABLE += tensor_primitives(TABLE)

BY_NAME: dict[str, list[Primitive]] = {}
for _p in TABLE:
    BY_NAME.setdefault(_p.name, []).append(_p)

# Names callable from DP source as functions (operators are reached through syntax).
CALLABLE = {name for name in BY_NAME if name[0].isalpha() and name != "neg"}


def lookup(name: str, arg_types: tuple[Type, ...]) -> Primitive | None:
    from .types import assignable
    for p in BY_NAME.get(name, ()):
        if len(p.types) == len(arg_types) and all(assignable(a, t) for a, t in zip(arg_types, p.types)):
            return p
    return None


# -- builtins whose type depends on their arguments; the checker types them itself.
SPECIAL_BUILTINS = {"print", "len", "range", "float", "int", "str", "stop_gradient", "zeros_like", "accumulate", "source",
                    "sublist"}
_ = (BOOL, STRING)
