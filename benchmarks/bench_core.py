"""DP against the same programs written by hand in Python, timed side by side.

    python benchmarks/bench_core.py [--repeat N] [--show-code]

(a) a scalar loop: 10^5 iterations of `v = 4.0 * v * (1.0 - v)` inside a function;
(b) a list of structs: 1000 particles stepped 100 times by a struct-returning step
    function, with a __slots__ class for the struct on the Python side.

Each DP program is parsed, checked and compiled once; only the call is timed, as it
is for the Python version. The figure is the median over several runs, and the ratio
is DP's median over Python's. The aim is a ratio within 1.5."""
from __future__ import annotations

import argparse
import ast
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from dp.interpreter.session import Session  # noqa: E402

# ---------------------------------------------------------------- (a) scalar loop

SCALAR_DP = """
fn logistic(x: float, n: int) -> float {
    var v = x
    for i in 0..n {
        v = 4.0 * v * (1.0 - v)
    }
    return v
}
"""


def logistic(x, n):
    v = x
    for i in range(n):
        v = 4.0 * v * (1.0 - v)
    return v


# ---------------------------------------------------------------- (b) list of structs

PARTICLES_DP = """
struct Particle {
    x: float
    v: float
    m: float
}

fn step(p: Particle, dt: float) -> Particle {
    let a = -p.x / p.m
    return Particle { x: p.x + dt * p.v, v: p.v + dt * a, m: p.m }
}

fn simulate(n: int, steps: int) -> float {
    var ps: list[Particle] = []
    for i in 0..n {
        ps.append(Particle { x: float(i) * 0.001, v: 0.0, m: 1.0 + float(i % 7) })
    }
    for s in 0..steps {
        for i in 0..n {
            ps[i] = step(ps[i], 0.01)
        }
    }
    var total = 0.0
    for p in ps {
        total += p.x
    }
    return total
}
"""


class Particle:
    __slots__ = ("x", "v", "m")

    def __init__(self, x, v, m):
        self.x = x
        self.v = v
        self.m = m


def step(p, dt):
    a = -p.x / p.m
    return Particle(p.x + dt * p.v, p.v + dt * a, p.m)


def simulate(n, steps):
    ps = []
    for i in range(n):
        ps.append(Particle(float(i) * 0.001, 0.0, 1.0 + float(i % 7)))
    for s in range(steps):
        for i in range(n):
            ps[i] = step(ps[i], 0.01)
    total = 0.0
    for p in ps:
        total += p.x
    return total


# ---------------------------------------------------------------- timing

def median_time(fn, args, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn(*args)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def dp_function(src: str, name: str):
    """The DP function `name` of src, compiled once, callable from Python."""
    s = Session()
    s.run(src, f"<bench {name}>")
    return lambda *args: s.call(name, *args)


def generated_python(src: str) -> str:
    """The Python module DP compiles src to, as source text."""
    s = Session()
    prog, _ = s.check_text(src, "<bench>")
    return ast.unparse(s.compiler.program(prog))


BENCHES = [
    ("scalar loop (10^5 logistic steps)", SCALAR_DP, "logistic", logistic, (0.3, 100_000)),
    ("list of structs (1000 particles x 100 steps)", PARTICLES_DP, "simulate", simulate, (1000, 100)),
]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=9, help="runs per measurement (default 9)")
    ap.add_argument("--show-code", action="store_true", help="print the Python DP compiles to")
    ns = ap.parse_args(argv)
    print(f"{'benchmark':<46} {'DP (ms)':>9} {'Python (ms)':>12} {'DP/Python':>10}")
    worst = 0.0
    for title, src, name, py_fn, args in BENCHES:
        dp_fn = dp_function(src, name)
        dp_fn(*args), py_fn(*args)                         # warm up
        # interleave the two so that drift in machine speed hits both alike
        dp_times, py_times = [], []
        for _ in range(ns.repeat):
            t, dp_result = median_time(dp_fn, args, 1)
            dp_times.append(t)
            t, py_result = median_time(py_fn, args, 1)
            py_times.append(t)
        assert dp_result == py_result, (title, dp_result, py_result)
        dp_t, py_t = statistics.median(dp_times), statistics.median(py_times)
        ratio = dp_t / py_t
        worst = max(worst, ratio)
        print(f"{title:<46} {dp_t * 1e3:>9.2f} {py_t * 1e3:>12.2f} {ratio:>10.2f}")
    print(f"worst ratio {worst:.2f} (aim: within 1.5)")
    if ns.show_code:
        for title, src, *_ in BENCHES:
            print(f"\n# {title}: the Python DP generates\n{generated_python(src)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
