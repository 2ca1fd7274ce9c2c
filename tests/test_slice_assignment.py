"""Slice assignment `xs[lo:hi] = ys` (docs/language.md, docs/derivatives.md): Python's
semantics on lists, value semantics, the diagnostics, metered cost, and derivatives —
reverse and forward, first and second order, against central differences, against
each other and against closed forms, and the printed derivative run again. Tensor
slice writes are numpy's (tests/test_tensors.py); their shape error is here."""
from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from dp.dsl.diagnostics import DPError
from dp.interpreter.embed import Interpreter
from gradcheck import check as check_params
from helpers import error_of, run, session
from test_everyday import check

# ---------------------------------------------------------------- values

BOUNDS = [None, -7, -4, -1, 0, 1, 2, 4, 7]


def _bound(b) -> str:
    return "" if b is None else str(b)


def test_bounds_count_and_clamp_as_pythons_slice_assignment():
    """Every pair of bounds (negative, past the end, reversed, missing) and values of
    three lengths, against Python's own list."""
    cases = list(itertools.product(BOUNDS, BOUNDS, [[], [10], [10, 11, 12]]))
    lines, want = [], []
    for lo, hi, ys in cases:
        xs = [0, 1, 2, 3, 4]
        lines.append(f"xs = [0, 1, 2, 3, 4]\nxs[{_bound(lo)}:{_bound(hi)}] = {ys}\nprint(xs)")
        xs[lo:hi] = ys
        want.append(f"{xs}\n".replace("'", '"'))
    got = run("var xs: list[int] = []\n" + "\n".join(lines) + "\n")
    assert got.splitlines() == [w.strip() for w in want]


def test_random_sequences_of_slice_writes_agree_with_python():
    rng = random.Random(11)
    xs, lines = [1.5, 2.5], ["var xs = [1.5, 2.5]"]
    for k in range(200):
        lo, hi = rng.choice(BOUNDS), rng.choice(BOUNDS)
        ys = [float(k) + 0.5 * j for j in range(rng.randrange(4))]
        xs[lo:hi] = ys
        lines.append(f"xs[{_bound(lo)}:{_bound(hi)}] = {ys}")
    lines.append("print(xs, len(xs))")
    assert run("\n".join(lines) + "\n") == f"{xs} {len(xs)}\n".replace("'", '"')


def test_a_slice_assignment_in_a_struct_a_list_of_lists_and_a_dict():
    assert run("struct Q { xs: list[int] }\nvar q = Q { xs: [1, 2, 3] }\nq.xs[1:] = [7]\n"
               "var rows = [[1, 2], [3]]\nrows[1][:0] = [8, 9]\nrows[0:1] = []\n"
               'var d = {"a": [1]}\nd["a"][1:] = [2, 3]\n'
               "var dd: defaultdict[int, list[int]] = defaultdict([])\ndd[4][0:0] = [5]\n"
               "print(q, rows, d, dd)\n") \
        == 'Q { xs: [1, 7] } [[8, 9, 3]] {"a": [1, 2, 3]} {4: [5]}\n'


def test_the_value_is_copied_in():
    # a later change to ys, to an element of it, or to xs's own rows is seen nowhere else
    assert run("let row = [1.0]\nvar xss = [[0.0], [5.0]]\nxss[0:1] = [row, row]\nxss[0][0] = 9.0\n"
               "var ys = [[2.0]]\nxss[3:] = ys\nys[0][0] = 7.0\nxss[3][0] = 6.0\n"
               "print(row, xss, ys)\n") == "[1.0] [[9.0], [1.0], [5.0], [6.0]] [[7.0]]\n"
    assert run("var xs = [[1.0], [2.0]]\nxs[1:1] = xs\nxs[0][0] = 3.0\nxs[1][0] = 4.0\nprint(xs)\n") \
        == "[[3.0], [4.0], [2.0], [2.0]]\n"
    assert run("struct P { a: float }\nvar ps = [P { a: 1.0 }]\nlet p = P { a: 2.0 }\nps[1:] = [p]\n"
               "ps[1].a = 5.0\nvar ts = [zeros(2)]\nlet u = ones(2)\nts[0:1] = [u, u]\nts[0][0] = 3.0\n"
               "print(p, ps, ts[1], u)\n") \
        == "P { a: 2.0 } [P { a: 1.0 }, P { a: 5.0 }] tensor([1.0, 1.0]) tensor([1.0, 1.0])\n"
    # a list of numbers written with itself, and the value read before the bounds pop
    assert run("var xs = [1, 2]\nxs[1:1] = xs\nvar ks = [5, 0]\nks[ks.pop():] = ks\nprint(xs, ks)\n") \
        == "[1, 1, 2, 2] [5, 0]\n"


