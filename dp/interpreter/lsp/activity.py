"""Which locals of a function carry derivatives: the activity analysis the reverse
transform uses (dsl/ad/activity.py), run on the function's normal form and read back
onto the names the user wrote, for the editor's inlay hints and hovers.

A local is active when its type can carry a derivative (float, tensor, and structs,
lists, tuples and dicts of them), it depends on the function's differentiable
parameters (`varied`), and the result depends on it (`useful`): exactly the variables
`grad`, `jvp` and `vjp` of the function make adjoints or tangents for."""
from __future__ import annotations

from dataclasses import dataclass

from dp.dsl import syntax as S
from dp.dsl.ad.activity import useful, varied
from dp.dsl.ad.normalize import Normalizer
from dp.dsl.diagnostics import DPError
from dp.dsl.symbols import Symbol


@dataclass
class Fact:
    sym: Symbol
    active: bool
    why: str                  # one line, for a hover or an inlay hint's tooltip


def function_activity(fn: S.FnDef, ad) -> dict[int, Fact]:
    """id(symbol) -> Fact for each parameter and local of a checked function that has a
    differentiable parameter and result; {} when it has none, or cannot be put in
    normal form (a construct the transforms refuse: the diagnostics say so)."""
    if not fn.checked or fn.ty is None or not fn.ty.ret.active:
        return {}
    seeds = [p for p in fn.params if isinstance(p.sym, Symbol) and p.sym.ty.active]
    if not seeds:
        return {}
    try:
        n = Normalizer(fn, set(ad.reserved()) | {fn.name})
        n.tx = ad
        nf = n.run(fn.name + "_activity")
    except (DPError, RecursionError, AssertionError, AttributeError, KeyError, TypeError):
        return {}
    body = nf.body
    k = 0
    while k < len(body) and isinstance(body[k], S.Let):
        k += 1
    stmts = body[:-1] if body and isinstance(body[-1], S.Return) else body
    result = body[-1].value.id if body and isinstance(body[-1], S.Return) and isinstance(body[-1].value, S.Name) else None
    reached = varied(stmts, {p.name for p in seeds})
    needed = useful(stmts, {result} if result else set())
    each = {p.name: varied(stmts, {p.name}) for p in seeds}
    seeds_text = ", ".join(f"`{p.name}`" for p in seeds)

    def on(name):
        return ", ".join(f"`{p}`" for p, r in each.items() if name in r)
    out: dict[int, Fact] = {}
    for sym, name in n.names.items():
        if not isinstance(sym, Symbol):
            continue
        t = sym.ty
        if t is None or not t.active:
            out[id(sym)] = Fact(sym, False, f"no derivative: `{t}` values carry none")
        elif sym.kind == "param":
            if name in needed:
                out[id(sym)] = Fact(sym, True, f"differentiable parameter: `grad` and `jvp` of `{fn.name}` "
                                               "take derivatives with respect to it")
            else:
                out[id(sym)] = Fact(sym, False, "differentiable parameter, but the result does not depend on it: "
                                                "its derivative is zero")
        elif name not in reached:
            out[id(sym)] = Fact(sym, False, f"no derivative: it does not depend on {seeds_text}")
        elif name not in needed:
            out[id(sym)] = Fact(sym, False, "no derivative: the result does not depend on it")
        else:
            out[id(sym)] = Fact(sym, True, f"carries a derivative: it depends on {on(name)}, "
                                           "and the result depends on it")
    return out


def program_activity(prog: S.Program, ad) -> dict[int, Fact]:
    """Facts for every top-level function of a checked program."""
    out: dict[int, Fact] = {}
    for s in prog.body:
        if isinstance(s, S.FnDef):
            out.update(function_activity(s, ad))
    return out
