"""`dp fmt FILE…` (interpreter/fmt.py, interpreter/lsp/formatting.py): files rewritten
in DP's layout with every comment where it was, `--check` for CI, a file that does not
parse refused with the parser's diagnostic; and a comment put at every place between
two tokens of the examples, the library and the docs is kept by fmt, which neither
refuses the file nor changes its program, and formats its own output as it is."""
import glob
import json
import re
import sys
import time

import pytest

from dp.dsl import syntax as S
from dp.dsl.diagnostics import DPError
from dp.dsl.parser import parse
from dp.dsl.printer import program_src
from dp.interpreter.fmt import format_source
from dp.interpreter.lsp.formatting import comments
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


def test_a_file_that_does_not_parse_is_left_as_it_is_with_the_parsers_diagnostic(tmp_path):
    bad, inside, tidy = tmp_path / "bad.dp", tmp_path / "inside.dp", tmp_path / "tidy.dp"
    bad.write_text("let x = (1 +\n")
    inside.write_text("let x = 1 +    # one\n    2\n")
    tidy.write_text(TIDY)
    r = dp("fmt", bad, inside, tidy, tmp_path / "none.dp")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"{bad}:1:13: syntax error: unexpected end of input\n   1 | let x = (1 +\n" in r.stderr
    assert "                   ^\n  hint: " in r.stderr
    assert f"reformatted {inside}" in r.stderr and str(tidy) not in r.stderr
    assert f"dp: cannot read {tmp_path / 'none.dp'}: No such file or directory" in r.stderr
    assert bad.read_text() == "let x = (1 +\n" and inside.read_text() == "let x = 1 +  # one\n    2\n"
    r = dp("fmt", "--json", bad)
    d, = json.loads(r.stdout)["diagnostics"]
    assert (r.returncode, d["file"], d["line"], d["kind"], d["severity"]) == (1, str(bad), 1, "syntax error", "error")


def test_should_the_check_of_its_text_fail_fmt_says_so_and_changes_nothing(monkeypatch):
    # the text fmt makes is parsed again: another program (here, by a bug put in for the test) is refused
    from dp.interpreter.lsp import formatting
    monkeypatch.setattr(formatting._Layout, "text", lambda self: "let x = 2\n")
    with pytest.raises(DPError) as e:
        format_source("let x = 1  # one\n", "t.dp")
    d, = e.value.diagnostics
    assert (d.kind, d.line, d.column, d.source_line) == ("format error", 1, 1, "let x = 1  # one")
    assert "please report it" in d.message and d.hint == "the file is left as it is"


def meaning(text: str) -> str:
    """The program text holds, as the printer prints it, without its comments."""
    prog = parse(text, "t.dp")
    for node in S.walk(prog):
        if isinstance(node, S.Stmt):
            node.comment = None
    return program_src(prog)


def tidy(text: str) -> str:
    """text formatted, checking that formatting it again changes nothing, that it is the
    same program and that every comment is still there."""
    out = format_source(text, "t.dp")
    assert format_source(out, "t.dp") == out
    assert meaning(out) == meaning(text)
    assert sorted(c.strip() for _, c in comments(out)) == sorted(c.strip() for _, c in comments(text))
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




# ---------------------------------------------------------------- comments inside expressions and statements

def test_a_comment_inside_an_operation_ends_its_line_after_the_operator():
    # operators end lines (a newline after one continues the statement); the next line is one level in
    assert tidy("let y = 1.0 +    # why\n  2.0\n") == "let y = 1.0 +  # why\n    2.0\n"
    assert tidy("let y = (a  # before the operator\n  + b)\n") == "let y = a +  # before the operator\n    b\n"
    assert tidy("let y = a *\n# on its own line\n  b\n") == "let y = a *\n    # on its own line\n    b\n"
    assert tidy("fn f(a: float, b: float) -> bool {\n  return a > 0.0 &&  # positive\n  b < a ||  # or\n"
                "  a == b\n}\n") == ("fn f(a: float, b: float) -> bool {\n    return a > 0.0 &&  # positive\n"
                                      "        b < a ||  # or\n        a == b\n}\n")


