"""The standard library (stdlib/*.dp): every function's values, stated, and its
derivatives against closed forms, central finite differences and forward-vs-
reverse agreement (gradcheck.check)."""
import math

import numpy as np
import pytest

from gradcheck import check
from helpers import session

IMPORTS = "import math\nimport linalg\nimport optim\nimport roots\nimport ode\nimport stats\n"


@pytest.fixture(scope="module")
def dp():
    s, out = session()
    s.run(IMPORTS, "stdlib_test.dp")

    def value(src):
        return s.run(src, "stdlib_test.dp").value
    value.session = s
    return value


def grads(src, *args, tol=1e-5):
    """gradcheck.check on `fn f` defined in src, with the standard library imported."""
    return check(IMPORTS + src, *args, tol=tol)


# ---------------------------------------------------------------- math

@pytest.mark.parametrize("expr,want", [
    ("math.pi", math.pi), ("math.e", math.e),
    ("math.sigmoid(0.0)", 0.5), ("math.sigmoid(2.0)", 1 / (1 + math.exp(-2.0))),
    ("math.sigmoid(-2.0)", 1 / (1 + math.exp(2.0))),
    ("math.sigmoid(800.0)", 1.0), ("math.sigmoid(-800.0)", 0.0),
    ("math.softplus(0.0)", math.log(2.0)), ("math.softplus(800.0)", 800.0), ("math.softplus(-800.0)", 0.0),
    ("math.softplus(-30.0)", math.log1p(math.exp(-30.0))), ("math.softplus(3.0)", math.log1p(math.exp(3.0))),
    ("math.log_sigmoid(-1000.0)", -1000.0), ("math.log_sigmoid(1.0)", -math.log1p(math.exp(-1.0))),
    ("math.log1p(1e-20)", 1e-20), ("math.log1p(1.0)", math.log(2.0)), ("math.log1p(-0.5)", math.log(0.5)),
    ("math.expm1(1e-20)", 1e-20), ("math.expm1(1.0)", math.e - 1.0), ("math.expm1(-800.0)", -1.0),
    ("math.logaddexp(1000.0, 1000.0)", 1000.0 + math.log(2.0)), ("math.logaddexp(0.0, 0.0)", math.log(2.0)),
    ("math.logsumexp([1000.0, 1000.0, 1000.0])", 1000.0 + math.log(3.0)),
    ("math.logsumexp([1.0, 2.0, 3.0])", math.log(math.exp(1) + math.exp(2) + math.exp(3))),
    ("math.logsumexp([-1000.0])", -1000.0),
    ("math.clamp(2.0, 0.0, 1.0)", 1.0), ("math.clamp(-2.0, 0.0, 1.0)", 0.0), ("math.clamp(0.25, 0.0, 1.0)", 0.25),
    ("math.lerp(1.0, 3.0, 0.25)", 1.5), ("math.hypot(3.0, 4.0)", 5.0), ("math.hypot(3e200, 4e200)", 5e200),
    ("math.hypot(0.0, 0.0)", 0.0), ("math.hypot(-1e-200, 0.0)", 1e-200),
    ("math.sinh(1.0)", math.sinh(1.0)), ("math.cosh(1.0)", math.cosh(1.0)),
    ("math.radians(180.0)", math.pi), ("math.degrees(math.pi / 2.0)", 90.0),
    ("math.maximum_of([1.0, 5.0, -2.0])", 5.0), ("math.weighted_sum([1.0, 2.0], [3.0, 4.0])", 11.0),
])
def test_math_values(dp, expr, want):
    assert dp(expr) == pytest.approx(want, rel=1e-15, abs=1e-300)


def test_softmax_and_scaled(dp):
    e = np.exp([1.0, 2.0, 3.0])
    assert dp("math.softmax([1.0, 2.0, 3.0])") == pytest.approx(list(e / e.sum()), rel=1e-15)
    assert dp("math.softmax([1000.0, 1000.0])") == [0.5, 0.5]
    assert dp("math.scaled([1.0, -2.0], 3.0)") == [3.0, -6.0]