def test_a_read_slice_of_rows_is_a_copy_in_derived_code_too():
    # sublist of lists shared its rows with the list, so the derivative saw the write
    s, out = session()
    s.run("fn f(x: float) -> float {\n    var xs = [[x], [2.0 * x]]\n    var ys = xs[0:1]\n"
          "    ys[0][0] = 9.0 * x * x\n    return xs[0][0] + ys[0][0]\n}\n"
          "print(f(1.0), grad(f)(1.0), jvp(f, 1.0, 1.0))\n")
    assert out.text == "10.0 19.0 (10.0, 19.0)\n"


def test_splice_itself():
    assert run("print(splice([1, 2, 3], 1, 2, [7, 8]), splice([1], 0, 1, []), splice([1.0], 1, 1, [2.0]))\n") \
        == "[1, 7, 8, 3] [] [1.0, 2.0]\n"
    e = error_of("print(splice([1, 2, 3], 2, 1, [7]))\n")
    assert "splice(2, 1) is out of range for a list of 3" in str(e) and e.diagnostics[0].line == 1
    e = error_of("print(splice([1, 2], 0, 1, [1.5]))\n")
    assert "expected `list[int]`, found `list[float]`" in str(e)


def test_doubling_a_list_by_slice_assignment_runs_out_of_steps_at_once():
    dp = Interpreter(max_steps=1_000_000)
    with pytest.raises(DPError) as info:
        dp.load("fn f() -> int {\n    var s = [1.0]\n    for i in 0..64 { s[0:0] = s }\n    return len(s)\n}\nf()")
    e = info.value
    assert e.message.startswith("step limit exceeded: replacing a slice of a list by") and e.line == 3
    assert Interpreter(max_steps=10_000).eval("len([1])") == 1


# ---------------------------------------------------------------- errors

ERRORS = [
    ("var xs = [1.0, 2.0]\nxs[0:1] = 5.0\n", 2, 11, "a list slice is replaced by a list, not a `float`",
     "put the value in a list: `xs[0:1] = [v]`, or write one element: `xs[i] = v`"),
    ("var xs = [1.0, 2.0]\nxs[0:1] = [\"a\"]\n", 2, 12, "expected `float`, found `string`", None),
    ("var xs = [1.0, 2.0]\nlet ks = [1, 2]\nxs[:1] = ks\n", 3, 10,
     "a slice of a `list[float]` is replaced by a `list[float]`, not a `list[int]`",
     "convert the elements: `map(fn(k: int) -> float { return float(k) }, ks)`"),
    ("var xs = [[1.0]]\nlet ks = [[true]]\nxs[:1] = ks\n", 3, 10,
     "a slice of a `list[list[float]]` is replaced by a `list[list[float]]`, not a `list[list[bool]]`",
     "the elements must be `list[float]`s"),
    ("var xs = [1.0, 2.0]\nxs[1:2] += [3.0]\n", 2, 1, "`+=` cannot update a list slice",
     "update the elements one by one (`xs[i] += v`), or assign the slice a new list: `xs[lo:hi] = …`"),
    ("var xs = [1.0, 2.0]\nxs[0:2][0] = 3.0\n", 2, 1,
     "a list slice is a new list: writing into it would not change the list",
     "write the element itself (`xs[lo + i] = v`), or replace the slice: `xs[lo:hi] = ys`"),
    ("var xs = [1.0, 2.0]\nxs[0.5:1] = [3.0]\n", 2, 4, "expected `int`, found `float`", "convert with `int(...)`"),
    ("let xs = [1.0, 2.0]\nxs[0:1] = [3.0]\n", 2, 1, "cannot assign to `xs`: it is a `let` constant",
     "declare it with `var xs = ...`"),
    ('var s = "abc"\ns[0:1] = "x"\n', 2, 3, "a `string` has no slices to assign to",
     "strings are immutable: build a new one, `s = s + …`"),
    ('var d = {"a": 1}\nd[0:1] = [1]\n', 2, 3, "a `dict[string, int]` has no slices to assign to",
     "write one entry at a time: `d[k] = v`"),
    ("var t = (1, 2)\nt[0:1] = [1]\n", 2, 3, "a `(int, int)` has no slices to assign to",
     "only a list's or a tensor's slice can be assigned"),
    ("var t = (1, [2])\nt.1[0:1] = [3]\n", 2, 1, "tuples are immutable, and so are the values in them", None),
    ("fn f(xs: list[float]) {\n    xs[0:1] = []\n}\n", 2, 5, "cannot assign to `xs`: it is a parameter", None),
    ("var xs = [1.0]\nxs[0:1:1] = []\n", 2, 7, "DP's slices have no step", None),
    ("var m = zeros(3)\nm[0:2] = tensor([1.0, 2.0, 3.0])\n", 2, 1,
     "a tensor of shape (3,) does not fit the place written, of shape (2,)", None),
]


