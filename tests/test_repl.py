"""The REPL: its evaluator and completion in-process, line mode through a pipe, and
the prompt_toolkit front end through a real pseudo-terminal made by pexpect (so the
tests need no terminal of their own)."""
import io
import os
import re
import subprocess
import sys
import time

import pytest

from dp.dsl import primitives as P

from dp.interpreter.repl import Completions, Repl, enter_inserts_line, expression_before, needs_more, resolve_command

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Out:
    def __init__(self):
        self.out, self.err = io.StringIO(), io.StringIO()
        self.repl = Repl(out=self.out, err=self.err)

    def __call__(self, text):
        o, e = self.out.tell(), self.err.tell()
        going = self.repl.handle(text)
        assert going
        return self.out.getvalue()[o:], self.err.getvalue()[e:]


# ---------------------------------------------------------------------- input ends


@pytest.mark.parametrize("text", [
    "fn f(x: float) -> float {", "fn f(x: float) -> float {\n    return x", "struct P {\n  x: float",
    "let xs = [1.0,", "let y = (1.0 +", "let z = 1 +", "print(1,\n 2", "if true {\n} else {",
    "while x < 3 {\n  x += 1", "let a = 1 + \\", "match s {",
])
def test_open_blocks_and_brackets_continue(text):
    assert needs_more(text)


@pytest.mark.parametrize("text", [
    "", "let x = 1", "fn f(x: float) -> float {\n return x\n}", "1 + ", ":type 1 +",
    "let x = 1 2", '"unclosed', "let = 3", "}",
])
def test_complete_or_hopeless_inputs_do_not_continue(text):
    if text == "1 + ":
        assert needs_more(text)          # a trailing operator continues, like an open bracket
    else:
        assert not needs_more(text)


def test_command_prefixes_resolve_in_priority_order():
    assert resolve_command("t") == "type" and resolve_command("ty") == "type"
    assert resolve_command("ti") == "time" and resolve_command("q") == "quit"
    assert resolve_command("r") == "reload" and resolve_command("l") == "load"
    assert resolve_command("g") == "grad" and resolve_command("h") == "help"
    assert resolve_command("d") == "doc" and resolve_command("b") == "browse"
    assert resolve_command("x") is None


# ---------------------------------------------------------------------- the evaluator


def test_definitions_accumulate_and_expressions_print_value_and_type():
    r = Out()
    assert r("struct P {\n    x: float\n    y: float\n}") == ("", "")
    assert r("fn norm2(p: P) -> float {\n    return p.x * p.x + p.y * p.y\n}") == ("", "")
    assert r("let q = P { x: 3.0, y: 4.0 }") == ("", "")
    assert r("norm2(q)") == ("25.0 : float\n", "")
    assert r("q") == ("P { x: 3.0, y: 4.0 } : P\n", "")
    assert r('"text"') == ('"text" : string\n', "")
    assert r("[1, 2]") == ("[1, 2] : list[int]\n", "")
    assert r("norm2") == ("<fn norm2> : fn(P) -> float\n", "")
    assert r('print("hi")') == ("hi\n", "")


def test_a_type_error_keeps_every_earlier_definition():
    r = Out()
    r("fn sq(x: float) -> float { return x * x }")
    r("let k = 2.0")
    out, err = r("let bad: int = sq(k)")
    assert out == "" and "type error: expected `int`, found `float`" in err
    assert "   1 | let bad: int = sq(k)" in err
    assert r("sq(k)") == ("4.0 : float\n", "")
    out, err = r("bad")
    assert "`bad` is not defined" in err


def test_a_runtime_error_leaves_no_half_made_definitions():
    r = Out()
    r("let x = 1.0")
    out, err = r('let x = "text"\nlet y = 1 / 0')
    assert "runtime error: division by zero" in err
    assert r("x + 1.0") == ("2.0 : float\n", "")            # x is still the float
    assert "`y` is not defined" in r("y")[1]


def test_type_command_does_not_run_its_expression():
    r = Out()
    r("var n = 0\nfn bump() -> int { n += 1\n return n }")
    assert r(":type bump()") == ("bump() : int\n", "")
    assert r(":t bump") == ("bump : fn() -> int\n", "")
    assert r("n") == ("0 : int\n", "")
    assert "takes an expression" in r(":t let z = 1")[1]
    assert "usage: :type EXPR" in r(":type")[1]


