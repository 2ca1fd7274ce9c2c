"""Escape attempts: a DP program, embedded with every limit on or run by `dp run`,
tries to reach the host (its files, environment, modules, Python objects). Each
attempt must end in a DP error or a harmless result, with nothing of the host in
what it printed or in its errors. The threat model is docs/security.md.

Python names: docs/security.md and dsl/symbols.py say how DP names are mangled; the
tests below check the rules hold for every name a session binds."""
from __future__ import annotations

import gc
import os
import re
import socket
import subprocess
import sys
import types

import numpy as np
import pytest

from dp.dsl.diagnostics import DPError
from dp.interpreter.embed import Interpreter
from dp.interpreter.repl import Repl
from dp.interpreter.values import DPEnum, DPStruct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------------- what must never show

def _host_strings() -> list[str]:
    """Text that tells something of the host: paths, names, Python's object reprs."""
    found = [os.getcwd(), ROOT, os.path.expanduser("~"), os.environ.get("USER", ""), sys.prefix,
             os.path.dirname(np.__file__), socket.gethostname()]
    try:
        with open("/etc/hostname", encoding="utf-8") as f:
            found.append(f.read().strip())
    except OSError:
        pass
    marks = [s for s in found if len(s) >= 4 and s not in ("/usr", "/tmp")]
    return marks + ["<module", "<function", "<built-in", "<class", "<bound", "<frame", "<code", "object at 0x",
                    "Traceback", "site-packages", "environ(", "__main__"]


def assert_clean(text: str):
    for mark in _host_strings():
        assert mark not in text, f"the host shows through: {mark!r} in\n{text}"


def attempt(*sources: str, **options) -> str:
    """Run the sources one after another in one embedded interpreter with every limit
    on (as an embedder running code it does not trust would), and return what they
    printed and every error's rendering. Nothing of the host may be in it."""
    out: list[str] = []
    limits = {"timeout": 20.0, "max_steps": 50_000_000, "max_depth": 300} | options
    dp = Interpreter(stdout=out.append, **limits)
    for src in sources:
        try:
            dp.load(src)
        except DPError as e:
            out.append("error: " + e.render() + "\n")
    text = "".join(out)
    assert_clean(text)
    return text


def errors_in(text: str) -> list[str]:
    return re.findall(r"error: (?:.*?: )?(?:type|runtime|syntax|import|argument) error: (.*)", text)


# ---------------------------------------------------------------------- the audit's two routes

# A global read before its definition ran was looked up in a DP dict named
# `__builtins__`: a string seen as a struct whose field `format` is `str.format`, and
# the format string walks dunder attributes to the environment (route 2 of issue 12).
FORMAT_ROUTE = '''
var __builtins__: dict[string, string] = {"g": "{0.__globals__[rt·print].__globals__[math].__loader__.exec_module.__globals__[sys].modules[os].environ[HOME]}"}
struct S { format: fn(fn() -> int) -> string }
fn one() -> int { return 1 }
fn d(f: fn(float) -> float) -> float { return grad(f)(1.0) }
let g: S = make()
fn h(x: float) -> float {
    print(g.format(one))
    return x
}
fn make() -> S {
    print(d(h))
    return S { format: fn(f: fn() -> int) -> string { return "" } }
}
'''

# A tensor seen as a struct reaches ndarray.ctypes, then ctypes, then os (route 1).
CTYPES_ROUTE = '''
struct O { getcwd: fn() -> string }
struct M { _os: O }
struct C { _ctypes: M }
struct S { ctypes: C }
var __builtins__: dict[string, tensor] = {"g": zeros([1])}
fn d(f: fn(float) -> float) -> float { return grad(f)(1.0) }
let g: S = make()
fn h(x: float) -> float {
    print(g.ctypes._ctypes._os.getcwd())
    return x
}
fn make() -> S {
    print(d(h))
    return S { ctypes: C { _ctypes: M { _os: O { getcwd: fn() -> string { return "x" } } } } }
}
'''


@pytest.mark.parametrize("route", [FORMAT_ROUTE, CTYPES_ROUTE], ids=["format", "ctypes"])
def test_the_audits_routes_end_in_used_before_its_definition(route):
    text = attempt(route)
    assert errors_in(text) == ["`g` is used before its definition has run"]
    assert "  10 |     print(g." in text or "   9 |     print(g." in text or "   8 |     print(g." in text


