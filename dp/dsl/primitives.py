"""The one table of primitives, and the table of special builtins.

An elementwise primitive is one `elementwise(name, params, float version, numpy
version, ∂y/∂param…)` line: its partial derivatives are DP, in the parameters and the
result `y`, and its float and tensor versions, jvp and vjp all come from them (see
dsl/primitive.py). Everything else is a `Primitive(...)` with explicit `jvp` and
`vjp` templates. Adding a primitive touches this table (and its line in the docs);
tests/test_primitives.py checks every entry's derivatives to third order.

Conventions at non-differentiable points (docs/derivatives.md), at every order:
  abs'(0) = 0;  max/min (and clip at a bound) split the derivative equally on ties;
  sqrt'(0) = +inf;  x ** p at x = 0: every derivative in p is 0.
"""
from __future__ import annotations

import math

from . import kernels as K
from . import lazy_numpy
from .primitive import Builtin, Primitive, elementwise
from .types import BOOL, FLOAT, INT, STRING, TENSOR, UNIT, ListT, Type

np = lazy_numpy.module(globals())          # numpy, imported when a program first needs it
N = lazy_numpy.functions                   # N.sin: numpy.sin, named before numpy is imported

T, F, I = TENSOR, FLOAT, INT
LI, LF, LT = ListT(INT), ListT(FLOAT), ListT(TENSOR)
LLF, LLLF = ListT(LF), ListT(ListT(LF))
PI = "3.141592653589793"


def _plot_signatures():
    """plot(ys), plot(ys, label), plot(xs, ys), plot(xs, ys, label), of lists or tensors."""
    for seq in (ListT(FLOAT), TENSOR):
        yield ("ys",), (seq,)
        yield ("ys", "label"), (seq, STRING)
        yield ("xs", "ys"), (seq, seq)
        yield ("xs", "ys", "label"), (seq, seq, STRING)


