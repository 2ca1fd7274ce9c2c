"""What limits cost: each program run by an embedded Interpreter with a step limit (and
a timeout) against the same Interpreter without limits, timed in pairs.

    python benchmarks/bench_limits.py [--repeat N] [--latency]

A step-limited interpreter compiles *metered* code (interpreter/meter.py): a step at
each call and each loop trip, and big operations priced before they run. The figure
is the median of per-round ratios limited/unlimited (CPU time, rounds alternating, so
load from elsewhere hits both sides of a round alike). The aim is at most 1.5.

--latency also measures how long a cancel() takes to stop a program and how far a
timeout overshoots, for pure DP code, a long numpy loop, a derivative transform made
at run time and a long single big-int product."""
from __future__ import annotations

import argparse
import statistics
import threading
import time

from timing import ROOT  # noqa: F401  (puts the repository on the path)

from dp.interpreter.embed import DPError, Interpreter  # noqa: E402

from bench_core import PARTICLES_DP, SCALAR_DP  # noqa: E402

WHILE_DP = """
fn collatz(limit: int) -> int {
    var total = 0
    var n = 1
    while n < limit {
        var k = n
        while k != 1 {
            if k % 2 == 0 { k = k / 2 } else { k = 3 * k + 1 }
            total += 1
        }
        n += 1
    }
    return total
}
"""

FIB_DP = """
fn fib(n: int) -> int {
    if n < 2 { return n }
    return fib(n - 1) + fib(n - 2)
}
"""

SEARCH_DP = """
fn first_above(xs: list[float], t: float) -> int {
    for i in 0..len(xs) {
        if xs[i] > t { return i }
    }
    return -1
}
fn searches(n: int) -> int {
    var xs: list[float] = []
    for i in 0..n { xs.append(float(i)) }
    var s = 0
    for k in 0..200 { s += first_above(xs, float(n - 1 - k)) }
    return s
}
"""

STRINGS_DP = """
fn words(n: int) -> int {
    var out: list[string] = []
    for i in 0..n {
        out.append("w" + str(i % 97))
    }
    var total = 0
    for w in out { total += len(w) }
    return total
}
"""

TENSOR_DP = """
fn springs(n: int, steps: int) -> float {
    var x = linspace(0.0, 1.0, n)
    var v = zeros(n)
    let k = 10.0
    for s in 0..steps {
        let left = concat([x[0:1], x[0:n - 1]], 0)
        let right = concat([x[1:n], x[n - 1:n]], 0)
        let a = k * (left + right - 2.0 * x)
        v = v + 0.01 * a
        x = x + 0.01 * v
    }
    return sum(x)
}
"""

GRAD_DP = SCALAR_DP + """
fn loss(x: float) -> float { return logistic(x, 2000) }
fn dloss(x: float) -> float { return grad(loss)(x) }
"""

BENCHES = [
    ("scalar loop (10^5 logistic steps)", SCALAR_DP, "logistic", (0.3, 100_000)),
    ("list of structs (1000 particles x 100 steps)", PARTICLES_DP, "simulate", (1000, 100)),
    ("nested while loops (collatz below 3000)", WHILE_DP, "collatz", (3000,)),
    ("recursive calls (fib 20)", FIB_DP, "fib", (20,)),
    ("loops that return early (200 searches)", SEARCH_DP, "searches", (2000,)),
    ("strings and lists (10^4 words)", STRINGS_DP, "words", (10_000,)),
    ("tensor loop (64 springs x 2000 steps)", TENSOR_DP, "springs", (64, 2000)),
    ("reverse mode through a loop (grad, 2000 steps)", GRAD_DP, "dloss", (0.3,)),
]


