"""The cost of a gradient in DP, side by side in one run with the primal, a
hand-written Python adjoint, and (where installed: `pip install ".[bench]"`) HIPS
autograd, PyTorch eager and JAX.

    python benchmarks/bench_grad.py [--repeat N] [--steps N] [--no-peers]

(a) a long scalar loop: `v = 4v(1-v)` for --steps steps;
(b) a loop over a list of structs: 100 particles stepped 50 times, loss = Σ x²;
(c) the lecture's f(x1, x2) = ln x1 + x1 x2 - sin x2, gradient taken 10^4 times;
(d) time to the first gradient: check + transform + compile + first call, in a
    fresh session.

Aims (issue 3): a gradient costs at most 3x its primal and at most 1.5x the
hand-written adjoint; the first gradient of each program is ready in under 50 ms.
Figures are medians over --repeat runs; the machine is noisy, read ratios."""
from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import median_ms  # noqa: E402  (puts the repository on the path)

from dp.interpreter.session import Session  # noqa: E402


# ---------------------------------------------------------------- (a) scalar loop
LOGISTIC = """
fn logistic(x: float, n: int) -> float {
    var v = x
    for i in 0..n {
        v = 4.0 * v * (1.0 - v)
    }
    return v
}
"""


def logistic_py(x, n):
    v = x
    for _ in range(n):
        v = 4.0 * v * (1.0 - v)
    return v


def logistic_adjoint_py(x, n):
    v = x
    tape = []
    for _ in range(n):
        tape.append(v)
        v = 4.0 * v * (1.0 - v)
    v_bar = 1.0
    for _ in range(n):
        v = tape.pop()
        v_bar = v_bar * (4.0 - 8.0 * v)
    return v_bar


# ---------------------------------------------------------------- (b) list of structs
PARTICLES = """
struct Particle {
    x: float
    v: float
    m: float
}

fn step(p: Particle, dt: float) -> Particle {
    let a = -p.x / p.m
    return Particle { x: p.x + dt * p.v, v: p.v + dt * a, m: p.m }
}

fn loss(ps: list[Particle], steps: int) -> float {
    var total = 0.0
    for p in ps {
        var q = p
        for t in 0..steps {
            q = step(q, 0.1)
        }
        total = total + q.x * q.x
    }
    return total
}
"""


class Particle:
    __slots__ = ("x", "v", "m")

    def __init__(self, x, v, m):
        self.x, self.v, self.m = x, v, m


def step_py(p, dt):
    a = -p.x / p.m
    return Particle(p.x + dt * p.v, p.v + dt * a, p.m)


def loss_py(ps, steps):
    total = 0.0
    for p in ps:
        q = p
        for _ in range(steps):
            q = step_py(q, 0.1)
        total = total + q.x * q.x
    return total


def loss_adjoint_py(ps, steps):
    grads = []
    dt = 0.1
    for p in ps:
        tape = []
        q = p
        for _ in range(steps):
            tape.append(q)
            q = step_py(q, dt)
        xb, vb, mb = 2.0 * q.x, 0.0, 0.0
        for _ in range(steps):
            q = tape.pop()
            xb, vb, mb = xb - vb * dt / q.m, xb * dt + vb, mb + vb * dt * q.x / (q.m * q.m)
        grads.append(Particle(xb, vb, mb))
    return grads


# ---------------------------------------------------------------- (c) the lecture's f
LECTURE = """
fn f(x1: float, x2: float) -> float {
    return log(x1) + x1 * x2 - sin(x2)
}
fn many(n: int) -> float {
    let g = grad(f, (0, 1))
    var s = 0.0
    for i in 0..n {
        let d = g(2.0, 5.0)
        s = s + d.0 + d.1
    }
    return s
}
fn many_primal(n: int) -> float {
    var s = 0.0
    for i in 0..n {
        s = s + f(2.0, 5.0)
    }
    return s
}
"""


def f_py(x1, x2):
    return math.log(x1) + x1 * x2 - math.sin(x2)


def f_adjoint_py(x1, x2):
    y_bar = 1.0
    x1_bar = y_bar / x1 + y_bar * x2
    x2_bar = x1 * y_bar - y_bar * math.cos(x2)
    return x1_bar, x2_bar


def many_py(n):
    s = 0.0
    for _ in range(n):
        d = f_adjoint_py(2.0, 5.0)
        s = s + d[0] + d[1]
    return s


def many_primal_py(n):
    s = 0.0
    for _ in range(n):
        s = s + f_py(2.0, 5.0)
    return s