@pytest.mark.parametrize("expr,want", [
    # the derivative rules keep the derivatives finite and exact where the naive
    # formulas overflow: sigmoid' = s(1-s), softplus' = sigmoid, …
    ("grad(math.sigmoid)(0.0)", 0.25), ("grad(math.sigmoid)(800.0)", 0.0), ("grad(math.sigmoid)(-800.0)", 0.0),
    ("grad(math.softplus)(800.0)", 1.0), ("grad(math.softplus)(-800.0)", 0.0), ("grad(math.softplus)(0.0)", 0.5),
    ("grad(math.log_sigmoid)(-1000.0)", 1.0), ("grad(math.log_sigmoid)(1000.0)", 0.0),
    ("grad(math.log1p)(1e-20)", 1.0), ("grad(math.log1p)(1.0)", 0.5),
    ("grad(math.expm1)(0.0)", 1.0), ("grad(math.expm1)(1.0)", math.e),
    ("grad(math.clamp)(0.5, 0.0, 1.0)", 1.0), ("grad(math.clamp)(2.0, 0.0, 1.0)", 0.0),
    ("grad(math.clamp, 2)(2.0, 0.0, 1.0)", 1.0),
    ("grad(math.hypot)(3.0, 4.0)", 0.6), ("grad(math.hypot, 1)(3.0, 4.0)", 0.8), ("grad(math.hypot)(0.0, 0.0)", 0.0),
    ("grad(math.hypot)(3e200, 4e200)", 0.6),
    ("grad(math.logaddexp)(1000.0, 1000.0)", 0.5),
    ("grad(grad(math.sigmoid))(1.0)", (1 / (1 + math.exp(-1))) * (1 - 1 / (1 + math.exp(-1))) * (1 - 2 / (1 + math.exp(-1)))),
    ("grad(grad(math.softplus))(0.0)", 0.25),
    ("grad(math.sinh)(1.0)", math.cosh(1.0)), ("grad(math.cosh)(1.0)", math.sinh(1.0)),
    ("grad(math.radians)(10.0)", math.pi / 180), ("grad(math.lerp, 2)(1.0, 3.0, 0.5)", 2.0),
])
def test_math_derivatives(dp, expr, want):
    assert dp(expr) == pytest.approx(want, rel=1e-12, abs=1e-300)


def test_logsumexp_gradient_is_softmax(dp):
    g = dp("grad(math.logsumexp)([1000.0, 999.0, 1000.0])")
    w = np.exp([0.0, -1.0, 0.0])
    assert g == pytest.approx(list(w / w.sum()), rel=1e-14)


@pytest.mark.parametrize("body,args", [
    ("math.sigmoid(x) * math.softplus(x * y) + math.log_sigmoid(y)", (0.7, -1.3)),
    ("math.logaddexp(x, y) * math.log1p(x * x) + math.expm1(y)", (0.3, -1.2)),
    ("math.hypot(x, y) + math.clamp(x * y, -0.5, 0.5) + math.lerp(x, y, x)", (0.3, -1.2)),
    ("math.logsumexp([x, y, x * y]) + math.weighted_sum(math.softmax([x, y, 1.0]), [1.0, 2.0, 3.0])", (0.3, -1.2)),
    ("math.sinh(x) * math.cosh(y) + math.degrees(x)", (0.3, -1.2)),
])
def test_math_gradients_against_finite_differences(body, args):
    grads(f"fn f(x: float, y: float) -> float {{ return {body} }}\n", *args)


def test_logsumexp_list_gradient_against_finite_differences():
    grads("fn f(xs: list[float]) -> float { return math.logsumexp(xs) * xs[1] }\n", [0.5, -1.0, 2.0])


# ---------------------------------------------------------------- linalg

A = [[0.0, 2.0, 1.0], [1.0, 3.0, 2.0], [4.0, 1.0, -1.0]]      # the first pivot is 0: pivoting is needed
B = [4.0, 5.0, 6.0]


