"""grad and friends on the lecture's examples, closed forms, higher orders, data
types, conventions at non-differentiable points, and errors."""
import math

import numpy as np
import pytest

from helpers import error_of, run, session


def values(src):
    return [float(x) for x in run(src).split()]


LECTURE = "fn f(x1: float, x2: float) -> float { return log(x1) + x1 * x2 - sin(x2) }\n"


def test_lecture_adjoint_trace():
    out = run(LECTURE + "print(f(2.0, 5.0))\nlet g = grad(f, (0, 1))(2.0, 5.0)\nprint(g.0, g.1)\n")
    y, g1, g2 = map(float, out.split())
    assert round(y, 3) == 11.652
    assert g1 == pytest.approx(5.5, abs=1e-12)                      # 1/x1 + x2
    assert g2 == pytest.approx(2.0 - math.cos(5.0), abs=1e-12)       # x1 - cos x2 = 1.716
    assert round(g2, 3) == 1.716


def test_value_and_grad_and_selectors():
    out = run(LECTURE + "let vg = value_and_grad(f)(2.0, 5.0)\nprint(vg.0, vg.1, grad(f, 1)(2.0, 5.0))\n")
    y, g0, g1 = map(float, out.split())
    assert y == pytest.approx(math.log(2) + 10 - math.sin(5))
    assert g0 == 5.5 and g1 == pytest.approx(2 - math.cos(5))


LOGISTIC = """fn f(x: float) -> float {
    var v = x
    for i in 0..3 {
        v = 4.0 * v * (1.0 - v)
    }
    return v
}
"""


@pytest.mark.parametrize("x", [0.1, 0.3, 0.5, 0.77, 0.9])
def test_logistic_loop_matches_closed_form(x):
    # f(x) = 64x(1-x)(1-2x)^2(1-8x+8x^2)^2, differentiated exactly as a polynomial
    p = np.poly1d([64.0, 0.0]) * np.poly1d([-1.0, 1.0]) * np.poly1d([-2.0, 1.0]) ** 2 * np.poly1d([8.0, -8.0, 1.0]) ** 2
    y, d = values(LOGISTIC + f"print(f({x}), grad(f)({x}))")
    assert y == pytest.approx(p(x), rel=1e-12, abs=1e-12)
    assert d == pytest.approx(p.deriv()(x), rel=1e-10, abs=1e-10)


def test_cube_and_higher_orders():
    src = """fn cube(x: float) -> float { return x * x * x }
fn quart(x: float) -> float { return x * x * x * x }
fn s(x: float) -> float { return sin(x) }
let x = 1.3
print(grad(cube)(x), grad(grad(cube))(x), grad(grad(grad(cube)))(x))
print(grad(grad(grad(quart)))(x), grad(grad(grad(s)))(x), grad(grad(grad(sin)))(x))
"""
    a, b, c, d, e, f = values(src)
    x = 1.3
    assert a == pytest.approx(3 * x * x) and b == pytest.approx(6 * x) and c == pytest.approx(6.0)
    assert d == pytest.approx(24 * x)
    assert e == pytest.approx(-math.cos(x)) and f == pytest.approx(-math.cos(x))


def test_forward_over_reverse_and_reverse_over_forward():
    src = """fn f(x: float) -> float { return exp(sin(x)) * x }
fn df(x: float) -> float { return jvp(f, x, 1.0).1 }
let x = 0.4
print(grad(f)(x), df(x), jvp(grad(f), x, 1.0).1, grad(df)(x))
"""
    g, d, h1, h2 = values(src)
    x = 0.4
    fp = math.exp(math.sin(x)) * (math.cos(x) * x + 1)
    fpp = math.exp(math.sin(x)) * (math.cos(x) ** 2 * x + math.cos(x) - math.sin(x) * x + math.cos(x))
    assert g == pytest.approx(fp) and d == pytest.approx(fp)
    assert h1 == pytest.approx(fpp) and h2 == pytest.approx(fpp)


def test_nested_derivatives_of_closures_do_not_confuse_perturbations():
    # d/dx [x * d/dy (x + y)] = 1 at every x
    src = """fn inner(x: float) -> float { return x * grad(fn(y: float) -> float { return x + y })(x) }
fn captured(x: float) -> float { return grad(fn(y: float) -> float { return x * y })(1.0) }
print(grad(inner)(0.3), grad(inner)(7.0), grad(captured)(2.5))
"""
    assert values(src) == [1.0, 1.0, 1.0]