def test_time_command_prints_value_and_duration():
    r = Out()
    out, _ = r(":time 6 * 7")
    lines = out.splitlines()
    assert lines[0] == "42 : int" and lines[1].startswith("time: ")
    assert r(":ti 1.5")[0].startswith("1.5 : float\ntime: ")


def test_help_and_unknown_commands():
    r = Out()
    out, _ = r(":help")
    for cmd in [":type", ":time", ":grad", ":load", ":reload", ":quit", ":help"]:
        assert cmd in out
    assert r(":")[0] == out
    assert "unknown command `:tpye`; did you mean `type`?" in r(":tpye 1")[1]


def test_quit_and_its_prefix_end_the_loop():
    for cmd in (":quit", ":q", ":qu"):
        assert Repl(out=io.StringIO()).handle(cmd) is False


def test_load_and_reload(tmp_path):
    f = tmp_path / "lib.dp"
    f.write_text("fn k() -> float { return 1.0 }\n")
    r = Out()
    assert r(f":load {f}") == (f"loaded {f}\n", "")
    assert r("k()") == ("1.0 : float\n", "")
    r("let extra = 5")
    f.write_text("fn k() -> float { return 2.0 }\n")
    assert r(":r") == (f"loaded {f}\n", "")
    assert r("k()") == ("2.0 : float\n", "")
    assert "`extra` is not defined" in r("extra")[1]          # :reload starts afresh
    assert "cannot read /no/such.dp" in r(":load /no/such.dp")[1]


def test_load_reports_errors_with_the_file_name(tmp_path):
    f = tmp_path / "broken.dp"
    f.write_text("let a = 1.0\nlet b: int = a\n")
    _, err = Out()(f":l {f}")
    assert f"{f}:2:14: type error" in err


def test_grad_command_prints_derivative_source():
    r = Out()
    r("fn cube(x: float) -> float { return x * x * x }")
    out, err = r(":grad cube")
    assert err == "" and out.startswith("fn cube_grad(x: float) -> float {")
    assert "not a function" in r(":grad nope")[1]
    assert "unknown mode" in r(":grad cube sideways")[1]
    assert r(":g cube forward")[0].startswith("fn cube_jvp(")


def test_type_of_a_builtin_shows_its_signatures():
    r = Out()
    assert r(":t zeros") == ("zeros(shape: list[int]) -> tensor\nzeros(n: int) -> tensor\n", "")
    assert r(":t grad") == ("grad(f: fn(P0, …) -> float, wrt: int = 0) -> fn(P0, …) -> P0\n", "")
    assert r(":type sin")[0].splitlines()[0] == "sin(x: float) -> float"
    assert r(":t print") == ("print(a, b, …)\n", "")
    out, _ = r(":t tie_share")
    assert out.startswith("tie_share(a: float, b: float) -> float\n") and "helper" in out
    r("fn zeros(n: int) -> int { return n }")       # a definition of the session shadows the builtin
    assert r(":t zeros") == ("zeros : fn(int) -> int\n", "")


def test_doc_reads_the_reference_docs():
    r = Out()
    out, err = r(":doc zeros")
    assert err == "" and out.splitlines()[:3] == [
        "zeros(shape: list[int]) -> tensor", "zeros(n: int) -> tensor",
        "`zeros(n)`, `zeros([2, 3])`, `ones(…)` — filled with 0.0 or 1.0"]
    assert "(docs/tensors.md, “Making tensors”)" in out
    assert r("?zeros") == (out, "")
    out, _ = r("?grad")
    assert "`grad(f)` — `fn(params) -> P0`: the gradient with respect to parameter 0" in out
    out, _ = r(":d mean")
    assert "`sum(t)`, `mean(t)`, `max(t)`, `min(t)` give a float" in out and "(docs/tensors.md, “Reductions”)" in out
    r("import optim")
    out, _ = r("?optim.adam")
    assert out.startswith("fn optim.adam(g: fn(list[float]) -> list[float], x0: list[float], lr: float, steps: int)")
    assert "`adam(g, x0, lr, steps)` — Adam with β₁ = 0.9" in out
    assert "helper" in r("?mm_grad_a")[0]
    assert r(":doc nosuchname")[1] == "nothing is documented for `nosuchname`\n"
    assert "did you mean `zeros`" in r("?zeross")[1]
    assert r("?") == ("", "usage: ?NAME\n")