def test_a_comment_between_a_statements_parts():
    assert tidy("let y =  # why\n  2.0\n") == "let y =  # why\n    2.0\n"
    assert tidy("var y: float =\n  # own\n  2.0\ny =  # again\n  3.0\ny +=  # more\n  1.0\n") == \
        "var y: float =\n    # own\n    2.0\ny =  # again\n    3.0\ny +=  # more\n    1.0\n"
    assert tidy("let x: list[  # of floats\n  float] = []\n") == "let x: list[  # of floats\n    float\n] = []\n"
    assert tidy("let (a,  # first\n  b) = (1, 2)\n") == "let (\n    a,  # first\n    b\n) = (1, 2)\n"
    # a keyword, a `.` or a call's `(` does not end a line: the comment goes after what follows
    assert tidy("let  # odd\n  x = 1\nimport  # odd\n  math\n") == "let x =  # odd\n    1\nimport math  # odd\n"
    assert tidy("let y = (p  # before the dot\n  .x)\nlet z = (f  # before the call\n  (1))\n") == \
        "let y = p.x  # before the dot\nlet z = f(  # before the call\n    1,\n)\n"


def test_a_comment_in_a_header_that_spans_lines():
    # the header's continuation is one level in, as the block is (gofmt's layout)
    assert tidy("fn f(x: float) -> float {\n  if x > 0.0 &&  # positive\n     x < 1.0 {\n    return x\n  }\n"
                "  while x >  # big\n    1.0 {\n    x = x / 2.0\n  }\n  return x\n}\n") == \
        ("fn f(x: float) -> float {\n    if x > 0.0 &&  # positive\n        x < 1.0 {\n        return x\n    }\n"
         "    while x >  # big\n        1.0 {\n        x = x / 2.0\n    }\n    return x\n}\n")
    assert tidy("for i in 0..  # up to n\n  n {\n  print(i)\n}\nfor (k,  # the key\n  v) in d {\n  print(k)\n}\n") == \
        ("for i in 0..  # up to n\n    n {\n    print(i)\n}\n"
         "for (\n    k,  # the key\n    v\n) in d {\n    print(k)\n}\n")
    assert tidy("fn g(x: float) ->  # returns\n  float {\n  return x\n}\n") == \
        "fn g(x: float) ->  # returns\n    float {\n    return x\n}\n"


def test_a_bracket_holding_a_comment_breaks_an_element_a_line_parentheses_that_group_do_not():
    # an index, a type's or a pattern's brackets break as a call's do, without a trailing comma where
    # DP takes none; parentheses that only group stay on the line, their continuation one level in
    assert tidy("let y = xs[i +  # next\n  1]\n") == "let y = xs[\n    i +  # next\n        1\n]\n"
    assert tidy("let y = (a +  # one\n  b) * 2.0\n") == "let y = (a +  # one\n    b) * 2.0\n"
    assert tidy("let y = a +  # one\n  b * (c +  # two\n  d)\n") == \
        "let y = a +  # one\n    b * (c +  # two\n        d)\n"
    assert tidy("let y = [1.0,\n  2.0 *  # why\n    3.0]\n") == \
        "let y = [\n    1.0,\n    2.0 *  # why\n        3.0,\n]\n"
    e = "enum E {\n    A(  # the payload\n        float\n    ),\n    B\n}\n"
    assert tidy("enum E {\n  A(  # the payload\n    float),\n  B\n}\n") == e
    assert tidy(e + "struct P {\n  x:  # its type\n    float\n}\n"
                "fn f(e: E) -> float {\n  match e {\n    A(  # x\n      x) => { return x }\n"
                "    B =>  # nothing\n      { return 0.0 }\n  }\n}\n") == \
        e + ("struct P {\n    x:  # its type\n        float\n}\n"
             "fn f(e: E) -> float {\n    match e {\n        A(  # x\n            x\n        ) => {\n"
             "            return x\n        }\n        B => {  # nothing\n            return 0.0\n"
             "        }\n    }\n}\n")


def test_an_if_expression_holding_a_comment_breaks_all_its_branches():
    assert tidy("let v = if c {  # yes\n  1.0 } else if d { 2.0 } else { 3.0 }\n") == \
        "let v = if c {  # yes\n    1.0\n} else if d {\n    2.0\n} else {\n    3.0\n}\n"
    assert tidy("let w = f(if c { 1.0 } else {\n  # no\n  2.0 })\n") == \
        "let w = f(\n    if c {\n        1.0\n    } else {\n        # no\n        2.0\n    },\n)\n"


