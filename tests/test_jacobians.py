"""Jacobians of tensor-valued functions, forward (`jacfwd`) and reverse (`jacrev`), each
against a central finite-difference Jacobian, for every family of array operation with
broadcasting; Jacobians and Hessians with respect to a chosen parameter; Jacobians of
closures; gradients of dicts of tensors."""
import numpy as np
import pytest

from helpers import error_of, session

rng = np.random.default_rng(11)
X = rng.uniform(0.5, 1.5, (2, 3))
ROW = rng.uniform(0.5, 1.5, (3,))
COL = rng.uniform(0.5, 1.5, (2, 1))
M = rng.uniform(-1, 1, (3, 2))


def fd_jacobian(f, x, h=1e-6):
    """d f(x) / d x, shaped (output shape + input shape), by central differences."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(f(x))
    jac = np.zeros(y.shape + x.shape)
    for idx in np.ndindex(*x.shape):
        e = np.zeros_like(x)
        e[idx] = h
        jac[(...,) + idx] = (np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * h)
    return jac


def bound(body):
    """A session with row, col and m bound, and `fn g(x: tensor) -> tensor { body }`."""
    s, _ = session()
    s.run(f"""let row = tensor({ROW.tolist()})
let col = tensor({COL.tolist()})
let m = tensor({M.tolist()})
fn g(x: tensor) -> tensor {{ {body} }}""", "jac.dp")
    return s


# tensor -> tensor bodies, one per family of array operation, with broadcasting
BODIES = {
    "broadcast_arith": "return (x + row) * x / col - 2.0 ** x + x ** 3.0",
    "fmod": "return x % 0.4 + row % x",
    "elementwise_math": "return exp(x) * sin(x) + log(x) * sqrt(x) - tanh(x) / cos(x) + sigmoid(x) + abs(x - 1.0)",
    "maximum_where": "return maximum(x, row) * where(x > col, x * x, minimum(x, 1.0))",
    "matmul": "return tanh(x @ m) @ transpose(m)",
    "dot_outer": "return outer(x[0], x[1]) * dot(x[0], row)",
    "reductions": "return sum(x, 0) * mean(x, 1)[0] + max(x, 0) - min(x, 0) * sum(x)",
    "reshape_transpose": "return reshape(transpose(x), [3, 2]) * transpose(x)",
    "concat_stack": "return concat([x, x * col], 1) + concat([stack([x[0], row], 0), x], 1)",
    "index_reads": "return x[1] * x[0, 1:3][0] + x[:, 0][1] * row",
    "index_writes": """var y = x
        y[0] = y[1] * row
        y[1, 0:2] = y[0, 1:3] * x[1, 0:2]
        y[0, 2] = float(y[1, 1]) * 3.0
        return y * y""",
    "softmax_logsumexp_clip": "return softmax(x, 1) * clip(x, 0.7, 1.2) + logsumexp(x, 0) + atan2(x, col) * softmax(x)",
    "loop": """var h = x
        for i in 0..3 { h = tanh(h @ m @ transpose(m) + row) }
        return h""",
}


@pytest.mark.parametrize("name", sorted(BODIES))
@pytest.mark.parametrize("kind", ["jacfwd", "jacrev"])
def test_tensor_jacobian_matches_finite_differences(name, kind):
    s = bound(BODIES[name])
    g = s.run("g").value
    jac = s.run(f"{kind}(g)").value(X)
    want = fd_jacobian(g, X)
    assert jac.shape == want.shape
    assert np.allclose(jac, want, rtol=1e-6, atol=1e-6)


def test_forward_and_reverse_jacobians_agree_exactly_on_a_scalar_input():
    s = bound("return x")
    s.run("fn h(t: float) -> tensor { return sin(row * t) * t }")
    fwd, rev = s.run("jacfwd(h)").value(0.7), s.run("jacrev(h)").value(0.7)
    assert np.allclose(fwd, ROW * np.cos(ROW * 0.7) * 0.7 + np.sin(ROW * 0.7))
    assert np.allclose(fwd, rev, rtol=1e-14)


def test_jacobian_with_respect_to_a_chosen_parameter():
    s, _ = session()
    s.run("fn g(a: tensor, b: tensor, k: int) -> tensor { return a * b * float(k) + sin(b) }")
    a, b = np.array([1.0, 2.0]), np.array([0.5, -0.5])
    want_b = np.diag(a * 2 + np.cos(b))
    for kind in ("jacfwd", "jacrev"):
        assert np.allclose(s.run(f"{kind}(g, 1)").value(a, b, 2), want_b)
        assert np.allclose(s.run(f"{kind}(g, 0)").value(a, b, 2), np.diag(b * 2))
        assert np.allclose(s.run(f"{kind}(g)").value(a, b, 3), np.diag(b * 3))


def test_hessian_with_respect_to_a_chosen_parameter():
    s, _ = session()
    s.run("fn q(s: float, xs: list[float]) -> float { return s * s * xs[0] * xs[1] * xs[1] }")
    # d²/dxs²: [[0, 2 s² x1], [2 s² x1, 2 s² x0]]; d²/ds²: 2 x0 x1²
    assert s.run("hessian(q, 1)(2.0, [1.0, 3.0])").value == [[0.0, 24.0], [24.0, 8.0]]
    assert s.run("hessian(q)(2.0, [1.0, 3.0])").value == pytest.approx(18.0)
    assert s.run("jacfwd(q, 1)(2.0, [1.0, 3.0])").value == pytest.approx([36.0, 24.0])
    assert s.run("jacrev(q, 1)(2.0, [1.0, 3.0])").value == pytest.approx([36.0, 24.0])


def test_jacobian_of_a_closure_sees_its_captures():
    s, _ = session()
    s.run("""let c = tensor([1.0, 2.0])
