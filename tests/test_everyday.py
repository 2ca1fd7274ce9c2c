"""The everyday language (docs/language.md): list slices, the list functions (`sum`,
`min`, `max`, `sort`, `map`, `filter`, `zip`, `enumerate`), `d.items()`, tuples
destructured in `for`, `if` expressions. Each that carries floats is differentiated
here, in reverse and forward mode, at first and second order, against central
differences and against the other mode.

A case is a DP function `f(x: float) -> float` that builds the construct's values
from x; `check` compares grad(f) and jvp(f) with central differences of f, and
grad(grad(f)), jvp(grad(f)) and jvp of the forward derivative with central differences of
grad(f). Cases with list parameters go through tests/gradcheck.py."""
from __future__ import annotations

import pytest

from gradcheck import check as check_params
from helpers import error_of, run, session

H = 1e-5

# (name, source of f, x)
CASES = [
    ("items", """
fn f(x: float) -> float {
    let d = {"a": x, "b": x * x}
    var s = 0.0
    for (k, v) in d.items() {
        if k == "b" { s += v * sin(x) } else { s += v * v }
    }
    return s
}""", 0.7),
    ("items of a var dict", """
fn f(x: float) -> float {
    var d: dict[int, float] = {}
    for i in 0..3 { d[i] = x * float(i + 1) }
    d[1] = d[1] * x
    var s = 0.0
    for (k, v) in d.items() { s += float(k) * v * v }
    return s
}""", 1.3),
    ("list slices", """
fn f(x: float) -> float {
    let ys = [x, x * x, sin(x), 4.0, exp(x)]
    let a = ys[1:3]
    var s = 0.0
    for v in a { s += v * v }
    for v in ys[-2:] { s += v * x }
    let n = 2
    for v in ys[:n] { s += v }
    for v in ys[4:1] { s += 100.0 * v }
    for v in ys[:100] { s += v * 0.5 }
    return s + ys[3:][1] * 2.0 + ys[-10:1][0]
}""", 0.5),
    ("a slice of a list that changes", """
fn f(x: float) -> float {
    var ys = [x]
    var s = 0.0
    for i in 0..4 {
        ys.append(ys[i] * x + 1.0)
        let tail = ys[i:]
        s += tail[0] * tail[len(tail) - 1]
    }
    return s
}""", 0.8),
    ("sum, min, max and sort of lists", """
fn f(x: float) -> float {
    let ys = [x, x * x, sin(x), 0.3, exp(-x)]
    let s = sort(ys)
    return sum(ys) * max(ys) + min(ys) * s[0] + s[1] * s[2] * s[4] + sum(sort(ys)[1:3])
}""", 0.7),
    ("sum of an empty slice, sort of a list built in a loop", """
fn f(x: float) -> float {
    var ys: list[float] = []
    for i in 0..5 { ys.append(sin(x * float(i + 1))) }
    let s = sort(ys)
    return sum(ys[3:1]) + s[0] * 2.0 + s[4] * s[3] + max(s[:2]) + min(ys[1:])
}""", 1.1),
    ("map, filter, zip, enumerate", """
fn f(x: float) -> float {
    let ys = [x, x * x, sin(x)]
    let zs = map(fn(y: float) -> float { return y * x }, ys)
    var s = 0.0
    for (i, z) in enumerate(zs) { s += float(i + 1) * z }
    for (a, b) in zip(ys, zs) { s += a * b }
    for v in filter(fn(y: float) -> bool { return y > 0.5 }, ys) { s += v }
    return s
}""", 0.7),
    ("map of a named function and of a primitive, zip of unequal lists", """
fn sq(y: float) -> float { return y * y }
fn f(x: float) -> float {
    let ys = [x, 2.0 * x, exp(x)]
    var s = sum(map(sq, ys)) + sum(map(tanh, ys))
    for (a, b) in zip(ys, [x, 3.0]) { s += a * b }
    let ps = enumerate(map(fn(y: float) -> float { return cos(y) * x }, ys))
    return s * ps[2].1
}""", 0.3),
    ("filter keeps what a captured float decides", """
fn f(x: float) -> float {
    let t = x * 0.5
    let kept = filter(fn(y: float) -> bool { return y > t }, [0.1, x, x * x, 2.0])
    let mapped = map(fn(y: float) -> float { return y * t }, kept)
    return sum(mapped) + float(len(kept))
}""", 1.2),
    ("if expressions", """
fn f(x: float) -> float {
    let a = if x > 0.0 { log(x) } else { 0.0 }
    var s = if x > 1.0 { x * x } else if x > 0.5 { sin(x) * x } else { exp(x) }
    var k = 0
    while (if s > 0.0 { s } else { -s }) < 10.0 && k < 100 {
        s = s * 1.5 + x
        k += 1
    }
    return a * s + (if a > 0.0 { a } else { x }) * x
}""", 0.7),
    ("if expressions choosing lists, calls and tuples", """
fn g(y: float) -> float { return y * y * y }
fn f(x: float) -> float {
    let ys = if x < 2.0 { [x, g(x)] } else { [1.0, 2.0] }
    let p = if ys[1] > ys[0] { (g(x), 1) } else { (x, 2) }
    let n = if p.1 == 1 { 3 } else { 4 }
    return sum(ys) * p.0 + float(n) * (if x > 0.3 { g(x) } else { sqrt(-x) })
}""", 1.3),
    ("an if expression that is not taken does not fail", """
fn f(x: float) -> float {
    return if x > 0.0 { sqrt(x) * x } else { sqrt(-x) }
}""", -0.6),
    ("a set of ints decides which terms count", """
fn f(x: float) -> float {
    var seen = set([0])
    var s = 0.0
    for i in [1, 2, 2, 3, 1] {
        if !seen.contains(i) {
            seen.add(i)
            s += x * float(i) * s + x
        }
    }
    for k in seen { s += float(k) * x * x }
    let t = seen.union(set([7]))
    for (j, k) in enumerate(t.to_list()) { s += float(j * k) * sin(x) }
    return s * float(len(seen))
}""", 0.6),
    ("defaultdict of floats", """
fn f(x: float) -> float {
    var tot: defaultdict[string, float] = defaultdict(0.0)
    let keys = ["a", "b", "a", "c", "b", "a"]
    for (i, k) in enumerate(keys) { tot[k] += x * float(i + 1) }
    tot["d"] = tot["missing"] + sin(x) * x
    var s = 0.0
    for (k, v) in tot.items() { s += v * v }
    return s + tot["nope"] * x + tot.get("c", 1.0) * tot["a"]
}""", 0.5),
    ("defaultdict of lists, appended through missing keys", """
fn f(x: float) -> float {
    var g: defaultdict[int, list[float]] = defaultdict([])
    for i in 0..5 { g[i % 2].append(x * float(i)) }
    g[7].append(3.0 * exp(x))
    g[0][1] = g[0][1] * x
    var s = 0.0
    for (k, vs) in g.items() { for v in vs { s += v * v * float(k + 1) } }
    return s + float(len(g[9]))
}""", 0.5),
    ("destructuring a list of tuples", """
fn f(x: float) -> float {
    let ps = [(1, x), (2, x * x), (3, exp(x))]
    var s = 0.0
    for (i, p) in ps {
        if i == 2 { continue }
        s += float(i) * p * p
    }
    return s
}""", 0.4),
    ("destructuring tuples of floats, with an early return", """
fn f(x: float) -> float {
    var s = 0.0
    for (a, b) in [(x, 2.0 * x), (x * x, 1.0), (3.0, x)] {
        s += a * b
        if s > 100.0 { return s }
    }
    return s * x
}""", 0.9),
]