def test_vector_helpers(dp):
    assert dp("linalg.dot([1.0, 2.0, 3.0], [4.0, 5.0, 6.0])") == 32.0
    assert dp("linalg.norm([3.0, 4.0])") == 5.0 and dp("linalg.norm([0.0, 0.0])") == 0.0
    assert dp("linalg.scale(2.0, [1.0, -1.0])") == [2.0, -2.0]
    assert dp("linalg.add([1.0, 2.0], [3.0, 4.0])") == [4.0, 6.0]
    assert dp("linalg.sub([1.0, 2.0], [3.0, 5.0])") == [-2.0, -3.0]
    assert dp("linalg.axpy(2.0, [1.0, 2.0], [10.0, 20.0])") == [12.0, 24.0]
    assert dp("linalg.fill(3, 1.5)") == [1.5, 1.5, 1.5]


def test_matrix_helpers(dp):
    assert dp("linalg.identity(2)") == [[1.0, 0.0], [0.0, 1.0]]
    assert dp("linalg.matvec([[1.0, 2.0], [3.0, 4.0]], [1.0, -1.0])") == [-1.0, -1.0]
    assert dp("linalg.transpose([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])") == [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]
    assert dp("linalg.matmul([[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [1.0, 0.0]])") == [[2.0, 1.0], [4.0, 3.0]]
    assert dp("linalg.outer([1.0, 2.0], [3.0, 4.0])") == [[3.0, 4.0], [6.0, 8.0]]


def test_solve_det_lstsq(dp):
    x = dp(f"linalg.solve({A}, {B})")
    assert x == pytest.approx(list(np.linalg.solve(A, B)), rel=1e-13)
    assert dp(f"linalg.det({A})") == pytest.approx(np.linalg.det(A), rel=1e-13)
    assert dp("linalg.det([[1.0, 2.0], [2.0, 4.0]])") == 0.0
    # the least-squares line through (0, 1), (1, 3), (2, 5) is exact: 1 + 2t
    assert dp("linalg.lstsq([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]], [1.0, 3.0, 5.0])") == pytest.approx([1.0, 2.0], rel=1e-13)


def test_tensor_helpers(dp):
    assert dp("linalg.norm_t(tensor([[3.0, 0.0], [0.0, 4.0]]))") == 5.0
    assert dp("linalg.norm_t(zeros(3))") == 0.0
    x = dp(f"linalg.solve_t(tensor({A}), tensor({B}))")
    assert np.allclose(x, np.linalg.solve(A, B), rtol=1e-13)


def test_solve_gradient_is_the_adjoint_solution(dp):
    # d(c . x)/db = A^-T c, d(c . x)/dA = -(A^-T c) x^T
    s = dp.session
    s.run("fn cx(a: list[list[float]], b: list[float]) -> float { return linalg.dot(linalg.solve(a, b), [1.0, 2.0, 3.0]) }")
    ga, gb = dp(f"grad(cx, (0, 1))({A}, {B})")
    An, c = np.array(A), np.array([1.0, 2.0, 3.0])
    lam = np.linalg.solve(An.T, c)
    assert gb == pytest.approx(list(lam), rel=1e-12)
    assert np.allclose(ga, -np.outer(lam, np.linalg.solve(An, B)), rtol=1e-12)
    gt = dp(f"grad(fn(a: tensor) -> float {{ return sum(linalg.solve_t(a, tensor({B}))) }})(tensor({A}))")
    assert np.allclose(gt, -np.outer(np.linalg.solve(An.T, np.ones(3)), np.linalg.solve(An, B)), rtol=1e-12)


def test_det_gradient_is_the_cofactor_matrix(dp):
    g = dp(f"grad(linalg.det)({A})")
    An = np.array(A)
    assert np.allclose(g, np.linalg.det(An) * np.linalg.inv(An).T, rtol=1e-12)


@pytest.mark.parametrize("body,args", [
    ("linalg.norm(linalg.axpy(y[0], x, y)) + linalg.dot(linalg.scale(2.0, x), linalg.sub(x, y))",
     ([0.5, -1.0, 2.0], [1.5, 0.25, -0.75])),
    ("linalg.dot(linalg.matvec(linalg.outer(x, y), x), linalg.add(x, y))", ([0.5, -1.0], [1.5, 0.25])),
    ("linalg.dot(linalg.lstsq([[1.0, x[0]], [1.0, x[1]], [1.0, y[0]]], y), x)", ([0.5, -1.0], [1.5, 0.25, 2.0])),
])
def test_linalg_gradients_against_finite_differences(body, args):
    grads(f"fn f(x: list[float], y: list[float]) -> float {{ return {body} }}\n", *args)