# ---------------------------------------------------------------- peers
def peers_scalar(steps, repeat):
    rows = []
    try:
        import autograd
        g = autograd.grad(lambda x: logistic_py(x, steps))
        rows.append(("HIPS autograd", median_ms(lambda: g(0.3), repeat)))
    except ImportError:
        pass
    try:
        import torch

        def torch_grad():
            x = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
            logistic_py(x, steps).backward()
            return x.grad
        rows.append(("PyTorch eager", median_ms(torch_grad, repeat)))
    except ImportError:
        pass
    try:
        import jax
        jax.config.update("jax_enable_x64", True)
        g = jax.jit(jax.grad(lambda x: logistic_py(x, steps)))
        t0 = time.perf_counter()
        g(0.3).block_until_ready()
        first = (time.perf_counter() - t0) * 1e3
        rows.append(("JAX jit (after compile)", median_ms(lambda: g(0.3).block_until_ready(), repeat)))
        rows.append(("JAX jit: first gradient", first))
    except ImportError:
        pass
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--no-peers", action="store_true")
    a = ap.parse_args()
    r, n = a.repeat, a.steps

    s = Session()
    s.run(LOGISTIC + PARTICLES + LECTURE, "bench.dp")
    s.run("let dlogistic = grad(logistic)\nlet dloss = grad(loss)\n", "bench2.dp")
    ns = s.runtime.ns
    prim = ns[s.env.values["logistic"].py]
    dlog = ns[s.env.values["dlogistic"].py]
    assert abs(dlog(0.3, n) - logistic_adjoint_py(0.3, n)) < 1e-9 * max(1.0, abs(logistic_adjoint_py(0.3, n)))

    print(f"(a) scalar loop, {n} steps of v = 4v(1-v)")
    t_prim = median_ms(lambda: prim(0.3, n), r)
    t_grad = median_ms(lambda: dlog(0.3, n), r)
    t_py = median_ms(lambda: logistic_py(0.3, n), r)
    t_adj = median_ms(lambda: logistic_adjoint_py(0.3, n), r)
    print(f"    DP primal {t_prim:8.3f} ms   DP grad {t_grad:8.3f} ms   grad/primal {t_grad / t_prim:5.2f}")
    print(f"    Python primal {t_py:8.3f} ms   hand-written adjoint {t_adj:8.3f} ms   DP grad/hand adjoint {t_grad / t_adj:5.2f}")
    if not a.no_peers:
        for name, t in peers_scalar(n, r):
            print(f"    {name:26s} {t:10.3f} ms   {t / t_grad:8.1f}x DP grad")

    print("(b) list of structs: 100 particles x 50 steps, loss = sum x^2")
    ps_dp = s.run("[" + ", ".join(f"Particle {{ x: {1 + i / 100}, v: 0.5, m: 2.0 }}" for i in range(100)) + "]").value
    ps_py = [Particle(1 + i / 100, 0.5, 2.0) for i in range(100)]
    lossf = ns[s.env.values["loss"].py]
    dloss = ns[s.env.values["dloss"].py]
    g_dp, g_py = dloss(ps_dp, 50), loss_adjoint_py(ps_py, 50)
    assert all(abs(a.x - b.x) < 1e-9 and abs(a.m - b.m) < 1e-9 for a, b in zip(g_dp, g_py))
    tp = median_ms(lambda: lossf(ps_dp, 50), r)
    tg = median_ms(lambda: dloss(ps_dp, 50), r)
    tpy = median_ms(lambda: loss_py(ps_py, 50), r)
    tadj = median_ms(lambda: loss_adjoint_py(ps_py, 50), r)
    print(f"    DP primal {tp:8.3f} ms   DP grad {tg:8.3f} ms   grad/primal {tg / tp:5.2f}")
    print(f"    Python primal {tpy:8.3f} ms   hand-written adjoint {tadj:8.3f} ms   DP grad/hand adjoint {tg / tadj:5.2f}")

    print("(c) the lecture's f(x1, x2), gradient taken 10^4 times")
    many = ns[s.env.values["many"].py]
    many_primal = ns[s.env.values["many_primal"].py]
    tg = median_ms(lambda: many(10000), r)
    tp = median_ms(lambda: many_primal(10000), r)
    tadj = median_ms(lambda: many_py(10000), r)
    print(f"    DP primal {tp:8.3f} ms   DP grad {tg:8.3f} ms   grad/primal {tg / tp:5.2f}   "
          f"hand-written adjoint {tadj:8.3f} ms   DP grad/hand adjoint {tg / tadj:5.2f}")

    print("(d) time to the first gradient (check + transform + compile + first call), fresh session")
    for name, src, call in (("scalar loop", LOGISTIC, "grad(logistic)(0.3, 10)"),
                            ("list of structs", PARTICLES, "grad(loss)([Particle { x: 1.0, v: 0.5, m: 2.0 }], 5)"),
                            ("lecture f", LECTURE, "grad(f, (0, 1))(2.0, 5.0)")):
        times = []
        for _ in range(r):
            fresh = Session()
            fresh.run(src, "first.dp")
            t0 = time.perf_counter()
            fresh.run(call)
            times.append((time.perf_counter() - t0) * 1e3)
        print(f"    {name:16s} {statistics.median(times):8.2f} ms")


if __name__ == "__main__":
    main()
