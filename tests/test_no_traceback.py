"""Inputs that once ended in a Python traceback (found by fuzzing; issue 12): each is a
DP diagnostic, with its place, and the REPL survives each with its definitions."""
from __future__ import annotations

import io
import os
import subprocess
import sys
import tracemalloc

import pytest

from dp.dsl.diagnostics import DPError
from dp.dsl.parser import parse
from dp.interpreter.embed import Interpreter
from dp.interpreter.repl import Repl

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def dp_error(src) -> DPError:
    with pytest.raises(DPError) as info:
        Interpreter().load(src)
    assert "Traceback" not in info.value.render()
    return info.value


# ---------------------------------------------------------------------- strings

@pytest.mark.parametrize("src, message, column", [
    ('print("\\x4")', "`\\x` takes two hex digits", 8),
    ('print("ok\\u12")', "unknown escape `\\u` in a string", 10),
    ('print("\\N{x}")', "unknown escape `\\N` in a string", 8),
    ('print("\\q")', "unknown escape `\\q` in a string", 8),
    ("let t = (1, 2)\nprint(t.1e3)", "`1e3` is not a tuple field", 9),
])
def test_a_bad_escape_or_field_is_a_syntax_error_at_its_place(src, message, column):
    e = dp_error(src)
    assert (e.first.kind, e.message, e.column) == ("syntax error", message, column)
    assert e.first.source_line is not None and "^" in e.render()


def test_the_escapes_dp_has():
    out = []
    Interpreter(stdout=out.append).load('print("a\\tb\\\\c\\x41\\"\\0|\\r|\\n")')
    assert out == ['a\tb\\cA"\x00|\r|\n\n']


def test_a_string_literal_costs_little_memory_to_read():
    text = 'let s = "' + "ab\\n" * 100_000 + '"\n'
    parse(text)                                      # the parser is built
    tracemalloc.start()
    parse(text)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak / len(text) < 30                     # bytes per byte of source (was ~290)


def test_a_module_qualified_struct_of_a_field_is_a_syntax_error():
    e = dp_error("a.b.P { x: 1 }")
    assert (e.message, e.line, e.column) == ("a struct literal is named by a struct or `module.Struct`", 1, 1)


def test_a_form_feed_or_a_lone_carriage_return_does_not_shift_the_quoted_line():
    e = dp_error("let a = 1\x0c\nlet b = 2\r\nlet c = $")
    assert (e.line, e.first.source_line) == (3, "let c = $")


# ---------------------------------------------------------------------- files

def test_source_files_are_utf8_with_or_without_a_bom(tmp_path):
    (tmp_path / "bom.dp").write_bytes(b"\xef\xbb\xbfprint(1)\n")
    (tmp_path / "bad.dp").write_bytes(b'print(1)\nprint("\xff")\n')
    out = []
    dp = Interpreter(stdout=out.append)
    dp.load_file(str(tmp_path / "bom.dp"))
    assert out == ["1\n"]
    with pytest.raises(DPError) as info:
        dp.load_file(str(tmp_path / "bad.dp"))
    e = info.value
    assert (e.message, e.file, e.line, e.column) == ("this file is not UTF-8 text: byte 0xff cannot be read",
                                                     str(tmp_path / "bad.dp"), 2, 8)
    assert e.first.hint == "save the file as UTF-8"


def test_an_imported_module_that_is_not_utf8_is_a_diagnostic(tmp_path):
    (tmp_path / "m.dp").write_bytes(b"fn f() -> float { return 1.0 }\n\xc3(\n")
    dp = Interpreter(module_path=[str(tmp_path)])
    with pytest.raises(DPError) as info:
        dp.load("import m\nprint(m.f())")
    assert info.value.message == "this file is not UTF-8 text: byte 0xc3 cannot be read"
    assert info.value.line == 2


def dp_cli(*args, cwd=None, stdout=subprocess.PIPE):
    return subprocess.run([sys.executable, "-m", "dp", *args], stdout=stdout, stderr=subprocess.PIPE,
                          text=True, cwd=cwd or ROOT, timeout=120, env={**os.environ, "PYTHONPATH": ROOT})


