"""Long fuzz campaigns, and minimising what they find.

    python -m tests.fuzz.campaign --count 100000 --seed 1 --jobs 2 [--out DIR]
    python -m tests.fuzz.campaign --minimise DIR/finding-….dp [--kind exception]

A campaign runs `count` inputs, split between the generators (typed programs, mutated
example and library files, random walks of the grammar and hypothesis's from_lark
on it: SHARES), in
worker processes, `--batch` inputs each. Every input is run in-process by the
oracle (oracle.py); a worker that dies (a host crash) or stops answering (a hang the
limits did not catch) is noted against the input it was on, read from its
breadcrumb file, and the batch goes on after it. Findings are written to DIR with
their generator and seed; the last line printed is the summary.

--minimise cuts a finding down (whole lines, then characters) while the oracle still
gives the same kind of finding, and prints what is left."""
from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GENERATORS = ("typed", "mutated", "walk", "grammar")


# typed programs cost the most to run, from_lark's the most to draw
SHARES = {"typed": 0.15, "mutated": 0.45, "walk": 0.39, "grammar": 0.01}


def _shares(count: int) -> dict:
    out = {g: int(count * f) for g, f in SHARES.items()}
    out["mutated"] += count - sum(out.values())
    return out


def _inputs(gen: str, seeds: range):
    """(seed, source) of generator gen, for each seed."""
    from tests.fuzz.generate import mutated_file, typed_program
    if gen == "typed":
        for s in seeds:
            yield s, typed_program(s)
    elif gen == "mutated":
        for s in seeds:
            yield s, mutated_file(s)[1]
    elif gen == "walk":
        from tests.fuzz.generate import grammar_walk
        for s in seeds:
            yield s, grammar_walk(s)
    else:
        yield from _grammar_inputs(seeds)