def _central(session, name, x):
    f = session.runtime.ns[session.env.values[name].py]
    return (f(x + H) - f(x - H)) / (2 * H)


def check(src: str, x: float):
    """First and second order of f at x: reverse and forward against central differences
    and against each other."""
    s, out = session()
    s.run(src + """
fn df(x: float) -> float { return grad(f)(x) }
fn jf(x: float) -> float { return jvp(f, x, 1.0).1 }
""", "everyday.dp")
    def value(expr):
        return s.run(f"{expr}\n").value
    d1 = {"r": value(f"grad(f)({x!r})"), "j": value(f"jvp(f, {x!r}, 1.0).1")}
    fd1 = _central(s, "f", x)
    for mode, got in d1.items():
        assert abs(got - fd1) <= 1e-6 * max(1.0, abs(fd1)), f"first order {mode}: {got} vs central differences {fd1}"
    assert abs(d1["r"] - d1["j"]) <= 1e-9 * max(1.0, abs(d1["r"]))
    d2 = {"rr": value(f"grad(grad(f))({x!r})"), "jr": value(f"jvp(df, {x!r}, 1.0).1"),
          "jj": value(f"jvp(jf, {x!r}, 1.0).1"), "rj": value(f"grad(jf)({x!r})")}
    fd2 = _central(s, "df", x)
    _printed_reruns(s, src, x, d1["r"])
    for mode, got in d2.items():
        assert abs(got - fd2) <= 1e-5 * max(1.0, abs(fd2)), f"second order {mode}: {got} vs central differences {fd2}"
        assert abs(got - d2["rr"]) <= 1e-8 * max(1.0, abs(fd2)), f"second order {mode}: {got} vs rr {d2['rr']}"