def test_doc_of_a_session_definition():
    r = Out()
    r("# the square of x\nfn sq(x: float) -> float { return x * x }\nfn count(n: int) -> int { return n }")
    assert r(":doc sq") == ("fn sq(x: float) -> float\nthe square of x\ndifferentiable in `x`\n"
                            "`grad(sq)` : `fn(float) -> float`\n"
                            "`jvp`, `vjp` and `value_and_grad` apply (the result `float` carries derivatives)\n", "")
    out, _ = r("?count")
    assert out.splitlines()[:2] == ["fn count(n: int) -> int", "no parameter carries a derivative: `n` (`int`)"]
    r("struct P { x: float }\nvar k = 2")
    assert r("?P") == ("struct P { x: float }\nits gradient is a `P`\n", "")
    assert r("?k") == ("var k: int\n", "")


def test_browse_lists_the_session_definitions():
    r = Out()
    assert r(":browse") == ("nothing is defined yet\n", "")
    r("struct P { x: float, y: float }\nenum Color { Red, Green }\nfn norm(p: P) -> float { return p.x }")
    r("let origin = P { x: 0.0, y: 0.0 }\nvar steps = 3\nimport stats")
    r("norm(origin)")
    assert r(":b") == ("struct P { x: float, y: float }\nenum Color { Red, Green }\nfn norm(p: P) -> float\n"
                       "let origin: P\nvar steps: int\nimport stats\nans: float\n", "")
    out, _ = r(":browse stats")
    assert "fn mean(xs: list[float]) -> float" in out.splitlines()
    assert "no module `optim` is imported; `import optim` first" in r(":browse optim")[1]


def test_ans_is_the_last_value():
    r = Out()
    assert "`ans` is not defined" in r("ans")[1]
    r("6 * 7")
    assert r("ans + 1") == ("43 : int\n", "")
    assert r("ans") == ("43 : int\n", "")
    r("[1.5, 2.5]")
    r("fn twice() -> float { return ans[0] * 2.0 }")           # ans takes the type of the value
    assert r("twice()") == ("3.0 : float\n", "")
    r("let x = 1")                                           # a statement has no value: ans stays
    assert r("ans") == ("3.0 : float\n", "")
    r("[5.0]")
    assert r("twice()") == ("10.0 : float\n", "")           # the last `ans` of the type it was checked with
    r("true")
    assert r("twice()") == ("10.0 : float\n", "")
    assert "redefining `ans` breaks `twice`" in r("let ans = \"mine\"")[1]     # as any global would
    r = Out()
    r("1.5")
    r("let ans = \"mine\"")                               # the session's own `ans` wins
    r("1 + 1")
    assert r("ans") == ('"mine" : string\n', "")
    assert "`ans` is not defined" in Out()("ans")[1]         # one session's ans is not another's


def test_time_repeats_a_quick_call_and_reports_compiling_apart():
    r = Out()
    r("fn sq(x: float) -> float { print(\"called\")\n return x * x }")
    out, err = r(":time sq(3.0)")
    lines = out.splitlines()
    assert err == "" and lines[:2] == ["called", "9.0 : float"]            # what the repeats print is not shown
    assert re.fullmatch(r"time: [\d.]+ [µm]?s ± [\d.]+ [µm]?s a call \(mean ± std\. dev\. of 5 runs, \d+ calls? each\); "
                        r"compile [\d.]+ [µm]?s, first run [\d.]+ [µm]?s", lines[2]), lines[2]
    assert len(lines) == 3
    out, _ = r(":time let z = sq(2.0)")                                    # a statement runs once
    assert out.splitlines()[1].startswith("time: compile ") and ", run " in out
    assert r("z") == ("4.0 : float\n", "")
    assert "division by zero" in r(":time 1 / 0")[1]


