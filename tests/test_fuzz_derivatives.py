"""The random-program derivative tester (tests/fuzz_derivatives.py): its oracle, its
generator and shrinker, and a fixed-seed sample of programs that must show no wrong
number, no internal error and no printed-source mismatch."""
from __future__ import annotations

import numpy as np

from dp.dsl.diagnostics import Diagnostic, DPError
from tests.fuzz_derivatives import campaign, summarize
from tests.fuzz_oracle import (DIFFERR, FAILURES, GENBUG, INTERNAL, OK, SKIP_NONSMOOTH, SOURCE, WRONG, Options, Run,
                               central, check, classify)
from tests.fuzz_program import FLOAT, LIST, StructT, TensorT, TupleT, generate
from tests.fuzz_shrink import shrink

X1 = [("x", FLOAT)]
FIRST = Options(second_order=False)
ALL = Options(second_order=True, third_order=True)


def modes(outcome, kind):
    return {c.mode for c in outcome.checks if c.kind == kind}

# ---------------------------------------------------------------------- the oracle finds what is wrong


def test_a_right_program_passes_every_check():
    src = "fn f(x: float, y: float) -> float { return sin(x) * y + exp(0.5 * x * y) }"
    o = check(src, [("x", FLOAT), ("y", FLOAT)], {"x": 0.7, "y": -1.3}, ALL)
    assert o.kind == OK, o.checks
    done = {c.mode for c in o.checks if c.kind == OK}
    one = check("fn f(x: tensor) -> float { return sum(sin(x) * x) }", [("x", TensorT((3,)))],
                {"x": np.array([0.1, 0.5, -0.9])}, ALL)
    assert o.kind == OK and "hessian" in {c.mode for c in one.checks if c.kind == OK}, one.checks
    assert {"reverse", "forward", "fwd-vs-rev", "source", "rev-over-rev", "fwd-over-rev", "fwd-over-fwd",
            "3rd-rev", "3rd-fwd"} <= done


def test_a_wrong_derivative_rule_is_a_wrong_number():
    # d/dx x^3 is 3x^2; the rule says 2x^2
    src = """
fn cube(x: float) -> float { return x * x * x }
derivative cube(x) -> y {
    x_bar = y_bar * 2.0 * x * x
}
fn f(x: float) -> float { return cube(x) + x }
"""
    o = check(src, X1, {"x": 0.8}, FIRST)
    assert o.kind == WRONG
    assert {"reverse", "forward"} <= modes(o, WRONG)


def test_a_function_curving_finer_than_the_step_is_not_called_wrong():
    # campaign 90210 #1043: a loop grows the value to 6e8 and the derivative to 4e11;
    # differences at 1e-3 pass the smoothness tests yet are off by 250x, and agree with
    # DP only at finer steps (close_fd refines before it calls a number wrong)
    src = """
fn f(x: float, y: float) -> float {
    var v = x * x + 0.5
    var a = 0.5 - v * v
    var w = v
    var k = 0
    while k < 6 && w > -1.5 {
        k += 1
        w *= 0.5 + 0.4 * tanh(-a)
        w = w * 0.7 + (v - y) * w
        w = w - 0.4 - 0.3 * sigmoid(a)
    }
    w = w * 0.7 - v
    var j = 0
    while j < 3 {
        j += 1
        a = a * 0.7 + y * a * (w + sin(a))
    }
    return a + w + x + v
}
"""
    o = check(src, [("x", FLOAT), ("y", FLOAT)], {"x": -0.884, "y": -1.238}, FIRST)
    assert WRONG not in {c.kind for c in o.checks}, o.checks
    assert "fwd-vs-rev" in modes(o, OK)


def test_a_wrong_rule_for_a_struct_parameter_is_found_on_that_field():
    src = """
struct P { a: float, b: float }
fn g(t: float) -> float { return t * t }
derivative g(t) -> y {
    t_bar = y_bar * t
}
fn f(p: P) -> float { return p.a * 3.0 + g(p.b) }
"""
    o = check(src, [("p", StructT("P", (("a", FLOAT), ("b", FLOAT))))], {"p": {"a": 0.5, "b": 1.5}}, FIRST)
    assert o.kind == WRONG
    detail = next(c.detail for c in o.checks if c.mode == "reverse")
    assert "p#1" in detail and "p#0" not in detail