@pytest.mark.parametrize("src, line, col, message, hint", ERRORS, ids=[e[3][:40] for e in ERRORS])
def test_each_mistake_is_one_diagnostic_at_its_place(src, line, col, message, hint):
    e = error_of(src)
    assert len(e.diagnostics) == 1, str(e)
    d = e.diagnostics[0]
    assert message in d.message and (d.line, d.column) == (line, col), str(e)
    if hint is not None:
        assert d.hint == hint
    assert "^" in str(e) and "Traceback" not in str(e)


def test_a_global_list_written_by_slice_is_refused_in_reverse_mode_at_the_write():
    src = "var hist = [0.0]\nfn w(x: float) -> float {\n    hist[0:1] = [x, x]\n    return x * x\n}\n"
    e = error_of(src + "print(grad(w)(0.5))\n")
    assert "`hist` is a global variable" in str(e) and (e.diagnostics[0].line, e.diagnostics[0].column) == (3, 5)
    assert run(src + "print(jvp(w, 0.5, 1.0))\n") == "(0.25, 1.0)\n"


# ---------------------------------------------------------------- derivatives

# (name, source of f, x): f builds its lists from x; check() compares grad, jvp and
# the four second-order combinations with central differences and with each other,
# and runs source(grad(f)) again in a fresh session
CASES = [
    ("floats: shrink, grow, negative, reversed, clamped and missing bounds", """
fn f(x: float) -> float {
    var xs = [x, 2.0 * x, x * x, 1.0]
    xs[1:3] = [sin(x), x, 3.0]
    xs[:1] = []
    xs[-1:] = [x * x * x, exp(x)]
    xs[3:1] = [cos(x)]
    xs[:100] = xs
    xs[2:] = [xs[0] * x]
    var s = 0.0
    for (i, v) in enumerate(xs) { s += float(i + 1) * v * v }
    return s
}""", 0.7),
    ("a list of constants given differentiable elements", """
fn f(x: float) -> float {
    var xs = [1.0, 2.0, 3.0]
    xs[1:2] = [x * x, x]
    return xs[0] * xs[1] + xs[2] * xs[3] * xs[2]
}""", 1.3),
    ("in loops, bounds that depend on the data", """
fn f(x: float) -> float {
    var xs = [x, 0.5, x * x, 1.0, 2.0]
    var k = 0
    for i in 0..4 {
        if xs[i] > 0.6 { k = 1 } else { k = 2 }
        xs[i:i + k] = [xs[i] * x, sin(xs[i + 1] * x)]
    }
    var n = 0
    while xs[n] < 3.0 && n < 5 { n += 1 }
    xs[:n] = [x]
    return sum(xs) * xs[0] + xs[len(xs) - 1] * x
}""", 0.8),
    ("a while loop growing the list until a float says stop", """
fn f(x: float) -> float {
    var xs = [x]
    while xs[0] < 4.0 && len(xs) < 20 {
        xs[0:1] = [xs[0] * (1.0 + x), xs[0] * x]
    }
    var s = 0.0
    for v in xs { s += v }
    return s * xs[len(xs) - 1]
}""", 0.9),
    ("tensors", """
fn f(x: float) -> float {
    let t = tensor([1.0, 2.0, x])
    var ts = [t, t * x, sin(t)]
    ts[0:2] = [t * t * x, t + x, exp(t * 0.1)]
    ts[3:] = [ts[0] * x]
    var s = 0.0
    for u in ts { s += sum(u * u) }
    return s
}""", 0.6),
    ("structs", """
struct P { a: float, b: float }
fn f(x: float) -> float {
    var ps = [P { a: x, b: 1.0 }, P { a: 2.0, b: x * x }]
    ps[1:] = [P { a: sin(x), b: x }, P { a: x * x, b: 3.0 }]
    ps[0:1] = []
    ps[0].a = ps[0].a * x
    var s = 0.0
    for p in ps { s += p.a * p.b }
    return s
}""", 0.9),
    ("lists of lists keep their own rows", """
fn f(x: float) -> float {
    let row = [x, x * x]
    var xss = [[1.0], [2.0]]
    xss[0:1] = [row, row]
    xss[0][0] = sin(x)
    xss[1][1] = xss[1][1] * x
    var s = 0.0
    for r in xss { for v in r { s += v * x } }
    return s + row[0]
}""", 0.7),
    ("places in a struct, a list of lists and a dict", """
struct Q { xs: list[float], w: float }
fn f(x: float) -> float {
    var q = Q { xs: [x, 1.0, 2.0], w: x }
    q.xs[1:] = [x * x]
    var xss = [[x, x], [1.0]]
    xss[1][0:0] = [sin(x), x]
    var d = {"a": [x, 2.0]}
    d["a"][:1] = [x * 3.0, q.w]
    return sum(q.xs) * sum(xss[1]) + sum(d["a"]) * x
}""", 0.4),
    ("values: a call, a variable changed after, the list itself, a concatenation", """
fn g(y: float) -> list[float] { return [y * y, cos(y)] }
fn f(x: float) -> float {
    var xs = [x, 1.0]
    xs[1:2] = g(x)
    var ys = [x * 2.0, 5.0]
    xs[0:1] = ys
    ys[0] = 100.0
    xs[1:1] = xs
    xs[:2] = ys + [x]
    return sum(xs) * xs[1] + ys[0]
}""", 0.3),
    ("in a callee, with an early return", """
fn h(xs: list[float], x: float) -> list[float] {
    var ys = xs
    for i in 0..3 {
        if ys[0] > 5.0 { return ys }
        ys[0:1] = [ys[0] * (1.0 + x), x]
    }
    return ys
}
fn f(x: float) -> float {
    let zs = h([x, 2.0], x)
    return sum(zs) * zs[0]
}""", 0.5),
    ("pops in the bounds, lists of ints replaced", """
fn f(x: float) -> float {
    var ks = [1, 3, 0]
    var xs = [x, x * x, 3.0, 4.0]
    xs[ks.pop():ks.pop()] = [x * 5.0]
    ks[0:1] = [2, 2]
    xs[ks[0]:] = [sin(x)]
    var ys = [x, 1.0]
    ys[int(xs.pop()):] = ys
    return sum(xs) * x + sum(ys) * float(len(ks))
}""", 0.6),
    ("empty values and an empty list", """
fn f(x: float) -> float {
    var xs: list[float] = []
    xs[0:0] = [x]
    xs[5:] = [x * x]
    var e: list[float] = []
    xs[0:1] = e
    xs[:] = xs + [x]
    return sum(xs) * x
}""", 0.6),
    ("in a lambda given to map", """
fn f(x: float) -> float {
    let ys = map(fn(y: float) -> float {
        var zs = [y, 1.0]
        zs[1:] = [y * x, x]
        return zs[0] * zs[1] + zs[2]
    }, [x, 2.0 * x])
    return sum(ys)
}""", 0.7),
]


