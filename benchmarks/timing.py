"""What the benchmark scripts share: the repository on the path, a median timer,
and a paired timer for ratios on a noisy machine."""
from __future__ import annotations

import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def median_ms(fn, repeat: int, warmup: bool = True) -> float:
    """The median wall time of fn() in milliseconds, over repeat runs."""
    if warmup:
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def paired_ms(fn_a, fn_b, repeat: int) -> tuple[float, float, float]:
    """(median ms of a, median ms of b, median of the per-round ratios a/b), running a
    and b alternately: a burst of load from elsewhere slows both sides of a round,
    so the ratio is steadier than a ratio of two medians measured one after the other."""
    fn_a(), fn_b()
    ta, tb, ratios = [], [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn_a()
        t1 = time.perf_counter()
        fn_b()
        t2 = time.perf_counter()
        ta.append((t1 - t0) * 1e3)
        tb.append((t2 - t1) * 1e3)
        ratios.append((t1 - t0) / (t2 - t1))
    return statistics.median(ta), statistics.median(tb), statistics.median(ratios)
