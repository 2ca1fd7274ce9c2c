"""The printer (dsl/printer.py): printing then re-parsing is an identity.

For source files (every example and standard library module): parsing the printed
program gives the same tree, and printing that gives the same text. For derived code
(every function DP makes for the examples' derivatives, comments included): print →
parse → print gives the same text. And the values only a printer can get wrong —
infinities, NaN, negative zero, one-element tuples, strings — print as DP that reads
back as the same value."""
from __future__ import annotations

import glob
import math
import os

import pytest

from dp.dsl import syntax as S
from dp.dsl.parser import parse
from dp.dsl.printer import expr_src, program_src, stmt_src
from helpers import Captured, example, run
from dp.interpreter.session import Session

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCES = sorted(glob.glob(os.path.join(ROOT, "examples", "*.dp")) + glob.glob(os.path.join(ROOT, "dp", "stdlib", "*.dp")))
_SKIP = {"span", "ty", "sym", "syms", "target", "captures"}


def same_tree(a, b, where="program") -> list[str]:
    """Where two syntax trees differ, spans and checker annotations aside."""
    if isinstance(a, S.Node):
        if type(a) is not type(b):
            return [f"{where}: {type(a).__name__} != {type(b).__name__}"]
        out = []
        for f in a.__record_fields__:
            if f not in _SKIP:
                out += same_tree(getattr(a, f), getattr(b, f), f"{where}.{f}")
        return out
    if isinstance(a, (list, tuple)):
        if not isinstance(b, type(a)) or len(a) != len(b):
            return [f"{where}: {a!r} != {b!r}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in same_tree(x, y, f"{where}[{i}]")]
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return []
    if type(a) is not type(b) or a != b or (isinstance(a, float) and math.copysign(1, a) != math.copysign(1, b)):
        return [f"{where}: {a!r} != {b!r}"]
    return []


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: os.path.relpath(p, ROOT))
def test_printing_a_source_file_then_parsing_it_gives_the_same_tree_and_text(path):
    with open(path, encoding="utf-8") as f:
        tree = parse(f.read(), path)
    text = program_src(tree)
    again = parse(text, "printed.dp")
    assert same_tree(tree, again) == []
    assert program_src(again) == text


def _derived_functions():
    """Every function DP made while running the examples (their derivatives and the
    functions those call), as checked trees."""
    out = []
    for path in sorted(glob.glob(os.path.join(ROOT, "examples", "*.dp"))):
        s = example(path).a
        for name, sym in s.ad.syms.items():
            if sym is not None and isinstance(sym.decl, S.FnDef):
                out.append((f"{os.path.basename(path)}:{name}", sym.decl))
    return out


def test_printing_derived_code_then_parsing_it_gives_the_same_text():
    fns = _derived_functions()
    assert len(fns) > 50
    bad = []
    for label, fn in fns:
        text = stmt_src(fn)
        again = stmt_src(parse(text, "derived.dp").body[0])
        if again != text:
            bad.append(f"{label}:\n{text}\n--- printed again:\n{again}")
    assert not bad, "\n\n".join(bad[:3])


# ---------------------------------------------------------------- values

@pytest.mark.parametrize("value,text", [
    (float("inf"), "inf"), (float("-inf"), "-inf"), (-0.0, "-0.0"), (0.0, "0.0"), (1e-05, "1.0e-05"),
    (1e300, "1.0e+300"), (2.5, "2.5"), (-3.25, "-3.25"), (0.1, "0.1"),
])
def test_a_float_prints_as_a_literal_that_reads_back_as_it(value, text):
    assert expr_src(S.Num(value)) == text
    assert run(f"let v: float = {text}\nprint(v)\n") == f"{_shown(value)}\n"


def _shown(v: float) -> str:
    from dp.interpreter.values import format_float
    return format_float(v)


def test_nan_prints_as_the_nan_literal():
    assert expr_src(S.Num(float("nan"))) == "nan"
    assert run("let v = nan\nprint(v, v == v, v != v)\n") == "nan false true\n"


def test_negative_zero_keeps_its_sign_through_printing():
    s = Session(Captured())
    s.run("fn f(x: float) -> float { return x * -0.0 }", "neg.dp")
    text = stmt_src(s.env.values["f"].decl)
    s2 = Session(Captured())
    s2.run(text, "printed.dp")
    assert math.copysign(1, s2.run("f(1.0)").value) == -1


@pytest.mark.parametrize("src", [
    "let t: (float,) = (1.0,)\n",
    "fn f(t: (float,)) -> (float,) {\n    return (t.0 * 2.0,)\n}\n",
    "let g: fn((float,)) -> (float, (int,)) = fn(t: (float,)) -> (float, (int,)) {\n    return (t.0, (1,))\n}\n",
])
def test_one_element_tuple_types_print_as_dp(src):
    assert program_src(parse(src, "t.dp")) == src
    run(src)


def test_a_one_element_tuple_type_reads_as_in_diagnostics():
    from helpers import error_of
    e = error_of("let t: (float,) = 1.0\n")
    assert "expected `(float,)`, found `float`" in e.message


@pytest.mark.parametrize("expr", [
    "a - -2.0", "a + -2.0", "-2.0 * a", "(-2.0) ** a", "a ** -2.0", "-(a ** 2.0)", "-a ** 2.0", "a - (b - c)",
    "(a - b) - c", "a / (b * c)", "!(a < b)", "-(-a)", "a - -3", "(-3) ** 2",
])
def test_expressions_print_with_the_parentheses_they_need(expr):
    tree = parse(f"let v = {expr}\n", "e.dp").body[0].value
    text = expr_src(tree)
    assert same_tree(tree, parse(f"let v = {text}\n", "e.dp").body[0].value) == []
    assert expr_src(parse(f"let v = {text}\n", "e.dp").body[0].value) == text


def test_a_negative_number_the_transforms_make_prints_like_the_negation_it_reads_back_as():
    tree = S.Binary("+", S.Name("a"), S.Num(-2.0))
    text = expr_src(tree)
    assert expr_src(parse(f"let v = {text}\n", "e.dp").body[0].value) == text


@pytest.mark.parametrize("value", ["plain", 'with "quotes"', "back\\slash", "tab\tand\nnewline", "bell\x07 and \r"])
def test_strings_print_as_literals_that_read_back_as_them(value):
    text = expr_src(S.Str(value))
    assert parse(f"let v = {text}\n", "s.dp").body[0].value.value == value


def test_an_if_expression_as_a_branch_prints_in_parentheses():
    # `{ if … }` opens an `if` statement, so a branch that is an if expression keeps its
    # parentheses (the random tester, campaign 271828 #268: printed derived code did not parse)
    text = "fn f(x: float) -> float {\n    return if x > 0.0 { (if x > 1.0 { x * x } else { x }) } else { 0.0 }\n}\n"
    printed = program_src(parse(text, "<t>"))
    assert "{ (if x > 1.0 { x * x } else { x }) }" in printed
    assert program_src(parse(printed, "<t2>")) == printed