TABLE: list[Primitive] = [
    # arithmetic (on floats the compiler emits the Python operator inline)
    *elementwise("+", "a b", None, N.add, "1.0", "1.0", py_op="+"),
    *elementwise("-", "a b", None, N.subtract, "1.0", "-1.0", py_op="-"),
    *elementwise("*", "a b", None, N.multiply, "b", "a", py_op="*"),
    *elementwise("/", "a b", None, N.divide, "1.0 / b", "-(y / b)", py_op="/", domain="b != 0.0", kinks="b",
                 total_in_domain=True),
    *elementwise("%", "a b", K.fmod, N.fmod, "1.0", "-trunc_div(a, b)", domain="b != 0.0",
                 kinks=f"b * sin({PI} * a / b)", doc="C's fmod: the sign of the dividend"),
    *elementwise("neg", "x", None, N.negative, "-1.0", py_op="neg"),
    *elementwise("**", "x p", math.pow, N.power, "pow_dbase(x, p)", "pow_term(1.0, x, p, 1)", py_op="**",
                 domain="x > 0.0"),
    *elementwise("**int", "x n:int", None, None, "pow_dbase(x, n)", py_op="**", total=False, doc="float ** int"),
    *elementwise("pow", "x p", math.pow, None, "pow_dbase(x, p)", "pow_term(1.0, x, p, 1)", domain="x > 0.0"),
    # elementary functions
    *elementwise("sin", "x", math.sin, N.sin, "cos(x)"),
    *elementwise("cos", "x", math.cos, N.cos, "-sin(x)"),
    *elementwise("tan", "x", math.tan, N.tan, "1.0 + y * y", kinks="cos(x)"),
    *elementwise("exp", "x", math.exp, N.exp, "y", total=False),
    *elementwise("log", "x", math.log, N.log, "1.0 / x", total_in_domain=True, domain="x > 0.0"),
    *elementwise("sqrt", "x", math.sqrt, N.sqrt, "sqrt_deriv(y)", total_in_domain=True, domain="x >= 0.0", kinks="x"),
    *elementwise("log1p", "x", math.log1p, N.log1p, "1.0 / (1.0 + x)", total_in_domain=True, domain="x > -1.0"),
    *elementwise("expm1", "x", math.expm1, N.expm1, "y + 1.0", total=False),
    *elementwise("sinh", "x", math.sinh, N.sinh, "cosh(x)", total=False),
    *elementwise("cosh", "x", math.cosh, N.cosh, "sinh(x)", total=False),
    *elementwise("tanh", "x", math.tanh, N.tanh, "1.0 - y * y"),
    *elementwise("asin", "x", math.asin, N.arcsin, "1.0 / sqrt(1.0 - x * x)", domain="-1.0 < x && x < 1.0",
                 total_in_domain=True),
    *elementwise("acos", "x", math.acos, N.arccos, "-1.0 / sqrt(1.0 - x * x)", domain="-1.0 < x && x < 1.0",
                 total_in_domain=True),
    *elementwise("atan", "x", math.atan, N.arctan, "1.0 / (1.0 + x * x)"),
    *elementwise("atan2", "a b", math.atan2, N.arctan2, "b * inv_norm2(a, b)", "-(a * inv_norm2(a, b))",
                 domain="a != 0.0 || b != 0.0", kinks="a", total=True, doc="the angle of the point (b, a)"),
    *elementwise("sigmoid", "x", K.sigmoid, K.t_sigmoid, "y * (1.0 - y)"),
    *elementwise("erf", "x", math.erf, K.t_erf, "1.1283791670955126 * exp(-(x * x))", doc="2/√π ∫₀ˣ exp(-t²) dt"),
    *elementwise("erfc", "x", math.erfc, K.t_erfc, "-1.1283791670955126 * exp(-(x * x))", doc="1 - erf(x)"),
    # piecewise
    *elementwise("abs", "x", abs, N.abs, "sign(x)", kinks="x"),
    *elementwise("relu", "x", K.relu, K.t_relu, "heaviside(x)", kinks="x"),
    *elementwise("max", "a b", max, N.maximum, "tie_share(a, b)", "tie_share(b, a)", tensor_name="maximum",
                 kinks="a - b"),
    *elementwise("min", "a b", min, N.minimum, "tie_share(b, a)", "tie_share(a, b)", tensor_name="minimum",
                 kinks="a - b"),
    *elementwise("clip", "x lo hi", K.clip, N.clip, "clip_to_x(x, lo, hi)", "clip_to_lo(x, lo, hi)",
                 "clip_to_hi(x, lo, hi)", tensors="x", kinks="(x - lo) * (x - hi) * (hi - lo)",
                 doc="min(max(x, lo), hi)"),
    *elementwise("sign", "x", K.sign, N.sign, constant=True, kinks="x"),
    *elementwise("floor", "x", K.floor, N.floor, constant=True, kinks=f"sin({PI} * x)", total=False),
    # helpers the rules above use, differentiable to every order themselves
    *elementwise("heaviside", "x", K.heaviside, K.t_heaviside, constant=True, kinks="x", helper=True),
    *elementwise("trunc_div", "a b", K.trunc_div, K.t_trunc_div, constant=True, domain="b != 0.0",
                 kinks=f"b * sin({PI} * a / b)", helper=True),
    *elementwise("tie_share", "a b", K.tie_share, K.t_tie_share, constant=True, kinks="a - b", helper=True,
                 doc="the share of max(a, b)'s derivative that goes to a: 1, 0, or 1/2 on a tie"),
    # the shares of clip's derivative that go to x, lo and hi (they sum to 1)
    *elementwise("clip_to_x", "x lo hi", K.clip_to_x, K.t_clip_to_x, constant=True, tensors="x",
                 kinks="(x - lo) * (x - hi) * (hi - lo)", helper=True),
    *elementwise("clip_to_lo", "x lo hi", K.clip_to_lo, K.t_clip_to_lo, constant=True, tensors="x",
                 kinks="(x - lo) * (x - hi) * (hi - lo)", helper=True),
    *elementwise("clip_to_hi", "x lo hi", K.clip_to_hi, K.t_clip_to_hi, constant=True, tensors="x",
                 kinks="(x - lo) * (x - hi) * (hi - lo)", helper=True),
    *elementwise("inv_norm2", "a b", K.inv_norm2, K.t_inv_norm2, "-2.0 * a * (y * y)", "-2.0 * b * (y * y)",
                 domain="a != 0.0 || b != 0.0", kinks="a * a + b * b", helper=True,
                 doc="1 / (a² + b²), in atan2's derivative; a differentiation error at the origin"),
    *elementwise("sqrt_deriv", "r", K.sqrt_deriv, K.t_sqrt_deriv, "-2.0 * y * y", domain="r >= 0.0", kinks="r",
                 total_in_domain=True,
                 helper=True, doc="0.5 / r, the derivative of sqrt at x written in r = sqrt(x); +inf at 0"),
    # the int version first: an int literal exponent picks it. Their derivatives in x are
    # written with pow_term, whose coefficient 0 makes the term 0 even where x^q is infinite.
    # Where x <= 0 every derivative in p is 0, and so is every derivative of one: the
    # terms that come from a derivative in p have the coefficient heaviside(x) (a term's
    # c depends on p alone, so its derivative in c is one in p; its q-derivative has a log)
    *elementwise("pow_dbase", "x n:int", K.pow_dbase_int, None, "pow_term(float(n * (n - 1)), x, float(n - 2), 0)",
                 total=False, helper=True, doc="n · x^(n-1); 0 when n is 0"),
    *elementwise("pow_dbase", "x p", K.pow_dbase, K.t_pow_dbase, "pow_term(p * (p - 1.0), x, p - 2.0, 0)",
                 "pow_term(heaviside(x), x, p - 1.0, 0) + pow_term(p, x, p - 1.0, 1)", domain="x > 0.0", helper=True,
                 doc="p · x^(p-1), the derivative of x ** p in x; 0 when p is 0"),
    *elementwise("pow_term", "c x q m:int", K.pow_term, K.t_pow_term, "pow_term(heaviside(x), x, q, m)",
                 "pow_term(c * q, x, q - 1.0, m) + pow_term(c * float(m) * heaviside(x), x, q - 1.0, m - 1)",
                 "pow_term(c, x, q, m + 1)", domain="x > 0.0", helper=True,
                 doc="c · x^q · (log x)^m: every derivative of x ** p is a sum of these; 0 at x = 0 when m > 0"),

    # ------------------------------------------------------------ products
    Primitive("@", "a b", (T, T), T, N.matmul, py_op="@", jvp="a_dot @ b + a @ b_dot",
              vjp=("mm_grad_a(y_bar, b)", "mm_grad_b(a, y_bar)"), examples=(((2, 3), (3, 2)), ((3,), (3, 2)),
                                                                              ((2, 3), (3,)), ((3,), (3,)))),
    Primitive("matmul", "a b", (T, T), T, N.matmul, jvp="a_dot @ b + a @ b_dot",
              vjp=("mm_grad_a(y_bar, b)", "mm_grad_b(a, y_bar)"), examples=(((2, 3), (3, 2)),)),
    # the cotangents of a and b in a @ b, bilinear: their own rules close the family
    Primitive("mm_grad_a", "g b", (T, T), T, K.mm_grad_a, jvp="mm_grad_a(g_dot, b) + mm_grad_a(g, b_dot)",
              vjp=("y_bar @ b", "mm_grad_b(y_bar, g)"), helper=True,
              examples=(((2, 2), (3, 2)), ((2,), (3,)), ((2,), (3, 2)), ((), (3,)))),
    Primitive("mm_grad_b", "a g", (T, T), T, K.mm_grad_b, jvp="mm_grad_b(a_dot, g) + mm_grad_b(a, g_dot)",
              vjp=("mm_grad_a(g, y_bar)", "a @ y_bar"), helper=True,
              examples=(((2, 3), (2, 2)), ((3,), (2,)), ((2, 3), (2,)), ((3,), ()))),
    Primitive("dot", "a b", (T, T), F, K.dot, jvp="dot(a_dot, b) + dot(a, b_dot)", vjp=("y_bar * b", "y_bar * a"),
              examples=(((3,), (3,)),)),
    Primitive("outer", "a b", (T, T), T, N.outer, jvp="outer(a_dot, b) + outer(a, b_dot)", total=True,
              vjp=("reshape(y_bar @ reshape(b, [-1]), shape_of(a))",
                   "reshape(transpose(y_bar) @ reshape(a, [-1]), shape_of(b))"),
              examples=(((3,), (2,)), ((2, 2), (3,)))),
    Primitive("transpose", "x", (T,), T, K.transpose, jvp="transpose(x_dot)", vjp=("transpose(y_bar)",), view=True,
              total=True, examples=(((2, 3),), ((3,),))),

    # ------------------------------------------------------------ softmax and logsumexp, computed stably
    Primitive("softmax", "t", (T,), T, K.softmax, jvp="y * (t_dot - sum(y * t_dot))",
              vjp=("y * (y_bar - sum(y_bar * y))",), keeps_shape=True, total=True, examples=(((2, 3),),)),
    Primitive("softmax", "t axis", (T, I), T, K.softmax, jvp="y * (t_dot - expand_like(sum(y * t_dot, axis), t, axis))",
              vjp=("y * (y_bar - expand_like(sum(y_bar * y, axis), t, axis))", "0"), keeps_shape=True,
              examples=(((2, 3), 1), ((2, 3), 0))),
    Primitive("logsumexp", "t", (T,), F, lambda t: float(K.logsumexp(t)), jvp="sum(exp(t - y) * t_dot)",
              vjp=("y_bar * exp(t - y)",), reduction=True, total=True, examples=(((2, 3),),)),
    Primitive("logsumexp", "t axis", (T, I), T, K.logsumexp, jvp="sum(exp(t - expand_like(y, t, axis)) * t_dot, axis)",
              vjp=("expand_like(y_bar, t, axis) * exp(t - expand_like(y, t, axis))", "0"), reduction=True,
              examples=(((2, 3), 1), ((2, 3), -2))),
    Primitive("argmax", "t", (T,), I, lambda t: int(np.argmax(t))),
    Primitive("argmin", "t", (T,), I, lambda t: int(np.argmin(t))),

    # ------------------------------------------------------------ where: the branch each element took
    *[Primitive("where", "c a b", (T, ta, tb), T, N.where, elementwise=True, jvp="where(c, a_dot, b_dot)",
                vjp=("zeros_like(c)", "unbroadcast(where(c, y_bar, 0.0), a)", "unbroadcast(where(c, 0.0, y_bar), b)"),
                examples=(((2, 3), (2, 3) if ta == T else None, (3,) if tb == T else None),))
      for ta, tb in ((T, T), (T, F), (F, T), (F, F))],

    # ------------------------------------------------------------ reductions
    Primitive("sum", "t", (T,), F, lambda t: float(np.sum(t)), jvp="sum(t_dot)", vjp=("broadcast_like(y_bar, t)",),
              reduction=True, total=True, examples=(((2, 3),),)),
    Primitive("sum", "t axis", (T, I), T, lambda t, axis: np.sum(t, axis=axis), jvp="sum(t_dot, axis)",
              vjp=("expand_like(y_bar, t, axis)", "0"), reduction=True, examples=(((2, 3), 0), ((2, 3), -1))),
    Primitive("mean", "t", (T,), F, K.mean, jvp="mean(t_dot)", vjp=("broadcast_like(y_bar / float(size(t)), t)",),
              reduction=True, total=True, examples=(((2, 3),),)),
    Primitive("mean", "t axis", (T, I), T, K.mean, jvp="mean(t_dot, axis)",
              vjp=("expand_like(y_bar, t, axis) / float(dim(t, axis))", "0"), reduction=True,
              examples=(((2, 3), 1),)),
    # max and min share the derivative equally among tied elements
    Primitive("max", "t", (T,), F, lambda t: float(np.max(t)), jvp="sum(max_mask(t) * t_dot)",
              vjp=("y_bar * max_mask(t)",), reduction=True, examples=(((2, 3),),)),
    Primitive("max", "t axis", (T, I), T, lambda t, axis: np.max(t, axis=axis), jvp="sum(max_mask(t, axis) * t_dot, axis)",
              vjp=("expand_like(y_bar, t, axis) * max_mask(t, axis)", "0"), reduction=True, examples=(((2, 3), 0),)),
    Primitive("min", "t", (T,), F, lambda t: float(np.min(t)), jvp="sum(min_mask(t) * t_dot)",
              vjp=("y_bar * min_mask(t)",), reduction=True, examples=(((2, 3),),)),
    Primitive("min", "t axis", (T, I), T, lambda t, axis: np.min(t, axis=axis), jvp="sum(min_mask(t, axis) * t_dot, axis)",
              vjp=("expand_like(y_bar, t, axis) * min_mask(t, axis)", "0"), reduction=True, examples=(((2, 3), 1),)),
    Primitive("max_mask", "t", (T,), T, K.max_mask, jvp="zeros_like(y)", vjp=("zeros_like(t)",), keeps_shape=True,
              piecewise_constant=True, helper=True, examples=(((2, 3),),)),
    Primitive("max_mask", "t axis", (T, I), T, K.max_mask, jvp="zeros_like(y)", vjp=("zeros_like(t)", "0"),
              keeps_shape=True, piecewise_constant=True, helper=True, examples=(((2, 3), 0),)),
    Primitive("min_mask", "t", (T,), T, K.min_mask, jvp="zeros_like(y)", vjp=("zeros_like(t)",), keeps_shape=True,
              piecewise_constant=True, helper=True, examples=(((2, 3),),)),
    Primitive("min_mask", "t axis", (T, I), T, K.min_mask, jvp="zeros_like(y)", vjp=("zeros_like(t)", "0"),
              keeps_shape=True, piecewise_constant=True, helper=True, examples=(((2, 3), 1),)),

    # ------------------------------------------------------------ the reverse of broadcasting and reducing
    Primitive("unbroadcast", "g like", (T, T), T, K.unbroadcast, jvp="unbroadcast(g_dot, like)",
              vjp=("broadcast_like(y_bar, g)", "zeros_like(like)"), view=True, helper=True,
              examples=(((2, 3), (3,)), ((2, 3), (2, 1)))),
    Primitive("unbroadcast", "g like", (T, LI), T, K.unbroadcast, jvp="unbroadcast(g_dot, like)",
              vjp=("broadcast_like(y_bar, g)", "0"), view=True, helper=True, examples=(((2, 3), [1, 3]),)),
    Primitive("unbroadcast", "g like", (T, F), F, K.unbroadcast, jvp="unbroadcast(g_dot, like)",
              vjp=("broadcast_like(y_bar, g)", "0.0"), helper=True, examples=(((2, 3), None),)),
    Primitive("broadcast_like", "x t", (T, T), T, K.broadcast_like, jvp="broadcast_like(x_dot, t)",
              vjp=("unbroadcast(y_bar, x)", "zeros_like(t)"), helper=True, examples=(((3,), (2, 3)),)),
    Primitive("broadcast_like", "x t", (F, T), T, K.broadcast_like, jvp="broadcast_like(x_dot, t)",
              vjp=("unbroadcast(y_bar, x)", "zeros_like(t)"), helper=True, examples=((None, (2, 3)),)),
    Primitive("expand_like", "g t axis", (T, T, I), T, K.expand_like, jvp="expand_like(g_dot, t, axis)",
              vjp=("sum(y_bar, axis)", "zeros_like(t)", "0"), helper=True, examples=(((3,), (2, 3), 0),)),

    # ------------------------------------------------------------ shapes
    Primitive("reshape", "t shape", (T, LI), T, lambda t, shape: np.reshape(t, tuple(shape)),
              jvp="reshape(t_dot, shape)", vjp=("reshape(y_bar, shape_of(t))", "0"), view=True,
              examples=(((2, 3), [3, 2]), ((2, 3), [-1]))),
    Primitive("concat", "ts axis", (LT, I), T, N.concatenate, jvp="concat(ts_dot, axis)",
              vjp=("split_like(y_bar, ts, axis)", "0"), examples=(([(2, 3), (1, 3)], 0), ([(2, 1), (2, 2)], 1))),
    Primitive("stack", "ts axis", (LT, I), T, N.stack, jvp="stack(ts_dot, axis)", vjp=("unstack(y_bar, axis)", "0"),
              examples=(([(3,), (3,)], 0), ([(2,), (2,), (2,)], 1))),
    Primitive("split_like", "g ts axis", (T, LT, I), LT, K.split_like, jvp="split_like(g_dot, ts, axis)",
              vjp=("concat(y_bar, axis)", "zeros_like(ts)", "0"), view=True, helper=True,
              examples=(((3, 2), [(1, 2), (2, 2)], 0),)),
    Primitive("unstack", "g axis", (T, I), LT, K.unstack, jvp="unstack(g_dot, axis)", vjp=("stack(y_bar, axis)", "0"),
              view=True, helper=True, examples=(((2, 3), 1),)),
    Primitive("item", "t", (T,), F, K.item, jvp="item(t_dot)", vjp=("broadcast_like(y_bar, t)",), helper=True,
              doc="float(t) of a one-element tensor", examples=(((1,),), ((1, 1),))),
    Primitive("tensor", "xs", (LF,), T, K.tensor, jvp="tensor(xs_dot)", vjp=("to_list(y_bar)",), examples=((3,),)),
    Primitive("tensor", "xs", (LLF,), T, K.tensor, jvp="tensor(xs_dot)", vjp=("to_list2(y_bar)",), examples=((2, 3),)),
    Primitive("tensor", "xs", (LLLF,), T, K.tensor, jvp="tensor(xs_dot)", vjp=("to_list3(y_bar)",),
              examples=((2, 1, 2),)),
    Primitive("to_list", "t", (T,), LF, K.to_list, jvp="to_list(t_dot)", vjp=("reshape(tensor(y_bar), shape(t))",),
              total=True, examples=(((2, 2),),)),
    Primitive("to_list2", "t", (T,), LLF, K.to_list2, jvp="to_list2(t_dot)", vjp=("tensor(y_bar)",), helper=True,
              examples=(((2, 3),),)),
    Primitive("to_list3", "t", (T,), LLLF, K.to_list3, jvp="to_list3(t_dot)", vjp=("tensor(y_bar)",), helper=True,
              examples=(((2, 1, 2),),)),
    Primitive("full", "shape v", (LI, F), T, lambda shape, v: np.full(tuple(shape), v, dtype=float),
              jvp="full(shape, v_dot)", vjp=("0", "sum(y_bar)"), examples=(([2, 3], None),)),
    Primitive("linspace", "a b n", (F, F, I), T, N.linspace, jvp="linspace(a_dot, b_dot, n)",
              vjp=("sum(y_bar * linspace(1.0, 0.0, n))", "sum(y_bar * linspace(0.0, 1.0, n))", "0"),
              examples=((None, None, 4),)),
    # inactive: shapes and constructors of constants
    Primitive("shape_of", "t", (T,), LI, lambda t: list(np.shape(t)), total=True, helper=True),
    Primitive("shape", "t", (T,), LI, lambda t: list(np.shape(t)), total=True),
    Primitive("size", "t", (T,), I, lambda t: int(np.size(t)), total=True),
    Primitive("dim", "t axis", (T, I), I, K.dim),
    Primitive("zeros", "shape", (LI,), T, N.zeros),
    Primitive("zeros", "n", (I,), T, N.zeros),
    Primitive("ones", "shape", (LI,), T, N.ones),
    Primitive("ones", "n", (I,), T, N.ones),
    Primitive("eye", "n", (I,), T, lambda n: np.eye(n)),
    Primitive("arange", "n", (I,), T, lambda n: np.arange(n, dtype=float)),
    Primitive("arange", "a b", (I, I), T, lambda a, b: np.arange(a, b, dtype=float)),
    Primitive("normal", "key shape", (I, LI), T, K.normal, doc="seeded standard normal samples"),
    Primitive("uniform", "key shape", (I, LI), T, K.uniform, doc="seeded uniform samples on [0, 1)"),

    # ------------------------------------------------------------ lists of numbers: sum, min, max, sort
    # max and min share the derivative equally among tied elements (as on tensors), and
    # sort's derivative averages over each group of tied elements (as central differences do)
    Primitive("sum", "xs", (LF,), F, K.list_sum_float, jvp="sum(xs_dot)", vjp=("fill_like(y_bar, xs)",), total=True,
              doc="the sum of a list", examples=((4,), (1,), (0,))),
    Primitive("sum", "xs", (LI,), I, K.list_sum, total=True, doc="the sum of a list"),
    Primitive("fill_like", "v xs", (F, LF), LF, K.fill_like, jvp="fill_like(v_dot, xs)",
              vjp=("sum(y_bar)", "zeros_like(xs)"), total=True, helper=True, doc="[v, v, …] as long as xs",
              examples=((None, 3),)),
    Primitive("max", "xs", (LF,), F, K.list_max, jvp="dot(max_mask(tensor(xs)), tensor(xs_dot))",
              vjp=("to_list(y_bar * max_mask(tensor(xs)))",), doc="the largest element", examples=((4,), (1,))),
    Primitive("max", "xs", (LI,), I, K.list_max, doc="the largest element"),
    Primitive("min", "xs", (LF,), F, K.list_min, jvp="dot(min_mask(tensor(xs)), tensor(xs_dot))",
              vjp=("to_list(y_bar * min_mask(tensor(xs)))",), doc="the smallest element", examples=((4,),)),
    Primitive("min", "xs", (LI,), I, K.list_min, doc="the smallest element"),
    Primitive("sort", "xs", (LF,), LF, sorted, jvp="sort_push(xs_dot, xs)", vjp=("sort_pull(y_bar, xs)",),
              total=True, doc="a new list of the elements in increasing order", examples=((4,), (1,))),
    Primitive("sort", "xs", (LI,), LI, sorted, total=True, doc="a new list of the elements in increasing order"),
    Primitive("sort", "xs", (ListT(STRING),), ListT(STRING), sorted, total=True,
              doc="a new list of the strings in increasing order"),
    Primitive("sort_push", "t xs", (LF, LF), LF, K.sort_push, jvp="sort_push(t_dot, xs)",
              vjp=("sort_pull(y_bar, xs)", "zeros_like(xs)"), total=True, helper=True,
              doc="sort's tangent: t in xs's sorted order, averaged over ties", examples=((4, 4),)),
    Primitive("sort_pull", "g xs", (LF, LF), LF, K.sort_pull, jvp="sort_pull(g_dot, xs)",
              vjp=("sort_push(y_bar, xs)", "zeros_like(xs)"), total=True, helper=True,
              doc="sort's cotangent: sort_push's adjoint", examples=((4, 4),)),

    # ------------------------------------------------------------ list slices: xs[lo:hi] in derived code is
    # sublist(xs, slice_lo(lo, len(xs)), slice_hi(lo, hi, len(xs))), bounds as Python's
    Primitive("slice_lo", "lo n", (I, I), I, K.slice_lo, total=True, helper=True,
              doc="a slice's start in 0 … n: negative counts from the end, clamped"),
    Primitive("slice_hi", "lo hi n", (I, I, I), I, K.slice_hi, total=True, helper=True,
              doc="a slice's end in slice_lo(lo, n) … n: negative counts from the end, clamped"),

    # ------------------------------------------------------------ ints, and the script's arguments
    Primitive("abs", "x", (I,), I, abs, total=True),
    Primitive("max", "a b", (I, I), I, max, total=True),
    Primitive("min", "a b", (I, I), I, min, total=True),
    # `dp run FILE ARGS…`; each session binds its own
    Primitive("args", (), (), ListT(STRING), lambda: [], total=True, doc="the script's arguments"),
    # `dp test` runs the `test_*` functions: a false assert is a runtime error at its line
    Primitive("assert", "cond", (BOOL,), UNIT, K.assert_true, doc="a runtime error here when cond is false"),
    Primitive("assert", "cond message", (BOOL, STRING), UNIT, K.assert_true,
              doc="a runtime error here, saying message, when cond is false"),
    # plots and progress bars: effects each session binds (interpreter/plots.py, progress.py)
    *[Primitive("plot", names, types, UNIT, doc="add a line to the figure (shown in Jupyter, written by savefig)")
      for names, types in _plot_signatures()],
    Primitive("savefig", "path", (STRING,), UNIT, doc="write the figure to an image file, where writes are granted"),
    Primitive("progress", "xs", (LI,), LI, total=True, doc="xs; a `for` over it shows a progress bar"),
]