def test_struct_gradient_has_struct_type():
    src = """struct P { x: float, v: float, m: float, n: int }
fn e(p: P) -> float { return 0.5 * p.m * p.v * p.v + p.x * float(p.n) }
let g = grad(e)(P { x: 2.0, v: 3.0, m: 4.0, n: 7 })
print(g)
print(g.v)
"""
    out = run(src).splitlines()
    assert out[0] == "P { x: 7.0, v: 12.0, m: 4.5, n: 0 }"


def test_list_mutated_in_place_gradient():
    src = """fn f(xs: list[float]) -> float {
    var ys = xs
    ys[0] = ys[0] * ys[1]
    ys.append(ys[0] + xs[2])
    ys[1] = 2.0 * ys[3]
    return ys[0] + ys[1] * ys[2]
}
print(grad(f)([2.0, 3.0, 5.0]))
"""
    # ys = [6, 2*(6+5)=22, 5, 11]; f = x0*x1 + 2*(x0*x1 + x2)*x2
    x0, x1, x2 = 2.0, 3.0, 5.0
    want = [x1 + 2 * x1 * x2, x0 + 2 * x0 * x2, 2 * (x0 * x1 + x2) + 2 * x2]
    assert run(src).strip() == "[" + ", ".join(repr(w) for w in want) + "]"


def test_dict_and_tuple_gradients():
    src = """fn f(d: dict[string, float], t: (float, int)) -> float { return d["a"] * d["b"] * t.0 + float(t.1) }
let g = grad(f, (0, 1))({"a": 2.0, "b": 3.0}, (4.0, 9))
print(g.0)
print(g.1)
"""
    assert run(src).splitlines() == ['{"a": 12.0, "b": 8.0}', "(6.0, 0)"]


def test_conventions_at_nondifferentiable_points():
    src = """fn a(x: float) -> float { return abs(x) }
fn m(x: float) -> float { return max(x, 1.0) }
fn n(x: float) -> float { return min(x, 1.0) }
fn r(x: float) -> float { return sqrt(x) }
print(grad(a)(0.0), grad(m)(1.0), grad(n)(1.0), grad(r)(0.0), jvp(a, 0.0, 1.0).1, jvp(m, 1.0, 1.0).1)
"""
    assert run(src).split() == ["0.0", "0.5", "0.5", "inf", "0.0", "0.5"]


def test_stop_gradient():
    assert values("fn f(x: float) -> float { return x * stop_gradient(x) + x }\nprint(grad(f)(1.5))") == [2.5]


def test_jvp_vjp_jacobians_hessian():
    src = """fn f(x: float, y: float) -> float { return x * x * y + sin(y) }
fn v(xs: list[float]) -> list[float] { return [xs[0] * xs[1], xs[0] + 3.0 * xs[1], sin(xs[0])] }
fn s(xs: list[float]) -> float { return xs[0] * xs[0] * xs[1] + exp(xs[1]) }
let t = jvp(f, (2.0, 3.0), (1.0, 0.5))
print(t.0, t.1)
let p = vjp(f, 2.0, 3.0)
let c = p.1(2.0)
print(p.0, c.0, c.1)
print(jacfwd(v)([2.0, 3.0]))
print(jacrev(v)([2.0, 3.0]))
print(jacrev(s)([2.0, 3.0]))
print(hessian(s)([2.0, 3.0]))
print(jacfwd(jacrev(s))([2.0, 3.0]))
"""
    out = run(src).splitlines()
    y, ydot = map(float, out[0].split())
    assert y == pytest.approx(12 + math.sin(3)) and ydot == pytest.approx(12 * 1.0 + (4 + math.cos(3)) * 0.5)
    v0, c0, c1 = map(float, out[1].split())
    assert c0 == pytest.approx(2 * 12) and c1 == pytest.approx(2 * (4 + math.cos(3)))
    jac = [[3.0, 2.0], [1.0, 3.0], [math.cos(2.0), 0.0]]
    assert np.allclose(eval(out[2]), jac) and np.allclose(eval(out[3]), jac)
    assert eval(out[4]) == pytest.approx([12.0, 4 + math.exp(3)])
    hess = [[6.0, 4.0], [4.0, math.exp(3)]]
    assert np.allclose(eval(out[5]), hess) and np.allclose(eval(out[6]), hess)