def test_a_wrong_second_derivative_is_found_three_ways():
    # a rule whose first derivative is right but whose own derivative is not smooth-consistent:
    # x_bar = y_bar * cos(x) is right for sin; written through stop_gradient it has no second derivative
    src = """
fn s(x: float) -> float { return sin(x) }
derivative s(x) -> y {
    x_bar = y_bar * stop_gradient(cos(x))
}
fn f(x: float) -> float { return s(x) }
"""
    o = check(src, X1, {"x": 0.6}, ALL)
    assert o.kind == WRONG
    assert modes(o, WRONG) & {"rev-over-rev", "fwd-over-rev", "fwd-over-fwd"}
    assert "reverse" not in modes(o, WRONG) and "forward" not in modes(o, WRONG)


def test_a_kink_at_the_point_is_skipped_not_failed():
    o = check("fn f(x: float) -> float { return abs(x) + x }", X1, {"x": 0.0}, FIRST)
    assert o.kind == SKIP_NONSMOOTH
    assert "reverse" in modes(o, SKIP_NONSMOOTH)


def test_a_branch_within_the_step_is_skipped_not_failed():
    src = "fn f(x: float) -> float { if x > 0.5 { return 3.0 * x + 1.0 }\nreturn x }"
    o = check(src, X1, {"x": 0.5 + 2e-4}, FIRST)
    assert o.kind == SKIP_NONSMOOTH
    # away from the jump the same program is checked
    assert check(src, X1, {"x": 0.9}, FIRST).kind == OK


def test_a_kink_nearby_is_skipped_and_a_steep_smooth_function_is_not():
    o = check("fn f(x: float, y: float) -> float { return max(x, y) * y }", [("x", FLOAT), ("y", FLOAT)],
              {"x": 0.3, "y": 0.3 + 1e-4}, FIRST)
    assert o.kind == SKIP_NONSMOOTH
    steep = "fn f(x: float) -> float { return exp(4.0 * x) * sin(9.0 * x) + 1.0 / (x * x + 0.01) }"
    o = check(steep, X1, {"x": 0.37}, Options(second_order=True, third_order=True, source=False))
    assert o.kind == OK, o.checks


def test_central_differences_are_accurate_and_detect_kinks():
    fd = central(lambda v: np.sin(v[0]) * np.exp(v[1]), np.array([0.4, -0.2]), np.array([1.0, 0.0]),
                 np.sin(0.4) * np.exp(-0.2))
    assert fd.smooth.all() and abs(fd.value[0] - np.cos(0.4) * np.exp(-0.2)) < 1e-10
    fd = central(lambda v: abs(v[0]), np.array([0.0]), np.array([1.0]), 0.0)
    assert not fd.smooth.any()


def test_list_and_tensor_parameters_at_second_order():
    src = "fn f(xs: list[float], t: tensor) -> float { return xs[0] * xs[1] + sum(t * t) }"
    o = check(src, [("xs", LIST), ("t", TensorT((3,)))], {"xs": [0.5, -1.0], "t": np.array([0.1, 0.2, 0.3])},
              Options(second_order=True))
    assert o.kind == OK, o.checks


def test_tuple_parameters_and_several_parameters():
    src = "fn f(p: (float, tensor), y: float) -> float { return p.0 * sum(sin(p.1)) * y }"
    o = check(src, [("p", TupleT((FLOAT, TensorT((2,))))), ("y", FLOAT)],
              {"p": (0.5, np.array([0.1, -0.4])), "y": 1.5}, ALL)
    assert o.kind == OK, o.checks


def test_a_printed_source_that_disagrees_is_reported():
    src = "fn f(x: float) -> float { return x * x }"
    r = Run(src, X1, {"x": 1.5}, FIRST)
    r.run()
    r.checks.clear()
    r.source_check("source", "grad(f)", [], [1.5], np.array([4.0]), lambda g: np.array([float(g)]))
    assert [c.kind for c in r.checks] == [SOURCE]


def test_errors_are_classified():
    assert classify(ValueError("boom"))[0] == INTERNAL
    assert classify(DPError(Diagnostic("internal error", "DP made derived code that does not check", None)))[0] == INTERNAL
    masked = Diagnostic("differentiation error", "cannot differentiate `g`: 'NoneType' object has no attribute 'ty'",
                        None, "this construct is not differentiable yet; please report it")
    assert classify(DPError(masked))[0] == INTERNAL
    refusal = Diagnostic("differentiation error", "`linspace` has no derivative rule", None, None)
    assert classify(DPError(refusal))[0] == DIFFERR
    assert classify(DPError(Diagnostic("type error", "`q` is not defined", None)))[0] == GENBUG