def test_solve_and_det_gradients_against_finite_differences():
    grads("fn f(a: list[list[float]], b: list[float]) -> float {\n"
          "    return linalg.dot(linalg.solve(a, b), b) + linalg.det(linalg.matmul(a, linalg.transpose(a)))\n}\n",
          A, B)


# ---------------------------------------------------------------- optim

QUAD = "fn quad(x: list[float]) -> float { return (x[0] - 3.0) ** 2 + 10.0 * (x[1] + 1.0) ** 2 }\n"
QUAD_T = "fn quad_t(x: tensor) -> float { return sum((x - tensor([1.0, 2.0])) ** 2.0) }\n"


def test_optimisers_find_the_minimum_of_a_quadratic(dp):
    dp.session.run(QUAD + QUAD_T)
    assert dp("optim.gd(grad(quad), [0.0, 0.0], 0.05, 300)") == pytest.approx([3.0, -1.0], abs=1e-9)
    assert dp("optim.momentum(grad(quad), [0.0, 0.0], 0.02, 0.9, 300)") == pytest.approx([3.0, -1.0], abs=1e-6)
    assert dp("optim.adam(grad(quad), [0.0, 0.0], 0.1, 600)") == pytest.approx([3.0, -1.0], abs=1e-6)
    for call in ("optim.gd_t(grad(quad_t), zeros(2), 0.1, 200)", "optim.momentum_t(grad(quad_t), zeros(2), 0.05, 0.9, 300)",
                 "optim.adam_t(grad(quad_t), zeros(2), 0.05, 1500)"):
        assert np.allclose(dp(call), [1.0, 2.0], atol=1e-6)


def test_gd_steps_exactly(dp):
    # one step from 0: x - 0.1 * (2 (x0 - 3), 20 (x1 + 1)) = (0.6, -2.0)
    dp.session.run(QUAD)
    assert dp("optim.gd(grad(quad), [0.0, 0.0], 0.1, 1)") == pytest.approx([0.6, -2.0], rel=1e-15)
    # momentum's second step: v = 0.5 g0 + g1
    assert dp("optim.momentum(grad(quad), [0.0, 0.0], 0.01, 0.5, 2)") == pytest.approx([0.06 + 0.01 * (0.5 * 6 + 6 - 0.12 * 1),
                                                                                    -0.2 - 0.01 * (0.5 * 20 + 20 - 4)], rel=1e-12)


def test_adam_step_by_step(dp):
    # Adam's first step moves every coordinate by lr against the sign of its gradient
    dp.session.run(QUAD)
    s = dp("optim.adam_step(optim.adam_init(2, 0.1), [0.0, 0.0], grad(quad)([0.0, 0.0]))")
    x, st = s
    assert x == pytest.approx([0.1, -0.1], rel=1e-8)
    assert st.t == 1 and st.m == pytest.approx([-0.6, 2.0]) and st.v == pytest.approx([0.036, 0.4])
    t = dp("optim.adam_step_t(optim.adam_init_t(zeros(2), 0.1), zeros(2), tensor([-6.0, 20.0]))")
    assert np.allclose(t[0], [0.1, -0.1], rtol=1e-8) and t[1].t == 1


def test_gradient_through_an_optimiser_run(dp):
    # d(loss after 5 steps)/d(learning rate), through the optimiser's loop and grad(quad)
    dp.session.run(QUAD + "fn after(lr: float) -> float { return quad(optim.gd(grad(quad), [0.0, 0.0], lr, 5)) }")
    g = dp("grad(after)(0.01)")
    h = 1e-6
    fd = (dp(f"after({0.01 + h})") - dp(f"after({0.01 - h})")) / (2 * h)
    assert g == pytest.approx(fd, rel=1e-7)


# ---------------------------------------------------------------- roots

