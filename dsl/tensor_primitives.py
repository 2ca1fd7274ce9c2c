"""The tensor half of the primitive table (dsl/primitives.py holds the scalar half
and the Primitive record): numpy implementations and derivative rules for every
array operation. Broadcasting is undone in cotangents by `unbroadcast`, which sums
over the axes an operand was broadcast along; reductions are undone by
`broadcast_like` / `expand_like`; index reads scatter into a zero tensor in the
transforms themselves (they are paths, like list elements)."""
from __future__ import annotations

import numpy as np

from .types import FLOAT, INT, TENSOR, ListT

T, F, I = TENSOR, FLOAT, INT
LI, LF, LT = ListT(INT), ListT(FLOAT), ListT(TENSOR)
LLF, LLLF = ListT(ListT(FLOAT)), ListT(ListT(ListT(FLOAT)))


# ---------------------------------------------------------------- implementations

def unbroadcast(g, like):
    """Sum g down to the shape of `like`: a float, a tensor g was broadcast from, or
    that tensor's shape (saved so the tensor itself need not be kept)."""
    if type(like) is np.ndarray:
        shape = like.shape
    elif type(like) is list:
        shape = tuple(like)
    else:
        return float(np.sum(g))
    if type(g) is np.ndarray and g.shape == shape:
        return g                                  # the common case: nothing was broadcast
    g = np.asarray(g)
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, (gd, ld) in enumerate(zip(g.shape, shape)) if ld == 1 and gd != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


def broadcast_like(x, t):
    if type(x) is float:
        return np.full(np.shape(t), x)            # the common case (sum, mean): a quarter of the cost
    return np.broadcast_to(np.asarray(x, dtype=float), np.shape(t)).copy()


def expand_like(g, t, axis):
    return np.broadcast_to(np.expand_dims(g, axis), np.shape(t)).copy()


def _mask(t, axis, pick):
    t = np.asarray(t)
    extreme = pick(t, axis=axis, keepdims=True)
    hit = (t == extreme).astype(float)
    return hit / hit.sum(axis=axis, keepdims=True)


def max_mask(t, axis=None):
    """Where t attains its maximum, ties sharing equally (the scalar max convention)."""
    return _mask(t, axis, np.max)


def min_mask(t, axis=None):
    return _mask(t, axis, np.min)


def mm_grad_a(g, b):
    """The cotangent of a in a @ b, for 1-D and 2-D operands (a vector · vector
    product has a 0-d cotangent g)."""
    if np.ndim(b) > 2 or np.ndim(g) > 2:
        _no_batched_matmul()
    if np.ndim(b) == 1:
        return g * b if np.ndim(g) == 0 else np.outer(g, b)
    return g @ np.swapaxes(b, -1, -2)


def mm_grad_b(a, g):
    """The cotangent of b in a @ b, for 1-D and 2-D operands."""
    if np.ndim(a) > 2 or np.ndim(g) > 2:
        _no_batched_matmul()
    if np.ndim(a) == 1:
        return a * g if np.ndim(g) == 0 else np.outer(a, g)
    return np.swapaxes(a, -1, -2) @ g


def _no_batched_matmul():
    from .diagnostics import DPRuntimeError
    raise DPRuntimeError("derivatives of `@` with more than two axes (batched matmul) are not supported yet",
                         "loop over the batch, or reshape the batch into the rows of a 2-D tensor")


def mm_grad_b_wrt_a(h, a, g):
    """The cotangent of a in mm_grad_b(a, g), given the cotangent h of its result."""
    if np.ndim(a) == 1:
        return h * g if np.ndim(g) == 0 else h @ g
    return mm_grad_a(g, h)


def split_like(g, ts, axis):
    """g cut along axis into pieces shaped like ts (the cotangent of concat)."""
    out, start = [], 0
    index = [slice(None)] * np.ndim(g)
    for t in ts:
        n = np.shape(t)[axis]
        index[axis] = slice(start, start + n)
        out.append(g[tuple(index)])
        start += n
    return out


def unstack(g, axis):
    return [np.take(g, i, axis=axis) for i in range(np.shape(g)[axis])]


def _sigmoid(x):
    return 0.5 * (np.tanh(0.5 * x) + 1.0)


