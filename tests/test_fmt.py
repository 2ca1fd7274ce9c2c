"""`dp fmt FILE…` (interpreter/fmt.py): files rewritten in DP's layout with their
comments, `--check` for CI, and every refusal a DP diagnostic."""
import json

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


def test_a_file_that_cannot_be_formatted_is_left_as_it_is_with_a_diagnostic(tmp_path):
    bad, inside, tidy = tmp_path / "bad.dp", tmp_path / "inside.dp", tmp_path / "tidy.dp"
    bad.write_text("let x = (1 +\n")
    inside.write_text("let xs = [1,  # one\n    2]\n")
    tidy.write_text(TIDY)
    r = dp("fmt", bad, inside, tidy, tmp_path / "none.dp")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"{bad}:1:" in r.stderr and "syntax error" in r.stderr
    assert f"{inside}:1:1: format error: not formatted: formatting would drop the comment on line 1" in r.stderr
    assert f"dp: cannot read {tmp_path / 'none.dp'}: No such file or directory" in r.stderr
    assert bad.read_text() == "let x = (1 +\n" and inside.read_text() == "let xs = [1,  # one\n    2]\n"
    r = dp("fmt", "--json", inside)
    d, = json.loads(r.stdout)["diagnostics"]
    assert (r.returncode, d["file"], d["line"], d["kind"], d["severity"]) == (1, str(inside), 1, "format error", "error")