@pytest.mark.parametrize("route", [FORMAT_ROUTE, CTYPES_ROUTE], ids=["format", "ctypes"])
def test_the_audits_routes_split_over_two_inputs(route):
    """The dict bound first, the reads compiled after it (REPL-like inputs)."""
    lines = route.splitlines()
    first = "\n".join(line for line in lines if "__builtins__" in line)
    rest = "\n".join(line for line in lines if "__builtins__" not in line)
    text = attempt(first, rest)
    assert errors_in(text) == ["`g` is used before its definition has run"]


@pytest.mark.parametrize("route", [FORMAT_ROUTE, CTYPES_ROUTE], ids=["format", "ctypes"])
def test_the_audits_routes_under_dp_run(tmp_path, route):
    p = tmp_path / "escape.dp"
    p.write_text(route)
    r = subprocess.run([sys.executable, "-m", "dp", "run", str(p)], capture_output=True, text=True,
                       cwd=ROOT, timeout=120)
    assert r.returncode == 1
    assert r.stdout == ""
    assert "runtime error: `g` is used before its definition has run" in r.stderr
    assert "Traceback" not in r.stderr
    for mark in _host_strings():
        if mark not in str(p):
            assert mark not in r.stdout + r.stderr


def test_a_dp_global_named_builtins_leaves_the_namespaces_builtins_empty():
    dp = Interpreter()
    dp.load('var __builtins__: dict[string, int] = {"len": 1, "open": 2}\n__builtins__["x"] = 3')
    ns = dp.session.runtime.ns
    assert ns["__builtins__"] == {}
    assert dp.eval('__builtins__') == {"len": 1, "open": 2, "x": 3}
    dp.load("fn f() -> int { return len([1, 2]) }")
    assert dp.eval("f()") == 2


# ---------------------------------------------------------------------- names Python treats specially

SPECIAL = ["__builtins__", "__name__", "__import__", "__class__", "__dict__", "__globals__", "__debug__",
           "__spec__", "__loader__", "__file__", "__annotations__", "__init__", "__call__", "__getattr__",
           "None", "True", "False", "print", "len", "open", "eval", "exec", "globals", "object", "type",
           "lambda", "class", "def", "self", "cls", "os", "sys", "np", "math", "rt"]


@pytest.mark.parametrize("name", SPECIAL)
def test_special_names_as_globals_functions_and_parameters_are_ordinary_dp_names(name):
    if name in ("print", "len"):
        text = attempt(f"let {name} = 1")
        assert errors_in(text) == [f"`{name}` is a built-in function"]
        return
    text = attempt(f'''
var {name} = 2
{name} = {name} + 1
fn get_{name.strip("_")}() -> int {{ return {name} }}
fn twice({name}: int) -> int {{ return {name} * 2 }}
let lam = fn({name}: float) -> float {{ return {name} + 0.5 }}
print({name}, get_{name.strip("_")}(), twice(5), lam(1.0), grad(lam)(1.0))
''')
    assert text == "3 3 10 1.5 1.0\n"


@pytest.mark.parametrize("name", ["__builtins__", "__class__", "None", "__debug__", "__init__", "object"])
def test_special_names_as_functions_locals_and_loop_variables(name):
    text = attempt(f'''
fn {name}(x: float) -> float {{
    var {name}_ = x
    for {name} in 0..3 {{ {name}_ = {name}_ + float({name}) }}
    let {name}2 = {name}_
    return {name}2
}}
print({name}(1.0), grad({name})(1.0), source({name}) == source({name}))
if true {{
    let {name} = [1.0]
    print({name})
}}
''')
    assert text == "4.0 1.0 true\n[1.0]\n"


@pytest.mark.parametrize("name", ["__class__", "__builtins__", "None", "object", "type", "DPStruct", "int", "float"])
def test_special_names_as_struct_and_enum_names(name):
    text = attempt(f'''
struct {name}X {{ x: float }}
struct {name} {{ x: float }}
enum E{name} {{ {name}, W({name}) }}
let v = {name} {{ x: 1.0 }}
fn f(s: {name}) -> float {{ return s.x * s.x }}
print(v, E{name}.{name}, E{name}.W(v), grad(f)(v))
''')
    if name in ("int", "float"):
        assert errors_in(text) == [f"`{name}` is a built-in type name"]
        return
    assert text == f"{name} {{ x: 1.0 }} E{name}.{name} E{name}.W({name} {{ x: 1.0 }}) {name} {{ x: 2.0 }}\n"


