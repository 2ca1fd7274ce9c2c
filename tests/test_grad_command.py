"""`dp grad FILE NAME [--wrt N] [--mode forward|vjp]` and the REPL's `:grad NAME [N]`
check what they print as a program checks `grad(NAME)`, `grad(NAME, N)`, `jvp` or
`vjp`: they refuse what it refuses, with the same message and hint, as a diagnostic
pointing at the name the user typed (file, line, column, source line, caret), with a
note at the function's definition; never a Python traceback."""
from __future__ import annotations

import io
import math

import pytest

from helpers import error_of, session
from dp.interpreter.cli import main
from dp.interpreter.repl import Repl

PROGRAM = """fn f(n: int, x: float) -> float {
    return x * x * float(n)
}
fn k(x: float) -> int {
    return 1
}
fn z() -> float {
    return 1.0
}
fn v(x: float) -> list[float] {
    return [x, x * x]
}
fn s(x: string) -> string {
    return x
}
"""


def _at_selector(program_error, expr) -> bool:
    """Whether the program's diagnostic for `let g = expr` points at the parameter selector."""
    return "," in expr and program_error.column == len("let g = ") + expr.index(",") + 3


def dp_grad(tmp_path, *args):
    p = tmp_path / "prog.dp"
    p.write_text(PROGRAM)
    out, err = io.StringIO(), io.StringIO()
    import contextlib
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["grad", str(p), *map(str, args)])
    return code, out.getvalue(), err.getvalue(), str(p)


# what a program writes, and what the command says for the same thing
CASES = [
    ("grad(f)", ["f"]),                              # an int first parameter
    ("grad(k)", ["k"]),                              # an int result
    ("grad(z)", ["z"]),                              # no parameters
    ("grad(v)", ["v"]),                              # a list result
    ("grad(f, 3)", ["f", "--wrt", "3"]),             # no such parameter
    ("grad(f, 0)", ["f", "--wrt", "0"]),
    ("jvp(k, 1.0, 1.0)", ["k", "--mode", "forward"]),
    ("vjp(s, \"a\")", ["s", "--mode", "vjp"]),
]


@pytest.mark.parametrize("expr,args", CASES, ids=[c[0] for c in CASES])
def test_dp_grad_gives_the_type_error_grad_gives_in_a_program(tmp_path, expr, args):
    program = error_of(PROGRAM + f"let g = {expr}\n").first
    code, out, err, path = dp_grad(tmp_path, *args)
    assert code == 1 and out == ""
    assert "Traceback" not in err
    head = err.splitlines()[0]
    assert head.endswith(f"{program.kind}: {program.message}"), err
    if program.hint:
        assert f"  hint: {program.hint}" in err
    # at the name on the command line (or the number, where the program's error is at the
    # selector), quoted with a caret under it
    command = f"dp grad {path} {' '.join(args)}"
    col = command.index(f" {args[0]}") + 2
    if _at_selector(program, expr):
        col = command.index(f" --wrt {args[2]}") + 8
    assert head.startswith(f"<command line>:1:{col}: "), err
    assert f"   1 | {command}" in err and "\n" + " " * (col + 6) + "^" in err
    # and a note at the function's definition
    line = next(i for i, t in enumerate(PROGRAM.splitlines(), 1) if t.startswith(f"fn {args[0]}("))
    assert f"{path}:{line}:1: note: `{args[0]}` is defined here" in err


def test_dp_grad_of_an_unknown_function_points_at_it(tmp_path):
    code, _, err, path = dp_grad(tmp_path, "ff")
    assert code == 1 and err.startswith(f"<command line>:1:{len(f'dp grad {path} ') + 1}: type error: "
                                        "no function named `ff`")
    assert "did you mean `f`?" in err


def test_dp_grad_wrt_prints_the_gradient_with_respect_to_that_parameter(tmp_path):
    code, out, err, _ = dp_grad(tmp_path, "f", "--wrt", "1")
    assert code == 0, err
    assert out.startswith("fn f_grad_1(n: int, x: float) -> float {")
    s, _ = session()
    s.run(PROGRAM + out, "both.dp")
    assert s.run("f_grad_1(3, 0.5)").value == 2 * 0.5 * 3           # d/dx x² n = 2xn


def test_dp_grad_wrt_goes_with_reverse_mode_only(tmp_path):
    code, _, err, _ = dp_grad(tmp_path, "v", "--wrt", "0", "--mode", "forward")
    assert code == 2 and "--wrt selects the parameter of a gradient" in err


def test_dp_grad_vjp_prints_the_pullback(tmp_path):
    code, out, err, _ = dp_grad(tmp_path, "v", "--mode", "vjp")
    assert code == 0, err
    assert out.startswith("fn v_rev(x: float, y_bar: list[float]) -> (float,) {")
    s, _ = session()
    s.run(PROGRAM + out, "both.dp")
    # the cotangent of [x, x²] for [1, 1] at x = 3 is 1 + 2x = 7
    assert s.run("v_rev(3.0, [1.0, 1.0])").value == (7.0,)


# ---------------------------------------------------------------- the REPL


class Repl2:
    def __init__(self):
        self.out, self.err = io.StringIO(), io.StringIO()
        self.repl = Repl(out=self.out, err=self.err)

    def __call__(self, text):
        o, e = self.out.tell(), self.err.tell()
        self.repl.handle(text)
        return self.out.getvalue()[o:], self.err.getvalue()[e:]


