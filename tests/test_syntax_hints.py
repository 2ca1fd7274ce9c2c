"""dsl/syntax_hints.py: every habit in its tables has an example that gets its message;
`expected …` puts the likeliest tokens first and drops none; an unclosed bracket is
found where it was left open. The cases with their full message, caret column and
hint are programs in tests/testdata/diagnostics.dp."""
import pytest

from dp.dsl import syntax_hints as H
from dp.dsl.diagnostics import DPError
from dp.dsl.parser import parse
from helpers import error_of, run
from dp.interpreter.repl import needs_more


def syntax_error(src: str):
    with pytest.raises(DPError) as info:
        parse(src, "t.dp")
    d = info.value.first
    assert d.kind == "syntax error" and d.source_line is not None
    return d


# one example for each entry of the tables: (source, the word the caret is under)
BEFORE = {
    "def": ("def f(x):\n    return x", "def"), "function": ("function f(x) {\n}", "function"),
    "func": ("func f(x) {\n}", "func"), "fun": ("fun f(x) {\n}", "fun"),
    "elif": ("if a {\n} elif b {\n}", "elif"), "elsif": ("if a {\n} elsif b {\n}", "elsif"),
    "elseif": ("if a {\n} elseif b {\n}", "elseif"), "not": ("if not a {\n}", "not"),
    "const": ("const n = 3", "const"), "mut": ("let mut n = 3", "mut"),
    "lambda": ("let f = lambda x: x", "lambda"), "from": ("from linalg import solve", "from"),
    "switch": ("switch c {\n}", "switch"),
}
AT = {"and": "if a and b {\n}", "or": "print(a or b)", "then": "if a then {\n}", "is": "if a is b {\n}",
      "as": "import linalg as la"}
CHARACTERS = {"^": "let y = x ^ 2", "'": "let s = 'a'", "&": "let y = a & b", "|": "let y = a | b",
              "?": "let y = c ? a : b"}


def test_every_habit_has_an_example():
    assert set(BEFORE) == set(H._BEFORE) and set(AT) == set(H._AT) and set(CHARACTERS) == set(H._CHARACTERS)


@pytest.mark.parametrize("word", sorted(BEFORE))
def test_a_word_from_another_language_before_the_error(word):
    src, under = BEFORE[word]
    d = syntax_error(src)
    assert d.message == H._BEFORE[word][0] and d.hint.startswith(H._BEFORE[word][1].split("{")[0])
    line = src.split("\n")[d.line - 1]
    assert line[d.column - 1:d.span.end_col - 1] == under


@pytest.mark.parametrize("word", sorted(AT))
def test_a_word_from_another_language_at_the_error(word):
    d = syntax_error(AT[word])
    assert (d.message, d.hint) == H._AT[word]
    assert AT[word][d.column - 1:d.span.end_col - 1] == word


@pytest.mark.parametrize("char", sorted(CHARACTERS))
def test_a_character_from_another_language(char):
    d = syntax_error(CHARACTERS[char])
    assert (d.message, d.hint) == H._CHARACTERS[char] and CHARACTERS[char][d.column - 1] == char


@pytest.mark.parametrize("name", sorted(H._NAMES_ELSEWHERE))
def test_a_name_from_another_language_is_a_type_error_with_its_hint(name):
    e = error_of(f"let v = {name}")
    assert (e.message, e.first.hint, e.column) == (f"`{name}` is not defined", H._NAMES_ELSEWHERE[name], 9)


@pytest.mark.parametrize("module", H.stdlib_modules())
def test_a_module_used_without_its_import_names_the_import(module):
    e = error_of(f"let v = {module}.anything")
    assert e.message == f"`{module}` is not defined" and f"add `import {module}`" in e.first.hint
    assert e.column == 9


@pytest.mark.parametrize("src", ["print(xs[1:5:2])", "print(xs[::2])", "xs[1:3:1] = ys", "print(t[0, 1:4:2])",
                                 "print(xs[f(1, [2]):3:1])"])
def test_a_slice_with_a_step_says_slices_have_none(src):
    d = syntax_error(src)
    assert d.message == "DP's slices have no step" and d.hint.startswith("a slice is `xs[lo:hi]`")
    assert src[d.column - 1] == ":" and src[:d.column - 1].count(":") >= 1


def test_a_colon_elsewhere_in_brackets_is_no_step():
    assert syntax_error("let d = [a: 1, b: 2]").message != "DP's slices have no step"
    assert syntax_error("print(xs[d[1:2] 3])").message != "DP's slices have no step"


def test_a_word_of_another_language_is_an_ordinary_name_in_dp():
    assert run("let elif = 1\nlet lambda = 2\nprint(elif + lambda)") == "3\n"


def test_a_misspelt_variable_is_still_suggested_before_a_declaration():
    e = error_of("var total = 0\ntotl = 5")
    assert e.first.hint == "did you mean `total`?"


# ---------------------------------------------------------------------- what was expected


@pytest.mark.parametrize("src, hint", [
    # the closer first, then the separators; groups rather than a cut list (this once
    # read "expected `%`, `&&`, `(`, `)`, `**`, `*`, `+=`, `+`" and had lost `}`)
    ("let a = 1\nif a > 0 { print(a) a }", "expected `}`, `=`, `+=`, an operator or a new line"),
    ("let xs = [1, 2 3]", "expected `]`, `,` or an operator"),
    ("struct P { x: float y: float }", "expected `}`, `,`, `.`, `[` or a new line"),
    ("let d = {1: 2, 3 4}", "expected `:` or an operator"),
    (")", "expected a statement or a new line"),
    ("let a = 1 +* 2", "expected an expression"),
])
def test_expected_puts_the_likeliest_first(src, hint):
    assert syntax_error(src).hint == hint


def test_expected_keeps_every_token_it_does_not_group():
    literals = {"RPAR": ")", "COMMA": ",", "COLON": ":", "EQUAL": "=", "RBRACE": "}", "LBRACE": "{", "DOT": ".",
                "IN": "in"}
    accepts = {"RPAR", "COMMA", "COLON", "EQUAL", "RBRACE", "LBRACE", "IN", "NAME", "STRING", "_NL", "$END"}
    assert H.expected(accepts, literals) == ["`)`", "`}`", "`,`", "`:`", "`{`", "`=`", "`in`", "a name",
                                             "a string", "a new line"]


# ---------------------------------------------------------------------- brackets left open


def test_the_brace_left_open_is_the_one_the_indentation_says():
    src = ("fn f(a: bool, b: bool) -> int {\n"
           "    if a {\n"
           "        if b {\n"
           "            return 1\n"
           "    }\n"                   # closes `if b` by the braces, `if a` by the indentation
           "    return 0\n"
           "}\n")
    d = syntax_error(src)
    assert (d.message, d.line, d.column) == ("this `{` is not closed by the end of the input", 3, 14)
    assert d.hint == "add the `}` that closes it; by the indentation, its block ends before line 5"


def test_a_brace_in_a_string_or_a_comment_is_no_bracket():
    d = syntax_error('fn f() {\n    print("}")  # }\n')
    assert (d.line, d.column) == (1, 8)


def test_the_repl_still_reads_on_while_a_block_is_open():
    for text in ["fn f(x: float) -> float {", "let xs = [1.0,", "let y = (1.0 +", "if true {\n} else {"]:
        assert needs_more(text), text
    assert not needs_more("def f(x):") and not needs_more("i++")
