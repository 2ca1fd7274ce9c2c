"""Runtime errors are DP diagnostics: the span of the failing expression, a DP call
stack naming DP functions, a hint, and never a Python traceback. Also the exit
codes of `dp run` and `dp check`."""
import os
import subprocess
import sys

import pytest

from dp.dsl.diagnostics import DPError
from helpers import error_of, run, session

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def assert_no_python(text: str):
    for leak in ("Traceback", '.py"', ".py:", "File \"", "rt·", "Error:"):
        assert leak not in text, text


def runtime_error(src: str):
    e = error_of(src)
    assert e.first.kind == "runtime error", e.render()
    assert_no_python(e.render())
    return e.first


def stack_names(d) -> list[str]:
    return [name for name, _ in d.stack]


# (name, source, message, line, column, the DP call stack's function names)
CASES = [
    ("int division by zero",
     "fn inner(a: int, b: int) -> int {\n    return a / b\n}\n"
     "fn outer(n: int) -> int {\n    return inner(n, 0) + 1\n}\nprint(outer(3))",
     "division by zero", 2, 12, ["<top level>", "outer", "inner"]),
    ("float division by zero",
     "fn ratio(a: float, b: float) -> float {\n    let r = a / b\n    return r\n}\nprint(ratio(1.0, 0.0))",
     "division by zero", 2, 13, ["<top level>", "ratio"]),
    ("int modulo by zero",
     "fn wrap(i: int, n: int) -> int {\n    return i % n\n}\nprint(wrap(3, 0))",
     "division by zero", 2, 12, ["<top level>", "wrap"]),
    ("float modulo by zero",
     "let a = 5.0\nlet b = 0.0\nprint(a % b)",
     "division by zero", 3, 7, []),
    ("compound division by zero",
     "fn f() -> int {\n    var n = 4\n    n /= 0\n    return n\n}\nprint(f())",
     "division by zero", 3, 5, ["<top level>", "f"]),
    ("index out of range",
     "fn get(xs: list[float], i: int) -> float {\n    return xs[i]\n}\nprint(get([1.0, 2.0], 5))",
     "index 5 is out of range for a list of length 2", 2, 12, ["<top level>", "get"]),
    ("negative index out of range",
     "let xs = [1, 2]\nprint(xs[-3])",
     "index -3 is out of range for a list of length 2", 2, 7, []),
    ("assignment index out of range",
     "fn put() {\n    var xs = [1]\n    xs[3] = 2\n}\nput()",
     "index 3 is out of range for a list of length 1", 3, 5, ["<top level>", "put"]),
    ("string index out of range",
     'let s = "ab"\nprint(s[2])',
     "index 2 is out of range for a string of length 2", 2, 7, []),
    ("missing dict key",
     'fn look(d: dict[string, int]) -> int {\n    return d["zz"]\n}\nprint(look({"a": 1}))',
     'key "zz" is not in the dict', 2, 12, ["<top level>", "look"]),
    ("missing int dict key",
     "var d = {1: 2.0}\nd.remove(7)",
     "key 7 is not in the dict", 2, 1, []),
    ("pop from empty list",
     "fn take() -> float {\n    var xs: list[float] = []\n    return xs.pop()\n}\nprint(take())",
     "pop from an empty list", 3, 12, ["<top level>", "take"]),
    ("sqrt of a negative",
     "fn root(x: float) -> float {\n    return sqrt(x)\n}\nprint(root(-1.0))",
     "math domain error", 2, 12, ["<top level>", "root"]),
    ("log of zero",
     "fn lg(x: float) -> float {\n    return 2.0 * log(x)\n}\nprint(lg(0.0))",
     "math domain error", 2, 18, ["<top level>", "lg"]),
    ("exp overflow",
     "print(exp(1000.0))",
     "numeric overflow", 1, 7, []),
    ("int of infinity",
     "let big = 1e308 * 10.0\nprint(int(big))",
     "cannot convert inf to int", 2, 7, []),
    ("negative int exponent",
     "let n = -1\nprint(2 ** n)",
     "negative exponent in int ** int", 2, 7, []),
    ("error inside a lambda passed to a function",
     "let f = fn(x: int) -> int { return 10 / x }\n"
     "fn g(h: fn(int) -> int) -> int {\n    return h(0)\n}\nprint(g(f))",
     "division by zero", 1, 36, ["<top level>", "g", "lambda"]),
    ("function reading a global before it is defined",
     "print(f())\nlet k = 2\nfn f() -> int {\n    return k\n}",
     "`k` is used before its definition has run", 4, 12, ["<top level>", "f"]),
]


@pytest.mark.parametrize("name,src,message,line,col,stack", CASES, ids=[c[0] for c in CASES])
def test_runtime_error(name, src, message, line, col, stack):
    d = runtime_error(src)
    assert d.message == message
    assert (d.line, d.column) == (line, col)
    assert stack_names(d) == stack
    if stack:
        # each frame's position is its call site in the DP source; the last is the failure
        assert d.stack[-1][1].line == line and d.stack[-1][1].col == col


