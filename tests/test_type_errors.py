"""Ill-typed programs: each is rejected before anything runs, with the expected
message at the expected line and column, and the expected hint."""
import pytest

from dp.dsl.diagnostics import DPError
from helpers import error_of, session

# (name, source, message fragment, line, column, hint fragment or None)
CASES = [
    ("undefined name",
     "let velocity = 1.0\nprint(velocty)",
     "`velocty` is not defined", 2, 7, "did you mean `velocity`?"),
    ("undefined function",
     "fn simulate(n: int) -> int { return n }\nprint(simulat(3))",
     "`simulat` is not defined", 2, 7, "did you mean `simulate`?"),
    ("misspelt builtin",
     "print(sqr(2.0))",
     "`sqr` is not defined", 1, 7, "did you mean `sqrt`?"),
    ("misspelt field",
     "struct P { velocity: float }\nlet p = P { velocity: 1.0 }\nprint(p.velocty)",
     "`P` has no field `velocty`", 3, 7, "did you mean `velocity`?"),
    ("assign to unknown field",
     "struct P { x: float }\nvar p = P { x: 1.0 }\np.y = 2.0",
     "`P` has no field `y`", 3, 1, None),
    ("wrong argument count",
     "fn f(a: float, b: float) -> float { return a + b }\nprint(f(1.0))",
     "`f` takes 2 arguments, 1 given", 2, 7, None),
    ("wrong argument count of a lambda",
     "let f = fn(x: float) -> float { return x }\nprint(f(1.0, 2.0))",
     "`f` takes 1 argument, 2 given", 2, 7, None),
    ("wrong argument type",
     'fn f(a: float) -> float { return a }\nprint(f("s"))',
     "expected `float`, found `string`", 2, 9, None),
    ("int variable used as float",
     "fn f(a: float) -> float { return a }\nlet n = 3\nprint(f(n))",
     "expected `float`, found `int`", 3, 9, "float(...)"),
    ("int variable passed to sqrt",
     "let n = 2\nprint(sqrt(n))",
     "`sqrt` cannot take (int)", 2, 7, "float(...)"),
    ("mixing int and float",
     "let a = 1.0\nlet n = 2\nprint(a * n)",
     "cannot mix `int` and `float` in `*`", 3, 7, "float(...)"),
    ("mixing int and float in +=",
     "fn h() -> int {\n    var total = 0\n    for i in 0..3 { total += 1.5 }\n    return total\n}",
     "cannot mix `int` and `float` in `+`", 3, 21, "float(...)"),
    ("float where int expected",
     "let n: int = 2.5",
     "expected `int`, found `float`", 1, 14, "int(...)"),
    ("assign to let",
     "let a = 1\na = 2",
     "cannot assign to `a`: it is a `let` constant", 2, 1, "declare it with `var a = ...`"),
    ("assign to parameter",
     "fn f(a: float) -> float {\n    a = 2.0\n    return a\n}",
     "cannot assign to `a`: it is a parameter", 2, 5, "var a2 = a"),
    ("assign to loop variable",
     "let xs = [1.0, 2.0]\nfor i in xs { i = 2.0 }",
     "cannot assign to `i`: it is a loop variable", 2, 15, None),
    ("assign to a variable a lambda captures",
     "var k = 1.0\nlet f = fn() -> float {\n    k = 2.0\n    return k\n}",
     "cannot assign to `k` inside a lambda that captures it", 3, 5, "lambdas capture values"),
    ("mutating method on a let",
     "let xs = [1.0]\nxs.append(2.0)",
     "cannot assign to `xs`: it is a `let` constant", 2, 1, "var xs"),
    ("element assignment on a let",
     "let xs = [1.0]\nxs[0] = 2.0",
     "cannot assign to `xs`: it is a `let` constant", 2, 1, None),
    ("assign to tuple element",
     "var t = (1, 2)\nt.0 = 3",
     "tuples are immutable", 2, 1, "build a new tuple"),
    ("missing return",
     "fn f(a: float) -> float {\n    if a > 0.0 { return a }\n}",
     "`f` may end without returning a `float`", 1, 19, "add a `return`"),
    ("missing return after a breaking loop",
     "fn f() -> int {\n    while true {\n        break\n    }\n}",
     "`f` may end without returning an `int`", 1, 11, None),
    ("return type mismatch",
     'fn f(a: float) -> float {\n    return "x"\n}',
     "expected `float`, found `string`", 2, 12, None),
    ("return value from a function without return type",
     "fn f() {\n    return 1\n}",
     "this function declares no return type but returns a value", 2, 12, "declare it: `-> int`"),
    ("lambda returns the wrong type",
     "let f = fn(x: float) -> int { return x }",
     "expected `int`, found `float`", 1, 38, "int(...)"),
    ("break outside loop",
     "let x = 1\nbreak",
     "`break` outside a loop", 2, 1, None),
    ("continue outside loop",
     "continue",
     "`continue` outside a loop", 1, 1, None),
    ("return outside function",
     "return 1",
     "`return` outside a function", 1, 1, None),
    ("unknown type",
     "fn f(a: flot) -> float { return 1.0 }",
     "unknown type `flot`", 1, 9, "did you mean `float`?"),
    ("unknown type in annotation",
     'let s: Strin = "a"',
     "unknown type `Strin`", 1, 8, "did you mean `string`?"),
    ("missing struct field",
     "struct P { x: float, y: float }\nlet p = P { x: 1.0 }",
     "missing field `y` in `P`", 2, 9, "`P` has fields x, y"),
    ("unknown struct field in literal",
     "struct P { x: float }\nlet p = P { x: 1.0, z: 2.0 }",
     "`P` has no field `z`", 2, 24, None),
    ("field given twice",
     "struct P { x: float }\nlet p = P { x: 1.0, x: 2.0 }",
     "field `x` is given twice", 2, 24, None),
    ("unknown struct",
     "struct Vector { x: float }\nprint(Vecto { x: 1.0 })",
     "unknown struct `Vecto`", 2, 7, "did you mean `Vector`?"),
    ("calling a non-function",
     "let a = 1.0\na(2.0)",
     "`float` is not a function", 2, 1, None),
    ("indexing a non-list",
     "let a = 1.0\nprint(a[0])",
     "cannot index a `float`", 2, 7, None),
    ("float list index",
     "var xs = [1.0]\nxs[1.5] = 2.0",
     "a list index must be an `int`, not `float`", 2, 4, "int(...)"),
    ("non-bool if condition",
     "if 1 { print(1) }",
     "expected `bool`, found `int`", 1, 4, None),
    ("non-bool while condition",
     "while 1.0 { }",
     "expected `bool`, found `float`", 1, 7, None),
    ("non-bool operand of &&",
     "let b = true && 1",
     "expected `bool`, found `int`", 1, 17, None),
    ("float range bound",
     "for i in 0..2.5 { }",
     "a range bound must be an `int`, not `float`", 1, 13, "int(x)"),
    ("dict key of the wrong type",
     "var d: dict[string, float] = {}\nd[1] = 2.0",
     "expected `string`, found `int`", 2, 3, None),
    ("dict literal with mixed key types",
     'let m = {1: "a", "b": "c"}',
     "expected `int`, found `string`", 1, 18, None),
    ("list cannot be a dict key",
     "let d: dict[list[int], int] = {}",
     "`list[int]` cannot be a dict key", 1, 13, "keys are int, string, bool or enum"),
    ("empty list without annotation",
     "var xs = []",
     "cannot tell the type of an empty literal", 1, 10, "annotate it: `var xs: list[float] = []`"),
    ("empty dict without annotation",
     "let d = {}",
     "cannot tell the type of an empty literal", 1, 9, None),
    ("list element of the wrong type",
     'var xs: list[float] = [1.0, "a"]',
     "expected `float`, found `string`", 1, 29, None),
    ("match not exhaustive",
     "enum C { R, G, B }\nfn f(c: C) -> int {\n    match c {\n        C.R => { return 1 }\n"
     "        C.G => { return 2 }\n    }\n    return 0\n}",
     "`match` does not cover `B`", 3, 5, "a `_ => { ... }` arm"),
    ("match on a non-enum",
     "let n = 3\nmatch n {\n    _ => { print(1) }\n}",
     "`match` needs an enum value, not `int`", 2, 7, None),
    ("pattern binds the wrong number of values",
     "enum E { A(float) }\nfn g(e: E) -> float {\n    match e {\n        E.A(x, y) => { return x }\n    }\n}",
     "`A` carries 1 value(s), the pattern names 2", 4, 9, None),
    ("misspelt enum variant",
     "enum Shape { Circle, Square }\nlet s = Shape.Circel",
     "`Shape` has no variant `Circel`", 2, 9, "did you mean `Circle`?"),
    ("duplicate function",
     "fn f() -> int { return 1 }\nfn f() -> int { return 2 }",
     "function `f` is defined twice", 2, 1, "the first definition is at line 1"),
    ("duplicate global",
     "let x = 1\nlet x = 2",
     "`x` is already defined", 2, 1, "it was defined at line 1"),
    ("duplicate local in a block",
     "fn f() {\n    let y = 1\n    var y = 2\n}",
     "`y` is already defined in this block", 3, 5, None),
    ("duplicate struct",
     "struct A { x: float }\nstruct A { y: float }",
     "`A` is defined twice", 2, 1, "the first definition is at line 1"),
    ("struct named like a builtin type",
     "struct float { x: int }",
     "`float` is a built-in type name", 1, 1, "choose another name"),
    ("function named like a builtin",
     "fn len(x: int) -> int { return x }",
     "`len` is a built-in function", 1, 1, "choose another name"),
    ("adding a string and an int",
     'let s = "a" + 1',
     "cannot add `string` and `int`", 1, 9, "str(...)"),
    ("negating a bool",
     "let a = true\nprint(-a)",
     "cannot negate a `bool`", 2, 7, None),
    ("tuple index out of range",
     "let t = (1, 2)\nprint(t.2)",
     "tuple index 2 is out of range for `(int, int)`", 2, 7, "the tuple has 2 items"),
    ("tuple field on a non-tuple",
     "let t = 1.0\nprint(t.0)",
     "`.0` needs a tuple, not `float`", 2, 7, None),
    ("unpacking the wrong number of names",
     "let (a, b) = (1, 2, 3)",
     "cannot unpack `(int, int, int)` into 2 names", 1, 14, "a tuple of 2"),
    ("unknown list method",
     "var xs = [1.0]\nxs.apend(2.0)",
     "`list[float]` has no method `apend`", 2, 1, "did you mean `append`?"),
    ("unknown dict method",
     'var d = {"a": 1.0}\nd.push(1.0)',
     "`dict[string, float]` has no method `push`", 2, 1, "its methods"),
    ("method argument count",
     'var d = {"a": 1}\nprint(d.get("a"))',
     "`.get` takes 2 arguments, 1 given", 2, 7, None),
    ("builtin argument count",
     "print(sqrt(1.0, 2.0))",
     "`sqrt` takes 1 argument, 2 given", 1, 7, None),
    ("len of an int",
     "print(len(3))",
     "`len` needs a list, dict, set, string or tensor, not `int`", 1, 11, None),
    ("using a unit result as a value",
     "let u = print(1)",
     "this expression has no value", 1, 9, "it returns `()`"),
    ("a type used as a value",
     "struct P { x: float }\nprint(P)",
     "`P` is a type, not a value", 2, 7, "build one with `P { ... }`"),
    ("field of a float",
     "let x = 1.0\nprint(x.y)",
     "`float` has no field `y`", 2, 7, None),
    ("comparing int and float variables",
     "let a = 1\nlet b = 2.0\nprint(a < b)",
     "cannot compare `int` with `float`", 3, 7, "float(...)"),
    ("ordering structs",
     "struct P { x: float }\nlet p = P { x: 1.0 }\nprint(p < p)",
     "`<` needs numbers or strings, not `P`", 3, 7, None),
    ("reassigning with another type",
     'var x = 1\nx = "s"',
     "expected `int`, found `string`", 2, 5, None),
    ("struct containing itself",
     "struct S { x: float, next: S }",
     "struct `S` contains itself", 1, 1, "list[S]"),
    ("duplicate match arm",
     "enum E { A, B }\nmatch E.A {\n    E.A => { }\n    E.A => { }\n    E.B => { }\n}",
     "`A` is already matched above", 4, 5, None),
    ("match arm after the wildcard",
     "enum E { A, B }\nmatch E.A {\n    _ => { }\n    E.A => { }\n}",
     "this arm can never run", 4, 5, "move the `_` arm last"),
    ("changing a list inside a tuple",
     "var t = (1, [2])\nt.1.append(3)",
     "tuples are immutable", 2, 1, "build a new tuple"),
    ("reserved field name",
     "struct S { x: int, _fields: int }",
     "`_fields` cannot name a field", 1, 20, "choose another name"),
    ("named function inside a function",
     "fn f() {\n    fn g() { }\n}",
     "named functions are declared at the top level", 2, 5, "bind a lambda"),
]