def test_newton_and_bisection(dp):
    dp.session.run("fn two(x: float) -> float { return x * x - 2.0 }")
    assert dp("roots.newton(two, 1.0, 1e-14, 50)") == pytest.approx(math.sqrt(2), rel=1e-15)
    assert dp("roots.bisect(two, 0.0, 2.0, 1e-13)") == pytest.approx(math.sqrt(2), abs=1e-13)
    assert dp("roots.bisect(two, 2.0, 0.0, 1e-13)") == 1.0              # an empty interval: its midpoint
    assert dp("roots.newton(fn(x: float) -> float { return cos(x) - x }, 1.0, 1e-14, 50)") == \
        pytest.approx(0.7390851332151607, rel=1e-15)


def test_newton_system(dp):
    # x^2 + y^2 = 4 and x = y: (sqrt 2, sqrt 2); the Jacobian comes from jacfwd
    x = dp("roots.newton_system(fn(v: list[float]) -> list[float] { return [v[0] * v[0] + v[1] * v[1] - 4.0, v[0] - v[1]] },"
           " [1.0, 0.5], 1e-13, 50)")
    assert x == pytest.approx([math.sqrt(2), math.sqrt(2)], rel=1e-15)


def test_line_search_and_minimisers(dp):
    dp.session.run("fn rosen(v: list[float]) -> float { return (1.0 - v[0]) ** 2 + 100.0 * (v[1] - v[0] * v[0]) ** 2 }\n"
                   "fn bowl(v: list[float]) -> float { return (v[0] - 1.0) ** 2 + 2.0 * (v[1] + 0.5) ** 2 }")
    # from 0 (f = 1.5) along -g = (2, -2): t = 1 overshoots (f = 5.5), t = 0.5 lands on f = 0.5
    assert dp("roots.backtrack(bowl, [0.0, 0.0], [-2.0, 2.0], [2.0, -2.0], 1.0)") == 0.5
    assert dp("roots.minimize(bowl, [0.0, 0.0], 1e-10, 1000)") == pytest.approx([1.0, -0.5], abs=1e-10)
    assert dp("roots.newton_minimize(rosen, [-1.2, 1.0], 1e-12, 100)") == pytest.approx([1.0, 1.0], abs=1e-10)
    assert dp("roots.golden(fn(x: float) -> float { return (x - 0.3) ** 2 }, 0.0, 1.0, 1e-10)") == pytest.approx(0.3, abs=1e-9)


# ---------------------------------------------------------------- ode

DECAY = "fn decay(t: float, y: list[float]) -> list[float] { return [-y[0]] }\n" \
        "fn spring(x: list[float]) -> list[float] { return [-x[0]] }\n" \
        "fn tdecay(t: float, y: tensor) -> tensor { return -1.0 * y }\n"


def test_euler_and_rk4_on_exponential_decay(dp):
    dp.session.run(DECAY)
    assert dp("ode.euler(decay, [1.0], 0.0, 0.1, 10)") == pytest.approx([0.9 ** 10], rel=1e-14)
    # RK4's step multiplies by 1 - h + h^2/2 - h^3/6 + h^4/24
    h = 0.1
    assert dp("ode.rk4(decay, [1.0], 0.0, 0.1, 10)") == pytest.approx([(1 - h + h**2 / 2 - h**3 / 6 + h**4 / 24) ** 10], rel=1e-14)
    assert abs(dp("ode.rk4(decay, [1.0], 0.0, 0.1, 10)")[0] - math.exp(-1)) < 4e-7
    path = dp("ode.rk4_path(decay, [1.0], 0.0, 0.1, 10)")
    assert len(path) == 11 and path[0] == [1.0] and path[-1] == dp("ode.rk4(decay, [1.0], 0.0, 0.1, 10)")
    assert dp("ode.euler_path(decay, [1.0], 0.0, 0.5, 2)") == [[1.0], [0.5], [0.25]]
    assert np.allclose(dp("ode.rk4_t(tdecay, tensor([1.0, 2.0]), 0.0, 0.1, 10)"),
                       np.array([1.0, 2.0]) * (1 - h + h**2 / 2 - h**3 / 6 + h**4 / 24) ** 10, rtol=1e-14)
    assert np.allclose(dp("ode.euler_t(tdecay, tensor([1.0]), 0.0, 0.1, 10)"), [0.9 ** 10], rtol=1e-14)


