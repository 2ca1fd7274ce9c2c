"""plot, savefig and progress: what is drawn, where a program may write (and where not,
however it names the path), effects once under derivatives, the bar on a terminal and
nothing elsewhere, and the two plotting examples under `dp run`."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dp.dsl.diagnostics import DPError
from dp.interpreter.embed import Interpreter
from dp.interpreter.plots import _plain
from dp.interpreter.progress import bar

from helpers import session

ROOT = Path(__file__).resolve().parent.parent
PNG = b"\x89PNG\r\n\x1a\n"


def dp_run(*args, cwd):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "dp", "run", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=120)


def test_plot_records_lines_of_lists_and_tensors():
    s, out = session()
    s.run('plot([1.0, 2.0, 4.0])\nplot([0.0, 1.0], [3.0, 5.0], "two")\n'
          'let t = linspace(0.0, 1.0, 3)\nplot(t, t * t)\nplot(reshape(arange(6), [3, 2]), "cols")')
    got = [(list(x), y.tolist(), label) for x, y, label in s.plots.series]
    assert got == [([0.0, 1.0, 2.0], [1.0, 2.0, 4.0], None), ([0.0, 1.0], [3.0, 5.0], "two"),
                   ([0.0, 0.5, 1.0], [0.0, 0.25, 1.0], None),
                   ([0.0, 1.0, 2.0], [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]], "cols")]
    pytest.importorskip("matplotlib")
    assert s.plots.render("png")[:8] == PNG
    assert s.plots.render("svg").startswith(b"<?xml")


def test_plot_errors_are_dp_errors():
    s, _ = session()
    with pytest.raises(DPError) as e:
        s.run("plot([1.0, 2.0], [1.0])")
    assert (e.value.first.kind, e.value.message) == ("runtime error", "`plot` needs as many xs as ys: 2 and 1")
    with pytest.raises(DPError) as e:
        s.run("plot(zeros([2, 2, 2]))")
    assert e.value.message == "`plot` draws a list or a 1-d or 2-d tensor, not a tensor of shape (2, 2, 2)"
    with pytest.raises(DPError) as e:
        s.run('plot(1.0, "x")')
    assert e.value.first.kind == "type error"
    with pytest.raises(DPError) as e:                      # many empty lines cannot fill the host's memory
        s.run("let none: list[float] = []\nfor i in 0..2000 { plot(none) }")
    assert e.value.message == "the figure would hold more than 1000 lines or 10000000 points"


def test_labels_are_plain_text():
    assert _plain(r"$\frac{1}{2}$ of it") == r"\$\frac{1}{2}\$ of it"
    assert _plain("a\nb\x00c") == "a b c"
    assert len(_plain("x" * 1000)) == 200
    pytest.importorskip("matplotlib")
    s, _ = session()
    s.run(r'plot([1.0, 2.0], "$\\undefined{x}$ and $$")')     # would be a mathtext error if it were read as TeX
    assert s.plots.render("png")[:8] == PNG


def test_savefig_needs_a_grant(tmp_path):
    dp = Interpreter()
    with pytest.raises(DPError) as e:
        dp.load('plot([1.0])\nsavefig("a.png")')
    assert e.value.message == "`savefig`: this program may not write files"
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("path, message", [
    ("../escape.png", "`savefig` writes only inside the directory the program was granted"),
    ("/tmp/escape.png", "`savefig` writes only inside the directory the program was granted"),
    ("notes.txt", "`savefig` writes images: .png, .svg, .pdf files"),
    (".bashrc", "`savefig` writes images"),
    ("missing/a.png", "its directory does not exist inside the granted one"),
    ("out/../../escape.png", "`savefig` writes only inside the directory the program was granted"),
    ("link.png", "will not replace 'link.png': it is not a plain file"),
    ("dir.png", "will not replace 'dir.png': it is not a plain file"),
    ("outside/a.png", "its directory does not exist inside the granted one"),
    ("a\\x00.png", "`savefig` cannot write to"),
    ("", "`savefig` cannot write to"),
])
def test_savefig_refuses_what_is_not_granted(tmp_path, path, message):
    pytest.importorskip("matplotlib")
    grant, other = tmp_path / "granted", tmp_path / "other"
    grant.mkdir()
    other.mkdir()
    (other / "target").write_text("precious")
    (grant / "link.png").symlink_to(other / "target")
    (grant / "dir.png").mkdir()
    (grant / "outside").symlink_to(other, target_is_directory=True)
    (grant / "out").mkdir()
    dp = Interpreter(plot_dir=str(grant))
    with pytest.raises(DPError) as e:
        dp.load(f'plot([1.0, 2.0])\nsavefig("{path}")')
    assert e.value.first.kind == "runtime error" and message in e.value.message
    assert (other / "target").read_text() == "precious" and os.listdir(other) == ["target"]
    assert not (tmp_path / "escape.png").exists()


def test_savefig_writes_images_where_granted(tmp_path):
    pytest.importorskip("matplotlib")
    (tmp_path / "figs").mkdir()
    dp = Interpreter(plot_dir=str(tmp_path))
    dp.load('plot([1.0, 4.0, 9.0], "squares")\nsavefig("figs/a.png")\nsavefig("b.svg")\nsavefig("c.pdf")')
    assert (tmp_path / "figs" / "a.png").read_bytes()[:8] == PNG
    assert (tmp_path / "b.svg").read_bytes().startswith(b"<?xml")
    assert (tmp_path / "c.pdf").read_bytes()[:5] == b"%PDF-"
    assert dp.figure() is None                 # saved: nothing pending
    dp.load("plot([2.0])")
    assert dp.figure()[:8] == PNG


def test_a_derivative_plots_once():
    s, _ = session()
    s.run("fn f(x: float) -> float {\n    plot([x, 2.0 * x])\n    return x * x\n}\nprint(grad(f)(3.0))")
    assert [y.tolist() for _, y, _ in s.plots.series] == [[3.0, 6.0]]


def test_progress_is_the_list_and_shows_nothing_without_a_sink():
    s, out = session()
    s.run("var n = 0\nfor i in progress(2..6) { n += i }\nprint(n, progress(0..3), len(progress(range(4))))")
    assert out.text == "14 [0, 1, 2] 4\n"


def test_progress_draws_a_bar_on_its_sink(monkeypatch):
    from dp.interpreter import progress
    monkeypatch.setattr(progress, "DELAY", 0.0)
    monkeypatch.setattr(progress, "INTERVAL", 0.0)
    s, out = session()
    drawn = []
    s.progress.sink = drawn.append
    s.run("var n = 0\nfor i in progress(0..4) { n += i }\nprint(n)")
    assert out.text == "6\n"
    assert [d.split("]")[0] for d in drawn] == ["\r[" + "#" * k + "." * (30 - k) for k in (8, 15, 22, 30, 30)]
    assert drawn[-1].endswith(" left\n") and " 4/4 " in drawn[-1]
    drawn.clear()
    s.run("for i in progress(0..10) {\n    if i == 2 { break }\n}")
    assert drawn[-1].startswith("\r[" + "#" * 6 + "." * 24 + "] 2/10 ")          # a break ends the bar where it was


def test_bar_text():
    assert bar(25, 100, 30.0) == "[########......................] 25/100 0:30 elapsed, 1:30 left"


def test_progress_arguments_print_and_parse_back():
    s, out = session()
    s.run("fn f(n: int) -> int {\n    var t = 0\n    for i in progress(0..n) { t += i }\n    return t\n}\n"
          "print(source(f))")
    assert "    for i in progress(range(0, n)) {\n" in out.text


def test_dp_run_writes_an_unsaved_figure_and_shows_no_bar_off_a_terminal(tmp_path):
    pytest.importorskip("matplotlib")
    prog = tmp_path / "curve.dp"
    prog.write_text('var ys: list[float] = []\nfor i in progress(0..50) { ys.append(float(i * i)) }\nplot(ys)\n')
    r = dp_run(str(prog), cwd=tmp_path)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "dp: wrote the figure to curve.png\n")
    assert (tmp_path / "curve.png").read_bytes()[:8] == PNG
    saved = tmp_path / "saved.dp"
    saved.write_text('plot([1.0, 2.0])\nsavefig("mine.png")\n')
    r = dp_run(str(saved), cwd=tmp_path)
    assert (r.returncode, r.stderr) == (0, "")
    assert (tmp_path / "mine.png").exists() and not (tmp_path / "saved.png").exists()


def test_the_loss_curve_example(tmp_path):
    pytest.importorskip("matplotlib")
    r = dp_run(str(ROOT / "examples" / "loss_curve.dp"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == ("loss at the start: 4.368421052631579\nloss after 200 steps: 9.74566682632689e-07\n"
                        "fitted line: w = 1.9968674569498783 b = 1.0016887920156008\n")
    assert (tmp_path / "loss_curve.png").read_bytes()[:8] == PNG


def test_the_trajectory_example(tmp_path):
    pytest.importorskip("matplotlib")
    r = dp_run(str(ROOT / "examples" / "trajectory.dp"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "period: 14.993320610381375"                 # 2π a^(3/2), a = 1 / 0.56
    x, y = (float(w) for w in lines[1].replace("after one period: x =", "").split(" y ="))
    assert abs(x - 1.0) < 1e-6 and abs(y) < 1e-3                     # back where it started
    assert lines[2].startswith("energy: start -0.28 end -0.27999999")
    slope = float(lines[3].split(": ")[1])
    dp = Interpreter()
    dp.load((ROOT / "examples" / "trajectory.dp").read_text().replace('plot(xs, ys, "orbit")', ""))
    f, h = dp.function("distance_after"), 1e-6
    assert abs(slope - (f(1.2 + h) - f(1.2 - h)) / (2 * h)) < 1e-6     # against central differences
    assert (tmp_path / "trajectory.png").read_bytes()[:8] == PNG


def test_the_services_say_what_to_install_when_their_packages_are_missing():
    code = ("import sys\nsys.modules['pygls'] = None\nsys.modules['ipykernel'] = None\n"
            "sys.modules['jupyter_client'] = None\nfrom dp.interpreter.cli import main\n"
            "print(main(sys.argv[1:]))")
    for args, extra in ((["lsp"], "lsp"), (["kernel", "install"], "jupyter"), (["kernel", "run"], "jupyter")):
        r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT, timeout=60)
        assert r.stdout == "2\n"
        assert r.stderr.endswith(f'  hint: pip install "dp-lang[{extra}]"\n') and "Traceback" not in r.stderr


# a loop long enough (about a second or more) for its bar to appear, after half a second
LONG_LOOP = "var s = 0.0\nfor i in progress(0..400) {\n    for j in 0..20000 { s = s + 1.0 }\n}\nprint(s)\n"


def test_dp_run_draws_a_bar_on_a_terminal(tmp_path):
    pexpect = pytest.importorskip("pexpect")
    prog = tmp_path / "long.dp"
    prog.write_text(LONG_LOOP)
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    child = pexpect.spawn(sys.executable, ["-m", "dp", "run", str(prog)], cwd=str(tmp_path), env=env,
                          encoding="utf-8", timeout=120)
    child.expect(pexpect.EOF)
    child.close()
    out = child.before
    assert child.exitstatus == 0
    assert "\r[##############################] 400/400 " in out and out.rstrip().endswith("8000000.0")


def test_the_repl_draws_a_bar_on_a_terminal(tmp_path):
    pexpect = pytest.importorskip("pexpect")
    env = dict(os.environ, TERM="xterm-256color", PROMPT_TOOLKIT_NO_CPR="1", DP_HISTORY=str(tmp_path / "h"),
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    child = pexpect.spawn(sys.executable, ["-m", "dp", "repl"], cwd=str(ROOT), env=env, encoding="utf-8",
                          timeout=120, dimensions=(30, 120))
    try:
        child.expect("dp>")
        child.send("for i in progress(0..400) { for j in 0..20000 { let k = j } }\r")
        child.expect(r"\] 400/400 ")
        child.expect("dp>")
        child.sendeof()
        child.expect(pexpect.EOF)
    finally:
        child.close()
