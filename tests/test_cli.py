"""The `dp` command line, run as a separate process."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def dp(*args, stdin=None, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "dp", *map(str, args)], input=stdin,
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


@pytest.mark.parametrize("argv", [["run", "--help"], ["run"], ["grad", "--help"], ["grad", "x.dp"],
                                  ["grad", "f.dp", "g", "--mode", "sideways"], ["check", "--help"], ["fmt"],
                                  ["test", "--help"], ["kernel"], ["kernel", "install", "--help"], ["repl", "--help"]])
def test_a_subcommand_parsed_alone_says_what_the_whole_parser_says(argv, capsys):
    """`dp CMD …` builds the parser of CMD alone (start-up): its help, usage and errors
    are the whole parser's."""
    from dp.interpreter import cli
    said = []
    for command in (argv[0], None):
        with pytest.raises(SystemExit) as e:
            cli._parser(command).parse_args(argv)
        said.append((e.value.code, capsys.readouterr()))
    assert said[0] == said[1] and (said[0][1].out or said[0][1].err)


@pytest.mark.parametrize("argv", [["run", "f.dp"], ["run", "f.dp", "a", "b"], ["run", "f.dp", "--", "a"],
                                  ["run", "f.dp", "--json"], ["run", "f.dp", "-x", "--", "y"], ["run", "-", "a"],
                                  ["run", "f.dp", "-h"], ["run", "--", "f.dp", "a"], ["run", "f.dp", "a", "--", "b"],
                                  ["run", "--json", "f.dp"], ["run", "f.dp", "--", "--", "c"], ["run", "-h"]])
def test_dp_run_read_without_argparse_is_read_as_argparse_reads_it(argv):
    from dp.interpreter import cli
    fast = cli._run_namespace(argv)
    if fast is not None:                             # else argparse reads it
        assert vars(fast) == vars(cli._parser().parse_args(argv))
    assert (fast is None) == (argv[1].startswith("-") and argv[1] != "-" or argv[2:3] == ["--"])


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


def test_e_runs_code_from_the_command_line():
    r = dp("-e", "let x = 20 + 22\nprint(x, args())", "a", "--", "-b")
    assert (r.returncode, r.stdout, r.stderr) == (0, '42 ["a", "--", "-b"]\n', "")
    assert dp("-e", "print(args())", "--", "-x").stdout == '["-x"]\n'     # a first `--` is dropped
    r = dp("-e", "let x: int = 1.5")
    assert r.returncode == 1 and r.stderr.startswith("<-e>:1:14: type error: expected `int`, found `float`\n"
                                                      "   1 | let x: int = 1.5\n")
    r = dp("-e")
    assert r.returncode == 2 and "-e needs the code to run" in r.stderr


def test_run_dash_reads_the_program_from_stdin():
    r = dp("run", "-", "arg", stdin="print(6 * 7, args())\n")
    assert (r.returncode, r.stdout) == (0, '42 ["arg"]\n')
    r = dp("run", "-", stdin="print(1)\nlet y = 1 / 0\n")
    assert r.returncode == 1 and r.stdout == "1\n"
    assert r.stderr.startswith("<stdin>:2:9: runtime error: division by zero")


def test_check_takes_several_files(tmp_path):
    good = script(tmp_path, "fn f(x: float) -> float { return x }\n", "good.dp")
    bad = script(tmp_path, "let a = 1\nlet b: string = a\n", "bad.dp")
    r = dp("check", good, bad, good)
    assert r.returncode == 1
    assert r.stdout == f"{good}: ok\n{good}: ok\n"
    assert r.stderr.startswith(f"{bad}:2:17: type error: expected `string`, found `int`")
    r = dp("check", good, tmp_path / "missing.dp")
    assert r.returncode == 2 and r.stdout == f"{good}: ok\n"


def test_json_diagnostics_for_tools(tmp_path):
    import json
    good = script(tmp_path, "print(1)\n", "good.dp")
    bad = script(tmp_path, "let a = 1\nlet b: string = a\n", "bad.dp")
    r = dp("check", "--json", good, bad, tmp_path / "missing.dp")
    report = json.loads(r.stdout)
    assert r.returncode == 2 and r.stderr == ""
    assert report["files"] == [{"file": str(good), "ok": True}, {"file": str(bad), "ok": False},
                               {"file": str(tmp_path / "missing.dp"), "ok": False}]
    typed, missing = report["diagnostics"]
    assert typed == {"file": str(bad), "line": 2, "column": 17, "end_line": 2, "end_column": 18,
                     "severity": "error", "kind": "type error", "message": "expected `string`, found `int`",
                     "hint": typed["hint"], "stack": []}
    assert (missing["kind"], missing["line"], missing["message"]) == (
        "usage error", None, f"cannot read {tmp_path / 'missing.dp'}: No such file or directory")
    r = dp("check", "--json", good)
    assert (r.returncode, json.loads(r.stdout)) == (0, {"diagnostics": [], "files": [{"file": str(good), "ok": True}]})
    # `dp run --json`: the program's output on stdout, the diagnostics on stderr, with the call stack
    prog = script(tmp_path, "fn f(x: float) -> float { return log(x) }\nprint(1)\nprint(f(-1.0))\n")
    r = dp("run", "--json", prog)
    d, = json.loads(r.stderr)["diagnostics"]
    assert (r.returncode, r.stdout) == (1, "1\n")
    assert (d["kind"], d["line"], d["column"]) == ("runtime error", 1, 34)
    assert d["stack"] == [{"function": "<top level>", "file": str(prog), "line": 3, "column": 7},
                          {"function": "f", "file": str(prog), "line": 1, "column": 34}]


def test_json_diagnostics_of_dp_e_and_dp_grad(tmp_path):
    """`dp --json -e CODE` and `dp grad --json`: the output on stdout as without
    --json, the diagnostics as one JSON object on stderr."""
    import json
    r = dp("--json", "-e", "print(1)\nprint(log(-1.0))", "--json")
    d, = json.loads(r.stderr)["diagnostics"]
    assert (r.returncode, r.stdout) == (1, "1\n")
    assert (d["file"], d["line"], d["column"], d["kind"], d["message"]) == ("<-e>", 2, 7, "runtime error",
                                                                           "math domain error")
    r = dp("--json", "-e", "print(args())", "--json", "a")      # after CODE, arguments are the program's
    assert (r.returncode, r.stdout, json.loads(r.stderr)) == (0, '["--json", "a"]\n', {"diagnostics": []})
    prog = script(tmp_path, "fn f(x: int) -> float { return 1.0 }\nfn g(x: float) -> float { return x * x }\n")
    r = dp("grad", "--json", prog, "f")
    err, note = json.loads(r.stderr)["diagnostics"]
    assert (r.returncode, r.stdout) == (1, "")
    assert (err["file"], err["column"], err["kind"], err["message"]) == (
        "<command line>", len(f"dp grad {prog} ") + 1, "type error", "cannot differentiate with respect to parameter 0: `int` carries no derivative")
    assert (note["severity"], note["file"], note["line"], note["message"]) == ("note", str(prog), 1, "`f` is defined here")
    r = dp("grad", "--json", prog, "g")
    assert (r.returncode, json.loads(r.stderr)) == (0, {"diagnostics": []})
    assert "var x_bar = result_bar * (2.0 * x)" in r.stdout
