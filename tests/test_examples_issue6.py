"""The examples that use the standard library: second_order_ode, projectile,
regression, newton and structs_and_lists. Each is run once and its printed numbers
are checked: closed forms, finite differences, and losses that fall."""
import math
import os
import re

import pytest

from helpers import run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_OUTPUT: dict[str, str] = {}


def output(name: str) -> str:
    if name not in _OUTPUT:
        with open(os.path.join(ROOT, "examples", f"{name}.dp"), encoding="utf-8") as f:
            _OUTPUT[name] = run(f.read(), f"examples/{name}.dp")
    return _OUTPUT[name]


def line(text: str, start: str) -> str:
    found = [ln for ln in text.splitlines() if ln.startswith(start)]
    assert found, f"no line starting with {start!r} in:\n{text}"
    return found[0]


NUMBER = r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?|-?inf|nan"


def numbers(s: str) -> list[float]:
    return [float(x) for x in re.findall(NUMBER, s)]


def after(s: str, label: str) -> float:
    """The number right after `label` in s."""
    m = re.search(re.escape(label) + r"\s*(" + NUMBER + ")", s)
    assert m, f"no {label!r} in {s!r}"
    return float(m.group(1))


def falling(values, factor):
    assert all(b < a for a, b in zip(values, values[1:])), f"not falling: {values}"
    assert values[0] > factor * values[-1], f"did not fall by {factor}x: {values}"


# ---------------------------------------------------------------- second_order_ode

def test_damped_oscillator_gradient_matches_central_differences():
    text = output("second_order_ode")
    assert line(text, "central differences agree:") == "central differences agree: true true"
    g = numbers(line(text, "gradient at c = 0.1, k = 2:").split(":")[1])
    assert len(g) == 2 and g[0] < 0 and g[1] < 0          # both too small at the start: raise them


def test_damped_oscillator_parameters_are_recovered():
    text = output("second_order_ode")
    steps = [ln for ln in text.splitlines() if ln.startswith("step ")]
    assert len(steps) == 5
    falling([after(s, "loss =") for s in steps], 100)
    rec = line(text, "recovered")
    c, k = after(rec, "c ="), after(rec, "k =")
    assert abs(c - 0.4) < 0.02 and abs(k - 3.0) < 0.05
    assert line(text, "within 5%:") == "within 5%: true true"
    fit = line(text, "loss at the fit:")
    at_fit, at_truth, noise = after(fit, "fit:"), after(fit, "truth:"), after(fit, "variance:")
    # the fit is the least-squares optimum, so no worse than the truth; both are about the noise
    assert at_fit <= at_truth and 0.5 * noise < at_fit < 2.0 * noise


# ---------------------------------------------------------------- projectile

def test_projectile_range_and_its_derivative():
    text = output("projectile")
    r45 = after(line(text, "range at 45 degrees:"), "degrees:")
    slope = after(line(text, "d range / d angle at 45 degrees:"), "degrees:")
    fd = after(line(text, "central difference:"), "difference:")
    assert 41.5 < r45 < 41.6 and r45 < 30.0 ** 2 / 9.81      # drag shortens the 91.7 m of vacuum
    assert slope < 0 and slope == pytest.approx(fd, rel=1e-6)
    assert after(line(text, "d range / d angle at 30 degrees:"), "degrees:") > 0


def test_projectile_best_angle_is_below_45_degrees():
    text = output("projectile")
    best = line(text, "best angle:")
    angle, rng = after(best, "angle:"), after(best, "range")
    assert 38.5 < angle < 39.5 and angle == pytest.approx(39.0797, abs=1e-3)
    assert rng > after(line(text, "range at 45 degrees:"), "degrees:")
    assert abs(after(line(text, "slope there:"), "there:")) < 1e-5
    assert line(text, "a degree either side") == "a degree either side flies less far: true true"


def test_projectile_hits_the_target():
    text = output("projectile")
    steps = [ln for ln in text.splitlines() if ln.startswith("step ")]
    falling([after(s, "miss =") for s in steps], 1000)
    hit = line(text, "after 2.5 s it is at")
    x, y, miss = numbers(hit.split("at", 1)[1].replace(" m", ""))[0:3]
    assert x == pytest.approx(60.0, abs=1e-9) and y == pytest.approx(10.0, abs=1e-9) and miss < 1e-9
    launch = numbers(line(text, "launch at"))
    assert 50 < launch[0] < 60 and 20 < launch[1] < 35


# ---------------------------------------------------------------- regression