def test_a_comment_on_a_line_of_its_own_goes_before_the_token_it_preceded_not_into_a_block():
    assert tidy("if c {\n  x = 1\n}\n# before else\nelse {\n  x = 2\n}\n") == \
        "if c {\n    x = 1\n    # before else\n} else {\n    x = 2\n}\n"
    assert tidy("while (i <\n  # the bound\n  n) {\n  i += 1\n}\n") == \
        "while i <\n    # the bound\n    n {\n    i += 1\n}\n"
    assert tidy("while (i < n\n  # the bound\n  ) {\n  i += 1\n}\n") == \
        "while i <\n    # the bound\n    n {\n    i += 1\n}\n"


def test_a_comment_after_a_function_literal_in_a_call():
    assert tidy("let h = apply(fn(x: float) -> float {\n  return x\n},  # the function\n  2.0)\n") == \
        "let h = apply(\n    fn(x: float) -> float {\n        return x\n    },  # the function\n    2.0,\n)\n"
    assert tidy("let h = apply(fn(x: float) -> float {\n  return x  # x\n}, 2.0)\n") == \
        "let h = apply(fn(x: float) -> float {\n    return x  # x\n}, 2.0)\n"


def test_blank_lines_between_statements_struct_fields_and_match_arms_are_kept():
    assert tidy("let a = 1\n\n\n# b\n\nlet b = 2\nstruct P {\n  x: float\n\n  y: float\n}\n") == \
        "let a = 1\n\n# b\n\nlet b = 2\nstruct P {\n    x: float\n\n    y: float\n}\n"


def test_the_comments_text_is_kept_as_written_after_a_space():
    assert tidy("#!/usr/bin/env dp\nlet a = 1  #two\n#     indented\n#\n") == \
        "#!/usr/bin/env dp\nlet a = 1  # two\n#     indented\n#\n"


def test_a_file_nested_deeply_is_formatted():
    deep = "let y = " + "(" * 120 + "a +  # inside\n  b" + ")" * 120 + "\n"
    assert tidy(deep) == "let y = a +  # inside\n    b\n"


# ---------------------------------------------------------------- a comment at every place

TOUR = """import math
import optim
struct P {
    x: float
    y: float
}
enum Shape {
    Circle(float),
    Rect(float, float),
    Dot
}
fn area(s: Shape) -> float {
    match s {
        Circle(r) => { return math.pi * r * r }
        Shape.Rect(w, h) => {
            return w * h
        }
        _ => { return 0.0 }
    }
}
fn binders(x: float, y: float) -> float {
    let (a, b) = (x * y, -x)
    var t: (float, float) = (a, b)
    let one: (float,) = (x,)
    return t.0 ** 2.0 ** 0.5 % 3.0 - one.0
}
let xs: list[float] = [1.0, 2.0, 1e3, inf]
let m: dict[string, float] = {"a # not a comment": 1.0, "b\\n": 2.0}
let g: fn(float, float) -> float = fn(u: float, v: float) -> float { return u * v }
let e = fn() -> () {}
let p = P { x: 1.0, y: 2.0 }
let q = optim.Adam { rate: 0.1 }
let k = if p.x > 0.0 { p.x } else if p.y < -1.0 { -p.y } else { 0.0 }
(if p.x > 1.0 { print(p.x) } else { print(p.y) })
fn headers(a: float, b: float) -> float {
    if (P { x: 1.0, y: 2.0 }) == p && !(a < b) || a >= b {
        return a
    } else {
        if a != b { return -(-a) }
    }
    return b
}
fn loops(xs: list[float]) {
    for (i, v) in enumerate(xs[1:]) {
        if i == 0 { continue }
        xs[i] += v / 2.0; xs[0] -= 1.0
        if v > 10.0 { break } print(v)
    }
    for i in 0..len(xs) - 1 {
        var s = xs[:i]
        s[0] *= fn(z: float) -> float { return z }(2.0)
    }
}
fn counts(t: (float, float)) {
    while t.0 > 0.0 {
        t.0 = t.0 - 1.0
    }
    p.x = m["a # not a comment"] + sum(range(0, 3)) + len(progress(0..3))
}
fn h(w: tensor[n, 3], v: tensor[3, 3]) -> tensor[n] {
    return w @ v[0:3, 1]
}
fn none() {
    return
}
derivative binders(x, y) -> r {
    r_dot = y * x_dot + x * y_dot
    x_bar = y * r_bar
}
print(area(Shape.Circle(1.0)), grad(binders)(1.0, 2.0))
"""


