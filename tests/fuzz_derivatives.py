"""A random-program differential tester for DP's derivatives.

    python -m tests.fuzz_derivatives --count 500 --seed 1 [--second-order-fraction 0.4]
        [--third-order-fraction 0.1] [--shrink] [--out DIR] [--features tensor,closure,...]
        [--without nonsmooth,...] [--jobs 2]

Generates well-typed DP programs (tests/fuzz_program.py), checks every derivative DP
gives for them against central differences and against each other
(tests/fuzz_oracle.py), and prints a table of outcomes per kind, per mode and per
feature. Each failing program is written to DIR with its failure; with --shrink the
failures are first reduced to small programs that fail the same way
(tests/fuzz_shrink.py), as many as --shrink-max, picked across kinds of failure.

Replay one program: `--count 1 --seed S --first I` runs program I of seed S and
prints it with every check.
"""
from __future__ import annotations

import argparse
import collections
import multiprocessing as mp
import os
import random
import sys
import time

from tests.fuzz_oracle import (DIFFERR, FAILURES, GENBUG, OK, SEVERITY, Options, check, error_key, signature)
from tests.fuzz_program import ALL_FEATURES, FEATURES, generate
from tests.fuzz_shrink import shrink


def program_seed(seed: int, index: int) -> int:
    return seed * 1_000_003 + index


def plan(seed: int, index: int, second: float, third: float) -> tuple[bool, bool]:
    """Whether program `index` of a campaign gets second and third order checks."""
    r = random.Random(program_seed(seed, index) ^ 0x5EED)
    s = r.random() < second
    t = s and r.random() < (third / second if second > 0 else 0)
    return s, t


# ---------------------------------------------------------------------- one program (in a worker)

_CFG: dict = {}


def _init(cfg):
    _CFG.update(cfg)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))


def run_one(index: int) -> dict:
    cfg = _CFG
    pseed = program_seed(cfg["seed"], index)
    second, third = plan(cfg["seed"], index, cfg["second"], cfg["third"])
    t0 = time.monotonic()
    try:
        prog = generate(pseed, cfg["features"])
    except Exception as e:     # noqa: BLE001 — a generator crash is a generator bug
        return {"index": index, "kind": GENBUG, "mode": "generate", "detail": f"generator crash: {e!r}",
                "features": [], "checks": [], "seconds": 0.0, "second": second}
    opts = Options(second_order=second, third_order=third, source=cfg["source"], timeout=cfg["timeout"],
                   budget=cfg["budget"])
    o = check(prog, opts=opts, seed=pseed)
    res = {"index": index, "kind": o.kind, "mode": o.mode, "detail": o.detail, "features": sorted(o.features),
           "checks": [(c.kind, c.mode, c.detail) for c in o.checks], "seconds": time.monotonic() - t0,
           "second": second, "third": third}
    if o.kind in FAILURES:
        res["text"] = prog.render()
        res["values"] = repr(prog.values)
    return res


def shrink_one(args) -> dict:
    index, kind, mode, detail = args
    cfg = _CFG
    pseed = program_seed(cfg["seed"], index)
    prog = generate(pseed, cfg["features"])
    second, third = plan(cfg["seed"], index, cfg["second"], cfg["third"])
    opts = Options(second_order=second, third_order=third, source=cfg["source"], timeout=cfg["timeout"],
                   budget=cfg["budget"])

    class O:                       # the outcome being shrunk, as the shrinker wants it
        pass
    target = O()
    target.kind, target.mode, target.detail = kind, mode, detail
    target.signature = lambda: signature(kind, mode, detail)
    small, out = shrink(prog, target, opts, max_tests=cfg["shrink_tests"], max_seconds=cfg["shrink_seconds"], seed=pseed)
    sig = signature(kind, mode, detail)
    match = next((c for c in out.checks if signature(c.kind, c.mode, c.detail) == sig), None) if hasattr(out, "checks") else None
    return {"index": index, "text": small.render(), "values": repr(small.values),
            "detail": match.detail if match else detail, "shrunk": small is not prog}


