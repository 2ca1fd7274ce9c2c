"""How a diagnostic is shown: the caret under the span however the line is written
(tabs, wide characters), and colour only on a terminal, never with NO_COLOR."""
import os
import subprocess
import sys

import pytest

from dp.dsl.diagnostics import Diagnostic, use_colour
from dp.dsl.span import Span
from helpers import error_of

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def shown(src: str) -> list[str]:
    """The quoted line and the caret line of src's error, the gutter cut off."""
    lines = error_of(src).render().split("\n")
    return [line[7:] for line in lines[1:3]]


# ---------------------------------------------------------------------- carets


@pytest.mark.parametrize("src, quoted, caret", [
    # a tab shows as spaces to the next multiple of 4, and the caret follows it
    ("\tlet q = y", "    let q = y", "            ^"),
    ("fn f() -> int {\n\t\treturn nope\n}", "        return nope", "               ^^^^"),
    ("let a = 1\t\t+ zz", "let a = 1       + zz", "                  ^^"),
    # a wide character takes two columns
    ('let s = "日本" + 1', 'let s = "日本" + 1', "        ^^^^^^^^^^"),
    ('print("名前", nope)', 'print("名前", nope)', " " * 14 + "^^^^"),
    # an emoji too; a combining accent takes none
    ('print("🙂e\u0301", nope)', 'print("🙂e\u0301", nope)', " " * 13 + "^^^^"),
], ids=["leading tab", "two tabs", "tabs inside", "wide in the span", "wide before", "emoji and accent"])
def test_the_caret_stands_under_the_span(src, quoted, caret):
    assert shown(src) == [quoted, caret]


def test_a_runtime_error_after_wide_characters_has_its_caret_under_the_expression():
    lines = error_of('let z = 0\nprint("日本語", 1 / z)').render().split("\n")
    assert lines[0] == "test.dp:2:14: runtime error: division by zero"
    assert lines[2] == "                       ^^^^^"          # under `1 / z`, after six wide columns


def test_a_caret_past_the_end_of_the_line_stands_after_it():
    d = Diagnostic("syntax error", "unexpected end of input", Span("f.dp", 1, 6, 1, 7), source_line="\tf(x")
    assert d.render().split("\n")[1:] == ["   1 |     f(x", "               ^"]


# ---------------------------------------------------------------------- colour


def test_colour_marks_the_kind_the_caret_and_the_hint():
    d = Diagnostic("type error", "bad", Span("f.dp", 1, 1, 1, 2), "do this", source_line="x")
    assert d.render(colour=True).split("\n") == [
        "\x1b[1mf.dp:1:1\x1b[0m: \x1b[1;31mtype error:\x1b[0m \x1b[1mbad\x1b[0m",
        "\x1b[1;34m   1 | \x1b[0mx",
        "       \x1b[1;31m^\x1b[0m",
        "  \x1b[1;36mhint:\x1b[0m do this"]
    assert "\x1b" not in d.render()


class _Stream:
    def __init__(self, tty):
        self.tty = tty

    def isatty(self):
        return self.tty


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert use_colour(_Stream(True)) and not use_colour(_Stream(False)) and not use_colour(object())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_colour(_Stream(True))
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "dumb")
    assert not use_colour(_Stream(True))


def _run_on_a_terminal(tmp_path, **env):
    pexpect = pytest.importorskip("pexpect")
    prog = tmp_path / "bad.dp"
    prog.write_text("let x = 1\nprint(x + nope)\n")
    environ = {k: v for k, v in os.environ.items() if k != "NO_COLOR"} | {"TERM": "xterm"} | env
    child = pexpect.spawn(sys.executable, ["-m", "dp", "run", str(prog)], cwd=ROOT, env=environ,
                          encoding="utf-8", timeout=60)
    child.expect(pexpect.EOF)
    return child.before


def test_dp_run_colours_its_diagnostic_on_a_terminal(tmp_path):
    out = _run_on_a_terminal(tmp_path)
    assert "\x1b[1;31mtype error:\x1b[0m \x1b[1m`nope` is not defined\x1b[0m" in out
    assert "\x1b[1;31m^^^^\x1b[0m" in out


def test_dp_run_has_no_colour_with_no_color(tmp_path):
    out = _run_on_a_terminal(tmp_path, NO_COLOR="1")
    assert "type error: `nope` is not defined" in out and "\x1b[" not in out


def test_dp_run_has_no_colour_into_a_pipe(tmp_path):
    prog = tmp_path / "bad.dp"
    prog.write_text("print(nope)\n")
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"} | {"TERM": "xterm"}
    r = subprocess.run([sys.executable, "-m", "dp", "run", str(prog)], capture_output=True, text=True,
                       cwd=ROOT, env=env, timeout=60)
    assert r.returncode == 1 and "type error: `nope` is not defined" in r.stderr and "\x1b" not in r.stderr
