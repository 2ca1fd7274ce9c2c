"""`dp test [PATH…]` (interpreter/testing.py): the `test_*` functions of .dp files, run
with `assert`; outcomes, diagnostics at the failing line, exit statuses."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def dp(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "dp", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=120, env={**os.environ, "PYTHONPATH": ROOT})

TESTS = """fn sq(x: float) -> float { return x * x }

fn test_square() {
    assert(sq(3.0) == 9.0)
}

fn test_gradient() {
    assert(grad(sq)(3.0) == 7.0, "d/dx x^2 at 3 is 6")
}

fn test_prints() {
    print("from a test")
}

fn helper_not_a_test() {
    assert(false)
}
"""


def test_runs_the_test_functions_and_reports_failures_at_the_assert(tmp_path):
    (tmp_path / "t.dp").write_text(TESTS)
    r = dp("test", tmp_path / "t.dp")
    lines = r.stdout.splitlines()
    assert r.returncode == 1
    assert [ln.split(" (")[0] for ln in lines] == [f"{tmp_path / 't.dp'}::test_square ok",
                                                  f"{tmp_path / 't.dp'}::test_gradient FAILED", "from a test",
                                                  f"{tmp_path / 't.dp'}::test_prints ok",
                                                  "3 tests: 2 passed, 1 failed"]
    assert r.stderr.startswith(f"{tmp_path / 't.dp'}:8:5: runtime error: assertion failed: d/dx x^2 at 3 is 6\n"
                               "   8 |     assert(grad(sq)(3.0) == 7.0, \"d/dx x^2 at 3 is 6\")\n")


def test_a_directory_is_searched_and_all_passing_exits_0(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "sub" / "a.dp").write_text("fn test_one() { assert(1 + 1 == 2) }\n")
    (tmp_path / "b.dp").write_text("fn test_two() { assert(true) }\nfn test_three() { assert(len([1]) == 1) }\n")
    (tmp_path / "plain.dp").write_text("print(\"not run: it has no tests\")\n")
    (tmp_path / ".hidden" / "c.dp").write_text("fn test_never() { assert(false) }\n")
    r = dp("test", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert [ln.split(" (")[0] for ln in r.stdout.splitlines()] == [
        "./b.dp::test_two ok", "./b.dp::test_three ok", "./sub/a.dp::test_one ok", "3 tests: 3 passed, 0 failed"]


def test_a_file_with_an_error_fails_and_a_test_with_parameters_is_refused(tmp_path):
    (tmp_path / "bad.dp").write_text("fn test_a() { let x: int = 1.5 }\n")
    (tmp_path / "params.dp").write_text("fn test_p(x: int) { assert(x > 0) }\n")
    r = dp("test", tmp_path / "bad.dp", tmp_path / "params.dp")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert f"{tmp_path / 'bad.dp'}:1:28: type error: expected `int`, found `float`" in r.stderr
    assert f"{tmp_path / 'params.dp'}:1:1: test error: `test_p` takes parameters; a test takes none" in r.stderr
    assert r.stdout.splitlines()[-1] == "1 test: 0 passed, 1 failed, 1 file with errors"


def test_no_tests_exits_5_and_a_missing_path_2(tmp_path):
    (tmp_path / "plain.dp").write_text("print(1)\n")
    r = dp("test", tmp_path)
    assert r.returncode == 5 and "no tests found" in r.stdout
    r = dp("test", tmp_path / "nope")
    assert r.returncode == 2 and f"dp: cannot find {tmp_path / 'nope'}: no such file or directory" in r.stderr


def test_json_gives_each_outcome_and_its_diagnostics(tmp_path):
    (tmp_path / "t.dp").write_text(TESTS)
    r = dp("test", "--json", tmp_path / "t.dp")
    report = json.loads(r.stdout)
    assert r.returncode == 1
    assert [(t["name"], t["passed"]) for t in report["tests"]] == [
        ("test_square", True), ("test_gradient", False), ("test_prints", True)]
    d, = report["tests"][1]["diagnostics"]
    assert (d["line"], d["column"], d["end_line"], d["end_column"], d["message"]) == (
        8, 5, 8, 55, "assertion failed: d/dx x^2 at 3 is 6")
    assert report["diagnostics"] == [d]
