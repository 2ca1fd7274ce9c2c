"""The `dp` command line, run as a separate process."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def dp(*args, stdin=None, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "interpreter", *map(str, args)], input=stdin,
                          capture_output=True, text=True, cwd=cwd, timeout=120)


def script(tmp_path, text, name="prog.dp"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_run_passes_arguments_to_the_script(tmp_path):
    p = script(tmp_path, 'let a = args()\nprint(len(a), a)\nfor s in a { print(s) }\n')
    r = dp("run", p, "one", "two words", "--flag")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ['3 ["one", "two words", "--flag"]', "one", "two words", "--flag"]


def test_run_with_a_double_dash_keeps_what_follows(tmp_path):
    p = script(tmp_path, "print(args())\n")
    assert dp("run", p, "--", "-x", "--").stdout.strip() == '["-x", "--"]'


def test_a_file_alone_is_run(tmp_path):
    p = script(tmp_path, "fn sq(x: float) -> float { return x * x }\nprint(sq(1.5), args())\n")
    r = dp(p, "a")
    assert r.returncode == 0 and r.stdout.strip() == '2.25 ["a"]'


def test_args_is_empty_without_arguments(tmp_path):
    r = dp("run", script(tmp_path, "print(len(args()))\n"))
    assert r.stdout.strip() == "0"


def test_runtime_error_exits_1_with_a_diagnostic(tmp_path):
    p = script(tmp_path, 'print("before")\nlet xs = [1.0, 2.0]\nprint(xs[5])\n')
    r = dp("run", p)
    assert r.returncode == 1
    assert r.stdout == "before\n"
    assert f"{p}:3:7: runtime error: index 5 is out of range for a list of length 2" in r.stderr
    assert "   3 | print(xs[5])" in r.stderr and "Traceback" not in r.stderr


def test_check_type_checks_without_running(tmp_path):
    ok = dp("check", script(tmp_path, 'print("ran")\nlet x: float = 2.0 * 3.0\n'))
    assert ok.returncode == 0 and ok.stdout.strip().endswith(": ok") and "ran" not in ok.stdout
    p = script(tmp_path, 'print("ran")\nlet y: int = 1.5\n', "bad.dp")
    bad = dp("check", p)
    assert bad.returncode == 1 and "ran" not in bad.stdout
    assert f"{p}:2:14: type error: expected `int`, found `float`" in bad.stderr


def test_grad_prints_the_derivative_as_dp_source(tmp_path):
    p = script(tmp_path, "fn cube(x: float) -> float { return x * x * x }\n")
    r = dp("grad", p, "cube")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("fn cube_grad(x: float) -> float {")
    # the printed source is DP: it runs and gives 3x²
    run = dp("run", script(tmp_path, p.read_text() + r.stdout + "print(cube_grad(2.0))\n", "both.dp"))
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "12.0"


def test_grad_of_an_unknown_name_is_an_error(tmp_path):
    r = dp("grad", script(tmp_path, "fn cube(x: float) -> float { return x * x * x }\n"), "cub")
    assert r.returncode == 1
    assert "no function named `cub`" in r.stderr and "cube" in r.stderr


def test_grad_names_a_module_function(tmp_path):
    p = script(tmp_path, "import stats\nfn f(x: float) -> float { return x }\n")
    r = dp("grad", p, "stats.mse")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("fn stats__mse_grad(xs: list[float], ys: list[float]) -> list[float] {")
    r = dp("grad", p, "stats.msee")
    assert r.returncode == 1 and "did you mean `stats.mse`?" in r.stderr


def test_usage_errors_exit_2():
    r = dp("run")
    assert r.returncode == 2 and "usage: dp run" in r.stderr
    r = dp("frobnicate")
    assert r.returncode == 2 and "invalid choice" in r.stderr
    r = dp("grad", "x.dp")
    assert r.returncode == 2 and "NAME" in r.stderr.upper()
    r = dp("run", "/no/such/file.dp")
    assert r.returncode == 2 and "cannot read /no/such/file.dp" in r.stderr
    r = dp("--bogus")
    assert r.returncode == 2


def test_help_and_version():
    r = dp("--help")
    assert r.returncode == 0
    for cmd in ["dp run FILE [ARGS...]", "dp check FILE", "dp grad FILE NAME", "dp repl"]:
        assert cmd in r.stdout
    v = dp("--version")
    assert v.returncode == 0 and v.stdout.strip() == "dp 0.1.0"


def test_repl_reads_lines_from_a_pipe():
    r = dp("repl", stdin="fn twice(x: float) -> float {\n  return 2.0 * x\n}\ntwice(4.0)\n:t twice\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["8.0 : float", "twice : fn(float) -> float"]


def test_dp_alone_starts_the_repl():
    r = dp(stdin="1 + 2\n")
    assert r.stdout.strip() == "3 : int"