@pytest.mark.parametrize("name,src,x", CASES, ids=[c[0] for c in CASES])
def test_derivatives(name, src, x):
    check(src, x)


def test_closed_forms():
    s, out = session()
    s.run("""fn f(x: float) -> float {
    var xs = [1.0, 2.0, 3.0]
    xs[1:2] = [x * x, x]
    var s = 0.0
    for v in xs { s += v * v }
    return s
}
fn g(x: float) -> float {
    var xs = [x]
    for i in 0..3 { xs[0:0] = [xs[0] * x] }
    return xs[0] + xs[3]
}
fn h(x: float) -> float {
    var xs = [x, x, x]
    xs[1:] = []
    return xs[0] * float(len(xs))
}""")
    # f = 1 + x^4 + x^2 + 9, g = x^4 + x, h = x
    assert s.run("f(2.0)").value == 30.0 and s.run("grad(f)(2.0)").value == 36.0
    assert s.run("grad(grad(f))(2.0)").value == 50.0 and s.run("jvp(grad(f), 2.0, 1.0)").value == (36.0, 50.0)
    assert s.run("value_and_grad(g)(2.0)").value == (18.0, 33.0) and s.run("hessian(g)(2.0)").value == 48.0
    assert s.run("jvp(h, 2.0, 1.0)").value == (2.0, 1.0) and s.run("grad(h)(5.0)").value == 1.0