def test_a_type_error_in_a_program_is_a_generator_bug():
    o = check("fn f(x: float) -> float { return x + undefined_name }", X1, {"x": 1.0}, FIRST)
    assert o.kind == GENBUG

# ---------------------------------------------------------------------- generator and shrinker


def test_generation_is_deterministic():
    assert generate(12345).render() == generate(12345).render()
    assert generate(12345).render() != generate(12346).render()


def test_generated_programs_are_well_typed():
    from dp.interpreter.embed import Interpreter
    bad = []
    for seed in range(60):
        p = generate(seed)
        try:
            Interpreter(timeout=20).load(p.render())
        except DPError as e:
            if e.first.kind in ("type error", "syntax error"):
                bad.append((seed, str(e)[:300]))
    assert not bad, bad


def test_features_can_be_switched_off():
    for seed in range(30):
        p = generate(seed, {"branch", "elem", "tensor"})
        assert p.features() <= {"branch", "elem", "tensor", "struct", "tuple"}, p.features()


def test_the_shrinker_keeps_the_failure_and_makes_the_program_smaller():
    from tests.fuzz_program import Decl, Expr, Func, If, Program, Return, V, lit
    # f calls a helper whose rule is wrong, among statements that do not matter
    body = [Decl(name="a", expr=Expr(FLOAT, "sin({0})", [V(FLOAT, "x")]), mutable=True),
            If(cond=Expr(FLOAT, "{0} > 0.0", [V(FLOAT, "a")]), then=[Decl(name="b", expr=lit(2.0))]),
            Decl(name="c", expr=Expr(FLOAT, "{0} * {1}", [V(FLOAT, "a"), Expr(FLOAT, "cube(x)")])),
            Return(expr=Expr(FLOAT, "{0} + {1}", [V(FLOAT, "c"), V(FLOAT, "a")]))]
    cube = Func("cube", [("x", FLOAT)], FLOAT, [Return(expr=Expr(FLOAT, "x * x * x"))])
    prog = Program([], [], [Func("f", [("x", FLOAT)], FLOAT, body), cube], "f", {"x": 0.7},
                   [("cube", "derivative cube(x) -> y {\n    x_bar = y_bar * 2.0 * x * x\n}")])
    o = check(prog, opts=FIRST)
    assert o.kind == WRONG
    small, out = shrink(prog, o, FIRST, max_tests=200)
    assert len(small.render()) < len(prog.render())
    assert out.kind == WRONG and small.rules
    assert "if" not in small.render()

# ---------------------------------------------------------------------- the fixed-seed sample


def test_fixed_seed_sample_has_no_wrong_derivative():
    """A fixed sample of random programs (seed 20261201): every derivative right, or a
    differentiation error; never a wrong number, an internal error or a printed
    source that does not re-run. Replay one with
    `python -m tests.fuzz_derivatives --seed 20261201 --first I --count 1 --shrink`."""
    results = campaign(48, 20261201, second=0.4, third=0.1, jobs=2, timeout=10.0, budget=12.0)
    bad = [r for r in results if r["kind"] in FAILURES]
    report = summarize(results, 0.0)
    lines = [f"program {r['index']}: {r['kind']} in {r['mode']}: {r['detail'].splitlines()[0][:200]}" for r in bad]
    assert not bad, report + "\n\n" + "\n".join(lines)


def test_differences_respect_stop_gradient():
    """d/dx x * stop_gradient(x * x) is x * x: the differences hold stop_gradient's
    argument at its value at the point (generated programs only: the oracle knows
    the types there)."""
    from tests.fuzz_program import Expr, Func, Program, Return, V
    sg = Expr(FLOAT, "stop_gradient({0})", [Expr(FLOAT, "x * x")], tag="stopgrad")
    body = [Return(expr=Expr(FLOAT, "{0} * {1}", [V(FLOAT, "x"), sg]))]
    prog = Program([], [], [Func("f", [("x", FLOAT)], FLOAT, body)], "f", {"x": 1.5})
    o = check(prog, opts=ALL)
    assert o.kind in (OK, SKIP_NONSMOOTH), o.checks
    assert {"reverse", "forward"} <= modes(o, OK)
    assert not modes(o, WRONG)
