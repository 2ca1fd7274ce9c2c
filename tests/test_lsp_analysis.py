"""The language server's analyses, without a client: what a document's analysis keeps,
that it runs nothing, the index of names, scopes, activity, formatting."""
from __future__ import annotations

import glob
import textwrap
import time

import pytest

from dp.interpreter.lsp.activity import function_activity
from dp.interpreter.lsp.analysis import Analyzer
from dp.interpreter.lsp.completion import complete, open_call
from dp.interpreter.lsp.formatting import Refused, comments, format_text
from dp.interpreter.lsp.index import build_index, scope_at
from dp.interpreter.lsp.positions import Lines


@pytest.fixture(scope="module")
def analyzer():
    return Analyzer()


def test_an_analysis_runs_nothing(analyzer, capsys):
    start = time.perf_counter()
    a = analyzer.analyze("/tmp/never_run.dp", 'print("ran")\nwhile true {}\nfn f(x: float) -> float { return x }\n')
    assert time.perf_counter() - start < 5
    assert a.checked and a.derived and a.diagnostics == []
    assert capsys.readouterr().out == ""


def test_errors_keep_what_the_checker_typed(analyzer):
    a = analyzer.analyze("/tmp/errors.dp", "import nosuch\nlet a = 2.0\nlet b: int = a\nlet c = a * a\n")
    assert [(d.kind, d.line) for d in a.diagnostics] == [("import error", 1), ("type error", 3)]
    assert not a.checked
    assert str(a.env.values["c"].ty) == "float"                     # typed although the file has errors
    ix = build_index(a)
    assert str(ix.expression_at(4, 11).ty) == "float"


def test_a_module_function_is_defined_in_the_standard_library(analyzer):
    a = analyzer.analyze("/tmp/uses_ode.dp", "import ode\nlet y = ode.rk4\n")
    occ = build_index(a).at(2, 14)
    assert (occ.definition.name, occ.definition.span.file, occ.definition.span.line) == ("rk4", "<stdlib>/ode.dp", 46)
    assert analyzer.module_file("<stdlib>/ode.dp").endswith("stdlib/ode.dp")


def test_scopes(analyzer):
    text = textwrap.dedent("""\
        fn f(x: float, xs: list[float]) -> float {
            var s = 0.0
            for v in xs {
                let w = v * x
                s = s + w
            }
            let g = fn(t: float) -> float { return t * s }
            return g(s)
        }
        """)
    a = analyzer.analyze("/tmp/scopes.dp", text)
    assert sorted(scope_at(a.prog, 5, 13)) == ["s", "v", "w", "x", "xs"]
    assert sorted(scope_at(a.prog, 7, 50)) == ["s", "t", "x", "xs"]
    assert sorted(scope_at(a.prog, 8, 12)) == ["g", "s", "x", "xs"]


def test_activity_of_locals(analyzer):
    text = textwrap.dedent("""\
        fn f(x: float, n: int, w: float, unused: float) -> float {
            let a = x * w
            var s = 0.0
            let c = 3.0
            let dead = x * 2.0
            for i in 0..n {
                s = s + a * c
            }
            return s
        }
        """)
    a = analyzer.analyze("/tmp/activity.dp", text)
    with analyzer.isolated():
        facts = function_activity(a.prog.body[0], analyzer.session.ad)
    got = {f.sym.name: f.active for f in facts.values()}
    assert got == {"x": True, "n": False, "w": True, "unused": False, "a": True, "s": True, "c": False,
                   "dead": False, "i": False}
    why = {f.sym.name: f.why for f in facts.values()}
    assert why["c"] == "no derivative: it does not depend on `x`, `w`, `unused`"
    assert why["dead"] == "no derivative: the result does not depend on it"
    assert why["a"] == "carries a derivative: it depends on `x`, `w`, and the result depends on it"


def test_completion_and_call_context(analyzer):
    a = analyzer.analyze("/tmp/c.dp", "struct P { x: float, y: int }\nlet p = P { x: 1.0, y: 2 }\nlet q = p\n")
    word, items = complete(a, 3, 10, "struct P { x: float, y: int }\nlet p = P { x: 1.0, y: 2 }\nlet q = p.")
    assert word == "" and [(i.label, i.detail) for i in items] == [("x", "float"), ("y", "int")]
    word, items = complete(a, 3, 10, "import o")
    assert [i.label for i in items] == ["ode", "optim"]
    assert open_call("let y = f(a, g(1, 2), ") == ("f", 2)
    assert open_call("let y = [1, 2") is None


def test_positions_count_utf16():
    lines = Lines('let s = "héllo 😀"\nlet t = 1\n')
    assert lines.to_lsp(1, 18) == (0, 18)          # the emoji is two UTF-16 units
    assert lines.from_lsp(0, 18) == (1, 18)
    assert lines.to_lsp(2, 5) == (1, 4)


def test_formatting_keeps_comments_and_blank_lines():
    text = ("# header\n\n# about f\nfn f(x:float)->float{\n  var y=x*2.0\n\n  if y>1.0 {\n  y = 1.0\n  # clipped\n  }\n"
            "  return y\n  # the end of f\n}\n# the end\n")
    assert format_text(text) == ("# header\n\n# about f\nfn f(x: float) -> float {\n    var y = x * 2.0\n\n"
                                 "    if y > 1.0 {\n        y = 1.0\n        # clipped\n    }\n    return y\n"
                                 "    # the end of f\n}\n# the end\n")