def test_an_internal_error_keeps_the_session():
    r = Out()
    r("let kept = 5")
    real = r.repl.session.run

    def broken(*args, **kw):
        raise ValueError("a bug")
    r.repl.session.run = broken
    out, err = r("kept + 1")
    assert err.startswith("internal error: ValueError: a bug\n  hint: this is a bug in DP")
    r.repl.session.run = real
    assert r("kept + 1") == ("6 : int\n", "")


def test_enter_inserts_a_line_inside_a_multiline_input_unless_at_the_end():
    text = "fn f() -> int {\n    return 1\n}"
    assert enter_inserts_line(text, text.index("return"))          # inside a recalled input
    assert enter_inserts_line(text, text.index("\n}"))               # at the end of a line, not of the input
    assert not enter_inserts_line(text, len(text))
    assert not enter_inserts_line(text + "\n  ", len(text))          # only blanks after the cursor
    assert not enter_inserts_line("1 + 2", 2)                       # one line: Enter runs it


# ---------------------------------------------------------------------- completion


def completions(repl, text):
    return Completions(repl).complete(text)


def test_completes_keywords_builtins_and_names_in_scope():
    r = Out()
    r("struct Point { x: float, y: float }\nlet origin = Point { x: 0.0, y: 0.0 }\nfn orbit(t: float) -> float { return t }")
    assert completions(r.repl, "or") == ("or", ["orbit", "origin"])
    assert "while" in completions(r.repl, "wh")[1]
    assert completions(r.repl, "let a = gr") == ("gr", ["grad"])
    assert "Point" in completions(r.repl, "Poi")[1]


def test_completes_struct_fields_and_methods_after_a_dot():
    r = Out()
    r("struct Inner { depth: float, dim: int }\nstruct Outer { inner: Inner, name: string }")
    r("let o = Outer { inner: Inner { depth: 1.0, dim: 2 }, name: \"n\" }")
    r("fn make() -> Outer { return o }\nvar xs = [1.0]\nlet d = {\"a\": 1}\nenum Color { Red, Green }")
    assert completions(r.repl, "o.") == ("", ["inner", "name"])
    assert completions(r.repl, "print(o.inner.d") == ("d", ["depth", "dim"])
    assert completions(r.repl, "make().inner.") == ("", ["depth", "dim"])
    assert completions(r.repl, "xs.ap") == ("ap", ["append"])
    assert "contains" in completions(r.repl, "d.")[1]
    assert completions(r.repl, "Color.") == ("", ["Red", "Green"])
    assert completions(r.repl, "nothing.") == ("", [])
    assert completions(r.repl, "for i in 0..") == ("", [])


def test_completes_meta_commands_and_their_arguments():
    r = Out()
    r("fn alpha(x: float) -> float { return x }\nlet beta = 1")
    assert completions(r.repl, ":t") == ("t", ["type", "time"])
    assert completions(r.repl, ":grad al") == ("al", ["alpha"])
    assert completions(r.repl, ":type alp") == ("alp", ["alpha"])


def test_candidates_carry_their_types_and_helpers_are_hidden():
    r = Out()
    r("struct Pt { x: float, y: int }\nlet pt = Pt { x: 1.0, y: 2 }\nvar xs = [1.0]\nimport optim")
    c = Completions(r.repl)
    assert c.candidates("pt.") == ("", {"x": "float", "y": "int"})
    assert c.candidates("p") [1]["pt"] == "Pt"
    assert c.candidates("xs.p") == ("p", {"pop": "fn() -> float"})
    assert c.candidates("sq")[1] == {"sqrt": "fn(float) -> float  (+1)"}
    assert c.candidates("optim.gd_")[1] == {"gd_t": "fn(fn(tensor) -> tensor, tensor, float, int) -> tensor"}
    assert c.candidates("whi")[1] == {"while": "keyword"}
    assert c.candidates(":br") == ("br", {"browse": "list what this session (or an imported module) defines"})
    assert c.candidates("?zeros_")[1] == {"zeros_like": "zeros_like(x: T) -> T"}
    for helper in ("tie_share", "mm_grad_a", "unbroadcast", "sqrt_deriv", "pow_dbase", "broadcast_like"):
        assert helper not in c.words()
        assert c.complete(helper[:3])[1] == [w for w in c.complete(helper[:3])[1] if w not in P.HELPERS]
    assert c.complete("tie") == ("tie", [])
    assert "did you mean" not in r("tie_shar(1.0, 2.0)")[1]         # hints do not offer helpers either


