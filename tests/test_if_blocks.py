"""`if` expressions whose branches hold statements (docs/language.md, "if expressions"):
`let y = if c { let t = x * x; t + 1.0 } else { … }`. Their values, scopes, order of
evaluation and jumps; their errors, each a diagnostic at its place; printing, `dp fmt`
and the language server's scopes; and their derivatives, reverse and forward, first
and second order, against closed forms, central differences and each other, with
source(grad(f)) run again (tests/test_everyday.py's check)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from gradcheck import Checked, flatten, unflatten
from gradcheck import check as check_params
from helpers import error_of, run, session
from test_everyday import check

from dp.dsl import syntax as S
from dp.dsl.parser import parse
from dp.dsl.printer import program_src

BRIEF = """
fn f(x: float) -> float {
    let y = if x > 0.0 { let t = x * x; t + 1.0 } else { var s = 0.0; for i in 0..3 { s += x }; s }
    return y * sin(x)
}"""


# ---------------------------------------------------------------- values

def test_the_branch_taken_runs_its_statements_and_gives_its_last_expression():
    assert run(BRIEF + "\nprint(f(2.0), f(-1.0))\n") == f"{5.0 * math.sin(2.0)!r} {-3.0 * math.sin(-1.0)!r}\n"


def test_only_the_chosen_branch_runs():
    out = run('var n = 0\nlet y = if n == 0 { print("then"); n += 1; 10 } else { print("else"); n += 2; 20 }\n'
              'print(y, n)\n')
    assert out == "then\n10 1\n"


def test_a_branch_is_a_scope_of_its_own():
    assert run("let t = 1.0\nlet y = if true { let t = 5.0; t * 2.0 } else { t }\nprint(y, t)\n") == "10.0 1.0\n"
    e = error_of("let y = if true { let inner = 5.0; inner } else { 0.0 }\nprint(inner)\n")
    assert "`inner` is not defined" in str(e) and (e.line, e.column) == (2, 7)


def test_an_else_if_chain_and_nested_blocks():
    src = """
fn pick(k: int) -> string {
    return if k == 0 { let a = "zero"; a } else if k == 1 { var s = "o"; s = s + "ne"; s } else {
        let big = k > 9
        if big { let w = "big"; w } else { var u = ""; for i in 0..k { u = u + "*" }; u }
    }
}
print(pick(0), pick(1), pick(3), pick(12))
"""
    assert run(src) == "zero one *** big\n"


def test_outer_vars_change_and_the_left_side_is_read_first():
    # `k + (if … { k = 100; k } …)`: k is read before the branch changes it, as in Rust
    assert run("var k = 1\nlet w = k + (if true { k = 100; k } else { 0 })\nprint(w, k)\n") == "101 100\n"
    # a call's arguments in order, the branch's print between them
    src = ('fn say(s: string, v: int) -> int { print(s)\n return v }\n'
           'print(say("a", 1) + (if true { print("b"); 2 } else { 0 }) + say("c", 3))\n')
    assert run(src) == "a\nb\nc\n6\n"


def test_a_list_changed_in_a_branch_is_a_value():
    src = ("var xs = [1.0]\nlet before = xs\nlet n = if true { xs.append(2.0); len(xs) } else { 0 }\n"
           "print(xs, before, n)\n")
    assert run(src) == "[1.0, 2.0] [1.0] 2\n"


def test_int_literals_in_a_block_adapt_to_a_float():
    assert run("fn f(x: float) -> float { return x * (if x > 1.0 { let k = 3; 2 } else { 3 }) }\n"
               "print(f(2.0), f(0.5))\n") == "4.0 1.5\n"


def test_return_break_and_continue_in_a_branch():
    src = """