def test_linear_regression_loss_falls_to_the_least_squares_fit():
    text = output("regression")
    steps = [ln for ln in text.splitlines() if ln.startswith("step ") and " w =" in ln]
    falling([after(s, "loss =") for s in steps], 100)
    gd, ls = line(text, "gradient descent:"), line(text, "least squares:")
    assert after(gd, "w =") == pytest.approx(after(ls, "w ="), abs=1e-6)
    assert after(gd, "b =") == pytest.approx(after(ls, "b ="), abs=1e-6)
    assert abs(after(ls, "w =") - 2.0) < 0.05 and abs(after(ls, "b =") + 1.0) < 0.05
    assert line(text, "they agree:") == "they agree: true true"


def test_logistic_regression_loss_falls_and_classifies():
    text = output("regression")
    steps = [ln for ln in text.splitlines() if ln.startswith("step ") and "accuracy" in ln]
    losses = [after(s, "loss =") for s in steps]
    assert losses[0] == pytest.approx(math.log(2.0), rel=1e-15)      # w = 0: every point at 1/2
    falling(losses, 5)
    assert after(steps[-1], "accuracy =") >= 0.95
    w = numbers(line(text, "weights:").split("bias")[0])
    assert len(w) == 2 and w[0] > 1.0 and w[1] > 1.0              # both coordinates point to class 1


# ---------------------------------------------------------------- newton

def test_newton_converges_quadratically():
    text = output("newton")
    errors = [after(ln, "error =") for ln in text.splitlines() if ln.startswith("step ")]
    assert len(errors) == 6 and errors[0] == pytest.approx(math.sqrt(2) - 1, rel=1e-15)
    for a, b in zip(errors[1:4], errors[2:5]):
        assert b <= a * a                  # the error squares (f'' / 2f' = 1 / (2 sqrt 2) < 1)
    assert errors[5] == 0.0


def test_newton_kepler_system_and_implicit_derivative():
    text = output("newton")
    kep = line(text, "Kepler:")
    e_anom = after(kep, "E =")
    assert abs(e_anom - 0.6 * math.sin(e_anom) - 1.2) < 1e-15 and abs(after(kep, "residual =")) < 1e-15
    assert line(text, "bisection agrees:") == "bisection agrees: true"
    assert line(text, "Jacobian at (1, 1):") == "Jacobian at (1, 1): [[2.0, 2.0], [-2.0, 1.0]]"
    y = (math.sqrt(13) - 1) / 2
    meet = numbers(line(text, "they meet at").split("residual")[0])
    assert meet == pytest.approx([math.sqrt(y + 1), y], rel=1e-15)
    assert numbers(line(text, "exact:")) == pytest.approx([math.sqrt(y + 1), y], rel=1e-15)
    r = after(line(text, "root at c = 2:"), "2:")
    assert r ** 3 + 2 * r - 1 == pytest.approx(0.0, abs=1e-15)
    ift = after(line(text, "dr/dc by the implicit"), "theorem:")
    assert ift == pytest.approx(-r / (3 * r * r + 2), rel=1e-14)
    assert ift == pytest.approx(after(line(text, "dr/dc by central"), "differences:"), rel=1e-7)


# ---------------------------------------------------------------- structs_and_lists

def test_struct_list_dict_and_tuple_gradients():
    text = output("structs_and_lists")
    lines = text.splitlines()
    assert lines[:8] == [
        "energy: 6.5",
        'gradient: Particle { name: "", x: 2.0, v: 6.0, m: 2.0, alive: false }',
        "jvp along d: -3.0  gradient . d: -3.0",
        "p(2) = 13.0",
        "d/dcoefficients: [1.0, 2.0, 4.0, 8.0]",
        "d/dt: 23.0  (-3 + 2 * 0.5 * 2 + 3 * 2 * 4 = 23)",
        "cost: 11.8",
        'd cost / d prices: {"apple": 3.6, "pear": 0.0, "plum": 36.0}',
    ]
    assert lines[-2:] == [
        "chain energy: 0.5",
        'gradient: Chain { springs: [Spring { ends: (-1.0, 1.0), k: 0.125 }, '
        'Spring { ends: (2.0, -2.0), k: 0.03125 }], label: "" }',
    ]


def test_gradient_through_in_place_updates_of_a_list_of_structs():
    text = output("structs_and_lists")
    assert line(text, "d/d balls:").startswith("d/d balls: [Ball { x: 1.0, v: 0.49999999999999994 }, Ball {")
    assert after(line(text, "d/d g:"), "g:") == pytest.approx(after(line(text, "d/d g by central"), "differences:"), rel=1e-7)
