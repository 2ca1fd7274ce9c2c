"""Golden derived source: what DP prints for a chosen set of the examples'
derivatives, kept in the .dp files beside this one, so a change to how derived code
reads shows up in review (tests/test_golden.py compares). The files are a
readability snapshot, not a statement of right values: those are in the other tests.

Regenerate after a deliberate change, and read the diff:

    python -m tests.golden --update         # rewrite the files
    python -m tests.golden                  # say which differ, change nothing
"""
from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# golden file: (example, how it is printed). A DP expression is printed by running
# `source(expression)` beside the example; `dp grad NAME [--wrt N] [--mode M]` as the
# command line does.
CASES = {
    "adjoint_trace.f.dp": ("adjoint_trace.dp", "source(grad(f, (0, 1)))"),
    "logistic.f.dp": ("logistic.dp", "dp grad f"),
    "logistic.f.forward.dp": ("logistic.dp", "dp grad f --mode forward"),
    "cube.value_and_grad.dp": ("cube.dp", "source(value_and_grad(cube))"),
    "structs_and_lists.energy.dp": ("structs_and_lists.dp", "dp grad energy"),
    "structs_and_lists.fall.dp": ("structs_and_lists.dp", "dp grad fall"),
    "particles.simulate.vjp.dp": ("particles.dp", "dp grad simulate --mode vjp"),
    "mlp.loss.dp": ("mlp.dp", "dp grad loss"),
    "springs.miss.dp": ("springs.dp", "dp grad miss --wrt 2"),
}


def header(example: str, how: str) -> str:
    what = (f"`dp grad examples/{example} {how[len('dp grad '):]}`" if how.startswith("dp grad ")
            else f"`{how}` beside examples/{example}")
    return f"# golden derived source: {what}\n# regenerate with `python -m tests.golden --update`\n\n"


def printed(example: str, how: str) -> str:
    """The text DP prints for the case now, header included."""
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    from dp.interpreter.session import Session
    from dp.interpreter.runtime import Output
    path = os.path.join(ROOT, "examples", example)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    out = Output()
    out.write = lambda s: None
    session = Session(out)
    _, session.env = session.check_text(text, f"examples/{example}")      # the definitions, not run
    if how.startswith("dp grad "):
        words = how.split()[2:]
        name, opts = words[0], dict(zip(words[1::2], words[2::2]))
        wrt = int(opts["--wrt"]) if "--wrt" in opts else None
        body = session.derived_source(name, opts.get("--mode", "reverse"), wrt)
    else:
        body = session.run(how).value
    return header(example, how) + body.rstrip("\n") + "\n"


def main(argv: list[str]) -> int:
    update = "--update" in argv
    stale = []
    for file, (example, how) in CASES.items():
        want = printed(example, how)
        path = os.path.join(HERE, file)
        have = open(path, encoding="utf-8").read() if os.path.exists(path) else None
        if have != want:
            stale.append(file)
            if update:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(want)
    for file in sorted(set(os.listdir(HERE)) - set(CASES)):
        if file.endswith(".dp"):
            print(f"{file}: not a golden case (remove it)")
    verb = "updated" if update else "differs"
    for file in stale:
        print(f"{file}: {verb}")
    if not stale:
        print("golden files are up to date")
    return 1 if stale and not update else 0