def test_grad_is_a_first_class_value():
    src = """fn sq(x: float) -> float { return x * x }
fn cu(x: float) -> float { return x * x * x }
struct Holder { d: fn(float) -> float }
fn apply(g: fn(float) -> float, x: float) -> float { return g(x) }
fn make() -> fn(float) -> float { return grad(cu) }
let ds = [grad(sq), grad(cu)]
let h = Holder { d: grad(sq) }
print(ds[0](3.0), ds[1](3.0), h.d(5.0), apply(grad(sq), 4.0), make()(2.0))
"""
    assert values(src) == [6.0, 27.0, 10.0, 8.0, 12.0]


def test_function_values_known_only_at_run_time():
    src = """fn deriv_at(g: fn(float) -> float, x: float) -> float { return grad(g)(x) }
fn second(g: fn(float) -> float, x: float) -> float { return grad(grad(g))(x) }
fn sq(x: float) -> float { return x * x * x }
let k = 3.0
print(deriv_at(sq, 2.0), second(sq, 2.0), deriv_at(fn(x: float) -> float { return k * x * x }, 2.0))
"""
    assert values(src) == [12.0, 12.0, 12.0]


def test_custom_rule_is_used():
    # a deliberately wrong rule shows that the rule, not the body, is differentiated
    src = """fn f(x: float) -> float { return x * x }
derivative f(x) -> y { x_bar = y_bar * 100.0 }
fn g(x: float) -> float { return f(x) + x }
print(grad(f)(3.0), grad(g)(3.0), jvp(g, 3.0, 1.0).1)
"""
    assert values(src) == [100.0, 101.0, 101.0]


def test_stable_softplus_rule():
    src = """fn softplus(x: float) -> float {
    if x > 0.0 { return x + log(1.0 + exp(-x)) }
    return log(1.0 + exp(x))
}
derivative softplus(x) -> y { x_bar = y_bar * sigmoid(x) }
print(softplus(800.0), grad(softplus)(800.0), grad(softplus)(-800.0), grad(softplus)(0.0))
"""
    assert values(src) == [800.0, 1.0, 0.0, 0.5]


@pytest.mark.parametrize("src,line,col,fragment", [
    ("fn f(n: int, x: float) -> float { return x }\nlet g = grad(f)\n", 2, 14, "parameter 0: `int` carries no derivative"),
    ("fn f(x: float) -> int { return 1 }\nlet g = grad(f)\n", 2, 14, "returns a `float`, and this one returns `int`"),
    ("fn f(x: float) -> float { return x }\nlet g = grad(f, 3)\n", 2, 17, "there is no parameter 3"),
    ("let g = grad(3.0)\n", 1, 14, "needs a function, not `float`"),
    ("fn f(x: float) -> float { return x }\nlet t = jvp(f, 1.0)\n", 2, 9, "takes a function, its primals and its tangents"),
])
def test_grad_type_errors(src, line, col, fragment):
    e = error_of(src)
    assert fragment in e.message
    assert (e.line, e.column) == (line, col)


def test_derived_source_round_trips():
    """`dp grad` prints DP that parses, checks and computes what the transform does."""
    s, out = session()
    s.run(LOGISTIC + LECTURE.replace("fn f(", "fn two("))
    for name, args in (("f", "0.3"), ("two", "2.0, 5.0")):
        src = s.ad.derived_source(name)
        s2, out2 = session()
        s2.run(LOGISTIC + LECTURE.replace("fn f(", "fn two("))
        s2.run(src.replace(f"fn {name}_grad(", f"fn printed_{name}("))
        a = s2.run(f"printed_{name}({args})").value
        b = s.run(f"grad({name})({args})").value
        assert a == b


def test_closure_arriving_as_a_value_inside_a_derivative_is_refused_not_wrong():
    """A closure that reaches a derivative only as a run-time value (here through a
    struct) with a captured differentiable value cannot be differentiated with
    respect to what it captured: DP says so rather than return a wrong number."""
    src = """struct Box { g: fn(float) -> float }
fn call_box(b: Box, v: float) -> float { return b.g(v) }
fn f(x: float) -> float { return call_box(Box { g: fn(y: float) -> float { return x * y } }, 2.0) }
print(grad(f)(3.0))
"""
    e = error_of(src)
    assert "captures `x`, and derivatives cannot follow it" in e.message and (e.line, e.column) == (3, 52)