@pytest.mark.parametrize("name", ["abs", "sqrt", "exp", "sum", "copy"])
def test_a_struct_named_as_a_primitive_leaves_the_primitive_in_place(name):
    """Review of session 17: a struct's class was named `rt·abs·N` and a primitive
    `rt·abs·i`; where N met i the struct's class replaced the primitive at run time, so
    `abs(-2.0)`, typed float, made a struct (and `+ 1.0` on it an internal error)."""
    arg = "tensor([-4.0, 9.0])" if name == "sum" else "-2.0" if name == "abs" else "4.0"
    want = {"abs": "2.0", "sqrt": "2.0", "exp": repr(float(np.exp(4.0))), "sum": "5.0", "copy": None}[name]
    call = f"{name}({arg}) + 1.0" if want is not None else "1.0"
    text = attempt("\n".join(f"struct {name}{k} {{ x: float }}\nlet v{k} = {name}{k} {{ x: 1.0 }}" for k in ("", "2", "3"))
                   .replace(f"struct {name} ", f"struct {name} ", 1) + f"\nprint({call})\n")
    if want is None:
        assert text == "1.0\n", text
    else:
        assert text == f"{float(want) + 1.0!r}\n", text


@pytest.mark.parametrize("name", ["__class__", "__init__", "__dict__", "__slots__", "_fields", "_type", "to_dict"])
def test_a_field_cannot_be_named_as_the_runtime_names_its_own(name):
    text = attempt(f"struct S {{ {name}: float }}")
    assert errors_in(text) == [f"`{name}` cannot name a field: DP's runtime uses it"]


FIELDS = ["format", "ctypes", "shape", "tag", "vals", "name", "keys", "values", "get", "pop", "append",
          "mro", "real", "imag", "T", "flat", "base", "data", "strides", "dtype", "func", "args", "_ctypes", "_os"]


def test_fields_named_like_python_attributes_are_dp_fields():
    at = {f: float(i) for i, f in enumerate(FIELDS)}
    decl = ", ".join(f"{f}: float" for f in FIELDS)
    lit = ", ".join(f"{f}: {i}.0" for i, f in enumerate(FIELDS))
    text = attempt(f'''
struct S {{ {decl} }}
var s = S {{ {lit} }}
s.format = s.format + 100.0
s.ctypes += 1.0
fn total(p: S) -> float {{ return p.format * p.ctypes + p.shape + p.tag + p.vals + p._os }}
print(s.format, s.ctypes, s.shape, s.get, total(s), grad(total)(s).format)
''')
    total = 100.0 * 2.0 + at["shape"] + at["tag"] + at["vals"] + at["_os"]
    assert text == f"100.0 2.0 {at['shape']} {at['get']} {total} 2.0\n"


def test_a_struct_keeps_its_fields_in_attributes_no_python_object_has():
    dp = Interpreter()
    dp.load("struct S { format: float, ctypes: float, mro: float }\nlet s = S { format: 1.0, ctypes: 2.0, mro: 3.0 }")
    s = dp.eval("s")
    assert isinstance(s, DPStruct) and type(s).__slots__ == ("format·", "ctypes·", "mro·")
    assert (s.format, s.ctypes, s.mro) == (1.0, 2.0, 3.0)                  # for Python, by their DP names
    assert s.to_dict() == {"format": 1.0, "ctypes": 2.0, "mro": 3.0}
    for probe in ("", 1, 1.0, [], {}, (), np.zeros(1), print, types, object(), type, None):
        assert not any(hasattr(probe, a) for a in type(s).__slots__)