def test_expression_before_a_dot():
    assert expression_before("print(p.pos") == "p.pos"
    assert expression_before("let a = f(x, g(y))[0]") == "f(x, g(y))[0]"
    assert expression_before("xs[i") == "i"
    assert expression_before("1 + t.0") == "t.0"


# ---------------------------------------------------------------------- line mode (a pipe)


def repl_pipe(text):
    return subprocess.run([sys.executable, "-m", "dp", "repl"], input=text, capture_output=True,
                          text=True, cwd=ROOT, timeout=60)


def test_line_mode_runs_multiline_inputs_and_goes_on_after_errors():
    r = repl_pipe("struct P {\n  x: float\n}\nfn f(p: P) -> float {\n  return p.x * 2.0\n}\n"
                  "let bad: int = 1.5\nf(P { x: 4.0 })\n:quit\nf(P { x: 1.0 })\n")
    assert r.stdout.splitlines() == ["8.0 : float"]
    assert "type error: expected `int`, found `float`" in r.stderr
    assert r.returncode == 1                       # an input failed


def test_line_mode_exit_status_is_0_when_all_inputs_succeed():
    r = repl_pipe("let a = 2\na * 21\n")
    assert (r.returncode, r.stdout) == (0, "42 : int\n")


def test_repl_loads_its_files_then_reads_inputs(tmp_path):
    f = tmp_path / "lib.dp"
    f.write_text("fn k() -> float { return 2.5 }\n")
    r = subprocess.run([sys.executable, "-m", "dp", "repl", str(f), str(tmp_path / "no.dp")],
                       input="k() * 2.0\n:reload\nk()\n", capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.stdout.splitlines() == [f"loaded {f}", "5.0 : float", f"loaded {f}", "2.5 : float"]
    assert r.stderr == f"cannot read {tmp_path / 'no.dp'}: No such file or directory\n" and r.returncode == 1


def test_line_mode_reports_an_unfinished_input_at_the_end():
    r = repl_pipe("fn f() {\n")
    assert "syntax error" in r.stderr and r.returncode == 1


# ---------------------------------------------------------------------- a real terminal

pexpect = pytest.importorskip("pexpect")


def spawn(history):
    env = dict(os.environ, TERM="xterm-256color", PROMPT_TOOLKIT_NO_CPR="1", DP_HISTORY=str(history))
    child = pexpect.spawn(sys.executable, ["-m", "dp", "repl"], cwd=ROOT, env=env, encoding="utf-8",
                          timeout=30, dimensions=(30, 120))
    child.expect("dp>")
    return child


def send(child, line):
    """Type one line and press Enter (the terminal sends CR)."""
    child.send(line + "\r")


def said(kind, message):
    """A pattern for a diagnostic's first line, coloured or not (dsl.diagnostics)."""
    return rf"{kind}:(\x1b\[0m)? (\x1b\[1m)?{re.escape(message)}"


def prompt(child):
    """Wait for the next prompt. Keys like Ctrl-D or Ctrl-R must wait for it: before
    the prompt puts the terminal in raw mode, the terminal itself would eat them."""
    child.expect("dp>")


def test_terminal_session(tmp_path):
    """Multi-line definitions, a type error, a gradient, Ctrl-C out of an endless
    loop, :type, :quit — the session keeps going through all of it."""
    child = spawn(tmp_path / "history")
    try:
        for line in ["struct Ball {", "pos: float", "vel: float", "}"]:
            send(child, line)
        prompt(child)
        for line in ["fn height(b: Ball, t: float) -> float {", "let g = 9.81",
                     "return b.pos + b.vel * t - 0.5 * g * t * t", "}"]:
            send(child, line)
        prompt(child)
        send(child, "height(Ball { pos: 1.0, vel: 2.0 }, 1.0)")
        child.expect(r"-1\.905\d* : float")
        send(child, "let wrong: int = height(Ball { pos: 1.0, vel: 2.0 }, 1.0)")
        child.expect(said("type error", "expected `int`, found `float`"))     # in colour: a terminal
        send(child, "grad(height, 1)(Ball { pos: 0.0, vel: 3.0 }, 1.0)")
        child.expect(r"-6\.81\d* : float")
        prompt(child)
        send(child, "while true {}")
        time.sleep(1.0)
        child.sendintr()
        child.expect(said("runtime error", "interrupted"))
        send(child, "height(Ball { pos: 0.0, vel: 0.0 }, 0.0)")
        child.expect(r"0\.0 : float")
        send(child, ":t height")
        child.expect(r"height : fn\(Ball, float\) -> float")
        send(child, ":q")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0


def test_ctrl_c_at_the_prompt_clears_and_ctrl_d_exits(tmp_path):
    child = spawn(tmp_path / "history")
    try:
        child.send("let unfinished = ")
        time.sleep(0.3)
        child.sendintr()
        send(child, "6 * 7")
        child.expect("42 : int")
        prompt(child)
        child.sendcontrol("d")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0


def test_history_persists_and_suggests_and_tab_completes_fields(tmp_path):
    history = tmp_path / "history"
    child = spawn(history)
    try:
        send(child, "struct Particle { position: float, velocity: float }")
        prompt(child)
        send(child, "let p = Particle { position: 1.5, velocity: 2.0 }")
        prompt(child)
        send(child, "let magic_number = 40 + 2")
        prompt(child)
        child.send("p.vel")
        time.sleep(0.5)
        child.send("\t")                        # Tab completes the field…
        child.expect("ocity")
        time.sleep(0.3)
        send(child, "")                          # …Enter closes the menu…
        time.sleep(0.3)
        send(child, "")                          # …and Enter runs it
        child.expect("2.0 : float")
        prompt(child)
        child.sendcontrol("d")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert "let magic_number = 40 + 2" in history.read_text()
    assert "p.velocity" in history.read_text()

    child = spawn(history)                       # a new process: definitions are gone, history is not
    try:
        send(child, "struct Particle { position: float, velocity: float }")
        prompt(child)
        send(child, "let p = Particle { position: 1.5, velocity: 2.0 }")
        prompt(child)
        child.send("let magic_n")
        child.expect(r"umber = 40 \+ 2")          # the suggestion, shown after the cursor
        child.send("\x1b[C")                     # → takes it
        time.sleep(0.3)
        send(child, "")
        prompt(child)
        send(child, "magic_number")
        child.expect("42 : int")
        prompt(child)
        child.sendcontrol("r")                   # Ctrl-R searches the history
        child.send("p.velo")
        child.expect("city")                     # the match, shown in the input line
        time.sleep(0.3)
        send(child, "")                          # accept the match…
        time.sleep(0.3)
        send(child, "")                          # …and run it
        child.expect("2.0 : float")
        prompt(child)
        child.sendcontrol("d")
        child.expect(pexpect.EOF)
    finally:
        child.close()


def test_enter_in_a_recalled_multiline_input_inserts_a_line_and_completion_shows_types(tmp_path):
    child = spawn(tmp_path / "history")
    try:
        for line in ["fn f() -> int {", "return 1", "}"]:
            send(child, line)
        prompt(child)
        child.send("\x1b[A")                     # ↑ recalls the definition, the cursor at its end
        time.sleep(0.3)
        child.send("\x1b[A\x1b[A")               # ↑↑ moves up inside it, to the first line
        child.send("\x1b[F")                     # End
        time.sleep(0.3)
        send(child, "")                          # Enter there inserts a line…
        child.send("print(7)")
        child.send("\x1b[B\x1b[B\x1b[F")          # ↓↓ End: the end of the input
        time.sleep(0.3)
        send(child, "")                          # …and at the end Enter runs it
        prompt(child)
        send(child, "f()")
        child.expect(r"7\r\n1 : int")
        prompt(child)
        child.send("sqr")
        time.sleep(0.3)
        child.send("\t")
        child.expect(r"fn\(float\) -> float")     # the type beside the candidate
        child.sendintr()
        prompt(child)
        time.sleep(0.5)                          # the interrupt has cleared the line before Ctrl-D
        child.sendcontrol("d")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