def _printed_reruns(s, src, x, want):
    """source(grad(f)), loaded into a new interpreter that has run only the program,
    gives the same gradient (as tests/test_printed_derivatives.py asks of the examples)."""
    from dp.dsl import syntax as S
    from dp.dsl.parser import parse
    text = s.run("source(grad(f))\n").value
    name = next(d.name for d in parse(text, "printed.dp").body if isinstance(d, S.FnDef))
    fresh, _ = session()
    fresh.run(src, "program.dp")
    fresh.run(text, "printed.dp")
    got = fresh.run(f"{name}({x!r})\n").value
    assert abs(got - want) <= 1e-12 * max(1.0, abs(want)), f"printed {got} vs {want}:\n{text}"


@pytest.mark.parametrize("name,src,x", CASES, ids=[c[0] for c in CASES])
def test_derivatives(name, src, x):
    check(src, x)


# ---------------------------------------------------------------- values and errors

def test_items_and_destructuring_values():
    assert run('var d = {"a": 1, "b": 2}\nd["c"] = 3\nfor (k, v) in d.items() { print(k, v) }\n'
               'print(d.items())\n') == 'a 1\nb 2\nc 3\n[("a", 1), ("b", 2), ("c", 3)]\n'
    assert run('for (i, p) in [(1, (2, 3))] { print(i, p) }\n') == "1 (2, 3)\n"


def test_list_slices_count_as_python_does():
    assert run("let xs = [1, 2, 3, 4, 5]\n"
               "print(xs[1:3], xs[:2], xs[3:], xs[-2:], xs[:-1], xs[4:2], xs[:10], xs[-10:1], xs[:])\n") \
        == "[2, 3] [1, 2] [4, 5] [4, 5] [1, 2, 3, 4] [] [1, 2, 3, 4, 5] [1] [1, 2, 3, 4, 5]\n"


def test_a_list_slice_is_a_copy():
    assert run("var xs = [[1.0], [2.0]]\nvar ys = xs[0:1]\nys[0][0] = 9.0\nprint(xs, ys)\n") \
        == "[[1.0], [2.0]] [[9.0]]\n"