@pytest.mark.parametrize("name,src,message,line,col,hint", CASES, ids=[c[0] for c in CASES])
def test_type_error(name, src, message, line, col, hint):
    e = error_of(src)
    d = e.first
    assert d.kind == "type error", e.render()
    assert message in d.message, e.render()
    assert (d.line, d.column) == (line, col), e.render()
    if hint is not None:
        assert d.hint is not None and hint in d.hint, e.render()
    assert len(e.diagnostics) == 1, e.render()


def test_there_are_many_distinct_cases():
    assert len({c[2] for c in CASES}) >= 25


def test_type_errors_are_found_before_anything_runs():
    s, out = session()
    with pytest.raises(DPError):
        s.run('print("side effect")\nlet x: int = 1.5')
    assert out.text == ""


def test_all_errors_in_a_program_are_reported():
    e = error_of('print(undefined_thing)\nlet z: float = "s"\nfn g() -> int { return 1.0 }\n')
    got = [(d.line, d.column, d.message) for d in e.diagnostics]
    assert got == [(1, 7, "`undefined_thing` is not defined"),
                   (2, 16, "expected `float`, found `string`"),
                   (3, 24, "expected `int`, found `float`")]


def test_one_mistake_gives_one_diagnostic():
    # the undefined name poisons the expressions around it without more errors
    e = error_of("let a = missing * 2.0 + 1.0\nlet b = a + 1.0\nprint(sqrt(a), a.x)")
    assert [(d.line, d.message) for d in e.diagnostics] == [(1, "`missing` is not defined")]


