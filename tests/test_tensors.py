"""Tensors: every array operation against numpy for values, and its derivatives
against central finite differences in reverse and forward mode, with broadcasting."""
import math

import numpy as np
import pytest

from gradcheck import check
from helpers import error_of, run, session

rng = np.random.default_rng(0)
A = rng.uniform(0.5, 1.5, (3, 4))
B = rng.uniform(0.5, 1.5, (3, 4))
ROW = rng.uniform(0.5, 1.5, (4,))
COL = rng.uniform(0.5, 1.5, (3, 1))
M = rng.uniform(-1, 1, (4, 2))
V = rng.uniform(-1, 1, (4,))


def dp_value(expr, **tensors):
    """Evaluate a tensor expression in DP with the given tensors bound."""
    s, out = session()
    for name, value in tensors.items():
        s.run(f"let {name} = tensor({np.asarray(value).tolist()!r})")
    return s.run(expr).value


VALUES = [
    ("a + b", lambda: A + B), ("a - row", lambda: A - ROW), ("a * col", lambda: A * COL),
    ("a / b", lambda: A / B), ("a ** 2.0", lambda: A ** 2.0), ("2.0 ** a", lambda: 2.0 ** A),
    ("a % 0.3", lambda: np.fmod(A, 0.3)), ("-a", lambda: -A), ("a @ m", lambda: A @ M),
    ("matmul(a, m)", lambda: A @ M), ("a @ v", lambda: A @ V), ("dot(v, v)", lambda: float(V @ V)),
    ("outer(v, row)", lambda: np.outer(V, ROW)), ("exp(a)", lambda: np.exp(A)), ("log(a)", lambda: np.log(A)),
    ("sin(a)", lambda: np.sin(A)), ("cos(a)", lambda: np.cos(A)), ("tan(a)", lambda: np.tan(A)),
    ("tanh(a)", lambda: np.tanh(A)), ("sqrt(a)", lambda: np.sqrt(A)), ("abs(v)", lambda: np.abs(V)),
    ("sigmoid(v)", lambda: 1 / (1 + np.exp(-V))), ("relu(v)", lambda: np.maximum(V, 0)),
    ("maximum(a, b)", lambda: np.maximum(A, B)), ("minimum(a, 1.0)", lambda: np.minimum(A, 1.0)),
    ("where(a > b, a, b)", lambda: np.where(A > B, A, B)), ("sum(a)", lambda: float(A.sum())),
    ("sum(a, 0)", lambda: A.sum(0)), ("sum(a, 1)", lambda: A.sum(1)), ("mean(a)", lambda: float(A.mean())),
    ("mean(a, 1)", lambda: A.mean(1)), ("max(a)", lambda: float(A.max())), ("max(a, 0)", lambda: A.max(0)),
    ("min(a, 1)", lambda: A.min(1)), ("reshape(a, [4, 3])", lambda: A.reshape(4, 3)),
    ("transpose(a)", lambda: A.T), ("concat([a, b], 0)", lambda: np.concatenate([A, B], 0)),
    ("stack([row, row], 1)", lambda: np.stack([ROW, ROW], 1)), ("a[1]", lambda: A[1]),
    ("a[1:3]", lambda: A[1:3]), ("a[:, 0]", lambda: A[:, 0]), ("a[0, 1:3]", lambda: A[0, 1:3]),
    ("float(a[2, 3])", lambda: float(A[2, 3])),
    ("log1p(a)", lambda: np.log1p(A)), ("expm1(a)", lambda: np.expm1(A)), ("sinh(a)", lambda: np.sinh(A)),
    ("cosh(a)", lambda: np.cosh(A)), ("asin(v)", lambda: np.arcsin(V)), ("acos(v)", lambda: np.arccos(V)),
    ("atan(a)", lambda: np.arctan(A)), ("atan2(v, row)", lambda: np.arctan2(V, ROW)),
    ("clip(v, -0.2, 0.3)", lambda: np.clip(V, -0.2, 0.3)),
    ("softmax(a)", lambda: np.exp(A) / np.exp(A).sum()), ("softmax(a, 1)", lambda: np.exp(A) / np.exp(A).sum(1, keepdims=True)),
    ("softmax(a * 1000.0, 0)", lambda: np.exp(1000 * A - (1000 * A).max(0)) / np.exp(1000 * A - (1000 * A).max(0)).sum(0)),
    ("logsumexp(a)", lambda: float(np.log(np.exp(A).sum()))), ("logsumexp(a, 0)", lambda: np.log(np.exp(A).sum(0))),
    ("logsumexp(a * 1000.0, 1)", lambda: 1000 * A.max(1) + np.log(np.exp(1000 * A - 1000 * A.max(1, keepdims=True)).sum(1))),
    ("argmax(a)", lambda: int(np.argmax(A))), ("argmin(v)", lambda: int(np.argmin(V))),
]