def test_list_and_struct_parameters_against_differences_and_forward_mode():
    src = """
struct P { a: float, t: tensor }
fn f(xs: list[float], ys: list[float], n: int) -> float {
    var zs = [1.0, 2.0, 3.0]
    zs[0:n] = xs
    zs[-1:] = ys
    zs[1:2] = [zs[1] * xs[0], ys[0] * ys[0]]
    var s = 0.0
    for (i, z) in enumerate(zs) { s += z * z * float(i + 1) }
    return s
}
fn g(ps: list[P], x: float) -> float {
    var qs = ps
    qs[1:] = [P { a: x * qs[0].a, t: qs[0].t * x }]
    qs[0:0] = [qs[1], qs[1]]
    qs[0].a = qs[0].a * qs[0].a
    var s = 0.0
    for q in qs { s += q.a * sum(q.t * q.t) }
    return s
}
"""
    for n in (5, -1, 2):
        grads = check_params(src, [0.3, -1.2, 0.7], [2.0, 0.5], n)
    # n = 2: zs = [x0, x1 x0, y0², x2, y0, y1], s = x0² + 2 (x1 x0)² + 3 y0⁴ + 4 x2² + 5 y0² + 6 y1²
    x0, x1, x2, y0, y1 = 0.3, -1.2, 0.7, 2.0, 0.5
    assert grads[0] == pytest.approx([2 * x0 + 4 * x1 * x1 * x0, 4 * x0 * x0 * x1, 8 * x2], rel=1e-12)
    assert grads[1] == pytest.approx([12 * y0 ** 3 + 10 * y0, 12 * y1], rel=1e-12)
    s, _ = session()
    s.run(src, "p.dp")
    ps = s.run("[P { a: 0.5, t: tensor([1.0, 2.0]) }, P { a: -1.0, t: tensor([0.5, 0.25]) }]").value
    (gps, gx) = check_params(src, ps, 0.7, name="g")
    assert gps[1].a == 0.0 and np.array_equal(gps[1].t, np.zeros(2))     # ps[1] was replaced


def test_second_order_with_list_parameters_against_differences_of_the_gradient():
    s, _ = session()
    s.run("""fn f(xs: list[float], k: int) -> float {
    var zs = [xs[0], 1.0]
    for i in 0..k {
        zs[i:i + 1] = [zs[i] * xs[1], sin(xs[2] * zs[i])]
    }
    var s = 0.0
    for z in zs { s += z * z * z }
    return s
}""")
    x0, h = [0.3, -1.2, 0.7], 1e-5
    grad = s.run("grad(f)").value
    fd = np.array([[(a - b) / (2 * h) for a, b in zip(grad(x0[:i] + [x0[i] + h] + x0[i + 1:], 3),
                                                        grad(x0[:i] + [x0[i] - h] + x0[i + 1:], 3))]
                   for i in range(3)]).T
    for expr in ("hessian(f)", "jacfwd(grad(f))", "jacrev(grad(f))"):
        got = np.array(s.run(expr).value(x0, 3))
        assert np.allclose(got, fd, rtol=1e-6, atol=1e-7), (expr, got, fd)
    assert abs(fd[0, 1]) > 0.01 and abs(fd[1, 2]) > 0.01            # the mixed partials are not all zero