def _sqrt_deriv(y):
    with np.errstate(divide="ignore"):
        return np.where(y != 0.0, 0.5 / np.where(y != 0.0, y, 1.0), np.inf)


def _pow_dbase(x, p):
    return np.where(p != 0.0, p * np.power(x, p - 1.0), 0.0)


def _pow_dexp(x, y):
    return np.where(x > 0.0, np.log(np.where(x > 0.0, x, 1.0)) * y, 0.0)


def _item(t):
    a = np.asarray(t)
    if a.size != 1:
        from .diagnostics import DPRuntimeError
        raise DPRuntimeError(f"cannot make a float of a tensor of shape {a.shape}", "index one element first, or reduce it with sum")
    return float(a.reshape(()))


def _tensor(xs):
    a = np.array(xs, dtype=float)
    return a


def _shape_arg(shape):
    return (shape,) if isinstance(shape, int) else tuple(shape)


def _normal(key, shape):
    return np.random.default_rng(key).standard_normal(_shape_arg(shape))


def _uniform(key, shape):
    return np.random.default_rng(key).uniform(0.0, 1.0, _shape_arg(shape))


def _dot(a, b):
    if np.ndim(a) != 1 or np.ndim(b) != 1:
        from .diagnostics import DPRuntimeError
        raise DPRuntimeError(f"`dot` takes two vectors, not tensors of shapes {np.shape(a)} and {np.shape(b)}",
                             "use `@` for matrices, or `sum(a * b)`")
    return float(np.dot(a, b))


def _mean(t, axis=None):
    """numpy's mean, but an empty one is nan without numpy's warning on stderr."""
    t = np.asarray(t)
    total = np.sum(t, axis=axis)                     # first: a bad axis fails here, as in numpy
    n = t.size if axis is None else t.shape[axis]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = total / n if n else total * np.nan
    return float(out) if axis is None else out