fn early(x: float) -> float {
    let y = if x > 1.0 { if x > 3.0 { return -1.0 }; x * x } else { 0.0 }
    return y + 1.0
}
fn loop(n: int) -> int {
    var s = 0
    for i in 0..n {
        s += if i % 2 == 0 { if i == 4 { continue }; if i > 7 { break }; i } else { 100 }
    }
    return s
}
print(early(2.0), early(5.0), early(0.0), loop(12))
"""
    # loop(12): 0 + 100 + 2 + 100 + (4 skipped) + 100 + 6 + 100, then 8 breaks
    assert run(src) == "5.0 -1.0 1.0 408\n"


def test_a_while_condition_and_a_short_circuit_hold_statements():
    src = """
var n = 0
var trips = 0
while (if n < 3 { n += 1; true } else { false }) { trips += 1 }
var asked = 0
let a = n > 5 && (if true { asked += 1; true } else { false })
let b = n > 1 || (if true { asked += 10; true } else { false })
let c = n > 1 && (if true { asked += 100; false } else { true })
print(n, trips, a, b, c, asked)
"""
    assert run(src) == "3 3 false true false 100\n"


def test_a_lambda_in_a_branch_and_a_branch_in_a_lambda():
    src = """
let g = fn(t: float) -> float { return if t > 0.0 { let u = t * 3.0; u + 1.0 } else { t } }
let h = if true { let k = 2.0; fn(t: float) -> float { return t * k } } else { g }
print(g(1.0), g(-2.0), h(5.0), map(g, [1.0, -1.0]))
"""
    assert run(src) == "4.0 -2.0 10.0 [4.0, -1.0]\n"


# ---------------------------------------------------------------- errors, each at its place

@pytest.mark.parametrize("src,where,message,hint", [
    ("let y = if true { let t = 1.0 } else { 2.0 }\n", (1, 19),
     "this branch of an `if` expression does not end in an expression", "is the expression that is its value"),
    ("let y = if true { 1.0 } else { var s = 1.0\n s += 2.0 }\n", (2, 2),
     "does not end in an expression", "last line"),
    ("let y = if true { } else { 2.0 }\n", (1, 9), "this branch of an `if` expression is empty", "its value"),
    ("let y = if true { let t = 1.0; t } else { print(t); 2 }\n", (1, 49), "`t` is not defined", None),
    ("let y = if true { let t = 1.0; t } else { print(2.0) }\n", (1, 9),
     "the branches of this `if` have different types, `float` and `()`", "has none"),
    ('let y = if true { let t = 1.0; t } else { "a" }\n', (1, 9), "different types, `float` and `string`",
     "same type"),
    ("let k = 1\nlet y = if true { k = 2; k } else { 0 }\n", (2, 19), "`k`", None),
    ("var n = 0\nwhile (if n < 3 { break; true } else { false }) { n += 1 }\n", (2, 19),
     "`break` in the condition of a `while` loop", "test in the body"),
    ("let y = if true { continue; 1 } else { 2 }\n", (1, 19), "`continue` outside a loop", None),
    ("fn f(x: float) -> float { return x }\nderivative f(x) -> y { x_bar = if true { let a = 2.0; a } "
     "else { 1.0 } }\n", (2, 42), "a derivative rule's clause is one expression", "call it"),
])
def test_errors_are_diagnostics_at_their_place(src, where, message, hint):
    e = error_of(src, "blocks.dp")
    text = str(e)
    assert message in text, text
    assert (e.line, e.column) == where, text
    assert text.startswith(f"blocks.dp:{where[0]}:{where[1]}:"), text
    assert "^" in text and "Traceback" not in text
    if hint is not None:
        assert "hint:" in text and hint in text, text


# ---------------------------------------------------------------- printing, dp fmt, the language server

PRINTED = """let y = if x > 0.0 {
    let t = x * x
    t + 1.0
} else if x < -5.0 {
    0.0
} else {
    var s = 0.0
    for i in 0..3 {
        s += x
    }
    (if s > 0.0 { s } else { -s })
}
print(2.0 * (if a {
    print(1)
    a
} else {
    b
}))
let z = if a { 1 } else { 2 }
fn g(a: int) {
    while (if a > 0 {
        let t = a * 2
        t > 3
    } else {
        false
    }) {
        for i in 0..(if a > 1 {
            a
        } else {
            var m = 1
            m
        }) {
            print(i)
        }
    }
}
"""


def test_printing_then_parsing_is_an_identity():
    prog = parse(PRINTED, "t.dp")
    assert isinstance(prog.body[0].value.then, S.BlockExpr)
    assert not isinstance(prog.body[0].value.orelse.then, S.BlockExpr)     # one expression: as before
    once = program_src(prog)
    assert once == PRINTED and program_src(parse(once, "t.dp")) == once


def test_the_one_line_form_prints_in_the_layout():
    src = "let y = if c { let t = x * x; t + 1.0 } else { 0.0 }\n"
    assert program_src(parse(src, "t.dp")) == "let y = if c {\n    let t = x * x\n    t + 1.0\n} else {\n    0.0\n}\n"


def test_source_of_a_function_runs_again_with_the_same_numbers():
    s, out = session()
    s.run(BRIEF, "f.dp")
    text = s.run("source(f)\n").value
    assert "let t = x * x" in text and isinstance(parse(text, "p.dp").body[0].body[0].value.then, S.BlockExpr)
    again = run(text + "print(f(2.0), f(-1.0), grad(f)(2.0))\n")
    assert again == run(BRIEF + "\nprint(f(2.0), f(-1.0), grad(f)(2.0))\n")


def test_dp_fmt_keeps_the_comments_inside_a_branch():
    from dp.interpreter.lsp.formatting import format_text
    src = ("let x = 2.0\nlet y = 2.0 * (if x > 0.0 {  # positive\n    # the square\n    let t = x * x  # t\n"
           "    t + 1.0\n    # at the end\n} else {  # not\n    0.0\n})\nprint(y)\n")
    assert format_text(src) == src
    # a one-line statement broken over lines keeps its comment after the first `{`, as
    # fmt places a comment after any one-line block (docs/repl.md)
    laid = "let y = if x > 0.0 {  # why\n    let t = x\n    t\n} else {\n    0.0\n}\n"
    assert format_text("let y = if x > 0.0 { let t = x; t } else { 0.0 }  # why\n") == laid
    assert format_text(laid) == laid


def test_the_language_server_sees_a_branch_scope():
    from dp.interpreter.lsp.analysis import Analyzer
    from dp.interpreter.lsp.index import scope_at
    text = ("fn f(x: float) -> float {\n    let y = if x > 0.0 {\n        let t = x * x\n        t + 1.0\n"
            "    } else {\n        0.0\n    }\n    return y\n}\n")
    a = Analyzer().analyze("/tmp/blocks.dp", text)
    assert a.diagnostics == []
    assert sorted(scope_at(a.prog, 4, 9)) == ["t", "x"]
    assert sorted(scope_at(a.prog, 6, 9)) == ["x"]
    assert sorted(scope_at(a.prog, 8, 12)) == ["x", "y"]


def test_the_language_server_tells_a_branch_locals_activity():
    from dp.interpreter.lsp.activity import function_activity
    from dp.interpreter.lsp.analysis import Analyzer
    analyzer = Analyzer()
    text = ("fn f(x: float, n: int) -> float {\n    let y = if n > 0 { let t = x * x; let k = 2.0; t * k } "
            "else { let dead = x; 1.0 }\n    return y\n}\n")
    a = analyzer.analyze("/tmp/blocks_activity.dp", text)
    with analyzer.isolated():
        facts = function_activity(a.prog.body[0], analyzer.session.ad)
    got = {f.sym.name: f.active for f in facts.values() if f.sym.name in ("t", "k", "dead", "y")}
    assert got == {"t": True, "k": False, "dead": False, "y": True}


# ---------------------------------------------------------------- derivatives

def test_closed_forms_on_both_sides():
    s, _ = session()
    s.run(BRIEF, "f.dp")
    for x in (0.7, -0.4):
        if x > 0:
            d1 = 2 * x * math.sin(x) + (x * x + 1) * math.cos(x)
            d2 = 2 * math.sin(x) + 4 * x * math.cos(x) - (x * x + 1) * math.sin(x)
        else:
            d1 = 3 * math.sin(x) + 3 * x * math.cos(x)
            d2 = 6 * math.cos(x) - 3 * x * math.sin(x)
        assert abs(s.run(f"grad(f)({x!r})\n").value - d1) < 1e-12
        assert abs(s.run(f"jvp(f, {x!r}, 1.0).1\n").value - d1) < 1e-12
        assert abs(s.run(f"grad(grad(f))({x!r})\n").value - d2) < 1e-12
        assert abs(s.run(f"jvp(grad(f), {x!r}, 1.0).1\n").value - d2) < 1e-12


CASES = [
    ("the brief's", BRIEF, 0.7),
    ("the brief's, else", BRIEF, -0.4),
    ("an outer var in a loop", """