def test_a_printed_second_order_derivative_runs_again():
    src = """fn f(x: float) -> float {
    var xs = [x, x * x, 3.0]
    for i in 0..2 { xs[i:i + 1] = [xs[i] * x, sin(xs[i + 1])] }
    return sum(xs) * xs[0]
}
fn df(x: float) -> float { return grad(f)(x) }
"""
    from dp.dsl import syntax as S
    from dp.dsl.parser import parse
    s, _ = session()
    s.run(src)
    want = s.run("grad(df)(0.7)").value
    text = s.run("source(grad(df))").value
    assert "splice(" in text
    name = next(d.name for d in parse(text, "printed.dp").body if isinstance(d, S.FnDef))
    fresh, _ = session()
    fresh.run(src, "program.dp")
    fresh.run(text, "printed.dp")
    assert fresh.run(f"{name}(0.7)").value == pytest.approx(want, rel=1e-12)
    h = 1e-5
    assert want == pytest.approx((s.run(f"df({0.7 + h})").value - s.run(f"df({0.7 - h})").value) / (2 * h), rel=1e-6)


def test_dp_grad_prints_a_slice_write_as_a_splice_that_runs_again(tmp_path, capsys):
    from dp.interpreter.cli import main
    prog = tmp_path / "p.dp"
    prog.write_text("fn f(x: float) -> float {\n    var xs = [x, x * x, 3.0]\n"
                    "    for i in 0..2 { xs[i:i + 1] = [xs[i] * x, 1.0] }\n    return sum(xs) * xs[0]\n}\n")
    for mode in ("reverse", "forward"):
        assert main(["grad", str(prog), "f", "--mode", mode]) == 0
        text = capsys.readouterr().out
        assert "splice(xs, slice_lo(i, len(xs)), slice_hi(i, i + 1, len(xs)), [xs[i] * x, 1.0])" in text
        both = tmp_path / f"both_{mode}.dp"
        call = "f_grad(0.7)" if mode == "reverse" else "f_jvp(0.7, 1.0).1"
        both.write_text(prog.read_text() + text + f"\nprint({call}, grad(f)(0.7))\n")
        assert main(["run", str(both)]) == 0
        a, b = capsys.readouterr().out.split()
        assert float(a) == pytest.approx(float(b), rel=1e-12)


def test_tensor_slice_writes_to_second_order():
    src = """fn f(x: float) -> float {
    var m = reshape(arange(6), [2, 3]) * x
    m[1, 1:3] = tensor([x * x, sin(x)])
    m[0:1] = m[1:2] * x
    m[:, 0] = cos(x)
    m[0, 1:] += x
    return sum(m * m)
}"""
    check(src, 0.8)


# ---------------------------------------------------------------- printing

def test_a_slice_assignment_prints_and_parses_back_and_dp_fmt_lays_it_out():
    from dp.dsl.parser import parse
    from dp.dsl.printer import program_src
    from dp.interpreter.fmt import format_source
    src = "xs[1:3] = [a, b]\nxs[:n] = ys\nxs[i + 1:] = []\nxs[:] = xs + ys\np.rows[0][-2:-1] = [if c { a } else { b }]\n"
    once = program_src(parse(src, "t.dp"))
    assert once == src and program_src(parse(once, "t.dp")) == once
    assert format_source("var xs = [1.0]\nxs[ 1 : ]=[ 2.0,3.0 ]  # tail\nxs[:1]=[]\n", "t.dp") \
        == "var xs = [1.0]\nxs[1:] = [2.0, 3.0]  # tail\nxs[:1] = []\n"


def test_a_row_of_a_list_of_lists_written_in_a_loop():
    check("""
fn f(x: float) -> float {
    var rows = [[x, 1.0], [2.0], [x * x]]
    for i in 0..3 {
        rows[i][1:] = [rows[i][0] * x, sin(x * float(i))]
        rows[i][:1] = []
    }
    var s = 0.0
    for r in rows { s += r[0] * r[1] }
    return s
}""", 0.7)