def test_names_modules_cannot_supply(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("__builtins__", "os", "sys", "__init__", "numpy"):
        (tmp_path / f"{name}.dp").write_text("let v = 1\n")
        text = attempt(f"import {name}\nprint({name}.v)")
        assert errors_in(text) == [f"no module named `{name}`"]
        assert "only the standard library can be imported here" in text


def test_a_granted_directory_may_hold_modules_of_any_name(tmp_path):
    for name in ("__builtins__", "__init__", "os"):
        (tmp_path / f"{name}.dp").write_text("let v = 7\nfn f(x: float) -> float { return x * x }\n")
        text = attempt(f"import {name}\nprint({name}.v, grad({name}.f)(3.0), {name}.f)", module_path=[tmp_path])
        assert text == f"7 6.0 <fn {name}.f>\n"


# ---------------------------------------------------------------------- type confusion

def test_a_global_read_before_its_definition_runs_is_a_dp_error_at_its_line():
    text = attempt("let x: float = f()\nfn f() -> float { return x + 1.0 }")
    assert errors_in(text) == ["`x` is used before its definition has run"]
    assert "<input 1>:2:26:" in text


def test_a_global_read_before_its_definition_by_a_derivative_made_at_run_time():
    text = attempt('''
let x: float = first()
fn uses(y: float) -> float { return x * y }
fn apply(f: fn(float) -> float) -> float { return grad(f)(1.0) }
fn first() -> float { return apply(uses) }
''')
    assert errors_in(text) == ["`x` is used before its definition has run"]


def test_a_redefined_function_keeps_its_callers_typed():
    """`h` was checked against `k() -> S`; a later `k() -> string` must not reach it
    (the string's `format` would be str.format): h is checked again, no longer
    checks, and the redefinition is refused (docs/repl.md)."""
    text = attempt('''
struct S { format: fn(fn() -> int) -> string }
fn k() -> S { return S { format: fn(f: fn() -> int) -> string { return "old" } } }
fn one() -> int { return 1 }
fn h() -> string { return k().format(one) }
''', 'fn k() -> string { return "{0.__globals__}" }', "print(h(), k().format(one))")
    assert errors_in(text) == ["redefining `k` breaks `h`, defined before and using it"]
    assert "type error: `string` has no field `format`" in text
    assert text.endswith("old old\n")


def test_a_redefined_global_keeps_its_readers_typed():
    """A function reading `g` is checked again when `g` gets another type; a closure
    made before keeps the `g` it was compiled against."""
    text = attempt('''
struct S { format: fn(fn() -> int) -> string }
let g = S { format: fn(f: fn() -> int) -> string { return "old" } }
fn one() -> int { return 1 }
fn h() -> string { return g.format(one) }
let c = fn() -> string { return g.format(one) }
''', 'let g = "{0.__globals__}"', "print(h(), c())", 'let g = "{0.__globals__}"\nfn h() -> string { return g }',
                   "print(h(), c())",
                   "var g = [1.0]\nfn h() -> string { return str(g) }", "g.append(2.0)\nprint(h(), c(), g)")
    assert errors_in(text) == ["redefining `g` breaks `h`, defined before and using it"]
    assert "type error: `string` has no field `format`" in text
    assert text.endswith("old old\n{0.__globals__} old\n[1.0, 2.0] old [1.0, 2.0]\n")


def test_a_global_redefined_with_its_own_type_is_seen_by_its_readers():
    assert attempt("let x = 1.0\nfn f() -> float { return x }", "let x = 2.0", "print(f())") == "2.0\n"


def test_a_redefined_struct_does_not_confuse_its_values():
    text = attempt("struct S { a: float }\nlet p = S { a: 1.0 }\nfn h() -> float { return p.a }",
                   'struct S { a: string }\nlet p = S { a: "x" }', "print(h(), p, p.a)",
                   'struct S { a: string }\nlet p = S { a: "x" }\nfn h() -> string { return p.a }',
                   "print(h(), p, p.a)")
    assert errors_in(text) == ["redefining `S`, `p` breaks `h`, defined before and using it"]
    assert "type error: expected `float`, found `string`" in text
    assert text.endswith('1.0 S { a: 1.0 } 1.0\nx S { a: "x" } x\n')


def test_the_repl_keeps_redefinitions_apart():
    out, err = [], []

    class W:
        def __init__(self, sink):
            self.sink = sink

        def write(self, s):
            self.sink.append(s)

        def flush(self):
            pass
    repl = Repl(out=W(out), err=W(err))
    for line in ['struct S { format: fn(fn() -> int) -> string }',
                 'fn k() -> S { return S { format: fn(f: fn() -> int) -> string { return "old" } } }',
                 'fn one() -> int { return 1 }', 'fn h() -> string { return k().format(one) }',
                 'fn k() -> string { return "{0.__init__.__globals__}" }', 'h()', 'k().format(one)']:
        assert repl.handle(line)
    text = "".join(out) + "".join(err)
    assert_clean(text)
    assert "".join(out) == '"old" : string\n"old" : string\n'
    assert "redefining `k` breaks `h`, defined before and using it" in "".join(err)


def test_lambdas_alike_but_for_their_types_are_differentiated_as_themselves():
    text = attempt("struct A { x: float }\nstruct B { x: float, y: float }",
                   "let f = fn(p: A) -> float { return p.x * p.x }",
                   "let g = fn(p: B) -> float { return p.x * p.x }",
                   "fn gb(h: fn(B) -> float, b: B) -> B { return grad(h)(b) }\n"
                   "fn ga(h: fn(A) -> float, a: A) -> A { return grad(h)(a) }",
                   "print(gb(g, B { x: 3.0, y: 1.0 }), ga(f, A { x: 2.0 }))",
                   "print(ga(f, A { x: 2.0 }), gb(g, B { x: 3.0, y: 1.0 }))")
    assert text == "B { x: 6.0, y: 0.0 } A { x: 4.0 }\nA { x: 4.0 } B { x: 6.0, y: 0.0 }\n"


def test_a_function_registered_again_with_another_type_never_reaches_old_callers():
    out = []
    dp = Interpreter(stdout=out.append)
    dp.load("struct S { format: fn(fn() -> int) -> string }\nfn one() -> int { return 1 }")
    dp.register("k", lambda: {"format": lambda f: "host"}, "fn() -> S")
    dp.load("fn h() -> string { return k().format(one) }")
    with pytest.raises(DPError, match="redefining `k` breaks `h`"):       # h is checked again, and would break
        dp.register("k", lambda: "{0.__globals__}", "fn() -> string")
    dp.load("print(h(), k().format(one))")
    dp.register("k2", lambda: "{0.__globals__}", "fn() -> string")
    dp.load("print(k2())")
    assert "".join(out) == "host host\n{0.__globals__}\n"


def test_a_registered_function_that_returns_the_wrong_kind_is_a_dp_error():
    dp = Interpreter()
    dp.load("struct S { format: fn(fn() -> int) -> string }")
    dp.register("leak", lambda: "a string, not an S", "fn() -> S")
    dp.register("leak2", lambda: os, "fn() -> S")
    dp.register("leak3", lambda: os.getcwd, "fn() -> string")
    for call in ("leak()", "leak2()", "leak3()"):
        with pytest.raises(DPError) as info:
            dp.load(f"print({call})")
        assert_clean(info.value.render())
        assert "the result of" in info.value.message


def test_a_dp_function_of_another_type_passed_from_python_is_checked():
    out = []
    dp = Interpreter(stdout=out.append)
    dp.load('struct S { format: fn(fn() -> int) -> string }\nfn s() -> string { return "{0.__globals__}" }\n'
            'fn one() -> int { return 1 }\nfn use(f: fn() -> S) -> string { return f().format(one) }')
    with pytest.raises(DPError) as info:
        dp.function("use")(dp.function("s"))
    assert "the result of" in info.value.message and "expected `S`" in info.value.message
    assert out == []


def test_an_enum_value_changed_in_python_is_checked_when_it_comes_back():
    dp = Interpreter()
    dp.load("struct S { format: fn(fn() -> int) -> string }\nenum E { A(S), B }\nfn one() -> int { return 1 }\n"
            "fn use(e: E) -> string { match e { A(s) => { return s.format(one) } B => { return \"b\" } } }")
    e = dp.eval('E.A(S { format: fn(f: fn() -> int) -> string { return "ok" } })')
    assert isinstance(e, DPEnum) and dp.function("use")(e) == "ok"
    e.vals = ("{0.__globals__}",)
    with pytest.raises(DPError) as info:
        dp.function("use")(e)
    assert "expected `S`" in info.value.message
    forged = DPEnum(e.enum, 1, "A", (1.0,))
    with pytest.raises(DPError):
        dp.function("use")(forged)


def test_a_string_subclass_from_python_arrives_as_a_plain_string():
    class Sneaky(str):
        def replace(self, *a):
            raise RuntimeError("host code ran")
    dp = Interpreter()
    dp.load("fn show(xs: list[string]) -> string { return str(xs) }")
    assert dp.function("show")([Sneaky('a"b')]) == '["a\\"b"]'


# ---------------------------------------------------------------------- derivatives of things

@pytest.mark.parametrize("src, message", [
    ("grad(print)", "the built-in `print` can only be called"),
    ("grad(len)", "the built-in `len` can only be called"),
    ("grad(source)", "the built-in `source` can only be called"),
    ("grad(grad)", None),
    ("source(print)", "the built-in `print` can only be called"),
    ("grad(args)", None),
    ("let f = grad(__builtins__)", "`__builtins__` is not defined"),
])
def test_derivatives_and_sources_of_builtins(src, message):
    text = attempt(src)
    errs = errors_in(text)
    assert len(errs) >= 1
    if message is not None:
        assert errs[0] == message


def test_derivatives_and_sources_of_registered_functions():
    out = []
    dp = Interpreter(stdout=out.append, timeout=10.0, max_steps=10**7)
    dp.register("host", lambda x: x * 2.0, "fn(float) -> float")
    dp.register("hostd", lambda x: x * 3.0, "fn(float) -> float", derivative=lambda x: 3.0)
    dp.load("print(hostd(1.0), grad(hostd)(1.0), host, hostd, __py_host)")
    for src in ("print(grad(host)(1.0))", "print(grad(__py_host)(1.0))", "print(source(__py_host))",
                "fn apply(f: fn(float) -> float) -> float { return grad(f)(1.0) }\nprint(apply(__py_host))"):
        with pytest.raises(DPError) as info:
            dp.load(src)
        assert_clean(info.value.render())
    dp.load("print(source(host))")
    text = "".join(out)
    assert_clean(text)
    assert text.startswith("3.0 3.0 <fn host> <fn hostd> <fn host>\n")
    assert "fn host(x0: float) -> float" in text


def test_the_source_of_derived_code_names_nothing_of_python():
    text = attempt('''
struct P { x: float, format: float }
fn f(p: P, k: float) -> float { return p.x * p.format * sin(k) }
let lam = fn(x: float) -> float { return f(P { x: x, format: 2.0 }, x) }
print(source(grad(f)))
print(source(grad(lam)))
print(source(grad(grad(lam))))
print(source(jvp(lam, 1.0, 1.0).1 == 0.0), source(sin))
''')
    assert "·" not in text and "rt" not in re.sub(r"\w+rt\w*|rt\w+", "", text)


# ---------------------------------------------------------------------- printing functions and errors

def test_printing_any_function_value_shows_only_its_dp_name():
    text = attempt('''
struct H { f: fn(float) -> float }
enum Sh { C(float), N }
fn f(x: float) -> float { return x }
let lam = fn(x: float) -> float { return x * 2.0 }
let (y, back) = vjp(f, 1.0)
print(f, lam, grad(f), grad(lam), value_and_grad(lam), back, sin, Sh.C, H { f: sin }, [f], {"k": lam})
print(str(f), str(back), str(H { f: grad(lam) }), (f, back))
''')
    names = re.findall(r"<fn ([^>]*)>", text)
    assert all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", n) for n in names), names
    assert "error" not in text and len(names) == 16


def test_runtime_errors_name_nothing_of_the_host():
    for src in ("let xs = [1.0]\nprint(xs[3])", 'let d = {"a": 1}\nprint(d["b"])', "print(1 / 0)",
                "fn r(n: int) -> int { return r(n + 1) }\nprint(r(0))", "print(log(-1.0))",
                "print(tensor([1.0, 2.0]) @ tensor([1.0]))", "print(reshape(ones([3]), [2]))",
                "import linalg\nprint(linalg.solve([[0.0, 0.0], [0.0, 0.0]], [1.0, 1.0]))",
                "import optim\nprint(optim.gd(fn(x: list[float]) -> list[float] { return [x[5]] }, [1.0], 0.1, 3))",
                "while true {}",
                "print(normal(-1, [2]))", "print(sum(ones([2]), 5))"):
        text = attempt(src, max_steps=1_000_000)
        assert errors_in(text), src


def test_an_error_in_the_standard_library_names_it_as_stdlib():
    text = attempt("import optim\nprint(optim.gd(fn(x: list[float]) -> list[float] { return [x[5]] }, [1.0], 0.1, 3))")
    assert "<stdlib>/optim.dp" in text


def test_a_registered_functions_exception_is_a_dp_error_without_a_traceback():
    dp = Interpreter()
    dp.register("boom", lambda x: 1.0 / 0.0, "fn(float) -> float")
    with pytest.raises(DPError) as info:
        dp.eval("boom(1.0)")
    assert info.value.message == "the Python function `boom` raised ZeroDivisionError: float division by zero"


# ---------------------------------------------------------------------- exceptions and frames

def _frames(exc):
    seen, todo = [], [exc]
    while todo:
        e = todo.pop()
        if e is None or any(e is s for s in seen):
            continue
        seen.append(e)
        todo += [e.__context__, e.__cause__]
    frames = []
    for e in seen:
        tb = e.__traceback__
        while tb is not None:
            frames.append(tb.tb_frame)
            tb = tb.tb_next
    return seen, frames


@pytest.mark.parametrize("src", ["print(1 / 0)", "fn f(x: float) -> float { return log(x) }\nprint(f(-1.0))",
                                 "let xs: list[float] = []\nprint(xs[0])", "fn r(n: int) -> int { return r(n) }\nr(1)",
                                 "fn f(x: float) -> float { return 1.0 / x }\nprint(grad(f)(0.0))",
                                 "while true {}"])
def test_a_dp_error_carries_no_python_exception_or_frame_of_dp_code(src):
    dp = Interpreter(max_steps=100_000, max_depth=100)
    ns = dp.session.runtime.ns
    with pytest.raises(DPError) as info:
        dp.load(src)
    chained, frames = _frames(info.value)
    assert chained == [info.value]
    assert not any(f.f_globals is ns for f in frames)
    gc.collect()
    assert not any(isinstance(o, types.FrameType) and o.f_globals is ns for o in gc.get_objects())


def test_an_error_in_a_call_from_python_carries_no_frame_of_dp_code():
    dp = Interpreter()
    ns = dp.session.runtime.ns
    dp.load("fn f(x: float) -> float { return log(x) }\nfn g(x: float) -> float { return f(x) * 2.0 }")
    for call in (lambda: dp.function("g")(-1.0), lambda: dp.grad("g")(0.0 - 1.0)):
        with pytest.raises(DPError) as info:
            call()
        chained, frames = _frames(info.value)
        assert chained == [info.value] and not any(f.f_globals is ns for f in frames)
        assert "in g" in info.value.render()


# ---------------------------------------------------------------------- what DP code can reach

@pytest.mark.parametrize("src", [
    "print(args())", 'print(str(args()), len(args()))', "print(source(source))",
    "print(__builtins__)", "print(rt)", 'print("{0.__class__}")', "print(sin.__name__)",
    "let t = zeros([1])\nprint(t.ctypes)", 'let s = "x"\nprint(s.format)', "print(print)",
    "struct S { x: float }\nlet s = S { x: 1.0 }\nprint(s.__class__)", "print(S.__init__)",
    "enum E { A }\nprint(E.A.enum)", "enum E { A }\nprint(E.A.tag, E.A.vals)",
    "let d = {1: 2}\nprint(d.popitem())", "print(set([1]).popitem())",
    "var d: defaultdict[int, int] = defaultdict(0)\nprint(d.factory)", "let xs = [1]\nprint(xs.copy())", "print([1].__len__())",
    "print(zeros([1]).shape)", "fn f() -> int { return 1 }\nprint(f.__code__)",
    "print(grad)", "print(rt·print)", "print(optim)", "import optim\nprint(optim)",
    "import optim\nprint(optim.__name__)", 'print(1.0.hex())', "print((1, 2).count(1))",
])
def test_nothing_of_python_is_reachable(src):
    text = attempt(src)
    assert errors_in(text) or text in ("[]\n", "[] 0\n", "{0.__class__}\n"), text


def test_args_are_only_what_the_host_gave():
    assert attempt("print(args())") == "[]\n"
    dp = Interpreter()
    dp.session.script_args = ["a"]
    assert dp.eval("args()") == ["a"]


def test_dict_keys_and_printing_of_aggregates_show_dp_values_only():
    text = attempt('''
enum K { A, B(int) }
struct P { f: fn(float) -> float, t: tensor }
let d = {K.A: [1.0], K.B(2): [2.0]}
let p = P { f: sin, t: ones([2]) }
print(d, p, [p], (p, d), {(1, "x"): p})
''')
    assert "error" not in text and "<fn sin>" in text


# ---------------------------------------------------------------------- files

def test_embedded_import_reads_no_file_of_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / "secret.dp").write_text('let key = "s3cr3t"\n')
    (tmp_path / "optim.dp").write_text('let key = "shadow"\n')
    monkeypatch.chdir(tmp_path)
    text = attempt("import secret\nprint(secret.key)")
    assert errors_in(text) == ["no module named `secret`"] and "s3cr3t" not in text
    assert "only the standard library can be imported here" in text
    text = attempt("import optim\nprint(optim.gd(fn(x: list[float]) -> list[float] { return x }, [1.0], 0.5, 2))")
    assert text == "[0.25]\n"                      # the standard library's, not the cwd's optim.dp
    dp = Interpreter()
    p = tmp_path / "main.dp"
    p.write_text("import secret\nprint(secret.key)\n")
    with pytest.raises(DPError) as info:
        dp.load_file(str(p))                       # loading a file grants nothing beside it
    assert info.value.message == "no module named `secret`"