def paired_cpu(fa, fb, rounds: int) -> tuple[float, float, float]:
    fa(), fb()
    ta, tb, ratios = [], [], []
    clock = time.process_time
    for _ in range(rounds):
        t0 = clock()
        fa()
        t1 = clock()
        fb()
        t2 = clock()
        ta.append(t1 - t0)
        tb.append(t2 - t1)
        if t1 > t0:
            ratios.append((t2 - t1) / (t1 - t0))
    return statistics.median(ta) * 1e3, statistics.median(tb) * 1e3, statistics.median(ratios)


def costs(repeat: int) -> float:
    print(f"{'program':<50} {'free (ms)':>10} {'limited (ms)':>13} {'ratio':>7}")
    worst = 0.0
    for title, src, name, args in BENCHES:
        free = Interpreter()
        limited = Interpreter(max_steps=10 ** 12, timeout=3600.0)
        free.load(src)
        limited.load(src)
        f, g = free.function(name), limited.function(name)
        assert f(*args) == g(*args), title
        a, b, r = paired_cpu(lambda: f(*args), lambda: g(*args), repeat)
        worst = max(worst, r)
        print(f"{title:<50} {a:>10.2f} {b:>13.2f} {r:>7.2f}")
    print(f"worst ratio {worst:.2f} (aim: at most 1.5)")
    return worst


# ---------------------------------------------------------------------- stop latency

LATENCY = [
    ("pure DP code (while true)", "fn spin() -> int { var i = 0\n while true { i += 1 }\n return i }", "spin()"),
    ("a long numpy loop (1000x1000 products)",
     # a @ a of 0.001s is 0.001s again: no values decay into subnormals, on which one
     # product takes seconds (this case measured those before, not the stop)
     "fn spin() -> float { var a = ones([1000, 1000]) * 0.001\n var s = 0.0\n"
     " while true { a = a @ a\n s += sum(a) }\n return s }", "spin()"),
    ("a derivative made at run time (grad of a 600-line lambda)",
     "fn pick(k: int) -> float {\n let fs = [fn(x: float) -> float { return x }, fn(x: float) -> float {\n var y = x\n"
     + "".join(f" y = sin(y) * 0.{i % 7 + 1} + y * 0.25\n" for i in range(600))
     + " return y }]\n return grad(fs[k])(0.5) }", "pick(1)"),
    ("big-int products (x = x * x)", "fn spin() -> int { var x = 3\n while true { x = x * x + 1 }\n return x }", "spin()"),
]


def latency(rounds: int) -> None:
    print(f"\n{'stopped while running':<42} {'cancel latency (ms)':>20} {'timeout overshoot (ms)':>23}")
    for title, src, expr in LATENCY:
        for unmetered in (False, True):
            lat, over = [], []
            for _ in range(rounds):
                dp = Interpreter() if unmetered else Interpreter(timeout=3600.0)
                dp.load(src)
                dp.timeout = None
                sent = []

                def cancel():
                    sent.append(time.perf_counter())
                    dp.cancel()
                timer = threading.Timer(0.3, cancel)
                timer.start()
                try:
                    dp.eval(expr)
                except DPError as e:
                    assert "cancelled" in e.message, e.message
                lat.append((time.perf_counter() - sent[0]) * 1e3)
                timer.join()
                dp.timeout = 0.3
                t0 = time.perf_counter()
                try:
                    dp.eval(expr)
                except DPError as e:
                    assert "time limit" in e.message, e.message
                over.append((time.perf_counter() - t0 - 0.3) * 1e3)
            label = title + (" [unmetered]" if unmetered else "")
            print(f"{label:<42} {_spread(lat):>20} {_spread(over):>23}")


def _spread(xs) -> str:
    xs = sorted(xs)
    return f"{statistics.median(xs):.1f} (max {xs[-1]:.1f})"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15, help="rounds per program (default 15)")
    ap.add_argument("--latency", action="store_true", help="also measure how fast a stop takes effect")
    ap.add_argument("--latency-rounds", type=int, default=5)
    ns = ap.parse_args(argv)
    costs(ns.repeat)
    if ns.latency:
        latency(ns.latency_rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