BY_NAME: dict[str, list[Primitive]] = {}
for _p in TABLE:
    BY_NAME.setdefault(_p.name, []).append(_p)

# Names callable from DP source as functions (operators are reached through syntax).
CALLABLE = {name for name in BY_NAME if name[0].isalpha() and name != "neg"}
# The rules' helpers (`tie_share`, `mm_grad_a`, `unbroadcast`, …): derived code calls them,
# printed derived source too, so they stay callable; no list, hint or completion offers them.
HELPERS = {name for name, ps in BY_NAME.items() if all(p.helper for p in ps)}


def _numpy_loaded(numpy) -> None:
    """numpy's own functions in the table, in place of the names it was made with."""
    for p in TABLE:
        p.impl = lazy_numpy.resolve(p.impl)


lazy_numpy.when_loaded(_numpy_loaded)


def lookup(name: str, arg_types: tuple[Type, ...]) -> Primitive | None:
    from .types import assignable
    for p in BY_NAME.get(name, ()):
        if len(p.types) == len(arg_types) and all(assignable(a, t) for a, t in zip(arg_types, p.types)):
            return p
    return None


# ---------------------------------------------------------------- special builtins
# Their types depend on their arguments, so the checker types each itself.

BUILTINS: list[Builtin] = [
    Builtin("print", None, "none", "write the values, separated by spaces, and a newline"),
    Builtin("len", (1,), "none", "the number of elements of a list, dict or string, or the size of a tensor's first axis"),
    Builtin("range", (1, 2), "none", "the ints 0 … n-1 (or a … b-1) as a list"),
    Builtin("float", (1,), "identity", "an int as a float, a float itself, or the value of a one-element tensor"),
    Builtin("int", (1,), "none", "a float truncated toward zero"),
    Builtin("str", (1,), "none", "a value as text, as print shows it"),
    Builtin("stop_gradient", (1,), "zero", "its argument, through which no derivative flows"),
    Builtin("zeros_like", (1,), "zero", "the zero of a value's type and shape"),
    Builtin("accumulate", (2,), "linear", "the sum of two values of one type (how derived code adds cotangents)"),
    Builtin("source", (1,), "none", "a function's DP source, derived functions included"),
    Builtin("sublist", (3,), "linear", "sublist(xs, lo, hi): a new list of xs[lo] … xs[hi - 1]"),
    Builtin("splice", (4,), "linear", "splice(xs, lo, hi, ys): a new list, xs with xs[lo] … xs[hi - 1] replaced by "
                                      "ys's elements"),
    Builtin("grad", (1, 2), "transform", "the gradient of a float-valued function"),
    Builtin("value_and_grad", (1, 2), "transform", "the value and the gradient"),
    Builtin("jvp", (3,), "transform", "jvp(f, primals, tangents): the value and its tangent (forward mode)"),
    Builtin("vjp", None, "transform", "vjp(f, args…): the value and a pullback (reverse mode)"),
    Builtin("jacfwd", (1, 2), "transform", "the Jacobian, by forward mode"),
    Builtin("jacrev", (1, 2), "transform", "the Jacobian, by reverse mode"),
    Builtin("hessian", (1, 2), "transform", "the Hessian of a float-valued function"),
    Builtin("pullback", (1,), "transform",
            "pullback(f)(args…, y_bar): the cotangents of f's arguments (vjp's pullback, as a function of the "
            "arguments too)"),
    Builtin("pushforward", (1,), "transform",
            "pushforward(f)(args…, tangents…): the value and its tangent (jvp, as a function)"),
]

BUILTIN = {b.name: b for b in BUILTINS}
TRANSFORMS = {b.name for b in BUILTINS if b.derivative == "transform"}
SPECIAL_BUILTINS = {b.name for b in BUILTINS if b.derivative != "transform"}