def test_module_path_grants_directories(tmp_path, monkeypatch):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "mine.dp").write_text("import helper\nfn f(x: float) -> float { return helper.g(x) * 2.0 }\n")
    (lib / "helper.dp").write_text("fn g(x: float) -> float { return x * x }\n")
    (tmp_path / "other.dp").write_text("let v = 1\n")
    monkeypatch.chdir(tmp_path)
    out = []
    dp = Interpreter(module_path=[str(lib)], stdout=out.append)
    dp.load("import mine\nimport stats\nprint(mine.f(3.0), grad(mine.f)(3.0), stats.mean([1.0, 3.0]))")
    assert out == ["18.0 12.0 2.0\n"]
    with pytest.raises(DPError) as info:
        dp.load("import other")
    assert info.value.message == "no module named `other`"
    assert str(lib) not in info.value.render() and str(tmp_path) not in info.value.render()
    assert Interpreter(module_path=[]).eval("0") == 0
    for bad in ("lib", b"lib", 3, [3]):
        with pytest.raises(ValueError):
            Interpreter(module_path=bad)


def test_dp_run_imports_beside_the_script_and_from_the_standard_library(tmp_path):
    (tmp_path / "mine.dp").write_text("fn f(x: float) -> float { return x + 1.0 }\n")
    p = tmp_path / "main.dp"
    p.write_text("import mine\nimport stats\nprint(mine.f(1.0), stats.mean([1.0, 3.0]))\n")
    r = subprocess.run([sys.executable, "-m", "dp", "run", str(p)], capture_output=True, text=True,
                       cwd=ROOT, timeout=120)
    assert (r.returncode, r.stdout, r.stderr) == (0, "2.0 2.0\n", "")


