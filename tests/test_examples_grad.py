"""The lecture's examples: each is run and its printed numbers checked."""
import math

from helpers import run


def out(name):
    with open(f"examples/{name}.dp") as f:
        return run(f.read(), f"examples/{name}.dp")


def test_adjoint_trace_example():
    text = out("adjoint_trace")
    lines = text.splitlines()
    assert lines[0].startswith("f(2, 5) = 11.652")
    assert lines[1] == "x1_bar  = 5.5"
    assert round(float(lines[2].split("=")[1]), 3) == 1.716
    assert "fn f_grad_0_1(x1: float, x2: float) -> (float, float) {" in text
    assert "var x1_bar = result_bar * (1.0 / x1 + x2)" in text


def test_logistic_example():
    lines = out("logistic").splitlines()
    assert len(lines) == 4 and all(line.endswith("agree: true") for line in lines)
    assert " f' = 8.0 " in lines[1]


def test_cube_example():
    lines = out("cube").splitlines()
    assert lines[1] == "x = 2.0  by hand: (8.0, 12.0)  value_and_grad: (8.0, 12.0)"
    assert "fn cube_value_and_grad(x: float) -> (float, float) {" in lines[4]
    _ = math
