"""`dp fmt FILE…` (interpreter/fmt.py): files rewritten in DP's layout with their
comments, `--check` for CI, and every refusal a DP diagnostic."""
import json

import pytest

from dp.dsl.diagnostics import DPError
from dp.interpreter.fmt import format_source
from tests.test_cli import dp

MESSY = "# the area of a circle\nimport math   # for pi\n\nfn  area(r:float)->float {   # r: the radius\n" \
        "    let a = math.pi*r*r  # pi r^2\n    # on its own line\n    return a\n}\n\n\nprint(area( 2.0 ))\n"
TIDY = "# the area of a circle\nimport math  # for pi\n\nfn area(r: float) -> float {  # r: the radius\n" \
       "    let a = math.pi * r * r  # pi r^2\n    # on its own line\n    return a\n}\n\nprint(area(2.0))\n"


def test_fmt_rewrites_a_file_keeping_its_comments(tmp_path):
    f = tmp_path / "area.dp"
    f.write_text(MESSY)
    r = dp("fmt", f)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", f"reformatted {f}\n")
    assert f.read_text() == TIDY
    r = dp("fmt", f)                                      # formatted: nothing to do
    assert (r.returncode, r.stderr, f.read_text()) == (0, "", TIDY)


def test_check_changes_nothing_and_exits_1_when_a_file_would_change(tmp_path):
    messy, tidy = tmp_path / "messy.dp", tmp_path / "tidy.dp"
    messy.write_text(MESSY)
    tidy.write_text(TIDY)
    r = dp("fmt", "--check", messy, tidy)
    assert (r.returncode, r.stderr) == (1, f"would reformat {messy}\n")
    assert messy.read_text() == MESSY
    assert dp("fmt", "--check", tidy).returncode == 0
    r = dp("fmt", "--check", "--json", messy, tidy)
    assert r.returncode == 1 and json.loads(r.stdout) == {"diagnostics": [], "would_change": [str(messy)]}


def test_stdin_to_stdout():
    r = dp("fmt", "-", stdin="fn  f( )->int{return 1}\n")
    assert (r.returncode, r.stdout) == (0, "fn f() -> int {\n    return 1\n}\n")


def test_a_file_that_cannot_be_formatted_is_left_as_it_is_with_a_diagnostic(tmp_path):
    bad, inside, tidy = tmp_path / "bad.dp", tmp_path / "inside.dp", tmp_path / "tidy.dp"
    bad.write_text("let x = (1 +\n")
    inside.write_text("let x = 1 +  # one\n    2\n")
    tidy.write_text(TIDY)
    r = dp("fmt", bad, inside, tidy, tmp_path / "none.dp")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"{bad}:1:" in r.stderr and "syntax error" in r.stderr
    assert f"{inside}:1:14: format error: not formatted: formatting would drop the comment on line 1: " in r.stderr
    assert "   1 | let x = 1 +  # one\n                    ^^^^^\n  hint: move the comment onto a line of its own" in r.stderr
    assert f"dp: cannot read {tmp_path / 'none.dp'}: No such file or directory" in r.stderr
    assert bad.read_text() == "let x = (1 +\n" and inside.read_text() == "let x = 1 +  # one\n    2\n"
    r = dp("fmt", "--json", inside)
    d, = json.loads(r.stdout)["diagnostics"]
    assert (r.returncode, d["file"], d["line"], d["kind"], d["severity"]) == (1, str(inside), 1, "format error", "error")


def tidy(text: str) -> str:
    """text formatted, checking that formatting it again changes nothing."""
    out = format_source(text, "t.dp")
    assert format_source(out, "t.dp") == out
    return out


def test_a_comment_inside_a_list_call_or_dict_goes_with_its_element_one_to_a_line():
    messy = ("let xs = [\n    1.0,   # first\n    # the second\n    2.0,\n]\n"
             "let y = f(a,     # why a\n          b)\n"
             "let d = {\n    \"k\": 1.0,  # note\n}\n")
    assert tidy(messy) == ("let xs = [\n    1.0,  # first\n    # the second\n    2.0,\n]\n"
                           "let y = f(\n    a,  # why a\n    b,\n)\n"
                           "let d = {\n    \"k\": 1.0,  # note\n}\n")


def test_after_the_opener_before_the_closer_and_after_the_statement():
    assert tidy("let xs = [  # the list\n  1.0, 2.0,  # two\n  3.0\n  # the end\n]  # xs\n") == \
        "let xs = [  # the list\n    1.0,\n    2.0,  # two\n    3.0,\n    # the end\n]  # xs\n"
    assert tidy("let e = f(  # nothing\n)\n") == "let e = f(  # nothing\n)\n"
    assert tidy("let t = (1.0,  # one\n)\n") == "let t = (\n    1.0,  # one\n)\n"