def test_rk4_uses_the_time_argument(dp):
    # y' = t: y(1) = 1/2, exact for RK4
    assert dp("ode.rk4(fn(t: float, y: list[float]) -> list[float] { return [t] }, [0.0], 0.0, 0.25, 4)") == [0.5]


def test_velocity_verlet_conserves_energy(dp):
    dp.session.run(DECAY)
    x, v = dp("ode.verlet(spring, [1.0], [0.0], 0.05, 2000)")
    assert abs(0.5 * (x[0] ** 2 + v[0] ** 2) - 0.5) < 1e-3
    x, v = dp("ode.verlet(spring, [1.0], [0.0], 0.01, 314)")
    # second order: the phase error after time t is about t dt^2 / 24
    assert x[0] == pytest.approx(math.cos(3.14), abs=3e-5) and v[0] == pytest.approx(-math.sin(3.14), abs=3e-5)
    path = dp("ode.verlet_path(spring, [1.0], [0.0], 0.01, 314)")
    assert len(path) == 315 and path[-1] == (x, v)
    xt, vt = dp("ode.verlet_t(fn(x: tensor) -> tensor { return -1.0 * x }, tensor([1.0]), zeros(1), 0.01, 314)")
    assert np.allclose(xt, x) and np.allclose(vt, v)


def test_gradients_through_the_integrators_against_finite_differences():
    src = """fn f(p: list[float], y0: list[float]) -> float {
    let rhs = fn(t: float, y: list[float]) -> list[float] { return [y[1], -p[0] * y[1] - p[1] * y[0]] }
    let path = ode.rk4_path(rhs, y0, 0.0, 0.1, 15)
    var s = 0.0
    for y in path {
        s += y[0] * y[0]
    }
    let e = ode.euler(rhs, y0, 0.0, 0.1, 5)
    let r = ode.verlet(fn(x: list[float]) -> list[float] { return [-p[1] * x[0] * x[0] * x[0], -x[1]] }, y0, [p[0], 0.0], 0.05, 20)
    let xs = r.0
    return s + e[1] + xs[0] + xs[1]
}
"""
    grads(src, [0.3, 2.0], [1.0, 0.25])


def test_gradients_through_the_tensor_integrators():
    src = """fn f(k: float, y0: tensor) -> float {
    let a = ode.rk4_t(fn(t: float, y: tensor) -> tensor { return -k * y * y }, y0, 0.0, 0.1, 10)
    let r = ode.verlet_t(fn(x: tensor) -> tensor { return -k * x }, y0, zeros(2), 0.1, 20)
    let b = ode.euler_t(fn(t: float, y: tensor) -> tensor { return -k * y }, y0, 0.0, 0.1, 5)
    return sum(a) + sum(r.0 * r.0) + sum(b)
}
"""
    import numpy as np_
    grads(src, 2.0, np_.array([1.0, 0.5]))


def test_remaining_gradients_against_finite_differences():
    # the functions not reached by the checks above: fill, norm_t, maximum_of, the
    # Euler and Verlet paths, and momentum and Adam with respect to their settings
    src = """fn quad(x: list[float]) -> float { return (x[0] - 3.0) ** 2 + 10.0 * (x[1] + 1.0) ** 2 }
fn f(x: list[float], t: tensor) -> float {
    let a = linalg.fill(2, x[0])
    let n = linalg.norm_t(t * x[1])
    let m = math.maximum_of(x)
    let path = ode.euler_path(fn(tt: float, y: list[float]) -> list[float] { return [-x[0] * y[0]] }, [x[1]], 0.0, 0.1, 3)
    let vp = ode.verlet_path(fn(z: list[float]) -> list[float] { return [-x[0] * z[0]] }, [1.0], [x[1]], 0.1, 3)
    let (xs, vs) = vp[3]
    let mo = optim.momentum(grad(quad), [0.0, 0.0], 0.01 * x[0], x[1], 3)
    let ad = optim.adam(grad(quad), [0.0, 0.0], 0.1 * x[0], 3)
    return a[1] * n + m + path[3][0] + xs[0] * vs[0] + quad(mo) + quad(ad)
}
"""
    grads(src, [1.5, 0.5, -0.25], np.array([[1.0, -2.0], [0.5, 3.0]]))


