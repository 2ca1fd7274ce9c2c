"""Programs with their expectations written beside them: tests/testdata/*.dp.

A file holds programs separated by lines `---`; each runs in a fresh session.
`# want: TEXT` at the end of a line is the next line the program prints (numbers
in it compare to 1e-9, relative); `# error: TEXT` says the program fails with a DP
error reported on that very line whose message contains TEXT; `# col: N` and
`# hint: HINT` after it say the caret's column and the whole hint. As in starlark-go's
testdata, the expectation sits on the line it concerns."""
from __future__ import annotations

import math
import pathlib
import re

import pytest

from dp.dsl.diagnostics import DPError
from tests.helpers import Captured
from dp.interpreter.session import Session

DATA = pathlib.Path(__file__).parent / "testdata"
NUMBER = re.compile(r"-?(?:\d+\.\d*(?:e[-+]?\d+)?|\d+e[-+]?\d+|\d+|inf|nan)")


def programs():
    for path in sorted(DATA.glob("*.dp")):
        lines = path.read_text().split("\n")
        start = 0
        for i, line in enumerate(lines + ["---"]):
            if line.strip() == "---":
                if any(ln.strip() and not ln.strip().startswith("#") for ln in lines[start:i]):
                    yield pytest.param(path, start, lines[start:i], id=f"{path.stem}:{start + 1}")
                start = i + 1


def same(got: str, want: str) -> bool:
    got = got.strip()
    g, w = NUMBER.split(got), NUMBER.split(want)
    gn, wn = NUMBER.findall(got), NUMBER.findall(want)
    if g != w or len(gn) != len(wn):
        return False
    return all(_close(float(a), float(b)) for a, b in zip(gn, wn))


def _close(a: float, b: float) -> bool:
    if math.isnan(b):
        return math.isnan(a)
    return a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def error_parts(text: str) -> tuple[str, int | None, str | None]:
    """`TEXT  # col: N  # hint: HINT` → (TEXT, N, HINT), the last two optional."""
    parts = re.split(r"\s+#\s*(?=(?:col|hint):)", text.strip())
    col = hint = None
    for p in parts[1:]:
        key, _, value = p.partition(":")
        if key == "col":
            col = int(value)
        else:
            hint = value.strip()
    return parts[0].strip(), col, hint


@pytest.mark.parametrize("path,start,lines", list(programs()))
def test_program(path, start, lines):
    # blank lines keep each line's number as it is in the file
    src = "\n" * start + "\n".join(lines)
    wants = [(start + k + 1, m.group(1).strip()) for k, ln in enumerate(lines)
             for m in [re.search(r"#\s*want:\s*(.*)$", ln)] if m]
    errors = [(start + k + 1, *error_parts(m.group(1))) for k, ln in enumerate(lines)
              for m in [re.search(r"#\s*error:\s*(.*)$", ln)] if m]
    out = Captured()
    try:
        Session(out).run(src, str(path))
    except DPError as e:
        d = e.diagnostics[0]
        assert errors, f"unexpected error:\n{e}"
        line, text, col, hint = errors[0]
        assert d.line == line and text in f"{d.kind}: {d.message}", f"expected at line {line}: {text}\ngot:\n{e}"
        assert col is None or d.column == col, f"expected the caret at column {col}\ngot:\n{e}"
        assert hint is None or d.hint == hint, f"expected the hint: {hint}\ngot:\n{e}"
    else:
        assert not errors, f"expected an error at line {errors[0][0]}: {errors[0][1]}"
    printed = out.text.splitlines()
    got = printed[:len(wants)]
    for (line, want), g in zip(wants, got):
        assert same(g, want), f"line {line}: printed {g!r}, want {want!r}"
    assert len(printed) >= len(wants), f"printed {len(printed)} lines, want {len(wants)}:\n{out.text}"