def test_list_slice_errors():
    e = error_of("var xs = [1, 2]\nxs[0:1][0] = 3\n")
    assert "a list slice is a new list: writing into it would not change the list" in str(e) \
        and e.diagnostics[0].line == 2
    e = error_of("let xs = [1, 2]\nprint(xs[0, 1])\n")
    assert "`a[i, j]` indexes tensors, not `list[int]`" in str(e)
    e = error_of("let xs = [1, 2]\nprint(xs[0.5:1])\n")
    assert "expected `int`, found `float`" in str(e)
    e = error_of('let s = "abc"\nprint(s[0:1])\n')
    assert "slices and `a[i, j]` index tensors and lists, not `string`" in str(e)


def test_a_list_slice_with_list_parameters():
    src = "fn f(xs: list[float], n: int) -> float {\n    var s = 0.0\n" \
          "    for v in xs[1:n] { s += v * v }\n    return s * xs[-1:][0]\n}\n"
    grads = check_params(src, [0.3, -1.2, 0.7, 2.0], 3)
    assert grads[0] == pytest.approx([0.0, -2.4 * 2.0, 1.4 * 2.0, 1.44 + 0.49])


def test_list_reductions_values_and_errors():
    assert run('let xs = [3.0, 1.0, 2.0]\nlet e: list[float] = []\n'
               'print(sum(xs), max(xs), min(xs), sort(xs), xs, sum([1, 2]), max([4, 7, 1]), min(range(2, 5)))\n'
               'print(sort(["b", "a", "c"]), sum(e), sort(e))\n') \
        == '6.0 3.0 1.0 [1.0, 2.0, 3.0] [3.0, 1.0, 2.0] 3 7 2\n["a", "b", "c"] 0.0 []\n'
    e = error_of("let e: list[int] = []\nprint(max(e))\n")
    assert "`max` of an empty list" in str(e) and e.diagnostics[0].line == 2
    e = error_of("print(sum([true]))\n")
    assert "`sum` cannot take (list[bool])" in str(e)


def test_list_reductions_with_list_parameters():
    src = "fn f(xs: list[float]) -> float {\n    let s = sort(xs)\n" \
          "    return sum(xs) * 0.5 + max(xs) * 2.0 - min(xs) + s[1] * 3.0 + s[2] * s[3]\n}\n"
    grads = check_params(src, [0.3, -1.2, 2.0, 0.7])
    # sorted: -1.2, 0.3, 0.7, 2.0: s[1] = xs[0], s[2] = xs[3], s[3] = xs[2] = max
    assert grads[0] == pytest.approx([0.5 + 3.0, 0.5 - 1.0, 0.5 + 2.0 + 0.7, 0.5 + 2.0])


def test_ties_share_the_derivative_as_central_differences_do():
    # two equal elements: max's derivative is split, sort's averaged over the pair
    src = "fn f(xs: list[float]) -> float {\n    let s = sort(xs)\n" \
          "    return max(xs) * 3.0 + s[0] * 5.0 + s[1] * 7.0 + s[2] * 11.0 - min(xs)\n}\n"
    grads = check_params(src, [0.5, -1.0, 0.5])
    assert grads[0] == pytest.approx([1.5 + 9.0, 5.0 - 1.0, 1.5 + 9.0])
    grads = check_params(src, [-1.0, -1.0, 2.0])
    assert grads[0] == pytest.approx([6.0 - 0.5, 6.0 - 0.5, 3.0 + 11.0])


def test_generic_list_functions_values():
    assert run('let xs = [3.0, 1.0, 2.0]\n'
               'print(map(fn(x: float) -> float { return x * 2.0 }, xs), filter(fn(x: float) -> bool { return x > 1.5 }, xs))\n'
               'print(zip(xs, [1, 2]), enumerate(["a", "b"]), map(sin, [0.0]), map(fn(i: int) -> string { return str(i) }, [1, 2]))\n'
               'print(map(fn(p: (int, string)) -> string { return p.1 }, zip([1], ["z"])), enumerate(zip([true], [[1]])))\n'
               'let e: list[int] = []\nprint(map(fn(i: int) -> float { return float(i) }, e), zip(e, e), enumerate(e))\n') \
        == ('[6.0, 2.0, 4.0] [3.0, 2.0]\n[(3.0, 1), (1.0, 2)] [(0, "a"), (1, "b")] [0.0] ["1", "2"]\n'
            '["z"] [(0, (true, [1]))]\n[] [] []\n')