def corpus():
    """(name, text) of DP programs: the examples, the standard library, the golden
    derivatives, the testdata programs, the docs' code that parses, and TOUR, which
    holds every construct of the grammar."""
    for path in sorted(glob.glob("examples/*.dp") + glob.glob("dp/stdlib/*.dp") + glob.glob("tests/golden/*.dp")):
        yield path, open(path, encoding="utf-8").read()
    for path in sorted(glob.glob("tests/testdata/*.dp")):
        for k, part in enumerate(open(path, encoding="utf-8").read().split("\n---\n")):
            yield f"{path}, part {k + 1}", part + "\n"
    for path in sorted(glob.glob("docs/*.md")):
        for k, m in enumerate(re.finditer(r"```[a-z]*\n(.*?)```", open(path, encoding="utf-8").read(), re.S)):
            yield f"{path}, block {k + 1}", m.group(1)
    yield "TOUR", TOUR


def statements(text: str) -> list[str]:
    """The top-level statements of text (if it parses), each with what follows it up to
    the next: a program of their own, smaller to format a thousand times."""
    try:
        prog = parse(text, "t.dp")
    except DPError:
        return []
    lines = text.split("\n")
    starts = [sum(len(ln) + 1 for ln in lines[:s.span.line - 1]) + s.span.col - 1 for s in prog.body]
    return [text[a:b] for a, b in zip(starts, starts[1:] + [len(text)])]


TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|[0-9]+\.[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+|[0-9]+|\w+'
                   r'|->|=>|\.\.|\*\*|[=!<>]=|&&|\|\||[-+*/]=|\S')


def token_ends(text: str) -> list[int]:
    """The offsets just after each token of text."""
    return [m.end() for m in TOKEN.finditer(text) if not m.group().startswith("#")]


def comment_everywhere(text: str, every: int = 1, first: int = 0) -> dict:
    """Put a comment at every `every`-th place between two tokens of text (after a token,
    and on a line of its own there), and format each text that is still the same
    program (a newline may not go everywhere). What happened, counted, with the failures."""
    seen = {"tried": 0, "valid": 0, "refused": 0, "lost": 0, "changed": 0, "unstable": 0, "failures": []}
    base = meaning(text)
    for n, at in enumerate(token_ends(text)[first::every]):
        for form in ("  # c{}\n", "\n# c{}\n"):
            tag = f"c{n}{'o' if form[0] == chr(10) else 't'}"
            variant = text[:at] + form.format(tag[1:]).replace("c" + tag[1:], tag) + text[at:]
            seen["tried"] += 1
            try:
                if meaning(variant) != base:
                    continue
            except DPError:
                continue
            seen["valid"] += 1
            try:
                out = format_source(variant, "t.dp")
            except DPError as e:
                seen["refused"] += 1
                seen["failures"].append((variant, str(e)))
                continue
            if tag not in [c for _, c in comments(out)]:
                what = "lost"
            elif meaning(out) != base:
                what = "changed"
            elif format_source(out, "t.dp") != out:
                what = "unstable"
            else:
                continue
            seen[what] += 1
            seen["failures"].append((variant, out))
    return seen


def test_a_comment_anywhere_is_kept_and_changes_nothing_else():
    # a bounded run: one place in eleven of TOUR (python -m tests.test_fmt: every place of the corpus)
    start = time.perf_counter()
    seen = [comment_everywhere(piece, every=11, first=k % 11) for k, piece in enumerate(statements(TOUR))]
    total = {key: sum(s[key] for s in seen) for key in ("tried", "valid", "refused", "lost", "changed", "unstable")}
    failures = [f for s in seen for f in s["failures"]]
    assert failures == [] and total["valid"] > 80, (total, failures[:3])
    assert time.perf_counter() - start < 60


def main() -> None:
    """Every place of every program of the corpus (some minutes): the counts, and the failures' texts."""
    start, total, failures = time.perf_counter(), {}, []
    for name, text in corpus():
        for piece in statements(text):
            seen = comment_everywhere(piece)
            failures += [(name, *f) for f in seen.pop("failures")]
            total = {k: total.get(k, 0) + v for k, v in seen.items()}
        print(f"{name}: {total}", file=sys.stderr, flush=True)
    for name, variant, out in failures:
        print(f"--- {name}\n{variant}\n--- gives\n{out}\n")
    print(f"{total} in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