fn f(x: float) -> float {
    var acc = 0.0
    for i in 0..3 {
        let w = if i == 1 { acc += x * x; let k = float(i) * x; k * acc } else { acc += sin(x); acc }
        acc = acc + w * 0.5
    }
    return acc
}""", 0.8),
    ("a list and a struct", """
struct P { a: float, b: float }
fn f(x: float) -> float {
    var xs = [x, 2.0 * x]
    let p = if x > 0.0 { xs.append(x * x); let q = P { a: xs[2], b: sum(xs) }; q } else { P { a: x, b: x } }
    return p.a * p.b + xs[len(xs) - 1] * cos(p.a)
}""", 0.9),
    ("jumps", """
fn f(x: float) -> float {
    var total = 0.0
    for i in 0..5 {
        let v = if i % 2 == 0 {
            if i == 2 { continue }
            var q = x * float(i + 1)
            while q > 3.0 { q = q / 2.0 }
            q * x
        } else {
            if i == 3 { break }
            exp(x / float(i))
        }
        total += v * v
    }
    let y = if total > 1.0 { if total > 1000.0 { return total }; log(total) } else { total }
    return y * x
}""", 1.1),
    ("the left side read first", """
fn f(x: float) -> float {
    var a = x
    let y = a * x + (if x > 0.0 { a = a * x * x; a } else { a })
    return y * a
}""", 0.6),
    ("a while condition and a short circuit", """