def test_generic_instances_are_made_once_per_types_and_kept_across_inputs():
    s, out = session()
    s.run("let a = map(fn(x: float) -> float { return x + 1.0 }, [1.0])\n")
    s.run("let b = map(fn(x: float) -> float { return x * 3.0 }, [2.0])\nlet c = map(fn(x: int) -> int { return x }, [4])\n")
    s.run("print(a, b, c)\n")
    assert out.text == "[2.0] [6.0] [4]\n"
    made = sorted(n for n, sym in s.env.values.items() if getattr(sym.decl, "instance_of", None))
    assert made == ["map__float__float", "map__int__int"]


def test_a_user_function_named_map_shadows_the_generic():
    assert run("fn map(x: float) -> float { return x + 1.0 }\nprint(map(1.0))\n") == "2.0\n"


def test_a_runtime_error_inside_map_points_at_the_lambda():
    e = error_of("let xs = [1.0, 0.0]\nprint(map(fn(x: float) -> float { return 1.0 / x }, xs))\n")
    assert "division by zero" in str(e) and e.diagnostics[0].line == 2


def test_generic_list_function_errors():
    cases = [
        ("print(map([1.0], [1.0]))\n", "`map` takes a function of one element, not `list[float]`"),
        ("print(filter(fn(x: float) -> float { return x }, [1.0]))\n",
         "`filter` takes a function of one element returning `bool`"),
        ("print(map(fn(x: float) -> float { return x }, [1, 2], 3))\n", "`map` takes 2 arguments, 3 given"),
        ("print(map(fn(x: float) -> float { return x }, [\"a\"]))\n", "expected `float`, found `string`"),
        ("print(zip([1], 2))\n", "`zip` takes lists, not `int`"),
        ("print(enumerate([]))\n", "cannot tell the type of an empty literal"),
    ]
    for src, want in cases:
        e = error_of(src)
        assert want in str(e), (src, str(e))


def test_if_expression_values():
    assert run('let c = true\nlet y = if c { 1 } else { 2 }\nlet z = if !c { 1.5 } else if y > 3 { 2 } else { 3.0 }\n'
               'print(y, z, if y == 1 { "one" } else { "many" }, [if c { 1 } else { 0 }], (if c { 2 } else { 3 }) * 10)\n'
               'var xs: list[int] = if c { [] } else { [1] }\nxs.append(if c {\n    5\n} else {\n    6\n})\nprint(xs)\n') \
        == '1 3.0 one [1] 20\n[5]\n'


def test_an_if_expression_of_int_literals_adapts_to_a_float():
    s, out = session()
    s.run("fn f(x: float) -> float { return x * (if x > 1.0 { 2 } else { 3 }) }\n"
          "print(f(2.0), f(0.5), grad(f)(2.0), grad(grad(f))(0.5))\n")
    assert out.text == "4.0 1.5 2.0 0.0\n"
    body = s.env.values["f"].decl.body[0].value.right
    assert isinstance(body.then.value, float) and isinstance(body.orelse.value, float)


def test_if_expression_evaluates_only_the_branch_taken():
    assert run('fn shout(s: string) -> int { print(s)\n return 1 }\n'
               'let a = if 1 < 2 { shout("then") } else { shout("else") }\nprint(a)\n') == "then\n1\n"


def test_if_expression_branch_is_a_copy():
    assert run("var a = [1.0]\nlet b = if true { a } else { [2.0] }\na[0] = 5.0\nprint(a, b)\n") == "[5.0] [1.0]\n"