@pytest.mark.parametrize("expr,want", VALUES, ids=[v[0] for v in VALUES])
def test_values_match_numpy(expr, want):
    got = dp_value(expr, a=A, b=B, row=ROW, col=COL, m=M, v=V)
    assert np.allclose(got, want(), rtol=1e-12, atol=1e-12)


def test_constructors():
    s, _ = session()
    assert np.array_equal(s.run("zeros([2, 3])").value, np.zeros((2, 3)))
    assert np.array_equal(s.run("ones(4)").value, np.ones(4))
    assert np.array_equal(s.run("full([2], 3.5)").value, np.full(2, 3.5))
    assert np.array_equal(s.run("eye(3)").value, np.eye(3))
    assert np.array_equal(s.run("arange(2, 5)").value, np.arange(2.0, 5.0))
    assert np.allclose(s.run("linspace(0.0, 1.0, 5)").value, np.linspace(0, 1, 5))
    assert np.array_equal(s.run("tensor([[1, 2], [3, 4]])").value, np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert np.array_equal(s.run("normal(7, [3])").value, np.random.default_rng(7).standard_normal(3))
    assert np.array_equal(s.run("uniform(7, [2, 2])").value, np.random.default_rng(7).uniform(0, 1, (2, 2)))
    assert s.run("shape(zeros([2, 3]))").value == [2, 3] and s.run("len(zeros([5, 2]))").value == 5


def test_writes_have_value_semantics():
    out = run("""let a = zeros([2, 3])
var b = a
b[0, 1] = 5.0
b[1] = ones(3)
b[0, 0:1] = tensor([7.0])
print(a)
print(b)
""")
    assert out.splitlines()[0] == "tensor([[0.0, 0.0, 0.0],"
    assert "tensor([[7.0, 5.0, 0.0]," in out and "[1.0, 1.0, 1.0]])" in out


def test_shape_mismatch_names_both_shapes_and_the_line():
    e = error_of("let a = zeros([3])\nlet b = zeros([4])\nlet c = a + b\n")
    assert e.line == 3 and "(3,)" in e.message and "(4,)" in e.message


GRADS = {
    "broadcast_add_mul": ("fn f(a: tensor, r: tensor) -> float { return sum((a + r) * a) }", (A, ROW)),
    "column_broadcast_div": ("fn f(a: tensor, c: tensor) -> float { return sum(a / c + c * 2.0) }", (A, COL)),
    "scalar_broadcast": ("fn f(a: tensor, s: float) -> float { return mean(a * s - s / a) }", (A, 0.7)),
    "powers": ("fn f(a: tensor, p: float) -> float { return sum(a ** p + a ** 2.0 + 2.0 ** a) }", (A, 1.3)),
    "elementwise": ("fn f(a: tensor) -> float { return sum(exp(a) * sin(a) + log(a) * sqrt(a) - tanh(a) / cos(a) + sigmoid(a) + tan(a)) }", (A,)),
    "abs_relu": ("fn f(v: tensor) -> float { return sum(abs(v) * relu(v) + relu(v - 0.1)) }", (V,)),
    "maximum_minimum": ("fn f(a: tensor, b: tensor) -> float { return sum(maximum(a, b) * minimum(a, 0.9)) }", (A, B)),
    "where": ("fn f(a: tensor, b: tensor) -> float { return sum(where(a > b, a * a, b * 3.0)) }", (A, B)),
    "matmul": ("fn f(a: tensor, m: tensor) -> float { return sum(tanh(a @ m)) }", (A, M)),
    "matvec": ("fn f(a: tensor, v: tensor) -> float { return sum((a @ v) * (a @ v)) }", (A, V)),
    "vecmat": ("fn f(v: tensor, m: tensor) -> float { return sum(exp(v @ m)) }", (V, M)),
    "dot_outer": ("fn f(v: tensor, r: tensor) -> float { return dot(v, r) * sum(outer(v, r) * outer(r, v)) }", (V, ROW)),
    "reductions_axis": ("fn f(a: tensor) -> float { return sum(sum(a, 0) * mean(a, 0)) + sum(max(a, 1)) - sum(min(a, 0) * mean(a, 1)[0]) }", (A,)),
    "max_min_all": ("fn f(a: tensor) -> float { return max(a) * min(a) + mean(a) }", (A,)),
    "reshape_transpose": ("fn f(a: tensor) -> float { return sum(reshape(a, [2, 6]) * reshape(transpose(a), [2, 6])) }", (A,)),
    "concat_stack": ("fn f(a: tensor, b: tensor) -> float { return sum(concat([a, b * a], 0) * concat([b, a], 0)) + sum(stack([a, b], 0) * 2.0) }", (A, B)),
    "index_reads": ("fn f(a: tensor) -> float { return sum(a[1] * a[2]) + float(a[0, 3]) * sum(a[:, 1]) + sum(a[1:3, 0:2]) }", (A,)),
    "index_writes": ("""fn f(a: tensor, v: tensor) -> float {
        var b = a
        b[0] = b[1] * v
        b[2, 1] = float(b[0, 1]) * 3.0
        b[1:3, 2:4] = b[0:2, 0:2] * b[1:3, 2:4]
        return sum(b * b)
    }""", (A, V)),
    "loop_accumulate": ("""fn f(a: tensor) -> float {
        var h = a
        for i in 0..4 { h = tanh(h * 1.3 + 0.1) }
        return sum(h)
    }""", (A,)),
    "list_of_tensors": ("""fn f(xs: list[tensor]) -> float {
        var s = 0.0
        for x in xs { s = s + sum(x * x) }
        return s
    }""", ([A, B],)),
    "list_from_tensor": ("fn f(a: tensor) -> float { let xs = to_list(a); return xs[0] * xs[1] + xs[2] }", (V,)),
    "tensor_from_list": ("fn f(xs: list[float]) -> float { let t = tensor(xs); return sum(t * t * t) }", ([0.3, 0.7, 1.1],)),
    "more_elementwise": ("fn f(a: tensor, v: tensor) -> float { return sum(log1p(a) * expm1(a) + sinh(a) / cosh(a) + atan(a)) + sum(asin(v) * acos(v * 0.5)) }", (A, V)),
    "atan2_broadcast": ("fn f(a: tensor, r: tensor, s: float) -> float { return sum(atan2(a, r) * atan2(s, a) + atan2(r, s)) }", (A, ROW, 0.7)),
    "clip_and_bounds": ("fn f(v: tensor, lo: float, hi: float) -> float { return sum(clip(v, lo, hi) * v) }", (V, -0.3, 0.4)),
    "softmax_logsumexp": ("fn f(a: tensor, y: tensor) -> float { return sum(softmax(a, 1) * y) - sum(logsumexp(a, 0)) + logsumexp(a) * sum(softmax(a) * a) }", (A, B)),
    "cross_entropy": ("fn f(a: tensor, y: tensor) -> float { return -mean(sum(y * (a - reshape(logsumexp(a, 1), [3, 1])), 1)) }", (A, B)),
    "float_of_tensor": ("fn f(a: tensor) -> float { return float(sum(a, 0)[1]) * 2.0 }", (A,)),
}


@pytest.mark.parametrize("name", sorted(GRADS))
def test_tensor_gradients(name):
    src, args = GRADS[name]
    check(src, *args)


def test_struct_of_tensors_gradient():
    src = """struct Layer { w: tensor, b: tensor }
fn loss(p: Layer, x: tensor) -> float { return sum(tanh(x @ p.w + p.b)) }
"""
    s, _ = session()
    s.run(src)
    x = rng.uniform(-1, 1, (5, 4))
    layer = s.run("Layer { w: normal(1, [4, 3]), b: zeros(3) }").value
    g = s.run("grad(loss)").value(layer, x)
    w, b = layer.w, layer.b
    pre = x @ w + b
    dpre = 1 - np.tanh(pre) ** 2
    assert np.allclose(g.w, x.T @ dpre) and np.allclose(g.b, dpre.sum(0))


def test_jacobians_and_hessian_of_tensor_functions():
    s, _ = session()
    s.run("""fn f(v: tensor) -> float { return sum(v * v * v) }
fn g(v: tensor) -> tensor { return sin(v) * 2.0 }""")
    v = np.array([0.3, -0.5, 1.2])
    assert np.allclose(s.run("grad(f)").value(v), 3 * v * v)
    hess = s.run("jacfwd(grad(f))").value(v)
    assert np.allclose(hess, np.diag(6 * v))
    assert np.allclose(s.run("hessian(f)").value(v), np.diag(6 * v))
    assert np.allclose(s.run("jacrev(g)").value(v), np.diag(2 * np.cos(v)))
    assert np.allclose(s.run("jacfwd(g)").value(v), np.diag(2 * np.cos(v)))
    _ = math


@pytest.mark.parametrize("expr", ["sum(tanh(m @ v))", "sum(m @ v * (m @ v))", "dot(m @ v, m @ v) * mean(exp(v))",
                                  "sum(transpose(reshape(v, [3, 1])) @ reshape(v, [3, 1]))", "max(v) * min(v) + sum(v * v * v)"])
def test_hessians_of_tensor_functions_forward_over_reverse_and_reverse_over_reverse(expr):
    s, _ = session()
    s.run(f"""let m = tensor([[0.5, -0.2, 0.1], [0.3, 0.8, -0.4]])
fn f(v: tensor) -> float {{ return {expr} }}""")
    v = np.array([0.3, -0.5, 0.9])
    g = s.run("grad(f)").value
    fd = np.array([(g(v + 1e-6 * e) - g(v - 1e-6 * e)) / 2e-6 for e in np.eye(3)]).T
    assert np.allclose(s.run("hessian(f)").value(v), fd, atol=1e-6)
    assert np.allclose(s.run("jacrev(grad(f))").value(v), fd, atol=1e-6)


def test_every_tensor_operation_is_in_the_reference():
    import os
    import re
    from dp.dsl import primitives as P
    from dp.dsl.types import TENSOR
    doc = open(os.path.join(os.path.dirname(__file__), "..", "docs", "tensors.md")).read()
    # rule helpers appear in derived code; users need not call them
    names = {p.name for p in P.TABLE if (TENSOR in p.types or p.ret == TENSOR) and p.name in P.CALLABLE and not p.helper}
    missing = sorted(n for n in names if not re.search(rf"\b{n}\b", doc))
    assert not missing, f"docs/tensors.md does not mention {missing}"


def test_an_empty_mean_is_nan_without_a_python_warning():
    import warnings
    s, _ = session()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(s.run("mean(zeros(0))").value)
        assert np.isnan(s.run("mean(zeros([0, 3]), 0)").value).all()
        assert s.run("mean(zeros([2, 0]), 0)").value.shape == (0,)


def test_an_empty_tensor_prints_its_shape():
    s, out = session()
    s.run("print(eye(0), ones([0, 3]), zeros(0))")
    assert out.text == "zeros([0, 0]) zeros([0, 3]) tensor([])\n"