def test_rendered_diagnostic_has_location_source_line_caret_and_hint():
    e = error_of("struct P { velocity: float }\nlet p = P { velocity: 1.0 }\nprint(p.velocty)\n",
                 file="prog.dp")
    assert e.render() == (
        "prog.dp:3:7: type error: `P` has no field `velocty`\n"
        "   3 | print(p.velocty)\n"
        "             ^^^^^^^^^\n"
        "  hint: did you mean `velocity`?")


def test_syntax_error_is_a_diagnostic():
    e = error_of("let x = (1.0\n")
    assert e.first.kind == "syntax error"
    assert (e.message, e.line, e.column) == ("this `(` is not closed by the end of the input", 1, 9)
    assert e.first.hint == "add the `)` that closes it"
    e = error_of("let a = 1 +* 2")
    assert (e.first.kind, e.message, e.line, e.column) == ("syntax error", "unexpected `*`", 1, 12)


def test_a_failed_check_leaves_the_session_unchanged():
    s, out = session()
    s.run("var a = 1")
    with pytest.raises(DPError):
        s.run("var b = 2\na = \"oops\"")
    s.run("print(a)")
    with pytest.raises(DPError):
        s.run("print(b)")
    assert out.text == "1\n"


@pytest.mark.parametrize("src", [
    "print(" + " + ".join(["1"] * 3000) + ")",
    "print(" + "[" * 400 + "1" + "]" * 400 + ")",
    "fn f(x: int) -> int { return x }\nprint(" + "f(" * 400 + "1" + ")" * 400 + ")",
], ids=["long sum", "nested lists", "nested calls"])
def test_absurdly_deep_nesting_is_a_diagnostic(src):
    e = error_of(src)
    assert e.message == "this program is nested too deeply"


def test_loops_nested_deeper_than_python_allows_are_a_diagnostic():
    ok = "var x = 0\n" + "while x < 1 {\n" * 20 + "x += 1\n" + "}\n" * 20 + "print(x)"
    from helpers import run
    assert run(ok) == "1\n"
    e = error_of("var x = 0\n" + "while x < 1 {\n" * 21 + "x += 1\n" + "}\n" * 21)
    assert (e.message, e.line, e.column) == ("loops are nested more than 20 deep", 22, 1)
