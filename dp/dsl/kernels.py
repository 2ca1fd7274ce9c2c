"""The Python and numpy code behind the primitives that are not one library call
(the table itself is dsl/primitives.py). Each rule helper comes as a float version
and a numpy version that agree elementwise, conventions at the edges included."""
from __future__ import annotations

import math

from . import lazy_numpy
from .diagnostics import DPRuntimeError

np = lazy_numpy.module(globals())          # numpy, imported when a program first needs it

# ---------------------------------------------------------------- elementwise, on floats

def sign(x: float) -> float:
    return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0)


def heaviside(x: float) -> float:
    return 1.0 if x > 0.0 else 0.0


def sigmoid(x: float) -> float:
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def relu(x: float) -> float:
    return x if x > 0.0 else 0.0


def floor(x: float) -> float:
    return float(math.floor(x))


def assert_true(cond: bool, message: str | None = None) -> None:
    """`assert(cond)`, `assert(cond, message)`: a runtime error at the call when cond is false."""
    if not cond:
        raise DPRuntimeError(f"assertion failed: {message}" if message is not None else "assertion failed",
                             None if message is not None else "the condition is false here; "
                             "`assert(cond, \"why\")` says why in the error")


def fmod(a: float, b: float) -> float:
    return math.fmod(a, b)


def trunc_div(a: float, b: float) -> float:
    return float(math.trunc(a / b))


def clip(x: float, lo: float, hi: float) -> float:
    return min(max(x, lo), hi)


def tie_share(a: float, b: float) -> float:
    """The share of max(a, b)'s derivative that goes to a: 1, 0, or 1/2 on a tie."""
    return 1.0 if a > b else (0.0 if a < b else 0.5)


def clip_shares(x, lo, hi, tie=tie_share):
    """The shares of clip(x, lo, hi) = min(max(x, lo), hi)'s derivative that go to x,
    lo and hi, by the max/min convention (ties split equally); they sum to 1."""
    to_hi = tie(x, lo) * tie(x, hi) + tie(lo, x) * tie(lo, hi)
    return (1.0 - to_hi) * tie(x, lo), (1.0 - to_hi) * tie(lo, x), to_hi


def clip_to_x(x: float, lo: float, hi: float) -> float:
    return clip_shares(x, lo, hi)[0]


def clip_to_lo(x: float, lo: float, hi: float) -> float:
    return clip_shares(x, lo, hi)[1]


def clip_to_hi(x: float, lo: float, hi: float) -> float:
    return clip_shares(x, lo, hi)[2]


def sqrt_deriv(r: float) -> float:
    """d sqrt(x)/dx written in terms of r = sqrt(x): 0.5 / r, +inf at 0 by convention."""
    return 0.5 / r if r != 0.0 else math.inf


def pow_dbase(x: float, p: float) -> float:
    """p · x^(p-1), the derivative of x ** p in x: 0 when p is 0 (x ** 0 is 1 for every
    x), and at x = 0 the limit from the right (+inf when 0 < p < 1)."""
    if p == 0.0:
        return 0.0
    if x == 0.0 and p < 1.0:
        return math.copysign(math.inf, p)
    return p * math.pow(x, p - 1.0)


def pow_dbase_int(x: float, n: int) -> float:
    """n · x^(n-1) for an int n: 0 when n is 0, and ±inf at x = 0 when n is negative."""
    if n == 0:
        return 0.0
    if x == 0.0 and n < 1:
        return math.copysign(math.inf, n)
    return n * x ** (n - 1)


def pow_term(c: float, x: float, q: float, m: int) -> float:
    """c · x^q · (log x)^m: every derivative of x ** p is a sum of these. 0 where c is 0.
    Where x <= 0 and m > 0 it is 0: every derivative in p of x ** p is 0 there (the true
    value at x = 0 for p > 0; below 0, x ** p is defined only at whole p, and has no
    derivative in p). At x = 0 with m = 0 it is c · 0^q."""
    if c == 0.0:
        return 0.0
    if m == 0:
        if x == 0.0 and q < 0.0:
            return math.copysign(math.inf, c)
        return c * math.pow(x, q)
    if x <= 0.0:
        return 0.0
    return c * math.pow(x, q) * math.log(x) ** m


