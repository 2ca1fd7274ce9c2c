"""State lives in a session, never in a module (DESIGN.md): two interpreters in one
process share nothing. Each names its inputs `<input 1>`, `<input 2>`, … and quotes
its own lines in its diagnostics; and what the modules of dsl/ and interpreter/ hold
at their top level is constant: running programs in sessions changes none of it."""
from __future__ import annotations

import importlib
import os
import pkgutil
import re
import types

import pytest

from dp.dsl import records
from dp.dsl.diagnostics import DPError
from helpers import Captured
from dp.interpreter.embed import Interpreter
from dp.interpreter.session import Session

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _error(call) -> DPError:
    with pytest.raises(DPError) as e:
        call()
    return e.value


def test_two_interpreters_quote_their_own_inputs():
    one, two = Interpreter(), Interpreter()
    one.load("fn half(x: float) -> float {\n    return x / 0.0\n}\n")        # <input 1> of one
    two.load("let unrelated = 1\nlet other = 2\n")                          # <input 1> of two
    e = _error(lambda: one.eval("half(1.0)"))
    assert e.file == "<input 1>" and e.line == 2
    assert "   2 |     return x / 0.0" in e.render() and "other" not in e.render()
    # and the other way round: a type error in two's <input 2> quotes two's text
    one.load("let fine = 3\n")                                              # <input 2> of one
    e = _error(lambda: two.eval("let bad: int = 2.5"))
    assert e.file == "<input 2>" and "   1 | let bad: int = 2.5" in e.render() and "fine" not in e.render()


def test_a_syntax_error_quotes_its_own_text_whatever_another_session_saw():
    a, b = Session(Captured()), Session(Captured())
    a.run("let x = 1\n", "same.dp")
    e = _error(lambda: b.run("let y = = 2\n", "same.dp"))
    assert "   1 | let y = = 2" in e.render()
    e = _error(lambda: a.run("let z: string = x\n", "other.dp"))
    assert "   1 | let z: string = x" in e.render()


def test_a_runtime_error_in_a_module_quotes_the_module_in_each_session(tmp_path):
    (tmp_path / "helper.dp").write_text("fn boom(xs: list[float]) -> float {\n    return xs[3]\n}\n")
    main = tmp_path / "main.dp"
    main.write_text("import helper\nprint(helper.boom([1.0]))\n")
    for _ in range(2):
        s = Session(Captured())
        e = _error(lambda: s.run(main.read_text(), str(main)))
        assert "   2 |     return xs[3]" in e.render(), e.render()


def test_parsing_alone_registers_nothing():
    """dsl.parser.parse is pure: a session keeps the texts it parses."""
    from dp import dsl
    import dp.dsl.diagnostics
    assert not hasattr(dsl.diagnostics, "SOURCES")
    s = Session(Captured())
    s.run("let a = 1\n", "kept.dp")
    assert "kept.dp" in s.sources and "kept.dp" not in Session(Captured()).sources


# ---------------------------------------------------------------- module-level state

# Caches at module level, each shown to be pure: it maps its argument to the same
# value in every session, and nobody changes what it returns.
PURE_CACHES = {
    ("dp.dsl.parser", "_parser"): "the Lark parser made from the grammar; a parse keeps its state in locals",
    ("dp.dsl.ad.rules", "_parsed"): "a derivative rule's template, parsed once; instantiate copies it, "
                                 "never changing or handing out its nodes",
    ("dp.dsl.primitive", "_parse"): "a primitive's partial derivative, parsed once; the rules built from it "
                                 "copy it",
    ("dp.interpreter.reference", "_entries"): "the reference docs read once into a tuple of frozen entries, "
                                           "for `:doc`; nothing changes them",
    ("dp.interpreter.limits", "_raiser"): "ctypes' handle on PyThreadState_SetAsyncExc, made once a process; "
                                           "it holds no state of a session",
    ("dp.interpreter.compiler", "_domain_py"): "a primitive's domain (a constant of the table) as Python, "
                                               "copied before it is used",
    ("dp.dsl.standalone", "tree_fingerprint"): "a key made from the grammar and the parser's source files, which do not "
                                              "change while DP runs",
    ("dp.interpreter.module_code", "_dp_source"): "a digest of DP's own source files, part of the key of a "
                                                "standard module's cached code; they do not change while DP runs",
}
_IMMUTABLE = (str, bytes, int, float, bool, complex, frozenset, tuple, type(None), range, re.Pattern,
              types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType)


def _modules():
    out = []
    for pkg in ("dp.dsl", "dp.dsl.ad", "dp.interpreter"):
        for m in pkgutil.iter_modules(importlib.import_module(pkg).__path__):
            if not m.ispkg and m.name != "__main__":
                out.append(importlib.import_module(f"{pkg}.{m.name}"))
    return out