# ---------------------------------------------------------------- stats

XS = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]
YS = [1.0, 3.0, 2.0, 5.0, 4.0, 6.0, 8.0, 9.0]


def test_summaries(dp):
    assert dp(f"stats.total({XS})") == 40.0 and dp(f"stats.mean({XS})") == 5.0
    assert dp(f"stats.variance({XS})") == 4.0 and dp(f"stats.std({XS})") == 2.0
    assert dp(f"stats.sample_variance({XS})") == pytest.approx(32 / 7, rel=1e-15)
    assert dp(f"stats.covariance({XS}, {YS})") == pytest.approx(np.cov(XS, YS, bias=True)[0, 1], rel=1e-15)
    assert dp(f"stats.correlation({XS}, {YS})") == pytest.approx(np.corrcoef(XS, YS)[0, 1], rel=1e-14)
    assert dp(f"stats.mse({XS}, {YS})") == 1.25
    assert dp("stats.standardize([1.0, 2.0, 3.0])") == pytest.approx([-math.sqrt(1.5), 0.0, math.sqrt(1.5)], rel=1e-15)


def test_normal_distribution(dp):
    assert dp("stats.normal_pdf(0.0, 0.0, 1.0)") == pytest.approx(1 / math.sqrt(2 * math.pi), rel=1e-15)
    assert dp("stats.normal_pdf(3.0, 1.0, 2.0)") == pytest.approx(math.exp(-0.5) / (2 * math.sqrt(2 * math.pi)), rel=1e-15)
    assert dp("stats.normal_logpdf(1.0, 0.0, 2.0)") == pytest.approx(-0.125 - math.log(2) - 0.5 * math.log(2 * math.pi), rel=1e-15)
    # far in the tail the density underflows to 0, its logarithm does not
    assert dp("stats.normal_pdf(100.0, 0.0, 1.0)") == 0.0
    assert dp("stats.normal_logpdf(100.0, 0.0, 1.0)") == pytest.approx(-5000 - 0.5 * math.log(2 * math.pi), rel=1e-15)
    assert dp(f"stats.normal_loglik({XS}, 5.0, 2.0)") == pytest.approx(
        sum(-0.5 * ((x - 5) / 2) ** 2 - math.log(2) - 0.5 * math.log(2 * math.pi) for x in XS), rel=1e-15)


def test_stats_gradients_closed_form(dp):
    # d var / d x_i = 2 (x_i - mean) / n; the likelihood's gradient vanishes at the estimates
    assert dp(f"grad(stats.variance)({XS})") == pytest.approx([2 * (x - 5) / 8 for x in XS], rel=1e-15)
    assert dp(f"grad(stats.mean)({XS})") == [0.125] * 8
    dp.session.run(f"fn nll(p: list[float]) -> float {{ return -stats.normal_loglik({XS}, p[0], p[1]) }}")
    assert dp("grad(nll)([5.0, 2.0])") == pytest.approx([0.0, 0.0], abs=1e-15)
    # d/dx, d/dmu, d/dsigma of log N(x; mu, sigma): -z/sigma, z/sigma, (z^2 - 1)/sigma
    z = (1.0 - 0.5) / 2.0
    assert dp("grad(stats.normal_logpdf, (0, 1, 2))(1.0, 0.5, 2.0)") == pytest.approx((-z / 2, z / 2, (z * z - 1) / 2), rel=1e-15)


def test_stats_gradients_against_finite_differences():
    grads("fn f(x: list[float], y: list[float]) -> float {\n"
          "    return stats.correlation(x, y) + stats.std(x) * stats.sample_variance(y) + stats.mse(x, y) +\n"
          "        stats.standardize(x)[1] + stats.normal_pdf(x[0], y[0], y[1]) + stats.covariance(x, y)\n}\n",
          [0.5, -1.0, 2.0, 0.25], [1.5, 0.75, -0.5, 1.0])