# ---------------------------------------------------------------------- the campaign


def write_failure(out_dir: str, res: dict, shrunk: dict | None, seed: int):
    os.makedirs(out_dir, exist_ok=True)
    kind = res["kind"].split()[0].lower().replace(":", "")
    name = f"{kind}-{res['mode']}-s{seed}-p{res['index']}.dp"
    body = shrunk if shrunk else res
    lines = [f"# {res['kind']} in {res['mode']} (campaign seed {seed}, program {res['index']}"
             f"{', shrunk' if shrunk and shrunk.get('shrunk') else ''})",
             f"# replay: python -m tests.fuzz_derivatives --seed {seed} --first {res['index']} --count 1",
             f"# parameters of f: {body['values']}",
             f"# features: {', '.join(res['features'])}"]
    lines += ["# " + line for line in body["detail"].splitlines()[:40]]
    with open(os.path.join(out_dir, name), "w") as fh:
        fh.write("\n".join(lines) + "\n" + body["text"])
    return name


def summarize(results: list[dict], elapsed: float) -> str:
    out = []
    n = len(results)
    kinds = collections.Counter(r["kind"] for r in results)
    out.append(f"{n} programs in {elapsed:.0f} s ({elapsed / max(n, 1):.2f} s each); "
               f"{sum(r['second'] for r in results)} with second order, {sum(r.get('third', False) for r in results)} with third")
    out.append("")
    out.append(f"{'outcome':36} {'programs':>8} {'%':>7}")
    for k in SEVERITY + sorted(set(kinds) - set(SEVERITY)):
        if kinds.get(k):
            out.append(f"{k:36} {kinds[k]:8} {100 * kinds[k] / n:6.1f}%")
    # checks by mode
    modes = collections.defaultdict(collections.Counter)
    for r in results:
        seen = set()
        for kind, mode, _ in r["checks"]:
            if (kind, mode) not in seen:
                modes[mode][kind] += 1
                seen.add((kind, mode))
    cols = [OK, "WRONG NUMBER", "internal error", "printed-source mismatch", "derivative runtime error",
            "effect mismatch", DIFFERR, "timeout", "skipped: non-smooth"]
    short = ["ok", "wrong", "internal", "source", "d-runtime", "effects", "diff-err", "timeout", "nonsmooth"]
    out.append("")
    out.append("checks by mode (programs with at least one check of that kind)")
    out.append(f"{'mode':16}" + "".join(f"{s:>10}" for s in short))
    for m in sorted(modes):
        out.append(f"{m:16}" + "".join(f"{modes[m].get(c, 0):10}" for c in cols))
    # per feature
    out.append("")
    out.append("by feature (programs using it, and their outcomes)")
    fshort = ["n", "ok", "wrong", "internal", "source", "d-runtime", "effects", "diff-err", "skipped"]
    out.append(f"{'feature':14}" + "".join(f"{s:>10}" for s in fshort))
    feats = sorted({f for r in results for f in r["features"]})
    for f in feats:
        rs = [r for r in results if f in r["features"]]
        c = collections.Counter(r["kind"] for r in rs)
        skipped = sum(v for k, v in c.items() if k.startswith("skipped"))
        row = [len(rs), c.get(OK, 0), c.get("WRONG NUMBER", 0), c.get("internal error", 0),
               c.get("printed-source mismatch", 0), c.get("derivative runtime error", 0), c.get("effect mismatch", 0),
               c.get(DIFFERR, 0), skipped]
        out.append(f"{f:14}" + "".join(f"{v:10}" for v in row))
    # the distinct errors
    errs = collections.Counter()
    for r in results:
        for kind, mode, detail in r["checks"]:
            if kind in (DIFFERR, "internal error", "derivative runtime error", "generator bug (type error)", "timeout"):
                errs[(kind, error_key(detail))] += 1
    if errs:
        out.append("")
        out.append("distinct errors (checks)")
        for (kind, key), c in errs.most_common(40):
            out.append(f"{c:6}  {kind}: {key}")
    secs = sorted(r["seconds"] for r in results)
    if secs:
        slow = sorted(results, key=lambda r: -r["seconds"])[:5]
        out.append("")
        out.append(f"seconds per program: median {secs[len(secs) // 2]:.2f}, 90% {secs[int(len(secs) * 0.9)]:.2f}, "
                   f"max {secs[-1]:.1f} (slowest: " + ", ".join(f"#{r['index']} {r['seconds']:.0f}s" for r in slow) + ")")
    valid = n - kinds.get("generator bug (type error)", 0)
    out.append("")
    out.append(f"differentiation errors: {kinds.get(DIFFERR, 0)} of {valid} valid programs "
               f"({100 * kinds.get(DIFFERR, 0) / max(valid, 1):.2f}%); wrong numbers: {kinds.get('WRONG NUMBER', 0)}; "
               f"internal errors: {kinds.get('internal error', 0)}; printed-source mismatches: "
               f"{kinds.get('printed-source mismatch', 0)}")
    return "\n".join(out)


