"""Effects and derivatives (dsl/ad/effects.py) where a session or a module is part of
the case; the programs of one file are tests/testdata/forward_globals.dp."""
from __future__ import annotations

import pytest

from dp.dsl.diagnostics import DPError
from helpers import Captured
from dp.interpreter.session import Session
from test_modules import error_in, run_in


def test_a_callee_redefined_in_a_session_is_the_one_the_forward_check_reads():
    """`w` was checked against the first `sq`, which writes the global before it reads
    it; the second reads it first, so two calls of it lose a tangent (w = x² + 2x²,
    w' = 6x = 3 at 0.5, where a jvp would give 2.5): a differentiation error at its write."""
    s = Session(Captured())
    s.run("var gx = 0.0\nfn sq(x: float) -> float { gx = x; return gx * x }\n"
          "fn w(x: float) -> float { return sq(x) + sq(x) }", "<1>")
    assert s.run("jvp(w, 0.5, 1.0)").value == (0.5, 2.0)        # 2x², 4x, with the first sq
    s.run("fn sq(x: float) -> float { let y = gx * x; gx = x; return y + x * x }", "<2>")
    s.run("gx = 0.0")
    with pytest.raises(DPError) as e:
        s.run("jvp(w, 0.5, 1.0)")
    d = e.value.diagnostics[0]
    assert "`sq` reads it before writing it" in d.message and (d.file, d.line, d.column) == ("<2>", 1, 44)
    s.run("gx = 0.0")
    assert s.run("w(0.5)").value == 0.75                        # the function itself runs as ever


GM = """\
    var gx = 0.0
    fn setg(p: float) -> float {
        gx = p
        return p
    }
    fn getg() -> float { return gx }
    """


def test_a_module_global_written_by_its_function_and_read_by_the_importer(tmp_path):
    """w = setg(x) · gm.gx = x²: read through `gm.gx` or `gm.getg()`, the module's
    write is lost to the caller's jvp (it gave 0.5 for w' = 1): a differentiation
    error at the write, naming the global as the importer spells it."""
    for read in ("gm.gx", "gm.getg()"):
        e = error_in(tmp_path, f"import gm\nfn w(x: float) -> float {{\n    let a = gm.setg(x)\n    return a * {read}\n}}\n"
                         "print(jvp(w, 0.5, 1.0))\n", gm=GM)
        d = e.diagnostics[0]
        assert d.kind == "differentiation error" and "`gm.gx` is a global variable this derivative writes" in d.message
        assert d.file.endswith("gm.dp") and d.line == 3


def test_a_module_function_that_writes_and_reads_its_global_alone(tmp_path):
    """setsq(x) sets gx = x and returns gx · x: its own jvp follows the global (2x = 1
    at 0.5)."""
    out = run_in(tmp_path, "import gm\nprint(jvp(gm.setsq, 0.5, 1.0))\n",
                     gm="var gx = 0.0\nfn setsq(x: float) -> float {\n    gx = x\n    return gx * x\n}\n")
    assert out == "(0.25, 1.0)\n"