def test_an_if_at_the_start_of_a_line_is_a_statement():
    # after `return` on the line before, after `=` ending no line, after `;`
    assert run('fn g(x: int) {\n    if x > 5 { print("big") }\n    return\n    if x > 0 { print("never") }\n}\n'
               'g(7); if true { print("after ;") }\nvar y = 1\nif y > 0 { print("stmt") }\n') \
        == "big\nafter ;\nstmt\n"


def test_if_expression_prints_and_parses_back():
    from dp.dsl.parser import parse
    from dp.dsl.printer import program_src
    src = ("let y = if a { 1 } else if b { 2 } else { 3 }\n(if a { f(1) } else { f(2) })\n"
           "let z = (if a { t } else { u }).0 + (if a { 1 } else { 2 }) * 3\n")
    once = program_src(parse(src, "t.dp"))
    assert once == src and program_src(parse(once, "t.dp")) == once


def test_if_expression_errors():
    cases = [
        ("let y = if true { 1 } else { 2.5 }\nlet n: int = y\n", "expected `int`, found `float`"),
        ('let y = if true { 1 } else { "a" }\n', "the branches of this `if` have different types, `int` and `string`"),
        ("let y = if 1 { 1 } else { 2 }\n", "expected `bool`"),
        ("let y = if true { 1 }\n", "syntax error"),
        ("let y = if true { let a = 1 } else { 2 }\n", "this branch of an `if` expression does not end in an expression"),
        ("let y = if true { print(1) } else { print(2) }\n", "the branches of this `if` have no value"),
    ]
    for src, want in cases:
        e = error_of(src)
        assert want in str(e), (src, str(e))


def test_set_values():
    assert run("var s = set([3, 1, 3, 2])\ns.add(5)\ns.add(1)\nprint(s, len(s), s.contains(2), s.contains(7))\n"
               "s.remove(3)\nvar t: set[int] = set([])\nt.add(2)\n"
               "print(s, t, s.union(set([9])), s.intersection(t), s.difference(t), s.to_list(), sort(s.to_list()))\n"
               "for x in s { s.add(x * 10) }\nprint(s)\n"
               'print(set([(1, "a"), (1, "a")]), set([true]) == set([true, true]), set([1, 2]) == set([2, 1]))\n') \
        == ("set([3, 1, 2, 5]) 4 true false\n"
            "set([1, 2, 5]) set([2]) set([1, 2, 5, 9]) set([2]) set([1, 5]) [1, 2, 5] [1, 2, 5]\n"
            "set([1, 2, 5, 10, 20, 50])\n"
            'set([(1, "a")]) true true\n')


def test_a_set_is_a_value():
    assert run("var a = set([1])\nvar b = a\nb.add(2)\nvar xs = [a]\na.add(3)\nprint(a, b, xs)\n") \
        == "set([1, 3]) set([1, 2]) [set([1])]\n"


def test_set_errors():
    cases = [
        ("var s = set([1])\ns.remove(4)\n", "4 is not in the set"),
        ("let s = set([1])\ns.add(2)\n", "cannot assign to `s`"),
        ("let s = set([1.5])\n", "`float` cannot be a set's element"),
        ("let s: set[float] = set([])\n", "`float` cannot be a set's element"),
        ("let s = set([])\n", "cannot tell the type of an empty literal"),
        ("let s = set([1])\nprint(s.add(\"a\"))\n", "expected `int`, found `string`"),
        ("let s = set([1])\nprint(s[0])\n", "cannot index a `set[int]`"),
        ("let s = set(3)\n", "`set` takes a list, not `int`"),
        ("let s = set([1])\nprint(s.append(2))\n", "`set[int]` has no method `append`"),
    ]
    for src, want in cases:
        e = error_of(src)
        assert want in str(e), (src, str(e))