def campaign(count: int, seed: int, first: int = 0, second: float = 0.4, third: float = 0.1, jobs: int = 2,
             features=ALL_FEATURES, source: bool = True, timeout: float = 10.0, budget: float = 60.0,
             progress=None) -> list[dict]:
    cfg = {"seed": seed, "second": second, "third": third, "features": frozenset(features), "source": source,
           "timeout": timeout, "budget": budget, "shrink_tests": 300, "shrink_seconds": 120.0}
    indices = range(first, first + count)
    results = []
    if jobs <= 1:
        _init(cfg)
        for i in indices:
            results.append(run_one(i))
            if progress:
                progress(results)
    else:
        with mp.get_context("fork").Pool(jobs, initializer=_init, initargs=(cfg,), maxtasksperchild=200) as pool:
            for res in pool.imap_unordered(run_one, indices, chunksize=1):
                results.append(res)
                if progress:
                    progress(results)
    results.sort(key=lambda r: r["index"])
    return results


def pick_for_shrinking(fails: list[dict], limit: int) -> list[dict]:
    """Round-robin over kinds of failure, so every kind gets shrunk examples."""
    groups = collections.OrderedDict()
    for r in fails:
        sig = signature(r["kind"], r["mode"], r["detail"])
        if r["kind"] == "WRONG NUMBER":     # a wrong number says nothing of its cause: split by features
            sig = sig + (tuple(f for f in r["features"] if not f.startswith("p:")),)
        groups.setdefault(sig, []).append(r)
    picked = []
    while len(picked) < limit and any(groups.values()):
        for g in groups.values():
            if g and len(picked) < limit:
                picked.append(g.pop(0))
    return picked


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tests.fuzz_derivatives", description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--first", type=int, default=0, help="index of the first program")
    ap.add_argument("--second-order-fraction", type=float, default=0.4)
    ap.add_argument("--third-order-fraction", type=float, default=0.1)
    ap.add_argument("--shrink", action="store_true")
    ap.add_argument("--shrink-max", type=int, default=40, help="shrink at most this many failures")
    ap.add_argument("--shrink-tests", type=int, default=300, help="oracle runs per shrink")
    ap.add_argument("--out", default=None, help="directory for failing programs")
    ap.add_argument("--features", default=None, help=f"comma-separated subset of: {', '.join(sorted(FEATURES))}")
    ap.add_argument("--without", default=None, help="features to leave out")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--no-source", action="store_true", help="skip the printed-source checks")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds per DP call")
    ap.add_argument("--budget", type=float, default=60.0, help="seconds per program")
    a = ap.parse_args(argv)
    feats = set(ALL_FEATURES)
    if a.features:
        feats = {f.strip() for f in a.features.split(",") if f.strip()}
    if a.without:
        feats -= {f.strip() for f in a.without.split(",")}
    unknown = feats - set(ALL_FEATURES)
    if unknown:
        ap.error(f"unknown features: {', '.join(sorted(unknown))}")
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    from dp import interpreter
    if not os.path.abspath(interpreter.__file__).startswith(here):
        print(f"warning: testing the DP at {os.path.dirname(interpreter.__file__)}, not {here}", file=sys.stderr)

    if a.count == 1:
        return replay(a.seed, a.first, feats, a)

    t0 = time.monotonic()

    def progress(results):
        if len(results) % 100 == 0:
            bad = sum(r["kind"] in FAILURES for r in results)
            print(f"  {len(results)}/{a.count} programs, {bad} failing, {time.monotonic() - t0:.0f} s", file=sys.stderr)
    results = campaign(a.count, a.seed, a.first, a.second_order_fraction, a.third_order_fraction, a.jobs, feats,
                       not a.no_source, a.timeout, a.budget, progress)
    elapsed = time.monotonic() - t0
    print(summarize(results, elapsed))
    fails = [r for r in results if r["kind"] in FAILURES]
    if a.out:
        import json
        os.makedirs(a.out, exist_ok=True)
        with open(os.path.join(a.out, "results.jsonl"), "w") as fh:
            for r in results:
                fh.write(json.dumps({k: v for k, v in r.items() if k != "text"}) + "\n")
    if a.out and fails:
        shrunk = {}
        if a.shrink:
            picked = pick_for_shrinking(fails, a.shrink_max)
            cfg = {"seed": a.seed, "second": a.second_order_fraction, "third": a.third_order_fraction,
                   "features": frozenset(feats), "source": not a.no_source, "timeout": a.timeout, "budget": a.budget,
                   "shrink_tests": a.shrink_tests, "shrink_seconds": 150.0}
            jobs = [(r["index"], r["kind"], r["mode"], r["detail"]) for r in picked]
            print(f"\nshrinking {len(jobs)} failures ...", file=sys.stderr)
            with mp.get_context("fork").Pool(a.jobs, initializer=_init, initargs=(cfg,), maxtasksperchild=20) as pool:
                for s in pool.imap_unordered(shrink_one, jobs):
                    shrunk[s["index"]] = s
        for r in fails:
            write_failure(a.out, r, shrunk.get(r["index"]), a.seed)
        print(f"\nwrote {len(fails)} failing programs to {a.out} ({len(shrunk)} shrunk)")
    return 0


def replay(seed: int, index: int, feats, a) -> int:
    pseed = program_seed(seed, index)
    prog = generate(pseed, feats)
    second, third = plan(seed, index, a.second_order_fraction, a.third_order_fraction)
    print(prog.render())
    print("# parameters:", prog.values)
    o = check(prog, opts=Options(second_order=True, third_order=True, source=not a.no_source, timeout=a.timeout,
                                 budget=a.budget), seed=pseed)
    for c in o.checks:
        print(f"[{c.kind}] {c.mode}: {c.detail[:2000]}")
    print(f"outcome: {o.kind} ({o.mode}); features: {', '.join(sorted(o.features))}")
    if a.shrink and o.kind in FAILURES:
        small, out = shrink(prog, o, Options(second_order=True, third_order=True, source=not a.no_source,
                                             timeout=a.timeout, budget=a.budget), max_tests=a.shrink_tests, seed=pseed)
        print("\n# shrunk:")
        print(small.render())
        print("# parameters:", small.values)
        sig = o.signature()
        for c in out.checks:
            if signature(c.kind, c.mode, c.detail) == sig:
                print(f"[{c.kind}] {c.mode}: {c.detail[:2000]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
