"""Tensor gradients in DP, side by side in one run with a hand-written numpy
gradient and (where installed: `pip install ".[bench]"`) HIPS autograd, PyTorch
eager and JAX.

    python benchmarks/bench_tensors.py [--repeat N] [--no-peers]

(a) a 2-layer MLP loss: batch 256, input 64, hidden 256 tanh, output 10, MSE;
    the gradient with respect to all four parameter tensors;
(b) 200 semi-implicit Euler steps of a 64-mass spring chain; the gradient of a
    final-state loss with respect to the initial velocities.

Aims (issue 4): DP within 1.1x of the hand-written numpy gradient on (a), 1.3x on (b).
Figures are medians over --repeat runs; the machine is noisy, read ratios."""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import median_ms, paired_ms  # noqa: E402  (puts the repository on the path)

from dp.interpreter.session import Session  # noqa: E402



MLP_DP = """
struct MLP { w1: tensor, b1: tensor, w2: tensor, b2: tensor }
fn loss(p: MLP, x: tensor, y: tensor) -> float {
    let h = tanh(x @ p.w1 + p.b1)
    let d = h @ p.w2 + p.b2 - y
    return mean(d * d)
}
"""

CHAIN_DP = """
fn chain(x0: tensor, v0: tensor, target: tensor, k: float, rest: float, m: float, dt: float) -> float {
    var x = x0
    var v = v0
    let n = len(x0)
    for i in 0..200 {
        let s = k * (x[1:n] - x[0:n - 1] - rest)
        v = v + dt * (concat([s, zeros(1)], 0) - concat([zeros(1), s], 0)) / m
        x = x + dt * v
    }
    let d = x - target
    return sum(d * d)
}
"""


def mlp_grad_numpy(w1, b1, w2, b2, x, y):
    h = np.tanh(x @ w1 + b1)
    d = h @ w2 + b2 - y
    do = (2.0 / d.size) * d
    dh = (do @ w2.T) * (1.0 - h * h)
    return x.T @ dh, dh.sum(0), h.T @ do, do.sum(0)


def chain_grad_numpy(x0, v0, target, k, rest, m, dt):
    x, v, tape = x0, v0, []
    z = np.zeros(1)
    for _ in range(200):
        tape.append(x)
        s = k * (x[1:] - x[:-1] - rest)
        v = v + dt * (np.concatenate([s, z]) - np.concatenate([z, s])) / m
        x = x + dt * v
    xb = 2.0 * (x - target)
    vb = np.zeros_like(v0)
    for _ in range(200):
        tape.pop()
        vb = vb + dt * xb
        fb = vb * (dt / m)
        sb = fb[:-1] - fb[1:]
        xb = xb.copy()
        xb[1:] += k * sb
        xb[:-1] -= k * sb
    return vb


