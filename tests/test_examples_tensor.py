"""The tensor examples: the MLP's loss falls; the spring chain's gradient with
respect to the initial velocities matches finite differences."""
import numpy as np

from helpers import run, session


def test_mlp_example_loss_falls():
    text = run(open("examples/mlp.dp").read(), "examples/mlp.dp")
    losses = [float(line.split()[-1]) for line in text.splitlines() if line.startswith("epoch")]
    assert len(losses) == 7 and losses[0] > 2.0
    assert all(b < a for a, b in zip(losses, losses[1:]))
    assert text.rstrip().endswith(": true")


def test_springs_gradient_matches_finite_differences():
    src = open("examples/springs.dp").read()
    text = run(src, "examples/springs.dp")
    assert text.rstrip().endswith(": true")
    s, _ = session()
    s.run(src.split("let chain")[0], "springs.dp")
    s.run("let chain = Chain { k: 4.0, rest: 1.0, m: 1.0, dt: 0.02 }\nlet x0 = arange(8)\nlet target = arange(8) * 1.1 + 0.5")
    miss = s.run("fn(v: tensor) -> float { return miss(chain, x0, v, target) }").value
    v = np.linspace(-0.3, 0.4, 8)
    g = s.run("grad(miss, 2)").value(s.run("chain").value, s.run("x0").value, v, s.run("target").value)
    h = 1e-6
    fd = [(miss(v + h * e) - miss(v - h * e)) / (2 * h) for e in np.eye(8)]
    assert np.allclose(g, fd, rtol=1e-6, atol=1e-8)
