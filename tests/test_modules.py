"""`import name`: modules from the importing file's directory and from the standard
library, qualified names, loading once, derivatives of and through module
functions, and the diagnostics for a missing module, a cycle and errors inside a
module."""
import os
import textwrap

import pytest

from dp.dsl.diagnostics import DPError
from helpers import Captured, session
from dp.interpreter.session import Session

UTIL = """\
let scale = 2.0

struct Pt { x: float, y: float }

enum Color { Red, Green(float) }

fn helper(x: float) -> float { return scale * x * x }

fn f(x: float) -> float { return helper(x) + sin(x) }

fn mk(x: float) -> Pt { return Pt { x: x, y: helper(x) } }

fn norm2(p: Pt) -> float { return p.x * p.x + p.y * p.y }

fn green(v: float) -> Color { return Color.Green(v) }

fn shade(c: Color) -> float {
    match c {
        Color.Red => { return 0.0 }
        Green(v) => { return v * scale }
    }
}

fn apply(g: fn(float) -> float, x: float) -> float { return g(x) * helper(x) }

fn divide(a: float, b: float) -> float { return a / b }
"""


def write(dir, name, text):
    path = os.path.join(dir, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(textwrap.dedent(text))
    return path


def run_in(tmp_path, main: str, **modules) -> str:
    for name, text in modules.items():
        write(tmp_path, f"{name}.dp", text)
    out = Captured()
    path = write(tmp_path, "main.dp", main)
    with open(path, encoding="utf-8") as f:
        Session(out).run(f.read(), path)
    return out.text


def error_in(tmp_path, main: str, **modules) -> DPError:
    with pytest.raises(DPError) as info:
        run_in(tmp_path, main, **modules)
    return info.value


def floats(text):
    return [float(x) for x in text.replace("(", " ").replace(")", " ").replace(",", " ").split()]


# ---------------------------------------------------------------- names

def test_qualified_functions_and_values_of_a_module_beside_the_script(tmp_path):
    out = run_in(tmp_path, """\
        import util
        fn helper(x: float) -> float { return 100.0 }
        let scale = 7.0
        print(util.f(1.5), util.scale, helper(1.0), scale)
        """, util=UTIL)
    assert floats(out) == [2.0 * 2.25 + 0.9974949866040544, 2.0, 100.0, 7.0]


def test_module_structs_and_enums_are_usable_through_its_functions(tmp_path):
    out = run_in(tmp_path, """\
        import util
        let p = util.mk(2.0)
        print(p)
        print(p.y, util.norm2(p), util.shade(util.green(1.5)))
        """, util=UTIL)
    assert out == "util.Pt { x: 2.0, y: 8.0 }\n8.0 68.0 3.0\n"


def test_a_script_may_use_its_own_type_names_beside_a_module_s(tmp_path):
    out = run_in(tmp_path, """\
        import util
        struct Pt { a: int }
        let p = Pt { a: 1 }
        print(p, util.mk(1.0).x)
        """, util=UTIL)
    assert out == "Pt { a: 1 } 1.0\n"


def test_standard_library_module_and_a_user_module_of_the_same_name(tmp_path):
    # the user's math.dp shadows the standard library's for the script; stats (from
    # the standard library) still gets the standard library's math
    out = run_in(tmp_path, """\
        import math
        import stats
        print(math.pi, stats.normal_pdf(0.0, 0.0, 1.0))
        """, math="let pi = 3.0\n")
    assert floats(out) == [3.0, 0.3989422804014327]


def test_module_is_loaded_once(tmp_path):
    write(tmp_path, "noisy.dp", 'print("loading noisy")\nfn one() -> int { return 1 }\n')
    write(tmp_path, "other.dp", "import noisy\nfn two() -> int { return noisy.one() + 1 }\n")
    out = run_in(tmp_path, """\
        import noisy
        import other
        import noisy
        print(noisy.one(), other.two())
        """)
    assert out == "loading noisy\n1 2\n"


def test_modules_persist_across_inputs_of_one_session(tmp_path):
    write(tmp_path, "noisy.dp", 'print("loading noisy")\nfn one() -> int { return 1 }\n')
    s, out = session()
    main = str(tmp_path / "main.dp")
    s.run("import noisy\nprint(noisy.one())", main)
    s.run("print(noisy.one() + 1)", main)
    s.run("import noisy\nprint(noisy.one() + 2)", main)
    assert out.text == "loading noisy\n1\n2\n3\n"


def test_an_edited_user_module_is_loaded_again(tmp_path):
    s, out = session()
    main = str(tmp_path / "main.dp")
    write(tmp_path, "m.dp", "fn v() -> int { return 1 }\n")
    s.run("import m\nprint(m.v())", main)
    write(tmp_path, "m.dp", "fn v() -> int { return 2 }\n")
    os.utime(tmp_path / "m.dp", (1, 1))
    s.run("import m\nprint(m.v())", main)
    assert out.text == "1\n2\n"


def test_checking_does_not_run_a_module(tmp_path):
    write(tmp_path, "noisy.dp", 'print("loading noisy")\nfn one() -> int { return 1 }\n')
    s, out = session()
    s.check_text("import noisy\nprint(noisy.one())", str(tmp_path / "main.dp"))
    assert out.text == ""


def test_repl_input_imports_from_the_working_directory(tmp_path, monkeypatch):
    write(tmp_path, "here.dp", "fn h() -> float { return 4.5 }\n")
    monkeypatch.chdir(tmp_path)
    s, out = session()
    s.run("import here")
    assert s.run("here.h()").value == 4.5


# ---------------------------------------------------------------- derivatives

def test_grad_of_a_module_function_and_of_a_function_calling_one(tmp_path):
    out = run_in(tmp_path, """\
        import util
        fn loss(x: float) -> float { return util.f(x) * 3.0 }
        print(grad(loss)(1.5), 3.0 * (4.0 * 1.5 + cos(1.5)))
        print(grad(util.f)(1.5), 4.0 * 1.5 + cos(1.5))
        print(jvp(util.f, 1.5, 1.0).1, grad(grad(util.f))(1.5), 4.0 - sin(1.5))
        """, util=UTIL)
    a, b, c, d, e, f, g = floats(out)
    assert a == pytest.approx(b, rel=1e-14) and c == pytest.approx(d, rel=1e-14)
    assert e == pytest.approx(d, rel=1e-14) and f == pytest.approx(g, rel=1e-14)


def test_grad_with_respect_to_a_module_struct(tmp_path):
    out = run_in(tmp_path, """\
        import util
        fn e(x: float) -> float { return util.norm2(util.mk(x)) }
        print(grad(e)(2.0))
        print(grad(util.norm2)(util.mk(1.0)))
        """, util=UTIL)
    # e(x) = x^2 + 4x^4
    assert out == "132.0\nutil.Pt { x: 2.0, y: 4.0 }\n"


def test_grad_through_a_module_higher_order_function_and_a_closure(tmp_path):
    out = run_in(tmp_path, """\
        import util
        fn ap(x: float) -> float { return util.apply(fn(y: float) -> float { return y * x }, x) }
        print(grad(ap)(1.0))
        """, util=UTIL)
    assert out == "8.0\n"             # ap(x) = 2 x^4


def test_jacobians_and_hessians_of_module_functions(tmp_path):
    out = run_in(tmp_path, """\
        import vec
        print(jacfwd(vec.sq)([1.0, 2.0]), jacrev(vec.sq)([1.0, 2.0]), hessian(vec.energy)([1.0, 2.0]))
        """, vec="""\
        fn sq(x: list[float]) -> list[float] { return [x[0] * x[1], x[1] * x[1]] }
        fn energy(x: list[float]) -> float { return x[0] * x[0] * x[1] }
        """)
    assert out == "[[2.0, 1.0], [0.0, 4.0]] [[2.0, 1.0], [0.0, 4.0]] [[4.0, 2.0], [2.0, 0.0]]\n"


def test_derivatives_through_modules_that_import_modules(tmp_path):
    # the derived code of `outer.g` calls `inner.h`, which the script never imports
    out = run_in(tmp_path, """\
        import outer
        fn loss(x: float) -> float { return outer.g(fn(y: float) -> float { return x * y }, x) }
        print(loss(2.0), grad(loss)(2.0), hessian(outer.cube)(2.0))
        """, outer="""\
        import inner
        fn g(f: fn(float) -> float, x: float) -> float { return inner.h(f(x)) + inner.k }
        fn cube(x: float) -> float { return inner.h(x) * x }
        """, inner="""\
        let k = 1.0
        fn h(x: float) -> float { return x * x }
        """)
    # loss(x) = x^4 + 1
    assert out == "17.0 32.0 12.0\n"


def test_module_rules_are_used_by_importers(tmp_path):
    out = run_in(tmp_path, """\
        import ruled
        fn g(x: float) -> float { return ruled.f(x) + x }
        print(grad(ruled.f)(3.0), grad(g)(3.0), jvp(g, 3.0, 1.0).1)
        """, ruled="""\
        fn f(x: float) -> float { return x * x }
        derivative f(x) -> y { x_bar = y_bar * 100.0 }
        """)
    assert out == "100.0 101.0 101.0\n"


def test_module_may_differentiate_its_own_functions(tmp_path):
    out = run_in(tmp_path, """\
        import selfish
        fn cube(x: float) -> float { return x * x * x }
        print(selfish.slope(2.0), selfish.slope_of(cube, 2.0))
        """, selfish="""\
        fn sq(x: float) -> float { return x * x }
        fn slope(x: float) -> float { return grad(sq)(x) }
        fn slope_of(f: fn(float) -> float, x: float) -> float { return grad(f)(x) }
        """)
    assert out == "4.0 12.0\n"


def test_derived_code_names_module_functions(tmp_path):
    out = run_in(tmp_path, """\
        import util
        fn loss(x: float) -> float { return util.f(x) * 3.0 }
        print(source(grad(loss)))
        """, util=UTIL)
    assert "t = util.f(x)" in out and "util__f_rev(x, " in out


# ---------------------------------------------------------------- diagnostics

def test_missing_module(tmp_path):
    e = error_in(tmp_path, "let a = 1\nimport optimm\n")
    d = e.first
    assert (d.kind, d.message, d.line, d.column) == ("import error", "no module named `optimm`", 2, 1)
    assert "did you mean `optim`?" in d.hint and str(tmp_path) in d.hint
    assert "   2 | import optimm\n       ^^^^^^^^^^^^^" in e.render()


def test_import_cycle(tmp_path):
    write(tmp_path, "a.dp", "import b\nfn fa() -> int { return 1 }\n")
    write(tmp_path, "b.dp", "\nimport a\nfn fb() -> int { return 2 }\n")
    e = error_in(tmp_path, "import a\nprint(a.fa())\n")
    d = e.first
    assert d.kind == "import error" and d.message == "import cycle: `a`, which imports `b`, which imports `a`"
    assert (os.path.basename(d.file), d.line, d.column) == ("b.dp", 2, 1)
    assert "move what both need into a third module" in d.hint
    notes = [(os.path.basename(n.file), n.line, n.kind) for n in e.diagnostics[1:]]
    assert notes == [("a.dp", 1, "note"), ("main.dp", 1, "note")]


def test_a_module_that_imports_itself(tmp_path):
    e = error_in(tmp_path, "import me\n", me="import me\n")
    assert e.message == "import cycle: `me`, which imports `me`"


def test_errors_inside_a_module_point_into_it(tmp_path):
    e = error_in(tmp_path, "import broken\nprint(1)\n", broken="fn bad(x: int) -> float { return x }\n")
    d = e.first
    assert (os.path.basename(d.file), d.line, d.kind) == ("broken.dp", 1, "type error")
    assert e.diagnostics[-1].kind == "note" and e.diagnostics[-1].line == 1
    assert "in module `broken`" in e.diagnostics[-1].message


def test_runtime_error_in_a_module_function_shows_the_module_in_the_stack(tmp_path):
    e = error_in(tmp_path, "import util\nprint(util.divide(1.0, 0.0))\n", util=UTIL)
    d = e.first
    assert d.message == "division by zero" and os.path.basename(d.file) == "util.dp"
    assert [name for name, _ in d.stack] == ["<top level>", "util.divide"]


def test_unknown_member_of_a_module(tmp_path):
    e = error_in(tmp_path, "import util\nprint(util.hepler(1.0))\n", util=UTIL)
    assert e.message == "module `util` has no `hepler`" and "did you mean `helper`?" in e.first.hint


def test_a_module_is_not_a_value(tmp_path):
    e = error_in(tmp_path, "import util\nprint(util)\n", util=UTIL)
    assert (e.message, e.line, e.column) == ("`module util` is not a value", 2, 7)
    assert e.first.hint == "use what it defines: `util.apply`"


def test_import_belongs_at_the_top_level(tmp_path):
    e = error_in(tmp_path, "fn f() -> int {\n    import util\n    return 1\n}\n", util=UTIL)
    assert e.message == "imports belong at the top level" and e.line == 2


def test_module_names_are_reserved(tmp_path):
    e = error_in(tmp_path, "import util\nfn util__f(x: float) -> float { return x }\n", util=UTIL)
    assert e.message == "`util__f` is the name DP gives module `util`'s `f`" and e.line == 2


def test_an_embedder_may_allow_only_the_standard_library(tmp_path):
    write(tmp_path, "mine.dp", "fn v() -> int { return 3 }\n")
    s, out = session()
    s.modules.allow_files = False
    main = str(tmp_path / "main.dp")
    with pytest.raises(DPError) as info:
        s.run("import mine", main)
    assert info.value.message == "no module named `mine`" and "only the standard library" in info.value.first.hint
    s.run("import math\nprint(math.pi)", main)
    assert out.text == "3.141592653589793\n"


def test_a_failed_import_leaves_the_session_usable(tmp_path):
    s, out = session()
    main = str(tmp_path / "main.dp")
    with pytest.raises(DPError):
        s.run("import nothere", main)
    write(tmp_path, "nothere.dp", "fn v() -> int { return 3 }\n")
    s.run("import nothere\nprint(nothere.v())", main)
    assert out.text == "3\n"


def test_cli_runs_and_checks_a_script_with_imports(tmp_path, capsys):
    from dp.interpreter.cli import main
    write(tmp_path, "util.dp", UTIL + 'print("util loaded")\n')
    path = write(tmp_path, "main.dp", "import util\nimport optim\nprint(util.scale)\n")
    assert main(["check", path]) == 0
    assert capsys.readouterr().out == f"{path}: ok\n"
    assert main(["run", path]) == 0
    assert capsys.readouterr().out == "util loaded\n2.0\n"


# ---------------------------------------------------------------- a module's types by name

def test_a_module_type_named_in_annotations_literals_and_patterns(tmp_path):
    out = run_in(tmp_path, """\
        import util
        fn scaled(p: util.Pt, k: float) -> util.Pt {
            return util.Pt { x: p.x * k, y: p.y * k }
        }
        fn tone(c: util.Color) -> float {
            match c {
                util.Color.Red => { return 1.0 }
                util.Color.Green(v) => { return v }
            }
        }
        let q: util.Pt = scaled(util.Pt { x: 1.0, y: 2.0 }, 3.0)
        print(q, util.norm2(q), tone(util.Color.Red), tone(util.Color.Green(0.25)))
        print(grad(fn(p: util.Pt) -> float { return util.norm2(scaled(p, 2.0)) })(q))
        """, util=UTIL)
    # d/dp |2p|^2 = 8p
    assert out == "util.Pt { x: 3.0, y: 6.0 } 45.0 1.0 0.25\nutil.Pt { x: 24.0, y: 48.0 }\n"


@pytest.mark.parametrize("line,message,hint", [
    ("let p = util.Ptt { x: 1.0, y: 2.0 }", "unknown struct `util.Ptt`", "did you mean `util.Pt`?"),
    ("fn f(p: util.Pnt) -> float { return p.x }", "unknown type `util.Pnt`", "did you mean `util.Pt`?"),
    ("let c = util.Color.Blue", "`util.Color` has no variant `Blue`", None),
])
def test_a_misspelt_module_type_is_a_type_error(tmp_path, line, message, hint):
    e = error_in(tmp_path, "import util\n" + line + "\n", util=UTIL)
    d = e.first
    assert d.kind == "type error" and message in d.message and d.line == 2
    if hint:
        assert hint in d.hint