def test_gradient_of_a_recursive_struct_is_the_same_tree():
    src = """struct Tree { w: float, kids: list[Tree] }
fn total(t: Tree) -> float {
    var s = t.w * t.w
    for k in t.kids { s = s + total(k) }
    return s
}
let t = Tree { w: 2.0, kids: [Tree { w: 3.0, kids: [] }, Tree { w: 1.0, kids: [Tree { w: 5.0, kids: [] }] }] }
print(grad(total)(t))
"""
    assert run(src).strip() == ("Tree { w: 4.0, kids: [Tree { w: 6.0, kids: [] }, "
                                "Tree { w: 2.0, kids: [Tree { w: 10.0, kids: [] }] }] }")


HIGHER_ORDER_PROGRAMS = [
    """fn f(x: float) -> float {
    var v = x
    while v < 10.0 { v = v * 1.5 + sin(v) }
    return v * v
}""",
    """fn f(x: float) -> float {
    var xs: list[float] = []
    for i in 0..4 { xs.append(x * float(i) + cos(x)) }
    var s = 0.0
    for i in 0..len(xs) { xs[i] = xs[i] * xs[i]; s += xs[i] }
    return s
}""",
    """fn f(x: float) -> float {
    if x > 1.0 { return x * x * x }
    return exp(x) * x
}""",
]


@pytest.mark.parametrize("src", HIGHER_ORDER_PROGRAMS)
def test_second_and_third_derivatives_through_loops_lists_and_branches(src):
    """Derived code (tapes, loops, branch records) is differentiated again: grad of
    grad and jvp of grad agree with each other and with finite differences."""
    s, _ = session()
    s.run(src)
    g1, g2, g3 = (s.run(e).value for e in ("grad(f)", "grad(grad(f))", "grad(grad(grad(f)))"))
    fwd = s.run("fn(x: float) -> float { return jvp(grad(f), x, 1.0).1 }").value
    for x in (0.3, 0.7, 1.3):
        fd2 = (g1(x + 1e-6) - g1(x - 1e-6)) / 2e-6
        assert g2(x) == pytest.approx(fd2, rel=1e-5, abs=1e-6)
        assert fwd(x) == pytest.approx(g2(x), rel=1e-12, abs=1e-12)
        fd3 = (g2(x + 1e-5) - g2(x - 1e-5)) / 2e-5
        assert g3(x) == pytest.approx(fd3, rel=1e-4, abs=1e-4)


def test_higher_order_functions_with_named_functions_and_closures_to_any_order():
    """A function passed to a higher-order function is specialised into it, so second
    derivatives and reverse-over-forward work through it (a loop and recursion too)."""
    src = """fn apply(f: fn(float) -> float, x: float) -> float { return f(x) }
fn cube(x: float) -> float { return x * x * x }
fn h(x: float) -> float { return apply(cube, x) }
fn dh(x: float) -> float { return jvp(h, x, 1.0).1 }
fn map(f: fn(float) -> float, xs: list[float]) -> list[float] {
    var out: list[float] = []
    for x in xs { out.append(f(x)) }
    return out
}
fn loss(k: float) -> float {
    let ys = map(fn(x: float) -> float { return k * x * x }, [1.0, 2.0])
    return ys[0] + ys[1]
}
fn fold(g: fn(float) -> float, v: float, n: int) -> float {
    if n == 0 { return v }
    return fold(g, g(v), n - 1)
}
fn sq(y: float) -> float { return y * y + 0.1 }
fn r(x: float) -> float { return fold(sq, x, 3) }
print(grad(h)(2.0), grad(grad(h))(2.0), grad(dh)(2.0), grad(loss)(2.0), grad(r)(0.5), grad(grad(r))(0.5))
"""
    got = values(src)
    s1 = lambda y: y * y + 0.1                                   # noqa: E731
    rr = lambda x: s1(s1(s1(x)))                                 # noqa: E731
    fd1 = (rr(0.5 + 1e-6) - rr(0.5 - 1e-6)) / 2e-6
    fd2 = (rr(0.5 + 1e-4) - 2 * rr(0.5) + rr(0.5 - 1e-4)) / 1e-8
    assert got[:4] == [12.0, 12.0, 12.0, 5.0]
    assert got[4] == pytest.approx(fd1, rel=1e-8) and got[5] == pytest.approx(fd2, rel=1e-5)


def test_runtime_transforms_see_later_globals():
    s, out = session()
    s.run("fn d(g: fn(float) -> float) -> float { return grad(g)(1.0) }")
    s.run("let c = 2.0\nfn f(x: float) -> float { return x * c }\nprint(d(f))")
    assert out.text.strip() == "2.0"