def test_what_encloses_a_broken_expression_is_broken_too():
    assert tidy("let y = g(1.0, f(a,  # c\n  b)) + 1.0  # end\n") == \
        "let y = g(\n    1.0,\n    f(\n        a,  # c\n        b,\n    ),\n) + 1.0  # end\n"
    assert tidy("struct P {\n    x: float\n    y: float\n}\nlet p = P { x: 1.0,  # x\n  y: 2.0 }\n") == \
        "struct P {\n    x: float\n    y: float\n}\nlet p = P {\n    x: 1.0,  # x\n    y: 2.0,\n}\n"


def test_parameters_function_literals_headers_and_rules_keep_their_comments():
    assert tidy("fn f(a: float,  # first\n     b: float) -> float {  # f\n    return a\n}\n") == \
        "fn f(\n    a: float,  # first\n    b: float,\n) -> float {  # f\n    return a\n}\n"
    assert tidy("let g = fn(x: float) -> float {  # sq\n    # own\n  return x * x  # the square\n}  # g\n") == \
        "let g = fn(x: float) -> float {  # sq\n    # own\n    return x * x  # the square\n}  # g\n"
    assert tidy('for k in keys({"a": 1.0,  # a\n   "b": 2.0}) {  # loop\n    print(k)\n}\n') == \
        'for k in keys(\n    {\n        "a": 1.0,  # a\n        "b": 2.0,\n    },\n) {  # loop\n    print(k)\n}\n'
    assert tidy("derivative f(x) -> y {  # rule\n  # tangent\n  y_dot = g(x,  # x\n    x_dot)  # t\n}\n") == \
        "derivative f(x) -> y {  # rule\n    # tangent\n    y_dot = g(\n        x,  # x\n        x_dot,\n    )  # t\n}\n"


def test_a_dict_or_struct_literal_in_a_header_is_not_taken_for_its_block():
    # the `{` after the header's expression opens the block: the comments before its
    # `}` stay inside it (they moved into the else, or were refused)
    text = ('let d = {"a": 1.0}\nif d == {"a": 1.0} {\n    print(1)\n    # end of then\n} else {  # else\n'
            '    print(2)\n    # end of else\n}  # end\n'
            'while d == {"a": 1.0} {  # w\n    print(1)\n    # end of while\n}  # end\n'
            'for k in keys({"a": 1.0}) {  # f\n    print(k)\n    # end of for\n}  # end\n')
    assert tidy(text) == text
    # a struct literal in a header needs its parentheses (`P {` would open the block)
    text = "struct P {\n    x: float\n}\nif P { x: 1.0 } == (P { x: 1.0 }) {\n    print(1)\n}\n"
    assert tidy(text.replace("if P { x: 1.0 }", "if (P { x: 1.0 })")) == \
        "struct P {\n    x: float\n}\nif (P { x: 1.0 }) == (P { x: 1.0 }) {\n    print(1)\n}\n"


def test_a_comment_after_a_match_arm_stays_with_that_arm():
    e = "enum E {\n    A,\n    B(float)\n}\n"
    messy = e + ("fn f(e: E) -> float {\n    match e {\n        A => { return 1.0 }  # one\n"
                 "        B(x) => {\n            return x  # x\n        }\n    }\n}\n")
    assert tidy(messy) == e + ("fn f(e: E) -> float {\n    match e {\n        A => {  # one\n            return 1.0\n"
                               "        }\n        B(x) => {\n            return x  # x\n        }\n    }\n}\n")
    # after two arms on one line, it is about the last
    assert tidy(e + "fn f(e: E) -> float {\n    match e {\n        A => { return 1.0 } B(x) => { return x }  # b\n"
                "    }\n}\n") == e + ("fn f(e: E) -> float {\n    match e {\n        A => {\n            return 1.0\n"
                                     "        }\n        B(x) => {  # b\n            return x\n        }\n    }\n}\n")


@pytest.mark.parametrize("text, line, col", [
    ("let y = 1.0 +  # why\n    2.0\n", 1, 16),                 # inside an operation
    ("let y =  # why\n    2.0\n", 1, 10),                       # between `=` and the value
    ("let y = [1.0,\n  2.0 *  # why\n    3.0]\n", 2, 10),         # inside an element's operation
    ("let y = xs[0 +\n  # why\n  1]\n", 2, 3),                   # a comment line inside an index
])
def test_a_comment_with_no_place_is_refused_where_it_is(text, line, col):
    with pytest.raises(DPError) as e:
        format_source(text, "t.dp")
    d, = e.value.diagnostics
    assert (d.kind, d.line, d.column) == ("format error", line, col)
    assert d.message.startswith(f"not formatted: formatting would drop the comment on line {line}: ")
    assert d.hint.startswith("move the comment onto a line of its own")
