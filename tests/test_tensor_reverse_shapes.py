"""Reverse mode on tensors leaves out work the shapes make unnecessary: `unbroadcast`
where an operand provably has the result's shape (dsl/ad/shapes.py), kept tensors
where only a shape is read, `split_like` where a slice will do, and zero resets of
adjoints at a loop head. Each case is checked by value (finite differences, forward
vs reverse) and by the derived source it must (not) contain, with loops in which a
shape changes between trips, where leaving `unbroadcast` out would be wrong."""
import numpy as np
import pytest

from dp.dsl.diagnostics import DPError

from gradcheck import check
from helpers import session

rng = np.random.default_rng(3)
A = rng.uniform(0.5, 1.5, (3, 4))
ROW = rng.uniform(0.5, 1.5, (4,))
ONE = np.array([0.7])
V = rng.uniform(-1, 1, (5,))


def derived(src, expr):
    s, _ = session()
    s.run(src, "shapes.dp")
    return s.run(f"source({expr})").value


def test_same_operand_needs_no_unbroadcast():
    src = "fn f(a: tensor) -> float { let d = a - 1.0\n return sum(d * tanh(d)) }"
    check(src, A)
    assert "unbroadcast" not in derived(src, "grad(f)")


def test_broadcast_operand_keeps_unbroadcast():
    src = "fn f(a: tensor, r: tensor) -> float { return sum(a * r) }"
    check(src, A, ROW)
    assert "unbroadcast" in derived(src, "grad(f, 1)")


def test_loop_whose_shape_grows_in_the_first_trip():
    # h starts as shape (1,) and becomes (4,) after the first trip: the loop head
    # must not assume h keeps its class
    src = """fn f(h0: tensor, r: tensor) -> float {
        var h = h0
        for i in 0..3 { h = tanh(h * r + h) }
        return sum(h)
    }"""
    g = check(src, ONE, ROW)
    assert len(g[0]) == 1 and len(g[1]) == 4


def test_loop_that_keeps_its_shape_drops_unbroadcast():
    src = """fn f(h0: tensor) -> float {
        var h = h0
        for i in 0..3 { h = tanh(h * 0.9 + h) }
        return sum(h * h)
    }"""
    check(src, A)
    assert "unbroadcast" not in derived(src, "grad(f)")


def test_branches_merge_shapes():
    src = """fn f(a: tensor, r: tensor, c: float) -> float {
        var b = a
        if c > 0.0 { b = a * r } else { b = a + 1.0 }
        return sum(b * a)
    }"""
    check(src, A, ROW, 1.0)
    check(src, A, ROW, -1.0)
    check(src, ONE, ROW, 1.0)          # here b's shape differs from a's in one branch


def test_straight_line_temporary_kept_as_its_shape():
    src = "fn f(a: tensor, r: tensor) -> float { return sum(tanh(exp(a) + r)) }"
    check(src, A, ROW)
    text = derived(src, "grad(f)")
    assert "_shape = shape(" in text and "unbroadcast(" in text


def test_concat_cotangent_is_slices():
    src = """fn f(s: tensor) -> float {
        let t = concat([s, zeros(1)], 0) - concat([zeros(1), s], 0)
        return sum(t * t * 0.5)
    }"""
    check(src, V)
    text = derived(src, "grad(f)")
    assert "split_like" not in text and "[1:]" in text and "[:-1]" in text


def test_concat_along_axis_1_with_a_middle_piece():
    src = """fn f(a: tensor, b: tensor) -> float {
        return sum(concat([a, b * b, zeros([3, 2])], 1) * concat([zeros([3, 2]), a, b], 1))
    }"""
    check(src, A, A * 0.5)
    assert "split_like" not in derived(src, "grad(f)")


def test_adjoint_zero_at_loop_head():
    # s is overwritten every trip, so its adjoint is reset every trip: the reset and
    # the first accumulation fold into one assignment
    src = """fn f(x0: tensor, k: float) -> float {
        var x = x0
        var s = zeros(4)
        for i in 0..5 {
            s = k * x
            x = x + 0.1 * s * s
        }
        return sum(x * x)
    }"""
    check(src, ROW, 0.3)
    text = derived(src, "grad(f)")
    loop = text[text.index("for k"):]
    assert "s_bar = zeros_like" not in loop and "s_bar = accumulate(s_bar" in loop
    # when s is read after the loop its adjoint does not start at zero: kept
    kept = derived(src.replace("sum(x * x)", "sum(x * s)"), "grad(f)")
    assert "s_bar = zeros_like" in kept[kept.index("for k"):]
    check(src.replace("sum(x * x)", "sum(x * s)"), ROW, 0.3)


def test_spring_chain_gradient_matches_hand_written():
    src = """fn chain(x0: tensor, v0: tensor, k: float) -> float {
        var x = x0
        var v = v0
        let n = len(x0)
        for i in 0..20 {
            let s = k * (x[1:n] - x[0:n - 1] - 1.0)
            v = v + 0.01 * (concat([s, zeros(1)], 0) - concat([zeros(1), s], 0))
            x = x + 0.01 * v
        }
        return sum(x * x)
    }"""
    check(src, np.arange(6.0) * 1.1, np.linspace(-0.1, 0.1, 6), 4.0, name="chain")


