"""Start-up, the whole process, against Python's own: each DP case and its yardstick
run alternately, and the figure is the median of the paired ratios (the machine has
two noisy cores; a burst of load slows both sides of a round).

    python benchmarks/bench_startup.py [--repeat N] [--no-repl]

(a) `dp run` of `print(1 + 2)` (no tensor)         against `python -c "import numpy"`  aim ≤ 0.6x
(b) `dp run` of a one-line tensor program          against `python -c "import numpy"`  aim ≤ 1.3x
(c) `dp run` of a program importing three standard
    modules (optim, ode, stats)                     against `python -c "import numpy"`  aim ≤ 1.2x
(d) the REPL's first prompt (a pseudo-terminal)     against IPython's first prompt      aim ≤ 1.5x

`python -c pass` is shown for scale. Every process is started from this Python's
executable (no shell or pyenv shim in between), with byte code compiled once and kept
(as an installed package has it: PYTHONDONTWRITEBYTECODE is dropped and the byte code
goes to a temporary PYTHONPYCACHEPREFIX, so the checkout stays clean) and DP's cache in
a temporary XDG_CACHE_HOME. The first run of each case, which fills DP's cache, is timed
once and shown as "cold"; the ratios are of warm runs, as every run after the first is."""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import ROOT, paired_ms  # noqa: E402

PROGRAMS = {
    "scalar": ("print(1 + 2)\n", "3\n"),
    "tensor": ("print(zeros(3) + 1.0)\n", "tensor([1.0, 1.0, 1.0])\n"),
    "imports": ("import optim\nimport ode\nimport stats\nprint(stats.mean([1.0, 2.0, 3.0]))\n", "2.0\n"),
}


def environment(tmp: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPYCACHEPREFIX=os.path.join(tmp, "pycache"), XDG_CACHE_HOME=os.path.join(tmp, "cache"),
               DP_HISTORY=os.path.join(tmp, "history"), TERM="xterm-256color", PROMPT_TOOLKIT_NO_CPR="1",
               IPYTHONDIR=os.path.join(tmp, "ipython"))
    return env


def process(argv: list[str], env: dict, expect: str | None = None):
    """A function that runs argv to its end (checking its output, once)."""
    checked = [expect is None]

    def run():
        out = subprocess.run(argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if not checked[0]:
            if out.returncode != 0 or out.stdout != expect:
                raise SystemExit(f"{' '.join(argv)}: exit {out.returncode}, output {out.stdout!r}\n{out.stderr}")
            checked[0] = True
    return run


def first_prompt(argv: list[str], env: dict, prompt: str):
    """A function that starts argv on a pseudo-terminal and returns the ms until it
    shows prompt (the process is then ended, off the clock)."""
    import pexpect

    def run() -> float:
        t0 = time.perf_counter()
        child = pexpect.spawn(argv[0], argv[1:], env=env, cwd=ROOT, encoding="utf-8", timeout=60,
                              dimensions=(30, 120))
        child.delayafterclose = child.delayafterterminate = 0.02
        try:
            child.expect(prompt)
            return (time.perf_counter() - t0) * 1e3
        finally:
            child.terminate(force=True)
            child.close()
    return run


def paired_self_timed(fn_a, fn_b, repeat: int) -> tuple[float, float, float]:
    """paired_ms (timing.py) for functions that time themselves (returning ms)."""
    fn_a(), fn_b()
    ta, tb = [], []
    for _ in range(repeat):
        ta.append(fn_a())
        tb.append(fn_b())
    return statistics.median(ta), statistics.median(tb), statistics.median(a / b for a, b in zip(ta, tb))


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1e3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=15, help="paired rounds per case")
    ap.add_argument("--no-repl", action="store_true", help="skip the REPL against IPython")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="dp-bench-startup-")
    try:
        env = environment(tmp)
        py = sys.executable
        numpy = process([py, "-c", "import numpy"], env)
        bare = process([py, "-c", "pass"], env)
        dp = {}
        for name, (text, expect) in PROGRAMS.items():
            path = os.path.join(tmp, f"{name}.dp")
            with open(path, "w") as f:
                f.write(text)
            dp[name] = process([py, "-m", "dp", "run", path], env, expect)
        numpy()                                   # numpy's byte code, compiled once
        cold = {name: _timed(run) for name, run in dp.items()}   # fills DP's cache and byte code

        rows = []
        t_pass, t_np, _ = paired_ms(bare, numpy, args.repeat)
        print(f"python -c pass {t_pass:7.1f} ms    python -c \"import numpy\" {t_np:7.1f} ms    "
              f"(medians of {args.repeat})")
        print()
        print(f"{'case':44s} {'cold':>9s} {'warm':>9s} {'yardstick':>10s} {'ratio':>7s} {'aim':>6s}")
        for name, label, aim in (("scalar", "(a) dp run print(1 + 2)", 0.6),
                                 ("tensor", "(b) dp run print(zeros(3) + 1.0)", 1.3),
                                 ("imports", "(c) dp run, importing optim, ode, stats", 1.2)):
            t_dp, t_ref, ratio = paired_ms(dp[name], numpy, args.repeat)
            rows.append((label, ratio, aim))
            print(f"{label:44s} {cold[name]:6.1f} ms {t_dp:6.1f} ms {t_ref:7.1f} ms {ratio:6.2f}x {aim:5.1f}x")
        if not args.no_repl:
            try:
                import pexpect  # noqa: F401
                import IPython  # noqa: F401
            except ImportError as e:
                print(f"(d) skipped: {e.name} is not installed (the test extra has pexpect; `pip install ipython`)")
            else:
                repl = first_prompt([py, "-m", "dp", "repl"], env, "dp>")
                # IPython colours its prompt: `In [`, colour codes, `1`
                ipython = first_prompt([py, "-m", "IPython", "--no-banner"], env, r"In \[(\x1b\[[0-9;]*m)*1")
                t_dp, t_ref, ratio = paired_self_timed(repl, ipython, args.repeat)
                rows.append(("(d) REPL first prompt / IPython's", ratio, 1.5))
                print(f"{'(d) REPL first prompt (IPython: yardstick)':44s} {'':9s} {t_dp:6.1f} ms {t_ref:7.1f} ms "
                      f"{ratio:6.2f}x {1.5:5.1f}x")
        print()
        missed = [label for label, ratio, aim in rows if ratio > aim]
        print("all within their aims" if not missed else "over the aim: " + "; ".join(missed))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