def test_a_user_function_named_set_shadows_the_constructor():
    assert run("fn set(v: float) -> int { return int(v) }\nprint(set(5.0))\n") == "5\n"


def test_defaultdict_values():
    assert run('var counts: defaultdict[string, int] = defaultdict(0)\nfor w in ["a", "b", "a"] { counts[w] += 1 }\n'
               'print(counts, counts["zzz"], len(counts), counts.contains("zzz"))\n'
               'var groups: defaultdict[int, list[string]] = defaultdict([])\n'
               'for (i, w) in enumerate(["x", "y", "z", "w"]) { groups[i % 2].append(w) }\n'
               'print(groups, groups[5], groups.keys())\nlet g2 = groups\ngroups[0].append("q")\nprint(g2[0], groups[0])\n'
               'var e: defaultdict[int, (int, string)] = defaultdict((1, "one"))\nprint(e[3], e.get(3, (0, "")), e)\n') \
        == ('{"a": 2, "b": 1} 0 2 false\n{0: ["x", "z"], 1: ["y", "w"]} [] [0, 1]\n["x", "z"] ["x", "z", "q"]\n'
            '(1, "one") (0, "") {}\n')


def test_a_defaultdict_default_is_made_afresh_for_each_key():
    assert run("var d: defaultdict[int, list[int]] = defaultdict([])\nd[0].append(1)\nd[1].append(2)\nvar x = d[2]\n"
               "x.append(3)\nprint(d, x)\n") == "{0: [1], 1: [2]} [3]\n"


def test_a_defaultdict_as_a_parameter():
    s, out = session()
    s.run('fn h(d: defaultdict[string, float], x: float) -> float { return d["a"] * x + d["b"] * d["b"] }\n'
          'var d: defaultdict[string, float] = defaultdict(0.0)\nd["a"] = 2.0\n'
          'print(h(d, 3.0), grad(h)(d, 3.0), grad(h, 1)(d, 3.0), d)\n')
    # a missing key read gives a zero entry to the gradient
    assert out.text == '6.0 {"a": 3.0, "b": 0.0} 2.0 {"a": 2.0}\n'


def test_defaultdict_errors():
    cases = [
        ("let d = defaultdict(0)\n", "cannot tell the keys of this `defaultdict`"),
        ("let x = 1.0\nvar d: defaultdict[int, float] = defaultdict(x)\n", "a `defaultdict`'s default is a constant"),
        ("var d: defaultdict[int, float] = defaultdict(\"a\")\n", "expected `float`, found `string`"),
        ("var d: defaultdict[int, float] = {}\n", "expected `defaultdict[int, float]`, found `dict"),
        ("var d: defaultdict[float, float] = defaultdict(0.0)\n", "`float` cannot be a dict key"),
        ("fn g(d: dict[int, int]) -> int { return 0 }\nvar d: defaultdict[int, int] = defaultdict(0)\nprint(g(d))\n",
         "expected `dict[int, int]`, found `defaultdict[int, int]`"),
    ]
    for src, want in cases:
        e = error_of(src)
        assert want in str(e), (src, str(e))


def test_items_is_a_copy():
    assert run('var d = {"a": [1.0]}\nvar its = d.items()\nd["a"][0] = 5.0\nprint(its)\n') == '[("a", [1.0])]\n'


def test_destructuring_errors():
    e = error_of("for (a, b) in [1, 2] { print(a) }\n")
    assert "cannot unpack `int` into 2 names" in str(e) and e.diagnostics[0].line == 1
    e = error_of("for (a, b) in [(1, 2, 3)] { print(a) }\n")
    assert "cannot unpack `(int, int, int)` into 2 names" in str(e)
    e = error_of("for (a, b) in 0..3 { print(a) }\n")
    assert "a range loop binds one int" in str(e)
    e = error_of("for (a, b) in [(1, 2)] { a = 3 }\n")
    assert "loop variable" in str(e)