def test_formatting_keeps_every_comment_and_refuses_a_syntax_error():
    assert format_text("let a = 1\nlet b = 2  # why two\nfn f()->int {  # f\n  return 1  # one\n}\n") == \
        "let a = 1\nlet b = 2  # why two\nfn f() -> int {  # f\n    return 1  # one\n}\n"
    assert format_text("let a = 1\nlet b = 2 +  # inside an operation\n 3\n") == \
        "let a = 1\nlet b = 2 +  # inside an operation\n    3\n"
    with pytest.raises(Refused, match="syntax error at line 1") as refused:
        format_text("let a = \n")
    assert (refused.value.line, refused.value.error.first.kind) == (1, "syntax error")
    assert comments('let s = "# not a comment"  # but this is\n') == [(1, "but this is")]


def test_formatting_keeps_comments_after_braces_fields_variants_and_arms():
    messy = ("struct P {\n  x: float   # position\n  # a line of its own\n  v: float\n}  # end P\n"
             "enum Shape {  # shapes\n    Circle(float),  # radius\n    Dot   # nothing\n}\n"
             "fn f(x: float) -> float {\n  if x > 0.0 {   # positive\n    return x\n  } else if x < -1.0 {  # very\n"
             "    return 0.0\n  } else {   # the rest\n    return -x\n  }   # end if\n}  # end f\n"
             "fn g(s: Shape) -> float {\n  match s {\n    Circle(r) => {  # a circle\n      return r\n"
             "    }  # end circle\n    Dot => { return 0.0 }\n  }  # end match\n}\n")
    tidy = ("struct P {\n    x: float  # position\n    # a line of its own\n    v: float\n}  # end P\n"
            "enum Shape {  # shapes\n    Circle(float),  # radius\n    Dot  # nothing\n}\n"
            "fn f(x: float) -> float {\n    if x > 0.0 {  # positive\n        return x\n    } else if x < -1.0 {  # very\n"
            "        return 0.0\n    } else {  # the rest\n        return -x\n    }  # end if\n}  # end f\n"
            "fn g(s: Shape) -> float {\n    match s {\n        Circle(r) => {  # a circle\n            return r\n"
            "        }  # end circle\n        Dot => {\n            return 0.0\n        }\n    }  # end match\n}\n")
    assert format_text(messy) == tidy and format_text(tidy) == tidy


def test_formatting_keeps_comments_at_the_end_of_struct_enum_and_match_bodies():
    # review 2: they moved out of the block, after its `}`; a comment after two fields
    # on one line is about the last
    messy = ("struct P {\n  x: float\n  y: float, z: float # after z\n  # end of P\n}\n"
             "enum E {\n  A,\n  B\n  # end of E\n}\n"
             "fn f(e: E) -> int {\n  match e {\n    A => { return 1 }\n    B => { return 2 }\n    # after arms\n  }\n}\n")
    tidy = ("struct P {\n    x: float\n    y: float\n    z: float  # after z\n    # end of P\n}\n"
            "enum E {\n    A,\n    B\n    # end of E\n}\n"
            "fn f(e: E) -> int {\n    match e {\n        A => {\n            return 1\n        }\n        B => {\n"
            "            return 2\n        }\n        # after arms\n    }\n}\n")
    assert format_text(messy) == tidy and format_text(tidy) == tidy


@pytest.mark.parametrize("path", sorted(glob.glob("examples/*.dp") + glob.glob("dp/stdlib/*.dp")))
def test_formatting_the_examples_and_the_library_is_idempotent(path):
    text = open(path, encoding="utf-8").read()
    out = format_text(text, path)
    assert format_text(out, path) == out


def test_hover_says_when_the_transforms_refuse_a_function(analyzer):
    from dp.interpreter.lsp.describe import hover_definition
    text = ("fn f(x: float) -> float { return x * x }\nderivative f(x) -> y { y_dot = 2.0 * x * x_dot }\n"
            "fn g(x: float) -> float { return f(x) + 1.0 }\n")
    a = analyzer.analyze("/tmp/refused.dp", text)
    assert a.checked and a.diagnostics == []            # no program asks for grad(g): no error to show
    parts = hover_definition(build_index(a).at(3, 4).definition, a, {}).split("\n\n")
    assert parts[1:] == [
        "differentiable in `x`",
        "`grad(g)` is not defined: the derivative rule for `f` gives no `x_bar`, which reverse mode needs here "
        "(add `x_bar = …` (in terms of `y_bar`) to the rule at line 2)",
        "`jvp` applies (the result `float` carries derivatives)"]


def test_hover_on_a_builtin():
    from dp.interpreter.lsp.describe import hover_builtin, user_builtins
    sigs, doc = hover_builtin("atan2").split("\n\n")
    lines = sigs.split("\n")                      # one line per overload in the primitive table
    assert lines[0] == "```dp" and lines[1] == "atan2(a: float, b: float) -> float" and lines[-1] == "```"
    assert "atan2(a: tensor, b: tensor) -> tensor" in lines
    from dp.dsl import primitives as P
    assert doc == (P.BY_NAME["atan2"][0].doc or "differentiable (forward and reverse rules in the primitive table)")
    assert "tie_share" not in user_builtins() and "unbroadcast" not in user_builtins() and "sqrt" in user_builtins()
    assert hover_builtin("grad").startswith("```dp\ngrad(f: fn(P0, …) -> float, wrt: int = 0) -> fn(P0, …) -> P0\n```\n\n"
                                            "the gradient of a float-valued function")
