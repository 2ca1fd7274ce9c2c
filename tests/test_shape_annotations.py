"""Tensor types with sizes: `x: tensor[n, 3]`. Checked as a function is entered (and
its result as it returns, and a `let` as it is bound), with the names bound per call
and readable in the body as ints; derived functions keep and check them too; the
shape analysis of reverse mode uses them. Errors name the shapes and point at the
type that was not met."""
import numpy as np
import pytest

from dp.dsl.diagnostics import DPError
from gradcheck import check
from helpers import error_of, run, session

SPREAD = """
fn spread(x: tensor[n], v: tensor[n], w: tensor[n, 3]) -> tensor[n] {
    var s = 0.0
    for i in 0..n { s = s + float(x[i]) }
    let h: tensor[n, 3] = w * s
    return x + v + sum(h, 1)
}
"""


def test_sizes_are_ints_in_the_body():
    out = run(SPREAD + "print(spread(arange(4), ones(4), ones([4, 3])))")
    # s = 0 + 1 + 2 + 3 = 6; each row of h sums to 18
    assert out == "tensor([19.0, 20.0, 21.0, 22.0])\n"


def diagnostic(src):
    e = error_of(src)
    return e.first


@pytest.mark.parametrize("call,line,col,message", [
    ("spread(arange(4), ones(5), ones([4, 3]))", 2, 28,
     "`v` has shape (5,), but its type `tensor[n]` wants size 4 on axis 0 (n = 4 from `x`)"),
    ("spread(arange(4), ones(4), ones([4, 2]))", 2, 42,
     "`w` has shape (4, 2), but its type `tensor[n, 3]` wants size 3 on axis 1"),
    ("spread(ones([4, 1]), ones(4), ones([4, 3]))", 2, 14,
     "`x` has shape (4, 1), but its type `tensor[n]` has 1 dimension"),
])
def test_a_mismatched_argument_points_at_its_type(call, line, col, message):
    d = diagnostic(SPREAD + f"print({call})")
    assert d.kind == "runtime error"
    assert d.message == message
    assert (d.line, d.column) == (line, col)
    assert d.hint is not None


def test_the_result_and_lets_are_checked():
    d = diagnostic("fn f(x: tensor[n]) -> tensor[n] { return concat([x, x], 0) }\nprint(f(ones(2)))")
    assert d.message == "the result has shape (4,), but its type `tensor[n]` wants size 2 on axis 0 (n = 2 from `x`)"
    assert d.line == 1
    d = diagnostic("fn f(x: tensor[n]) -> float {\n    let y: tensor[n, 2] = reshape(x, [2, n / 2])\n    return sum(y)\n}\nprint(f(ones(4)))")
    assert "`y` has shape (2, 2), but its type `tensor[n, 2]` wants size 4 on axis 0" in d.message
    assert d.line == 2


def test_literal_sizes_and_wildcards():
    src = "fn f(a: tensor[2, _]) -> tensor[_] { return sum(a, 0) }\n"
    assert run(src + "print(f(ones([2, 5])))") == "tensor([2.0, 2.0, 2.0, 2.0, 2.0])\n"
    d = diagnostic(src + "print(f(ones([3, 5])))")
    assert "wants size 2 on axis 0" in d.message


@pytest.mark.parametrize("src,line,col,message", [
    ("struct S { w: tensor[3] }", 1, 15, "can be written only for a parameter, a result or a `let`"),
    ("fn f(x: list[tensor[2]]) -> float { return 0.0 }", 1, 14, "can be written only for a parameter"),
    ("fn f(a: tensor[float]) -> float { return 0.0 }", 1, 16, "sizes are int literals, names or `_`"),
    ("fn f(a: list[3]) -> float { return 0.0 }", 1, 14, "`3` is a size, not a type"),
    ("fn f(n: tensor[n]) -> float { return 0.0 }", 1, 16, "`n` names both a parameter and a size"),
    ("fn f(a: tensor[n]) -> tensor[m] { return a }", 1, 30, "`m` is not a size of a parameter"),
    ("fn f(a: tensor[k]) -> float {\n    let b: tensor[q] = a\n    return 0.0\n}", 2, 19, "`q` is not an int in scope"),
])
def test_sizes_written_wrongly_are_type_errors(src, line, col, message):
    d = diagnostic(src)
    assert d.kind == "type error" and message in d.message
    assert (d.line, d.column) == (line, col)
    assert d.hint


def test_derivatives_keep_and_check_the_sizes():
    s, _ = session()
    s.run(SPREAD + "fn f(x: tensor[n]) -> float { return sum(spread(x, x, ones([n, 3])) * x) }\n"
          + "fn g(x: tensor[n], w: tensor[n, 3]) -> float { return sum(spread(x, x, w)) }", "a.dp")
    # f = sum((2x + 3 S) x) = 2 sum(x^2) + 3 S^2, S = sum(x): df/dx = 4x + 6S
    x = np.array([0.0, 1.0, 2.0])
    assert np.allclose(s.run("grad(f)").value(x), 4 * x + 6 * x.sum())
    src = s.run("source(grad(f))").value
    assert src.startswith("fn f_grad(x: tensor[n]) -> tensor")
    with pytest.raises(DPError) as e:
        s.run("grad(g, 1)(arange(2), ones([3, 3]))", "b.dp")
    assert "`w` has shape (3, 3), but its type `tensor[n, 3]` wants size 2 on axis 0 (n = 2 from `x`)" in str(e.value)
    check(SPREAD + "fn f(x: tensor[n], w: tensor[n, 3]) -> float { return sum(spread(x, x * x, w) * x) }",
          np.array([0.3, -0.2, 0.5]), np.arange(9.0).reshape(3, 3) / 10)


def test_derived_source_with_sizes_parses_and_checks_again():
    s, _ = session()
    s.run("fn f(x: tensor[n], y: tensor[n]) -> float { return sum(tanh(x * y)) * float(n) }", "a.dp")
    text = s.run("source(grad(f, 1))").value
    assert "y: tensor[n]" in text
    s2, _ = session()
    s2.run("fn f(x: tensor[n], y: tensor[n]) -> float { return sum(tanh(x * y)) * float(n) }\n" + text, "b.dp")
    x, y = np.array([0.1, 0.2]), np.array([0.3, -0.4])
    assert np.allclose(s2.run("f_grad_1").value(x, y), s.run("grad(f, 1)").value(x, y))


def test_parameters_written_with_the_same_sizes_need_no_unbroadcast():
    s, _ = session()
    s.run("fn f(x: tensor[n], y: tensor[n]) -> float { return sum(x * y + x) }", "a.dp")
    assert "unbroadcast" not in s.run("source(grad(f, (0, 1)))").value
    s.run("fn g(x: tensor, y: tensor) -> float { return sum(x * y + x) }", "a.dp")
    assert "unbroadcast" in s.run("source(grad(g, (0, 1)))").value


def test_lambdas_take_sizes_too():
    assert run("let f = fn(a: tensor[n]) -> float { return float(n) * sum(a) }\nprint(f(ones(3)))") == "9.0\n"