def _softmax(t, axis=None):
    e = np.exp(t - np.max(t, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _logsumexp(t, axis=None):
    """log(sum(exp(t))) without overflow; -inf for an empty reduction."""
    t = np.asarray(t)
    if t.size == 0:
        return np.log(np.sum(np.exp(t), axis=axis))
    m = np.max(t, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return np.squeeze(m, axis=axis) + np.log(np.sum(np.exp(t - m), axis=axis))


def _dim(t, axis):
    return int(np.shape(t)[axis])


# ---------------------------------------------------------------- the table

def tensor_primitives(scalar_table):
    """The tensor entries; scalar_table holds the float ones, whose rules an
    elementwise function on tensors shares word for word."""
    from .primitives import Primitive as P
    scalar = {p.name: p for p in scalar_table if p.types == (F,)}

    def binary(op, impl, jvp, vjp_a, vjp_b, py_op=None):
        """An elementwise binary operator on tensors and floats, broadcasting. A float
        operand's cotangent sums the broadcast away; beside a float, a tensor keeps
        its shape, so its cotangent needs no unbroadcast."""
        return [P(op, ("a", "b"), (T, T), T, impl=impl, py_op=py_op, jvp=jvp, elementwise=True,
                  vjp=(f"unbroadcast({vjp_a}, a)", f"unbroadcast({vjp_b}, b)")),
                P(op, ("a", "b"), (T, F), T, impl=impl, py_op=py_op, jvp=jvp, elementwise=True,
                  vjp=(vjp_a, f"unbroadcast({vjp_b}, b)")),
                P(op, ("a", "b"), (F, T), T, impl=impl, py_op=py_op, jvp=jvp, elementwise=True,
                  vjp=(f"unbroadcast({vjp_a}, a)", vjp_b))]

    def unary(name, impl):
        """An elementwise function: the float version's rules, read on tensors."""
        f = scalar[name]
        return P(name, ("x",), (T,), T, impl=impl, jvp=f.jvp, vjp=f.vjp, elementwise=True)

    def const(name, params, types, ret, impl, elementwise=True):
        """Piecewise constant, or not differentiable at all (ints, shapes, constructors)."""
        zero_jvp = "zeros_like(y)" if ret in (T, F) else None
        zeros = tuple("zeros_like(" + p + ")" if t in (T, F) else "0" for p, t in zip(params, types))
        return P(name, params, types, ret, impl=impl, jvp=zero_jvp, vjp=zeros if zero_jvp else None,
                 elementwise=elementwise)

    table = []
    table += binary("+", np.add, "a_dot + b_dot", "y_bar", "y_bar", py_op="+")
    table += binary("-", np.subtract, "a_dot - b_dot", "y_bar", "-y_bar", py_op="-")
    table += binary("*", np.multiply, "a_dot * b + a * b_dot", "y_bar * b", "a * y_bar", py_op="*")
    table += binary("/", np.divide, "(a_dot - y * b_dot) / b", "y_bar / b", "-(y_bar * y / b)", py_op="/")
    table += binary("**", np.power, "pow_dbase(a, b) * a_dot + pow_dexp(a, y) * b_dot",
                    "y_bar * pow_dbase(a, b)", "y_bar * pow_dexp(a, y)", py_op="**")
    table += binary("%", np.fmod, "a_dot - trunc_div(a, b) * b_dot", "y_bar", "-(y_bar * trunc_div(a, b))")
    table += binary("atan2", np.arctan2, "(b * a_dot - a * b_dot) / (a * a + b * b)",
                    "y_bar * b / (a * a + b * b)", "-(y_bar * a / (a * a + b * b))")
    table += binary("maximum", np.maximum, "tie_share(a, b) * a_dot + tie_share(b, a) * b_dot",
                    "y_bar * tie_share(a, b)", "y_bar * tie_share(b, a)")
    table += binary("minimum", np.minimum, "tie_share(b, a) * a_dot + tie_share(a, b) * b_dot",
                    "y_bar * tie_share(b, a)", "y_bar * tie_share(a, b)")
    table += [
        P("@", ("a", "b"), (T, T), T, impl=np.matmul, py_op="@", jvp="a_dot @ b + a @ b_dot",
          vjp=("mm_grad_a(y_bar, b)", "mm_grad_b(a, y_bar)")),
        P("matmul", ("a", "b"), (T, T), T, impl=np.matmul, jvp="a_dot @ b + a @ b_dot",
          vjp=("mm_grad_a(y_bar, b)", "mm_grad_b(a, y_bar)")),
        P("mm_grad_a", ("g", "b"), (T, T), T, impl=mm_grad_a, jvp="mm_grad_a(g_dot, b) + mm_grad_a(g, b_dot)",
          vjp=("y_bar @ b", "mm_grad_b(y_bar, g)")),
        P("mm_grad_b", ("a", "g"), (T, T), T, impl=mm_grad_b, jvp="mm_grad_b(a_dot, g) + mm_grad_b(a, g_dot)",
          vjp=("mm_grad_b_wrt_a(y_bar, a, g)", "a @ y_bar")),
        P("mm_grad_b_wrt_a", ("h", "a", "g"), (T, T, T), T, impl=mm_grad_b_wrt_a,
          jvp="mm_grad_b_wrt_a(h_dot, a, g) + mm_grad_b_wrt_a(h, a, g_dot)"),
        P("dot", ("a", "b"), (T, T), F, impl=_dot, jvp="dot(a_dot, b) + dot(a, b_dot)",
          vjp=("y_bar * b", "y_bar * a")),
        P("outer", ("a", "b"), (T, T), T, impl=np.outer, jvp="outer(a_dot, b) + outer(a, b_dot)",
          vjp=("y_bar @ b", "transpose(y_bar) @ a")),
        P("neg", ("x",), (T,), T, py_op="neg", jvp="-x_dot", vjp=("-y_bar",), elementwise=True),
        unary("sin", np.sin),
        unary("cos", np.cos),
        unary("tan", np.tan),
        unary("exp", np.exp),
        unary("log", np.log),
        unary("sqrt", np.sqrt),
        unary("tanh", np.tanh),
        unary("sigmoid", _sigmoid),
        unary("abs", np.abs),
        unary("relu", lambda x: np.maximum(x, 0.0)),
        unary("log1p", np.log1p),
        unary("expm1", np.expm1),
        unary("sinh", np.sinh),
        unary("cosh", np.cosh),
        unary("asin", np.arcsin),
        unary("acos", np.arccos),
        unary("atan", np.arctan),
        P("clip", ("x", "lo", "hi"), (T, F, F), T, impl=np.clip, elementwise=True,
          jvp="clip_inside(x, lo, hi) * x_dot + heaviside(lo - x) * lo_dot + heaviside(x - hi) * hi_dot",
          vjp=("y_bar * clip_inside(x, lo, hi)", "sum(y_bar * heaviside(lo - x))", "sum(y_bar * heaviside(x - hi))")),
        const("clip_inside", ("x", "lo", "hi"), (T, F, F), T, lambda x, lo, hi: ((x >= lo) & (x <= hi)).astype(float)),
        # softmax and logsumexp, computed stably (shifted by the maximum)
        P("softmax", ("t",), (T,), T, impl=_softmax, jvp="y * (t_dot - sum(y * t_dot))", vjp=("y * (y_bar - sum(y_bar * y))",)),
        P("softmax", ("t", "axis"), (T, I), T, impl=_softmax,
          jvp="y * (t_dot - expand_like(sum(y * t_dot, axis), t, axis))",
          vjp=("y * (y_bar - expand_like(sum(y_bar * y, axis), t, axis))", "0")),
        P("logsumexp", ("t",), (T,), F, impl=lambda t: float(_logsumexp(t)), jvp="sum(exp(t - y) * t_dot)",
          vjp=("y_bar * exp(t - y)",)),
        P("logsumexp", ("t", "axis"), (T, I), T, impl=_logsumexp,
          jvp="sum(exp(t - expand_like(y, t, axis)) * t_dot, axis)",
          vjp=("expand_like(y_bar, t, axis) * exp(t - expand_like(y, t, axis))", "0")),
        P("argmax", ("t",), (T,), I, impl=lambda t: int(np.argmax(t))),
        P("argmin", ("t",), (T,), I, impl=lambda t: int(np.argmin(t))),
        P("transpose", ("x",), (T,), T, impl=lambda x: np.swapaxes(x, -1, -2) if np.ndim(x) >= 2 else x,
          jvp="transpose(x_dot)", vjp=("transpose(y_bar)",), view=True),
        const("sign", ("x",), (T,), T, np.sign),
        const("floor", ("x",), (T,), T, np.floor),
        const("heaviside", ("x",), (T,), T, lambda x: (np.asarray(x) > 0.0).astype(float)),
        const("heaviside", ("x",), (F,), F, lambda x: 1.0 if x > 0.0 else 0.0),
        const("sqrt_deriv", ("y",), (T,), T, _sqrt_deriv),
        P("pow_dbase", ("x", "p"), (T, T), T, impl=_pow_dbase, jvp="zeros_like(y)", vjp=("zeros_like(x)", "zeros_like(p)"), elementwise=True),
        P("pow_dbase", ("x", "p"), (T, F), T, impl=_pow_dbase, jvp="zeros_like(y)", vjp=("zeros_like(x)", "0.0"), elementwise=True),
        P("pow_dbase", ("x", "p"), (F, T), T, impl=_pow_dbase, jvp="zeros_like(y)", vjp=("0.0", "zeros_like(p)"), elementwise=True),
        const("pow_dexp", ("x", "y"), (T, T), T, _pow_dexp),
        const("pow_dexp", ("x", "y"), (F, T), T, _pow_dexp),
        const("pow_dexp", ("x", "y"), (T, F), T, _pow_dexp),
        const("tie_share", ("a", "b"), (T, T), T, lambda a, b: np.where(a > b, 1.0, np.where(a < b, 0.0, 0.5))),
        const("tie_share", ("a", "b"), (T, F), T, lambda a, b: np.where(a > b, 1.0, np.where(a < b, 0.0, 0.5))),
        const("tie_share", ("a", "b"), (F, T), T, lambda a, b: np.where(a > b, 1.0, np.where(a < b, 0.0, 0.5))),
        const("trunc_div", ("a", "b"), (T, T), T, lambda a, b: np.trunc(a / b)),
        const("trunc_div", ("a", "b"), (T, F), T, lambda a, b: np.trunc(a / b)),
        const("trunc_div", ("a", "b"), (F, T), T, lambda a, b: np.trunc(a / b)),
        P("where", ("c", "a", "b"), (T, T, T), T, impl=np.where, elementwise=True, jvp="where(c, a_dot, b_dot)",
          vjp=("zeros_like(c)", "unbroadcast(where(c, y_bar, 0.0), a)", "unbroadcast(where(c, 0.0, y_bar), b)")),
        P("where", ("c", "a", "b"), (T, T, F), T, impl=np.where, elementwise=True, jvp="where(c, a_dot, b_dot)",
          vjp=("zeros_like(c)", "unbroadcast(where(c, y_bar, 0.0), a)", "unbroadcast(where(c, 0.0, y_bar), b)")),
        P("where", ("c", "a", "b"), (T, F, T), T, impl=np.where, elementwise=True, jvp="where(c, a_dot, b_dot)",
          vjp=("zeros_like(c)", "unbroadcast(where(c, y_bar, 0.0), a)", "unbroadcast(where(c, 0.0, y_bar), b)")),
        P("where", ("c", "a", "b"), (T, F, F), T, impl=np.where, elementwise=True, jvp="where(c, a_dot, b_dot)",
          vjp=("zeros_like(c)", "unbroadcast(where(c, y_bar, 0.0), a)", "unbroadcast(where(c, 0.0, y_bar), b)")),
        # reductions
        P("sum", ("t",), (T,), F, impl=lambda t: float(np.sum(t)), jvp="sum(t_dot)", vjp=("broadcast_like(y_bar, t)",)),
        P("sum", ("t", "axis"), (T, I), T, impl=lambda t, axis: np.sum(t, axis=axis), jvp="sum(t_dot, axis)",
          vjp=("expand_like(y_bar, t, axis)", "0")),
        P("mean", ("t",), (T,), F, impl=_mean, jvp="mean(t_dot)",
          vjp=("broadcast_like(y_bar / float(size(t)), t)",)),
        P("mean", ("t", "axis"), (T, I), T, impl=_mean, jvp="mean(t_dot, axis)",
          vjp=("expand_like(y_bar, t, axis) / float(dim(t, axis))", "0")),
        P("max", ("t",), (T,), F, impl=lambda t: float(np.max(t)), jvp="sum(max_mask(t) * t_dot)", vjp=("y_bar * max_mask(t)",)),
        P("max", ("t", "axis"), (T, I), T, impl=lambda t, axis: np.max(t, axis=axis), jvp="sum(max_mask(t, axis) * t_dot, axis)",
          vjp=("expand_like(y_bar, t, axis) * max_mask(t, axis)", "0")),
        P("min", ("t",), (T,), F, impl=lambda t: float(np.min(t)), jvp="sum(min_mask(t) * t_dot)", vjp=("y_bar * min_mask(t)",)),
        P("min", ("t", "axis"), (T, I), T, impl=lambda t, axis: np.min(t, axis=axis), jvp="sum(min_mask(t, axis) * t_dot, axis)",
          vjp=("expand_like(y_bar, t, axis) * min_mask(t, axis)", "0")),
        const("max_mask", ("t",), (T,), T, max_mask, elementwise=False),
        const("max_mask", ("t", "axis"), (T, I), T, max_mask, elementwise=False),
        const("min_mask", ("t",), (T,), T, min_mask, elementwise=False),
        const("min_mask", ("t", "axis"), (T, I), T, min_mask, elementwise=False),
        # the reverse of broadcasting and reducing
        P("unbroadcast", ("g", "like"), (T, T), T, impl=unbroadcast, jvp="unbroadcast(g_dot, like)",
          vjp=("broadcast_like(y_bar, g)", "zeros_like(like)"), view=True),
        P("unbroadcast", ("g", "like"), (T, LI), T, impl=unbroadcast, jvp="unbroadcast(g_dot, like)",
          vjp=("broadcast_like(y_bar, g)", "0"), view=True),
        P("unbroadcast", ("g", "like"), (T, F), F, impl=unbroadcast, jvp="unbroadcast(g_dot, like)",
          vjp=("broadcast_like(y_bar, g)", "0.0")),
        P("broadcast_like", ("x", "t"), (T, T), T, impl=broadcast_like, jvp="broadcast_like(x_dot, t)",
          vjp=("unbroadcast(y_bar, x)", "zeros_like(t)")),
        P("broadcast_like", ("x", "t"), (F, T), T, impl=broadcast_like, jvp="broadcast_like(x_dot, t)",
          vjp=("unbroadcast(y_bar, x)", "zeros_like(t)")),
        P("expand_like", ("g", "t", "axis"), (T, T, I), T, impl=expand_like, jvp="expand_like(g_dot, t, axis)",
          vjp=("sum(y_bar, axis)", "zeros_like(t)", "0")),
        # shapes
        P("reshape", ("t", "shape"), (T, LI), T, impl=lambda t, shape: np.reshape(t, tuple(shape)),
          jvp="reshape(t_dot, shape)", vjp=("reshape(y_bar, shape_of(t))", "0"), view=True),
        P("concat", ("ts", "axis"), (LT, I), T, impl=np.concatenate,
          jvp="concat(ts_dot, axis)", vjp=("split_like(y_bar, ts, axis)", "0")),
        P("stack", ("ts", "axis"), (LT, I), T, impl=np.stack,
          jvp="stack(ts_dot, axis)", vjp=("unstack(y_bar, axis)", "0")),
        P("split_like", ("g", "ts", "axis"), (T, LT, I), LT, impl=split_like, jvp="split_like(g_dot, ts, axis)",
          vjp=("concat(y_bar, axis)", "zeros_like(ts)", "0"), view=True),
        P("unstack", ("g", "axis"), (T, I), LT, impl=unstack, jvp="unstack(g_dot, axis)", vjp=("stack(y_bar, axis)", "0"),
          view=True),
        P("item", ("t",), (T,), F, impl=_item, jvp="item(t_dot)", vjp=("broadcast_like(y_bar, t)",)),
        P("tensor", ("xs",), (LF,), T, impl=_tensor, jvp="tensor(xs_dot)", vjp=("to_list(y_bar)",)),
        P("tensor", ("xs",), (LLF,), T, impl=_tensor, jvp="tensor(xs_dot)", vjp=("to_list2(y_bar)",)),
        P("tensor", ("xs",), (LLLF,), T, impl=_tensor),
        P("to_list", ("t",), (T,), LF, impl=lambda t: [float(v) for v in np.ravel(t)], jvp="to_list(t_dot)",
          vjp=("reshape(tensor(y_bar), shape(t))",)),
        P("to_list2", ("t",), (T,), LLF, impl=lambda t: [[float(v) for v in row] for row in np.asarray(t)],
          jvp="to_list2(t_dot)", vjp=("tensor(y_bar)",)),
        P("full", ("shape", "v"), (LI, F), T, impl=lambda shape, v: np.full(tuple(shape), v, dtype=float),
          jvp="full(shape, v_dot)", vjp=("0", "sum(y_bar)")),
        # inactive: constructors and shapes
        P("shape_of", ("t",), (T,), LI, impl=lambda t: list(np.shape(t))),
        P("shape", ("t",), (T,), LI, impl=lambda t: list(np.shape(t))),
        P("size", ("t",), (T,), I, impl=lambda t: int(np.size(t))),
        P("dim", ("t", "axis"), (T, I), I, impl=_dim),
        P("zeros", ("shape",), (LI,), T, impl=np.zeros),
        P("zeros", ("n",), (I,), T, impl=np.zeros),
        P("ones", ("shape",), (LI,), T, impl=np.ones),
        P("ones", ("n",), (I,), T, impl=np.ones),
        P("eye", ("n",), (I,), T, impl=lambda n: np.eye(n)),
        P("arange", ("n",), (I,), T, impl=lambda n: np.arange(n, dtype=float)),
        P("arange", ("a", "b"), (I, I), T, impl=lambda a, b: np.arange(a, b, dtype=float)),
        P("linspace", ("a", "b", "n"), (F, F, I), T, impl=lambda a, b, n: np.linspace(a, b, n)),
        P("normal", ("key", "shape"), (I, LI), T, impl=_normal),
        P("uniform", ("key", "shape"), (I, LI), T, impl=_uniform),
    ]
    return table