def _grammar_inputs(seeds: range):
    """from_lark's examples, one per seed: hypothesis draws them from the batch's first seed."""
    from hypothesis import HealthCheck, given, seed, settings

    from tests.fuzz.generate import grammar_strategy
    got = []

    @seed(seeds.start)
    @settings(max_examples=len(seeds), database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(grammar_strategy())
    def collect(text):
        got.append(text)
    collect()
    for s, text in zip(seeds, got):
        yield s, text


# ---------------------------------------------------------------------- the worker

def worker(gen: str, start: int, stop: int, crumb: str, timeout: float) -> None:
    from tests.fuzz.oracle import Runner
    runner = Runner(timeout=timeout)
    counts = collections.Counter()
    for s, source in _inputs(gen, range(start, stop)):
        with open(crumb, "w") as f:
            f.write(str(s))
        o = runner.run(source, f"<{gen} {s}>")
        counts[o.kind] += 1
        if o.finding:
            print(json.dumps({"finding": o.kind, "gen": gen, "seed": s, "detail": o.detail[:4000],
                              "source": source if isinstance(source, str) else source.decode("latin-1")}), flush=True)
    print(json.dumps({"counts": counts}), flush=True)


# ---------------------------------------------------------------------- the driver

def campaign(count: int, seed: int, jobs: int, batch: int, out: str, timeout: float) -> int:
    os.makedirs(out, exist_ok=True)
    todo, ranges = [], {}
    base = seed * 10_000_000
    for gen, n in _shares(count).items():
        ranges[gen] = [base, base + n]
        for a in range(base, base + n, batch):
            todo.append((gen, a, min(a + batch, base + n)))
    todo.sort(key=lambda t: (t[1] - base) / max(ranges[t[0]][1] - base, 1))     # the generators interleaved
    totals = collections.Counter()
    findings = []
    running: list = []
    started = time.time()
    shown = [0]

    def launch(gen, a, b):
        crumb = tempfile.mktemp(prefix="dp-fuzz-crumb-")
        cmd = [sys.executable, "-m", "tests.fuzz.campaign", "--worker", gen, str(a), str(b), crumb, str(timeout)]
        p = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": ROOT})
        limit = 60 + (b - a) * (timeout + 3.0)
        running.append((p, gen, a, b, crumb, time.time() + limit))

    def collect(p, gen, a, b, crumb, timed_out):
        stdout, stderr = p.communicate()
        done = False
        for line in stdout.splitlines():
            msg = json.loads(line)
            if "counts" in msg:
                totals.update(msg["counts"])
                done = True
            else:
                findings.append(msg)
                _save(out, msg)
        if not done:                    # the worker died or hung: on the input of its breadcrumb
            try:
                with open(crumb) as f:
                    bad = int(f.read() or a)
            except (OSError, ValueError):
                bad = a
            kind = "hang" if timed_out else f"crash (exit {p.returncode})"
            msg = {"finding": kind, "gen": gen, "seed": bad, "detail": stderr[-4000:], "source": None}
            findings.append(msg)
            _save(out, msg)
            totals[kind] += 1
            if bad + 1 < b:
                todo.insert(0, (gen, bad + 1, b))
        try:
            os.unlink(crumb)
        except OSError:
            pass

    while todo or running:
        while todo and len(running) < jobs:
            launch(*todo.pop(0))
        time.sleep(0.2)
        for item in list(running):
            p, gen, a, b, crumb, deadline = item
            if p.poll() is not None:
                running.remove(item)
                collect(p, gen, a, b, crumb, False)
            elif time.time() > deadline:
                p.kill()
                running.remove(item)
                collect(p, gen, a, b, crumb, True)
        n = sum(totals.values())
        if n // 5000 > shown[0] and os.environ.get("DP_FUZZ_PROGRESS"):
            shown[0] = n // 5000
            print(f"… {n} inputs, {dict(totals)}", flush=True)
    took = time.time() - started
    summary = {"inputs": sum(totals.values()), "seed": seed, "outcomes": dict(totals), "findings": len(findings),
               "seconds": round(took), "seed ranges": ranges}
    for f in findings:
        print(f"{f['finding']}: {f['gen']} seed {f['seed']}: {f['detail'][:300]}")
    print(json.dumps(summary))
    return 1 if findings else 0


def _save(out, msg):
    name = os.path.join(out, f"finding-{msg['gen']}-{msg['seed']}.json")
    with open(name, "w") as f:
        json.dump(msg, f, indent=1)


# ---------------------------------------------------------------------- minimising

def minimise(path: str, kind: str | None) -> str:
    from tests.fuzz.oracle import Runner
    with open(path) as f:
        msg = json.load(f) if path.endswith(".json") else {"source": f.read(), "finding": kind}
    source = msg["source"]
    if source is None:
        gen, s = msg["gen"], msg["seed"]
        source = next(src for _, src in _inputs(gen, range(s, s + 1)))
        if isinstance(source, bytes):
            source = source.decode("latin-1")
    want = kind or msg["finding"]

    def fails(text):
        return Runner(fresh=1).run(text).kind == want

    if not fails(source):
        raise SystemExit(f"the input does not give a `{want}` finding")
    for unit in ("\n", None):
        parts = source.split("\n") if unit else list(source)
        chunk = max(1, len(parts) // 2)
        while chunk >= 1:
            i, changed = 0, False
            while i < len(parts):
                trial = parts[:i] + parts[i + chunk:]
                text = ("\n" if unit else "").join(trial)
                if trial and fails(text):
                    parts, changed = trial, True
                else:
                    i += chunk
            if not changed:
                chunk //= 2
        source = ("\n" if unit else "").join(parts)
    return source


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--worker":
        gen, a, b, crumb, timeout = argv[1:6]
        worker(gen, int(a), int(b), crumb, float(timeout))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--batch", type=int, default=250)
    ap.add_argument("--timeout", type=float, default=1.0, help="the interpreter's timeout for each input")
    ap.add_argument("--out", default=os.path.join(tempfile.gettempdir(), "dp-fuzz"))
    ap.add_argument("--minimise", metavar="FINDING")
    ap.add_argument("--kind", help="with --minimise: the kind of finding to keep (default: the file's)")
    ns = ap.parse_args(argv)
    if ns.minimise:
        print(minimise(ns.minimise, ns.kind))
        return 0
    return campaign(ns.count, ns.seed, ns.jobs, ns.batch, ns.out, ns.timeout)


if __name__ == "__main__":
    raise SystemExit(main())