def peers(repeat, w, x, y, chain_args):
    rows = []
    try:
        import autograd
        import autograd.numpy as anp

        def mlp_loss(params):
            w1, b1, w2, b2 = params
            d = anp.dot(anp.tanh(anp.dot(x, w1) + b1), w2) + b2 - y
            return anp.mean(d * d)

        def chain_loss(v0):
            x0, _, target, k, rest, m, dt = chain_args
            xx, v = x0, v0
            z = anp.zeros(1)
            for _ in range(200):
                s = k * (xx[1:] - xx[:-1] - rest)
                v = v + dt * (anp.concatenate([s, z]) - anp.concatenate([z, s])) / m
                xx = xx + dt * v
            return anp.sum((xx - target) ** 2)
        g1, g2 = autograd.grad(mlp_loss), autograd.grad(chain_loss)
        rows.append(("HIPS autograd", median_ms(lambda: g1(list(w)), repeat), median_ms(lambda: g2(chain_args[1]), repeat)))
    except ImportError:
        pass
    try:
        import torch
        tw = [torch.tensor(a, requires_grad=True) for a in w]
        tx, ty = torch.tensor(x), torch.tensor(y)

        def torch_mlp():
            for t in tw:
                t.grad = None
            d = torch.tanh(tx @ tw[0] + tw[1]) @ tw[2] + tw[3] - ty
            (d * d).mean().backward()

        x0, v0, target, k, rest, m, dt = chain_args
        tx0, ttarget = torch.tensor(x0), torch.tensor(target)

        def torch_chain():
            v = torch.tensor(v0, requires_grad=True)
            xx, vv, z = tx0, v, torch.zeros(1, dtype=torch.float64)
            for _ in range(200):
                s = k * (xx[1:] - xx[:-1] - rest)
                vv = vv + dt * (torch.cat([s, z]) - torch.cat([z, s])) / m
                xx = xx + dt * vv
            ((xx - ttarget) ** 2).sum().backward()
        rows.append(("PyTorch eager", median_ms(torch_mlp, repeat), median_ms(torch_chain, repeat)))
    except ImportError:
        pass
    try:
        import jax
        import jax.numpy as jnp
        jax.config.update("jax_enable_x64", True)

        def jmlp(params):
            w1, b1, w2, b2 = params
            d = jnp.tanh(x @ w1 + b1) @ w2 + b2 - y
            return jnp.mean(d * d)

        def jchain(v0):
            # lax.fori_loop, as a JAX user writes it: a Python loop under jit unrolls
            # 200 steps and takes minutes and gigabytes to compile
            x0, _, target, k, rest, m, dt = chain_args
            z = jnp.zeros(1)

            def step(_, state):
                xx, v = state
                s = k * (xx[1:] - xx[:-1] - rest)
                v = v + dt * (jnp.concatenate([s, z]) - jnp.concatenate([z, s])) / m
                return xx + dt * v, v
            xx, _ = jax.lax.fori_loop(0, 200, step, (x0, v0))
            return jnp.sum((xx - target) ** 2)
        gm, gc = jax.jit(jax.grad(jmlp)), jax.jit(jax.grad(jchain))
        t0 = time.perf_counter()
        jax.block_until_ready(gm(list(w)))
        t1 = time.perf_counter()
        jax.block_until_ready(gc(chain_args[1]))
        first_mlp, first = (t1 - t0) * 1e3, (time.perf_counter() - t1) * 1e3
        rows.append(("JAX jit (after compile)", median_ms(lambda: jax.block_until_ready(gm(list(w))), repeat),
                     median_ms(lambda: jax.block_until_ready(gc(chain_args[1])), repeat)))
        rows.append(("JAX jit: first grad (compiles)", first_mlp, first))
    except ImportError:
        pass
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--no-peers", action="store_true")
    a = ap.parse_args()
    r = a.repeat
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((256, 64)), rng.standard_normal((256, 10))
    w = [0.1 * rng.standard_normal((64, 256)), np.zeros(256), 0.1 * rng.standard_normal((256, 10)), np.zeros(10)]

    s = Session()
    s.run(MLP_DP + CHAIN_DP, "bench.dp")
    MLP = s.runtime.struct_class(s.env.structs["MLP"])
    params = MLP(*w)
    dloss = s.run("grad(loss)").value
    dchain = s.run("grad(chain, 1)").value

    g = dloss(params, x, y)
    want = mlp_grad_numpy(*w, x, y)
    assert all(np.allclose(a_, b_) for a_, b_ in zip((g.w1, g.b1, g.w2, g.b2), want))
    chain_args = (np.arange(64.0), np.linspace(-0.1, 0.1, 64), np.arange(64.0) * 1.05, 4.0, 1.0, 1.0, 0.01)
    assert np.allclose(dchain(*chain_args), chain_grad_numpy(*chain_args))

    # DP and the hand-written gradient alternate, and the ratio is the median of the
    # per-round ratios (see timing.paired_ms)
    t_dp_a, t_np_a, ratio_a = paired_ms(lambda: dloss(params, x, y), lambda: mlp_grad_numpy(*w, x, y), r)
    t_dp_b, t_np_b, ratio_b = paired_ms(lambda: dchain(*chain_args), lambda: chain_grad_numpy(*chain_args), r)
    print(f"{'':28s} {'(a) MLP grad':>14s} {'(b) chain grad':>16s}")
    print(f"{'DP':28s} {t_dp_a:11.3f} ms {t_dp_b:13.3f} ms")
    print(f"{'hand-written numpy':28s} {t_np_a:11.3f} ms {t_np_b:13.3f} ms")
    print(f"{'DP / hand-written':28s} {ratio_a:12.2f}x {ratio_b:14.2f}x   (aims: 1.1x, 1.3x; median of paired rounds)")
    if not a.no_peers:
        for name, ta, tb in peers(r, w, x, y, chain_args):
            print(f"{name:28s} {ta:11.3f} ms {tb:13.3f} ms   = {ta / t_np_a:5.2f}x / {tb / t_np_b:6.2f}x hand-written")


if __name__ == "__main__":
    main()