# ---------------------------------------------------------------------- the naming rules

_DP_FORMS = re.compile(r"(?:[A-Za-z_][A-Za-z0-9_]*\.)?[A-Za-z_][A-Za-z0-9_]*·(?:v\d+|t\d*|\d+|d|py\d+)?")


def test_no_runtime_name_has_a_form_dp_names_take():
    dp = Interpreter()
    dp.load("import optim\nprint(grad(sin)(1.0), jacfwd(fn(x: tensor) -> tensor { return x * x })(ones([2])))\n"
            "print(value_and_grad(fn(x: float) -> float { return x * x })(2.0), vjp(cos, 1.0).1(1.0))")
    for n in set(dp.session.runtime.ns) - {"__builtins__"}:
        if n.startswith("optim.") or n.endswith("·d"):
            assert _DP_FORMS.fullmatch(n), n          # a module's globals, derived functions
        else:
            assert n.startswith("rt·") and not _DP_FORMS.fullmatch(n), n


def test_every_name_dp_code_binds_is_mangled():
    dp = Interpreter()
    dp.register("hyp", lambda x, y: (x * x + y * y) ** 0.5, "fn(float, float) -> float")
    before = set(dp.session.runtime.ns)
    dp.load('''
import optim
import ode
struct P { x: float }
enum E { A, B(float) }
let None = 1
var __builtins__ = 2
fn rt(x: float) -> float { return x * x }
let g = grad(rt)
let h = fn(x: float) -> float { return hyp(x, 1.0) }
if true { let rt = 3 }
print(g(1.0), h(1.0), jacfwd(fn(x: tensor) -> tensor { return x * x })(ones([2])))
''')
    dp.load("let None = 1.5")
    names = set(dp.session.runtime.ns)
    assert dp.session.runtime.ns["__builtins__"] == {}
    for n in names - before:
        assert n.startswith("rt·") or _DP_FORMS.fullmatch(n), n
        assert not (n.startswith("__") and n.endswith("__")), n
    assert {"None·", "None·v2", "__builtins__·", "rt·", "rt·t"} <= names
    assert sorted(n for n in before if "hyp" in n) == ["__py_hyp·py0", "hyp·"]


def test_mangling_costs_nothing_in_the_generated_code():
    """Names are only spelt differently: the bytecode of a DP function is what the same
    function written by hand in Python compiles to."""
    dp = Interpreter()
    dp.load("struct P { x: float, v: float }\nfn step(p: P, dt: float) -> P { return P { x: p.x + dt * p.v, v: p.v } }")
    f = dp.session.runtime.ns["step·"]
    ops = [i.opname for i in __import__("dis").get_instructions(f)]
    hand = compile("def step(p, dt):\n    return P(p.x + dt * p.v, p.v)\n", "<hand>", "exec")
    want = [i.opname for i in __import__("dis").get_instructions(hand.co_consts[0])]
    assert ops == want