# ---------------------------------------------------------------- specialised to shapes
CHAIN = """fn chain(x0: tensor, v0: tensor, k: float) -> float {
    var x = x0
    var v = v0
    let n = len(x0)
    for i in 0..30 {
        let s = k * (x[1:n] - x[0:n - 1] - 1.0)
        v = v + 0.01 * (concat([s, zeros(1)], 0) - concat([zeros(1), s], 0))
        x = x + 0.01 * v
    }
    return sum(x * x)
}"""


def chain_grad_by_hand(x0, v0, k, steps=30):
    x, v, xs = x0, v0, []
    for _ in range(steps):
        xs.append(x)
        s = k * (x[1:] - x[:-1] - 1.0)
        v = v + 0.01 * (np.concatenate([s, [0.0]]) - np.concatenate([[0.0], s]))
        x = x + 0.01 * v
    xb, vb = 2.0 * x, np.zeros_like(v0)
    for _ in range(steps):
        vb = vb + 0.01 * xb
        fb = 0.01 * vb
        sb = fb[:-1] - fb[1:]
        xb = xb.copy()
        xb[1:] += k * sb
        xb[:-1] -= k * sb
    return xb, vb


def variant_sources(s, f):
    from dp.dsl.printer import stmt_src
    return [stmt_src(s.ad.by_code[v.__code__]) for v in f.variants.values()]


def test_a_loop_specialised_to_its_shapes_has_no_tapes_and_no_unbroadcast():
    s, _ = session()
    s.run(CHAIN, "chain.dp")
    g = s.run("grad(chain, (0, 1))").value
    for n in (6, 11):
        x0, v0 = np.arange(float(n)) * 1.1, np.linspace(-0.1, 0.1, n)
        gx, gv = g(x0, v0, 4.0)
        want_x, want_v = chain_grad_by_hand(x0, v0, 4.0)
        assert np.allclose(gx, want_x) and np.allclose(gv, want_v)
    assert sorted(g.variants) == [((6,), (6,)), ((11,), (11,))]
    for src in variant_sources(s, g):
        assert "_tape" not in src and "unbroadcast" not in src
    generic = s.run("source(grad(chain, (0, 1)))").value      # what users read: the generic one
    assert "unbroadcast" in generic and "x_tape" in generic


def test_specialised_loops_that_do_broadcast_keep_literal_shapes():
    src = """fn f(h0: tensor, r: tensor, m: tensor) -> float {
        var h = h0
        for i in 0..3 { h = tanh(h * r + h) @ m }
        return sum(h)
    }"""
    m = rng.uniform(-1, 1, (4, 4))
    g = check(src, ONE, ROW, m)          # h is (1,) on the first trip, then (4,)
    assert len(g[0]) == 1
    check(src, ROW, ROW, m)
    check(src, A, ROW, m)


def test_specialised_slices_reductions_and_reshapes():
    src = """fn f(a: tensor, w: tensor) -> float {
        var h = a
        var acc = 0.0
        let n = dim(a, 0)
        for i in 0..3 {
            let top = h[0:n - 1, :]
            let rows = sum(top * w[1:n, 1:], 1)
            acc = acc + sum(rows * mean(h, 0)[0])
            h = transpose(reshape(h, [dim(h, 1), n])) * 0.5 + h[:, 0:1]
        }
        return acc + sum(h * h)
    }"""
    check(src, A, rng.uniform(-1, 1, (3, 5)))


def test_more_shapes_than_the_limit_use_the_generic_derivative():
    from dp.dsl.ad.specialise import LIMIT
    s, _ = session()
    s.run(CHAIN, "chain.dp")
    g = s.run("grad(chain, 1)").value
    for n in range(3, 3 + LIMIT + 3):
        x0, v0 = np.arange(float(n)), np.linspace(-0.1, 0.1, n)
        assert np.allclose(g(x0, v0, 2.0), chain_grad_by_hand(x0, v0, 2.0)[1])
    assert len(g.variants) == LIMIT


def test_an_error_inside_a_specialised_derivative_is_a_dp_error():
    s, _ = session()
    s.run(CHAIN, "chain.dp")
    s.run("let g = grad(chain, 1)\nlet ok = g(arange(5), zeros(5), 1.0)", "use.dp")
    assert len(s.run("g").value.variants) == 1
    from dp.dsl.diagnostics import DPError
    try:
        s.run("g(arange(5), zeros(4), 1.0)", "use.dp")        # v0 does not match x0
    except DPError as e:
        text = str(e)
        assert "chain.dp:7" in text and "(4,)" in text and "(5,)" in text
    else:
        raise AssertionError("expected a shape error")


def test_a_square_is_one_product_and_a_total_reduction_is_not_rerun():
    # d * d contributes g * d twice: folded to 2.0 * (g * d); mean of a tensor cannot
    # fail (nan for an empty one), so the derivative does not evaluate it for its errors
    src = "fn f(a: tensor, y: tensor) -> float {\n let d = a - y\n return mean(d * d) }"
    check(src, A, A[::-1, ::-1].copy())
    code = derived(src, "grad(f)")
    assert "2.0 * (t_bar * d)" in code and "accumulate" not in code
    assert "errors only" not in code


def test_a_reduction_that_can_fail_is_still_evaluated_for_its_errors():
    src = "fn f(a: tensor) -> float {\n let s = sum(a, 1)\n return sum(a * a) }"
    check(src, A)
    s, _ = session()
    s.run(src, "shapes.dp")
    for call in ("f(ones(3))", "grad(f)(ones(3))"):
        with pytest.raises(DPError, match="axis 1"):
            s.run(call)