def inv_norm2(a: float, b: float) -> float:
    """1 / (a² + b²), in the derivative of atan2: none exists at the origin."""
    r = a * a + b * b
    if r == 0.0:
        raise _no_atan2_derivative()
    return 1.0 / r


def _no_atan2_derivative() -> DPRuntimeError:
    return DPRuntimeError("`atan2(a, b)` has no derivative at a = b = 0 (the angle of the origin is undefined)",
                          "keep the point away from the origin, or use `stop_gradient` where it may be there",
                          kind="differentiation error")


# ---------------------------------------------------------------- elementwise, on tensors

def t_inv_norm2(a, b):
    r = np.asarray(a * a + b * b, dtype=float)
    if np.any(r == 0.0):
        raise _no_atan2_derivative()
    return 1.0 / r


def t_sigmoid(x):
    return 0.5 * (np.tanh(0.5 * x) + 1.0)


def t_relu(x):
    return np.maximum(x, 0.0)


def t_heaviside(x):
    return (np.asarray(x) > 0.0).astype(float)


def t_trunc_div(a, b):
    return np.trunc(a / b)


def t_tie_share(a, b):
    return np.where(a > b, 1.0, np.where(a < b, 0.0, 0.5))


def t_clip_to_x(x, lo, hi):
    return clip_shares(x, lo, hi, t_tie_share)[0]


def t_clip_to_lo(x, lo, hi):
    return clip_shares(x, lo, hi, t_tie_share)[1]


def t_clip_to_hi(x, lo, hi):
    return clip_shares(x, lo, hi, t_tie_share)[2]


def t_sqrt_deriv(r):
    return np.where(r == 0.0, np.inf, 0.5 / r)


def t_pow_dbase(x, p):
    return np.where(p == 0.0, 0.0, p * np.power(x, p - 1.0))


def t_pow_term(c, x, q, m):
    x = np.asarray(x, dtype=float)
    if m == 0:
        y = c * np.power(x, q)                      # c · 0^q at x = 0: 0, c or ±inf
    else:
        y = np.where(x <= 0.0, 0.0, c * np.power(x, q) * np.log(x) ** m)
    return np.where(c == 0.0, 0.0, y)


# erf has no numpy version; math.erf elementwise agrees with the float version exactly
def t_erf(x):
    return _vectorized(math.erf)(x)


def t_erfc(x):
    return _vectorized(math.erfc)(x)


_VECTORIZED: dict = {}


def _vectorized(f):
    v = _VECTORIZED.get(f)
    if v is None:
        v = _VECTORIZED[f] = np.vectorize(f, otypes=[float])
    return v


# ---------------------------------------------------------------- broadcasting and reductions

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


def mean(t, axis=None):
    """numpy's mean, but an empty one is nan without numpy's warning on stderr."""
    t = np.asarray(t)
    total = np.sum(t, axis=axis)                     # first: a bad axis fails here, as in numpy
    n = t.size if axis is None else t.shape[axis]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = total / n if n else total * np.nan
    return float(out) if axis is None else out