def test_division_by_zero_render():
    e = error_of("fn inner(a: int, b: int) -> int {\n    return a / b\n}\n"
                 "fn outer(n: int) -> int {\n    return inner(n, 0) + 1\n}\nprint(outer(3))", file="calc.dp")
    assert e.render() == (
        "calc.dp:2:12: runtime error: division by zero\n"
        "   2 |     return a / b\n"
        "                  ^^^^^\n"
        "  hint: check the divisor before dividing\n"
        "  DP call stack (most recent call last):\n"
        "    calc.dp:7:7 in <top level>\n"
        "    calc.dp:5:12 in outer\n"
        "    calc.dp:2:12 in inner")


def test_recursion_too_deep_has_a_short_dp_call_stack():
    d = runtime_error("fn down(n: int) -> int {\n    return down(n + 1) + 1\n}\nprint(down(0))")
    assert d.message == "recursion too deep"
    assert (d.line, d.column) == (2, 12)
    assert d.hint == "does the recursion reach its base case?"
    names = stack_names(d)
    assert names[0] == "<top level>" and names[-1] == "down"
    assert len(names) <= 12
    assert any("more calls" in n for n in names)
    assert all(n == "down" for n in names[1:] if "more calls" not in n)


def test_deep_but_finite_recursion_runs():
    assert run("fn s(n: int) -> int {\n    if n == 0 { return 0 }\n    return n + s(n - 1)\n}\n"
               "print(s(5000))") == "12502500\n"


def test_output_before_the_error_is_kept():
    s, out = session()
    with pytest.raises(DPError):
        s.run('print("before")\nlet xs = [1]\nprint(xs[1])\nprint("after")')
    assert out.text == "before\n"


def test_session_is_usable_after_a_runtime_error():
    s, out = session()
    s.run("fn f(x: int) -> int { return 10 / x }")
    with pytest.raises(DPError):
        s.run("print(f(0))")
    s.run("print(f(5))")
    assert out.text == "2\n"


def test_runtime_error_in_top_level_loop_points_at_the_line():
    d = runtime_error("var total = 0\nfor i in 0..5 {\n    total += 10 / (3 - i)\n}")
    assert (d.line, d.column, d.message) == (3, 14, "division by zero")


# ---------------------------------------------------------------- the command line

def dp(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "dp", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=60)


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_dp_run_ok_exits_0(tmp_path):
    f = write(tmp_path, "ok.dp", 'let xs = [1, 2]\nprint("sum", xs[0] + xs[1])\n')
    r = dp("run", f)
    assert (r.returncode, r.stdout, r.stderr) == (0, "sum 3\n", "")


def test_dp_run_runtime_error_exits_1(tmp_path):
    f = write(tmp_path, "bad.dp", 'fn f(x: int) -> int {\n    return 10 / x\n}\nprint("before")\nprint(f(0))\n')
    r = dp("run", f)
    assert r.returncode == 1
    assert r.stdout == "before\n"
    assert f"{f}:2:12: runtime error: division by zero" in r.stderr
    assert f"{f}:5:7 in <top level>" in r.stderr and f"{f}:2:12 in f" in r.stderr
    assert_no_python(r.stderr)


def test_dp_run_type_error_exits_1_and_runs_nothing(tmp_path):
    f = write(tmp_path, "typo.dp", 'print("never")\nlet velocity = 1.0\nprint(velocty)\n')
    r = dp("run", f)
    assert r.returncode == 1 and r.stdout == ""
    assert f"{f}:3:7: type error: `velocty` is not defined" in r.stderr
    assert "did you mean `velocity`?" in r.stderr
    assert_no_python(r.stderr)


def test_dp_run_syntax_error_exits_1(tmp_path):
    f = write(tmp_path, "syn.dp", "let x = (1.0\n")
    r = dp("run", f)
    assert r.returncode == 1 and "syntax error" in r.stderr
    assert_no_python(r.stderr)


def test_dp_run_usage_errors_exit_2(tmp_path):
    assert dp("run").returncode == 2
    assert dp("frobnicate").returncode == 2
    r = dp("run", str(tmp_path / "missing.dp"))
    assert r.returncode == 2 and "cannot read" in r.stderr
    assert_no_python(r.stderr)


def test_dp_check(tmp_path):
    good = write(tmp_path, "good.dp", 'print(1 / 0)\n')           # checks; would fail only when run
    r = dp("check", good)
    assert (r.returncode, r.stdout) == (0, f"{good}: ok\n")
    bad = write(tmp_path, "bad.dp", "let n: int = 2.5\nlet m: string = 1\n")
    r = dp("check", bad)
    assert r.returncode == 1
    assert f"{bad}:1:14: type error" in r.stderr and f"{bad}:2:17: type error" in r.stderr
    assert_no_python(r.stderr)


def test_dp_run_from_another_directory(tmp_path):
    f = write(tmp_path, "here.dp", "print(sqrt(2.0))\n")
    r = subprocess.run([sys.executable, "-m", "dp", "run", f], capture_output=True, text=True,
                       cwd=str(tmp_path), env={**os.environ, "PYTHONPATH": ROOT}, timeout=60)
    assert (r.returncode, r.stdout) == (0, "1.4142135623730951\n")
