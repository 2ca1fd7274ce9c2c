"""Reverse mode on tensors leaves out work the shapes make unnecessary: `unbroadcast`
where an operand provably has the result's shape (dsl/ad/shapes.py), kept tensors
where only a shape is read, `split_like` where a slice will do, and zero resets of
adjoints at a loop head. Each case is checked by value (finite differences, forward
vs reverse) and by the derived source it must (not) contain, with loops in which a
shape changes between trips, where leaving `unbroadcast` out would be wrong."""
import numpy as np

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
