"""Queries on DP syntax trees that both sweeps and the clean-up passes share: the
variable a path is rooted at, the names a tree reads or declares, every statement
of a nested block; and the error a transform raises when it cannot go on."""
from __future__ import annotations

from .. import syntax as S
from ..diagnostics import Diagnostic, DPError


def root_of(e) -> S.Name | None:
    while isinstance(e, (S.Field, S.Index, S.TupleIndex)):
        e = e.obj
    return e if isinstance(e, S.Name) else None


def names_in(node, acc: set) -> set:
    """Every identifier read anywhere in a statement or expression tree."""
    if isinstance(node, (list, tuple)):          # tuples: a struct literal's (name, value) fields
        for n in node:
            names_in(n, acc)
        return acc
    if isinstance(node, S.Name):
        acc.add(node.id)
        return acc
    if isinstance(node, S.Assign):
        if not isinstance(node.target, S.Name):
            names_in(node.target, acc)
        names_in(node.value, acc)
        return acc
    if isinstance(node, S.Let):
        names_in(node.value, acc)
        return acc
    for f in getattr(node, "__dataclass_fields__", {}):
        if f in ("span", "ty", "sym", "target", "syms", "captures"):
            continue
        v = getattr(node, f)
        if isinstance(v, (S.Node, list)):
            names_in(v, acc)
        elif isinstance(v, tuple):
            for x in v:
                if isinstance(x, (S.Node, list)):
                    names_in(x, acc)
    return acc


def _declared(stmts) -> set[str]:
    """Every name a statement list declares (lets, loop variables, match bindings)."""
    out = set()
    for s in _walk(stmts):
        if isinstance(s, S.Let):
            out |= set(s.names) if s.names else {s.name}
        elif isinstance(s, (S.ForRange, S.ForEach)):
            out.add(s.var)
        elif isinstance(s, S.Match):
            for a in s.arms:
                out |= set(a.binds)
    return out


def _walk(stmts):
    for s in stmts:
        yield s
        for f in ("then", "orelse", "body"):
            inner = getattr(s, f, None)
            if isinstance(inner, list):
                yield from _walk(inner)
        if isinstance(s, S.Match):
            for a in s.arms:
                yield from _walk(a.body)


def _err(span, msg, hint=None):
    return DPError(Diagnostic("differentiation error", msg, span, hint))