@pytest.mark.parametrize("expr,args", CASES, ids=[c[0] for c in CASES])
def test_the_grad_command_gives_the_type_error_grad_gives_in_a_program(expr, args):
    program = error_of(PROGRAM + f"let g = {expr}\n").first
    r = Repl2()
    r(PROGRAM)                                           # <input 1>
    line = ":grad " + " ".join(a for a in args if a not in ("--wrt", "--mode"))
    out, err = r(line)
    assert out == "" and "Traceback" not in err
    head = err.splitlines()[0]
    col = len(line) if _at_selector(program, expr) else 7
    assert head == f"<input 2>:1:{col}: {program.kind}: {program.message}", err
    assert f"   1 | {line}" in err
    assert "<input 1>:" in err and f"note: `{args[0]}` is defined here" in err


def test_the_grad_command_takes_a_parameter_number():
    r = Repl2()
    r(PROGRAM)
    out, err = r(":grad f 1")
    assert err == "" and out.startswith("fn f_grad_1(n: int, x: float) -> float {")
    r(out)
    assert r("f_grad_1(2, 1.5)")[0].startswith(f"{2 * 1.5 * 2} : float")


def test_the_grad_command_prints_a_lambda_bound_with_let():
    r = Repl2()
    r("let sq = fn(x: float) -> float { return x * x }")
    out, err = r(":grad sq")
    assert err == "" and "fn lambda_line1_grad(x: float) -> float {" in out


def test_the_grad_command_prints_every_function_the_derivative_calls():
    r = Repl2()
    r("fn inner(x: float) -> float {\n    var y = x\n    while y < 10.0 { y = y * (2.0 + sin(y)) + 1.0 }\n    return y\n}\n"
      "fn outer(x: float) -> float { return inner(x) * inner(2.0 * x) }")
    out, err = r(":grad outer")
    assert err == "" and out.startswith("fn outer_grad(x: float) -> float {") and "\nfn inner_rev(" in out
    fresh = Repl2()
    fresh("fn inner(x: float) -> float {\n    var y = x\n    while y < 10.0 { y = y * (2.0 + sin(y)) + 1.0 }\n    return y\n}\n"
          "fn outer(x: float) -> float { return inner(x) * inner(2.0 * x) }")
    assert fresh(out)[1] == ""
    got = float(fresh("outer_grad(0.7)")[0].split()[0])
    h = 1e-6
    fd = (float(fresh("outer(0.700001)")[0].split()[0]) - float(fresh("outer(0.699999)")[0].split()[0])) / (2 * h)
    assert math.isclose(got, fd, rel_tol=1e-5)


def test_the_pullback_of_a_function_without_differentiable_parameters_is_dp(tmp_path):
    """Its cotangents are an empty tuple, returned from a function typed `-> ()`:
    printed as the `return` of no value, since `()` is not an expression."""
    program = "fn c(n: int) -> float {\n    return float(n) * 2.0\n}\n"
    p = tmp_path / "c.dp"
    p.write_text(program)
    out, err = io.StringIO(), io.StringIO()
    import contextlib
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert main(["grad", str(p), "c", "--mode", "vjp"]) == 0, err.getvalue()
    text = out.getvalue()
    assert text.startswith("fn c_rev(n: int, y_bar: float) -> () {") and "    return\n" in text
    s, _ = session()
    s.run(program + text, "both.dp")
    assert s.run("c_rev(3, 1.0)").value is None


def test_dp_grad_prints_the_text_source_prints_for_a_function_that_calls_a_transform(tmp_path):
    """Audit of session 17, #4: `dp grad` checks the file without running it, so the jvp
    inside f was not derived yet and printed as `pushforward(q)(x, x)`, with a pullback of
    its own; source(grad(f)) and :grad print `q_jvp(x, x)`. Now the same text."""
    program = "fn q(a: float) -> float { return exp(a) * a }\n" \
              "fn f(x: float) -> float {\n    let (y, t) = jvp(q, x, x)\n    return y * t\n}\n"
    p = tmp_path / "jvp_inside.dp"
    p.write_text(program)
    out, err = io.StringIO(), io.StringIO()
    import contextlib
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert main(["grad", str(p), "f"]) == 0, err.getvalue()
    s, _ = session()
    s.run(program, "jvp_inside.dp")
    assert out.getvalue() == s.run("source(grad(f))").value.rstrip("\n") + "\n"
    assert "pushforward" not in out.getvalue()
    # f = x² e²ˣ (1 + x) (y = x eˣ, t = x (eˣ + x eˣ)); f' at 0.5 by the product rule
    x = 0.5
    want = math.exp(2 * x) * (2 * x * (1 + x) + 2 * x * x * (1 + x) + x * x)
    b, _ = session()
    b.run(program + out.getvalue(), "both.dp")
    assert b.run("f_grad(0.5)").value == pytest.approx(want, rel=1e-13)


def test_dp_grad_is_not_stopped_by_another_functions_derivative_error(tmp_path):
    """Review of session 17: since dp grad derives the transforms the file's functions
    call, an error in another function's (h takes grad of k, which writes a global) made
    `dp grad FILE f` fail; `dp check` accepts the file. Now only f's own errors stop it,
    and `dp grad FILE h` reports h's at its line."""
    program = "var total = 0.0\nfn k(x: float) -> float {\n    total = total + x\n    return x\n}\n" \
              "fn h(x: float) -> float {\n    return grad(k)(x)\n}\nfn f(x: float) -> float {\n    return x * x\n}\n"
    p = tmp_path / "other.dp"
    p.write_text(program)
    import contextlib
    for name, code_want in (("f", 0), ("h", 1)):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["grad", str(p), name])
        assert code == code_want, err.getvalue()
        if name == "f":
            assert out.getvalue().startswith("fn f_grad(x: float) -> float {")
        else:
            assert f"{p}:3:5: differentiation error: `total` is a global variable" in err.getvalue()
            assert "Traceback" not in err.getvalue()