def softmax(t, axis=None):
    e = np.exp(t - np.max(t, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def logsumexp(t, axis=None):
    """log(sum(exp(t))) without overflow; -inf for an empty reduction."""
    t = np.asarray(t)
    if t.size == 0:
        return np.log(np.sum(np.exp(t), axis=axis))
    m = np.max(t, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return np.squeeze(m, axis=axis) + np.log(np.sum(np.exp(t - m), axis=axis))


# ---------------------------------------------------------------- products

def mm_grad_a(g, b):
    """The cotangent of a in a @ b, given the product's cotangent g, for 1-D and 2-D
    operands (a vector · vector product has a 0-d cotangent g)."""
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
    raise DPRuntimeError("derivatives of `@` with more than two axes (batched matmul) are not supported yet",
                         "loop over the batch, or reshape the batch into the rows of a 2-D tensor")


def dot(a, b):
    if np.ndim(a) != 1 or np.ndim(b) != 1:
        raise DPRuntimeError(f"`dot` takes two vectors, not tensors of shapes {np.shape(a)} and {np.shape(b)}",
                             "use `@` for matrices, or `sum(a * b)`")
    return float(np.dot(a, b))


# ---------------------------------------------------------------- shapes and conversions

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


def transpose(x):
    return np.swapaxes(x, -1, -2) if np.ndim(x) >= 2 else x


def item(t):
    a = np.asarray(t)
    if a.size != 1:
        raise DPRuntimeError(f"cannot make a float of a tensor of shape {a.shape}", "index one element first, or reduce it with sum")
    return float(a.reshape(()))


def tensor(xs):
    return np.array(xs, dtype=float)


def to_list(t):
    return [float(v) for v in np.ravel(t)]


def to_list2(t):
    return [[float(v) for v in row] for row in np.asarray(t)]


def to_list3(t):
    return [[[float(v) for v in row] for row in plane] for plane in np.asarray(t)]


def _shape_arg(shape):
    return (shape,) if isinstance(shape, int) else tuple(shape)


def normal(key, shape):
    return np.random.default_rng(key).standard_normal(_shape_arg(shape))


def uniform(key, shape):
    return np.random.default_rng(key).uniform(0.0, 1.0, _shape_arg(shape))


def dim(t, axis):
    return int(np.shape(t)[axis])


def slice_lo(lo: int, n: int) -> int:
    """Where xs[lo:] starts, as Python's slices count: negative from the end, clamped to 0 … n."""
    return max(0, lo + n) if lo < 0 else min(lo, n)


def slice_hi(lo: int, hi: int, n: int) -> int:
    """Where xs[lo:hi] ends: hi as slice_lo counts it, never before the start."""
    return max(slice_lo(lo, n), slice_lo(hi, n))


# ---------------------------------------------------------------- lists: sum, min, max, sort

def list_sum(xs: list):
    """The sum of a list, 0 (or 0.0) when empty, added left to right as a loop would."""
    return sum(xs, 0.0) if xs and isinstance(xs[0], float) else sum(xs)


def list_sum_float(xs: list) -> float:
    return sum(xs, 0.0)


def list_max(xs: list):
    if not xs:
        raise DPRuntimeError("`max` of an empty list", "check `len(xs) > 0` first")
    return max(xs)


def list_min(xs: list):
    if not xs:
        raise DPRuntimeError("`min` of an empty list", "check `len(xs) > 0` first")
    return min(xs)


def fill_like(v: float, xs: list) -> list:
    return [v] * len(xs)


def _tie_groups(xs: list) -> list[list[int]]:
    """The indices of xs in sorted order (stable), in groups of equal values."""
    order = sorted(range(len(xs)), key=xs.__getitem__)
    groups: list[list[int]] = []
    for i in order:
        if groups and xs[groups[-1][0]] == xs[i]:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def sort_push(t: list, xs: list) -> list:
    """The tangent of sort(xs) for xs's tangent t: t in xs's sorted order, averaged over
    each group of tied elements (as central differences see a tie)."""
    out: list = []
    for g in _tie_groups(xs):
        if len(g) == 1:
            out.append(t[g[0]])
        else:
            m = sum((t[i] for i in g), 0.0) / len(g)
            out.extend([m] * len(g))
    return out


def sort_pull(g: list, xs: list) -> list:
    """The cotangent of xs for sort(xs)'s cotangent g: sort_push's adjoint."""
    out = [0.0] * len(xs)
    k = 0
    for grp in _tie_groups(xs):
        if len(grp) == 1:
            out[grp[0]] = g[k]
        else:
            m = sum(g[k:k + len(grp)], 0.0) / len(grp)
            for i in grp:
                out[i] = m
        k += len(grp)
    return out