let g = fn(x: tensor) -> tensor { return x * x * c }
fn jac_of(f: fn(tensor) -> tensor, x: tensor) -> tensor { return jacrev(f)(x) }
fn weighted(w: tensor) -> fn(tensor) -> float { return fn(x: tensor) -> float { return sum(w * x * x) } }""")
    x = np.array([3.0, 4.0])
    want = np.diag(2 * x * np.array([1.0, 2.0]))
    assert np.allclose(s.run("jacfwd(g)").value(x), want)                       # known when checked
    assert np.allclose(s.run("jac_of(g, tensor([3.0, 4.0]))").value, want)     # arrives at run time
    assert np.allclose(s.run("hessian(weighted(tensor([1.0, 10.0])))(tensor([3.0, 4.0]))").value,
                       np.diag([2.0, 20.0]))


def test_jacobian_source_names_the_parameters():
    s, _ = session()
    s.run("fn g(a: tensor, e: tensor) -> tensor { return a * e }")
    src = s.run("source(jacrev(g, 1))").value
    assert src.startswith("fn g_jacrev(a: tensor, e_: tensor) -> tensor {")
    assert "g_rev(a, e_, reshape(e, shape(y))).1" in src


@pytest.mark.parametrize("src,msg,col", [
    ("jacrev(g, 2)", "the function has 2 parameter(s); there is no parameter 2", 21),
    ("jacfwd(g, (0, 1))", "takes a function and an optional parameter number", 21),
    ("hessian(g, 1)", "needs a function with a `float`, `list[float]` or `tensor` parameter and a `float` result", 19),
    ("jacrev(h, 1)", "parameter 1 is `int`", 18),
])
def test_jacobian_selector_errors(src, msg, col):
    e = error_of("fn g(a: tensor, b: tensor) -> tensor { return a * b }\n"
                 "fn h(a: tensor, k: int) -> tensor { return a * float(k) }\n"
                 f"let bad = {src}\n")
    assert len(e.diagnostics) == 1, e.render()
    d = e.first
    assert msg in d.message + " " + (d.hint or ""), e.render()
    assert (d.line, d.column) == (3, col), e.render()


def test_gradient_of_a_dict_of_tensors():
    s, _ = session()
    s.run("""fn loss(p: dict[string, tensor], x: tensor) -> float {
    return sum(tanh(x @ p["w"] + p["b"]))
}""")
    w, b, x = rng.uniform(-1, 1, (3, 2)), rng.uniform(-1, 1, (2,)), rng.uniform(-1, 1, (4, 3))
    g = s.run("grad(loss)").value({"w": w, "b": b}, x)
    dpre = 1 - np.tanh(x @ w + b) ** 2
    assert set(g) == {"w", "b"}
    assert np.allclose(g["w"], x.T @ dpre) and np.allclose(g["b"], dpre.sum(0))


def test_source_of_a_hessian_includes_the_derivatives_it_calls_and_runs_as_written():
    s, _ = session()
    s.run("fn f(x: tensor) -> float { return sum(x * x * x) + dot(x, x) }")
    text = s.run("source(hessian(f))").value
    assert text.startswith("fn f_grad_jacfwd(x: tensor) -> tensor {")
    assert "\nfn f_grad(" in text and "\nfn f_grad_jvp_quiet(" in text
    fresh, _ = session()
    fresh.run("fn f(x: tensor) -> float { return sum(x * x * x) + dot(x, x) }\n" + text, "printed.dp")
    x = np.array([0.5, -1.0, 2.0])
    assert np.allclose(fresh.run("f_grad_jacfwd").value(x), np.diag(6 * x) + 2 * np.eye(3))
    assert np.allclose(fresh.run("f_grad_jacfwd").value(x), s.run("hessian(f)").value(x))