def test_dp_run_and_check_read_a_bom_and_refuse_bad_bytes(tmp_path):
    (tmp_path / "bom.dp").write_bytes(b"\xef\xbb\xbfprint(1)\n")
    (tmp_path / "bad.dp").write_bytes(b"print(1)\n\xff\n")
    r = dp_cli("run", str(tmp_path / "bom.dp"))
    assert (r.returncode, r.stdout, r.stderr) == (0, "1\n", "")
    for cmd in ("run", "check"):
        r = dp_cli(cmd, str(tmp_path / "bad.dp"))
        assert r.returncode == 1 and r.stdout == ""
        assert r.stderr.startswith(f"{tmp_path / 'bad.dp'}:2:1: syntax error: this file is not UTF-8 text")
        assert "Traceback" not in r.stderr


def test_output_to_a_closed_pipe_or_a_full_disk(tmp_path):
    src = tmp_path / "big.dp"
    src.write_text("fn f(x: float) -> float { return x * sin(x) }\nvar i = 0\nwhile i < 100000 {\n    print(i)\n"
                   "    i += 1\n}\n")
    for args in (("run", str(src)), ("grad", str(src), "f")):
        p = subprocess.Popen([sys.executable, "-m", "dp", *args], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT})
        p.stdout.readline()
        p.stdout.close()                                  # `| head -1`
        err = p.stderr.read().decode()
        assert p.wait(timeout=120) == 0 and err == ""
    if os.path.exists("/dev/full"):
        with open("/dev/full", "w") as full:
            r = dp_cli("run", str(src), stdout=full)
        assert r.returncode == 1 and "Traceback" not in r.stderr
        assert r.stderr.startswith(f"{src}:4:5: runtime error: cannot write the output: No space left on device")
        with open("/dev/full", "w") as full:
            r = dp_cli("check", str(src), stdout=full)
        assert (r.returncode, r.stderr) == (1, "dp: cannot write the output: No space left on device\n")


# ---------------------------------------------------------------------- from Python

def test_jvp_of_a_two_parameter_function_given_bare_values():
    dp = Interpreter()
    dp.load("fn f(x: float, y: float) -> float { return x * y }")
    with pytest.raises(DPError) as info:
        dp.jvp("f")(1.0, 1.0)
    assert info.value.message == "the jvp of `f` takes a tuple of 2 primals, got float 1.0"
    assert dp.jvp("f")((2.0, 5.0), (1.0, 0.0)) == (10.0, 5.0)


def test_grad_of_a_lambda_capturing_an_undefined_name():
    e = dp_error("let h = grad(fn(x: float) -> float { return x * zz })")
    assert (e.message, e.line, e.column) == ("`zz` is not defined", 1, 49)


def test_a_timeout_during_the_parse_is_a_dp_error():
    dp = Interpreter(timeout=0.2)
    with pytest.raises(DPError) as info:
        dp.load("\n".join(f"let x{i} = {i} + {i} * 2" for i in range(100_000)))
    assert info.value.message == "time limit exceeded: the program ran longer than 0.2 s"
    assert dp.eval("40 + 2") == 42


# ---------------------------------------------------------------------- the REPL survives

BAD = ['print("\\x4")', 'print("\\u12")', 'print("\\N{x}")', 'print("\\q")', "a.b.P { x: 1 }",
       "print(" + "-" * 20000 + "1)", "let g = grad(fn(x: float) -> float { return x * zz })",
       "let t = (1, 2)\nt.1e3", "10 ** 5000", ":load {bad}", ":load {missing}", "fn k() -> string { return \"s\" }",
       "struct S { x: int }"]


def test_the_repl_survives_each_with_its_definitions(tmp_path):
    (tmp_path / "bad.dp").write_bytes(b"let zzz = 1\n\xff\n")
    out, err = io.StringIO(), io.StringIO()
    repl = Repl(out=out, err=err)
    for line in ["struct S { x: float }", "fn k() -> float { return 1.5 }", "fn h() -> float { return k() * 2.0 }",
                 "fn use(s: S) -> float { return s.x }", "let keep = 7"]:
        assert repl.handle(line)
    assert err.getvalue() == ""
    for line in BAD:
        line = line.replace("{bad}", str(tmp_path / "bad.dp")).replace("{missing}", str(tmp_path / "nope.dp"))
        assert repl.handle(line)
    assert "Traceback" not in err.getvalue() and "Traceback" not in out.getvalue()
    assert err.getvalue().count("error") >= len(BAD) - 1
    out.truncate(0)
    out.seek(0)
    for line in ["h()", "keep", "use(S { x: 2.0 })"]:
        repl.handle(line)
    assert out.getvalue() == "3.0 : float\n7 : int\n2.0 : float\n"
