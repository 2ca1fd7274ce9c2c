"""Shrink a failing fuzzer program to a small one that fails the same way.

Greedy delta debugging over the generator's syntax tree (tests/fuzz_program.py):
drop helper functions, derivative rules, parameters and statements; replace an
`if`, loop or `match` by one of its blocks; replace an expression by one of its
subexpressions of the same type, or by a constant. An edit is kept when the oracle,
focused on the failing mode, still reports the same kind of failure.
"""
from __future__ import annotations

import copy
import time

from tests.fuzz_oracle import Options, check
from tests.fuzz_program import FLOAT, Expr, IfBlock, Lambda, Program, Return, const_text

FIRST = {"reverse", "forward", "fwd-vs-rev", "value", "effects", "source", "load", "primal", "oracle"}
THIRD = {"3rd-rev", "3rd-fwd", "3rd-rrr"}
NEEDS = {"rr-vs-fr": {"rev-over-rev", "fwd-over-rev"}, "ff-vs-fr": {"fwd-over-fwd", "fwd-over-rev"},
         "source-2nd": {"rev-over-rev"}, "3rd-rev": {"fwd-over-rev"}, "3rd-fwd": {"fwd-over-rev"},
         "3rd-rrr": {"fwd-over-rev", "rev-over-rev"}, "second order": {"rev-over-rev", "fwd-over-rev"}}


def focus(mode: str, base: Options) -> Options:
    """Options that run only what is needed to see a failure in `mode`."""
    o = copy.copy(base)
    o.only = None if mode in ("load", "primal", "oracle", "all") else {mode} | NEEDS.get(mode, set())
    o.second_order = mode not in FIRST
    o.third_order = mode in THIRD
    o.source = mode in ("source", "source-2nd")
    return o


def edits(prog: Program):
    """Candidate edits, coarse ones first: (name, apply) where apply(copy, memo) mutates
    a deep copy of prog (memo maps id(original node) to its copy)."""
    out = []
    main = prog.main
    for i, fn in enumerate(prog.funcs):
        if fn.name != main:
            out.append((f"drop function {fn.name}", lambda p, m, i=i: p.funcs.pop(i)))
    for i, _ in enumerate(prog.rules):
        out.append(("drop rule", lambda p, m, i=i: p.rules.pop(i)))
    mf = prog.main_fn()
    if len(mf.params) > 1:
        for i, (n, _) in enumerate(mf.params):
            def drop_param(p, m, i=i, n=n):
                f = p.main_fn()
                f.params.pop(i)
                p.values.pop(n, None)
            out.append((f"drop parameter {n}", drop_param))
    stmt_edits, expr_edits = [], []
    float_params = [n for n, t in mf.params if t == FLOAT][:1]

    def walk_block(block: list):
        for i, s in enumerate(block):
            if not s.essential and not (isinstance(s, Return) and i == len(block) - 1):
                stmt_edits.append((f"drop {type(s).__name__}", lambda p, m, b=block, i=i: m[id(b)].pop(i)))
            for blk in s.blocks():
                stmt_edits.append((f"inline a block of {type(s).__name__}",
                                   lambda p, m, b=block, i=i, blk=blk: m[id(b)].__setitem__(slice(i, i + 1), m[id(blk)])))
            for attr, e in s.exprs():
                walk_expr(e, lambda p, m, new, s=s, attr=attr: setattr(m[id(s)], attr, new))
            for blk in s.blocks():
                walk_block(blk)

    def walk_expr(e, put):
        if isinstance(e, Lambda):
            walk_block(e.body)
            return
        if isinstance(e, IfBlock):
            for blk in e.blocks():
                walk_block(blk)
        c = const_text(e.ty)
        if c is not None and e.render() != c:
            expr_edits.append(("constant", lambda p, m, put=put, ty=e.ty, c=c: put(p, m, Expr(ty, c))))
        if e.ty == FLOAT and e.args:
            for n in float_params:
                expr_edits.append(("parameter", lambda p, m, put=put, n=n: put(p, m, Expr(FLOAT, n))))
        for k, a in enumerate(e.args):
            if getattr(a, "ty", None) == e.ty:
                expr_edits.append(("subexpression", lambda p, m, put=put, a=a: put(p, m, m[id(a)])))
        for k, a in enumerate(e.args):
            walk_expr(a, lambda p, m, new, args=e.args, k=k: m[id(args)].__setitem__(k, new))

    for fn in prog.funcs:
        walk_block(fn.body)
    return out + stmt_edits + expr_edits


def shrink(prog: Program, outcome, opts: Options | None = None, max_tests: int = 400, max_seconds: float = 180.0,
           seed: int = 0):
    """The smallest program found that fails like `outcome`, and its (focused) outcome."""
    base = opts or Options()
    fopts = focus(outcome.mode, base)
    target = outcome.signature()
    deadline = time.monotonic() + max_seconds
    tests = 0
    best, best_out = prog, outcome

    def fails(p: Program):
        o = check(p, opts=fopts, seed=seed)
        return o if o.has(target) else None

    # the focused oracle must see the failure too, or shrinking cannot proceed
    first = fails(prog)
    tests += 1
    if first is None:
        return prog, outcome
    best_out = first
    progress = True
    while progress and tests < max_tests and time.monotonic() < deadline:
        progress = False
        size = len(best.render())
        for name, apply in edits(best):
            if tests >= max_tests or time.monotonic() >= deadline:
                break
            memo: dict = {}
            cand = copy.deepcopy(best, memo)
            try:
                apply(cand, memo)
            except (KeyError, IndexError):
                continue
            if len(cand.render()) >= size:
                continue
            tests += 1
            o = fails(cand)
            if o is not None:
                best, best_out = cand, o
                progress = True
                break
    return best, best_out