fn f(x: float) -> float {
    var n = 0
    var acc = x
    while (if n < 3 { acc = acc * x; n += 1; true } else { false }) { acc = acc + sin(acc) }
    var hits = 0.0
    let b = acc > 0.0 && (if x > 0.5 { hits += acc * x; true } else { false })
    return if b { hits * x } else { hits + acc }
}""", 0.9),
    ("nested blocks and an else if", """
fn f(x: float) -> float {
    return if x < -1.0 { 0.0 } else if x < 2.0 {
        let a = x * x
        if a > 0.25 { let b = a * sin(x); b + a } else { var c = a; c *= 3.0; c }
    } else { x }
}""", 0.8),
    ("a closure in a branch and a branch in a closure", """
fn f(x: float) -> float {
    let g = fn(t: float) -> float { return if t > 0.0 { let u = t * x; u * u } else { t } }
    let y = if x > 0.0 { let k = g(x) + g(-x); k * x } else { g(x) }
    return y + sum(map(fn(t: float) -> float { return if t > 0.5 { let w = t * t; w * x } else { t } }, [x, 2.0 * x]))
}""", 0.7),
    ("int literals adapting in a block", """
fn f(x: float) -> float { return x * x * (if x > 1.0 { let k = 3; 2 } else { var z = 0; z += 1; 3 }) }""", 0.5),
]


@pytest.mark.parametrize("name,src,x", CASES, ids=[c[0] for c in CASES])
def test_derivatives(name, src, x):
    check(src, x)


def _agree(c, args):
    """Reverse against central differences, forward against reverse (tests/gradcheck.py's
    check, for arguments made in c's own session)."""
    y, grads = c.reverse(*args)
    fd = c.finite_difference(list(args))
    for k in range(len(args)):
        got = flatten(grads[k]) if grads[k] is not None else [0.0] * len(fd[k])
        assert len(got) == len(fd[k]) and all(abs(g - f) <= 1e-5 * max(1.0, abs(f)) for g, f in zip(got, fd[k])), \
            (k, got, fd[k])
    us = [unflatten(a, [0.3 - 0.2 * i for i in range(len(flatten(a)))]) for a in args]
    _, ydot = c.forward(list(args), us)
    dot = sum(sum(u * g for u, g in zip(flatten(uk), flatten(gk))) for uk, gk in zip(us, grads) if gk is not None)
    assert abs(ydot - dot) <= 1e-9 * max(1.0, abs(dot)), (ydot, dot)


def test_list_struct_and_tensor_parameters():
    c = Checked("""
struct S { w: float, xs: list[float] }
fn f(s: S, v: list[float]) -> float {
    var t = 0.0
    for e in v {
        t += if e > 0.0 { let q = S { w: s.w * e, xs: s.xs }; var m = q.w; for z in q.xs { m += z * e }; m } else { e * s.w }
    }
    return t * s.w
}
""")
    s0 = c.session.run("S { w: 0.7, xs: [0.3, -1.2] }\n").value
    _agree(c, [s0, [0.5, -0.3, 1.1]])
    check_params("""
fn f(x: tensor) -> float {
    let y = if sum(x) > 0.0 { let t = x * x; var u = tanh(t); u = u + x; u } else { x }
    return sum(y * y)
}""", np.array([0.5, -0.2, 1.0]))


def test_a_hessian_is_the_differences_of_the_gradient():
    s, _ = session()
    s.run("""
fn f(x: tensor) -> float {
    let y = if sum(x) > 0.0 { let t = x * x; var acc = 0.0; for i in 0..2 { acc += sum(t * x) }; acc } else { sum(x) }
    return y * sum(sin(x))
}
""", "h.dp")
    x = np.array([0.4, 0.9, -0.3])
    H = np.asarray(s.run("hessian(f)(tensor([0.4, 0.9, -0.3]))\n").value)
    grad = s.run("grad(f)\n").value
    h = 1e-5
    for j in range(3):
        e = np.zeros(3)
        e[j] = h
        col = (np.asarray(grad(x + e)) - np.asarray(grad(x - e))) / (2 * h)
        assert np.allclose(H[:, j], col, atol=1e-6), (H, col)
    assert np.allclose(H, H.T, atol=1e-10) and np.abs(H).max() > 0.1


def test_output_in_a_branch_happens_once_under_a_derivative():
    src = 'fn f(x: float) -> float {\n    let y = if x > 0.0 { print("pos"); x * x } else { x }\n    return y\n}\n'
    assert run(src + "print(grad(f)(3.0))\nprint(grad(grad(f))(3.0))\n") == "pos\n6.0\npos\n2.0\n"


# ---------------------------------------------------------------- the lowering (dsl/blocks.py)

def test_lowering_binds_what_could_change_and_keeps_the_rest():
    from dp.dsl import blocks
    from dp.dsl.printer import block_src
    from dp.dsl.symbols import Symbol
    s, _ = session()
    s.run("fn f(x: float) -> float {\n    var a = x\n    let y = a * x + (if x > 0.0 { let t = x * x; a = t; a } "
          "else { a })\n    return y\n}\nfn g(x: float) -> float { return x * x }\n", "l.dp")
    f, g = s.env.values["f"].decl, s.env.values["g"].decl
    assert f.blocks and not g.blocks                         # the checker's note: only f is lowered
    assert blocks.lower(g.body, None) is g.body               # nothing to lower: the same list
    names = iter(range(100))
    low = blocks.lower(f.body, lambda base, ty, kind: Symbol(f"{base}{next(names)}", ty, kind, base))
    assert low is not f.body and f.body[1].value.right.then.body    # the checked body is left as it was
    assert block_src(low, 0) == ("var a = x\nlet part0 = a * x\nif x > 0.0 {\n    let t = x * x\n    a = t\n"
                                 "    chosen1 = a\n} else {\n    chosen1 = a\n}\nlet y = part0 + chosen1\nreturn y\n")