def _module_state():
    """Every module-level value of dsl/ and interpreter/ that could change (and every
    mutable attribute of a class they define), with a fingerprint of what it holds
    (containers shallowly, objects by their attributes)."""
    state = {}
    for mod in _modules():
        for name, v in vars(mod).items():
            if name.startswith("__") or getattr(v, "__module__", None) == "__future__":
                continue
            key = (mod.__name__, name)
            if hasattr(type(v), "cache_info"):
                state[key] = ("cache", key in PURE_CACHES)
            elif isinstance(v, type) and v.__module__ == mod.__name__:
                # a class's own attributes: a mutable one would be shared by every session
                for k, x in vars(v).items():
                    if not k.startswith("__") and isinstance(x, (dict, list, set)):
                        state[key + (k,)] = _fingerprint(x)
            elif isinstance(v, _IMMUTABLE) or (records.is_record(v) and type(v)._record_frozen):
                continue
            else:
                state[key] = _fingerprint(v)
    return state


def _fingerprint(v):
    if isinstance(v, dict):
        return ("dict", tuple((k, _fingerprint(x) if records.is_record(x) else id(x)) for k, x in v.items()))
    if isinstance(v, (list, set)):
        items = [_fingerprint(x) if records.is_record(x) else id(x) for x in v]
        return (type(v).__name__, tuple(items) if isinstance(v, list) else frozenset(items))
    if records.is_record(v) and not isinstance(v, type):
        return (type(v).__name__, id(v), tuple((f.name, id(getattr(v, f.name))) for f in records.fields(v)),
                tuple(sorted((k, id(x)) for k, x in getattr(v, "__dict__", {}).items())))
    if type(v).__name__ == "CFunctionType":            # a C function (limits.py's PyThreadState_SetAsyncExc)
        return ("C function", id(v))
    # __slotnames__ is copyreg's cache, set on a class the first time pickle meets it
    return ("object", type(v).__name__, id(v),
            tuple(sorted((k, id(x)) for k, x in getattr(v, "__dict__", {}).items() if k != "__slotnames__")))


WORKLOAD = """import stats
struct P { x: float, v: float }
enum Shape { Circle(float), Dot }
fn f(x1: float, x2: float) -> float { return log(x1) + x1 * x2 - sin(x2) }
fn e(p: P) -> float { return 0.5 * (p.x * p.x + p.v * p.v) }
fn curves(v: list[float]) -> list[float] { return [v[0] * v[1], v[0] - v[1]] }
fn loop(x: float) -> float {
    var s = x
    for i in 0..3 { s = s * (1.0 - s) }
    return s
}
fn apply(g: fn(float) -> float, x: float) -> float { return g(x) }
fn closes(c: float) -> float { return apply(fn(y: float) -> float { return c * y }, 2.0) }
fn t(w: tensor) -> float { return sum(tanh(w) * w) }
let area = match_area(Shape.Circle(1.0))
fn match_area(s: Shape) -> float {
    match s {
        Circle(r) => { return r * r }
        Dot => { return 0.0 }
    }
    return 0.0
}
print(grad(f, (0, 1))(2.0, 5.0), grad(e)(P { x: 1.0, v: 2.0 }), jacrev(curves)([1.0, 2.0]))
print(grad(grad(loop))(0.3), grad(closes)(1.5), grad(t)(tensor([0.5, -1.0])), hessian(t)(tensor([0.5, 1.0])))
print(grad(stats.mse)([1.0, 2.0], [0.0, 0.0]), source(grad(closes)))
"""


def _workload():
    """Programs that reach most of the language, in two sessions side by side."""
    from dp.interpreter.repl import needs_more
    for _ in range(2):
        s = Session(Captured())
        s.run(WORKLOAD, "workload.dp")
        s.derived_source("loop", "forward")
        s.derived_source("curves", "vjp")
        for bad in ("let q: int = 1.5", "let r = [1.0][3]", "let = 2", "grad(curves)", "log(-1.0)"):
            try:
                s.run(bad)
            except DPError:
                pass
        needs_more("fn f(x: float) -> float {")


def test_module_level_state_is_constant_across_sessions():
    # numpy is imported once a process, when something first needs it (dsl/lazy_numpy.py):
    # that changes module-level state once, whichever session does it, so it is done first
    from dp.dsl import lazy_numpy
    lazy_numpy.load()
    before = _module_state()
    unproven = [k for k, v in before.items() if v == ("cache", False)]
    assert not unproven, f"module-level caches not shown pure (add them to PURE_CACHES with why): {unproven}"
    _workload()
    after = _module_state()
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"module-level state changed by running programs: {changed}"
