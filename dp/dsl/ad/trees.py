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
    """Every identifier read anywhere in a tree (or a list of trees); the bare name an
    assignment writes is not read."""
    todo = list(node) if isinstance(node, (list, tuple)) else [node]
    while todo:
        n = todo.pop()
        if isinstance(n, tuple):                      # a struct literal's (name, value)
            todo.append(n[1])
            continue
        if isinstance(n, S.Name):
            acc.add(n.id)
        elif isinstance(n, S.Assign) and isinstance(n.target, S.Name):
            todo.append(n.value)
        elif isinstance(n, S.Node):
            todo.extend(S.children(n))
    return acc


def _declared(stmts) -> set[str]:
    """Every name a statement list declares (lets, loop variables, match bindings)."""
    out = set()
    for s in _walk(stmts):
        if isinstance(s, S.Let):
            out |= set(s.names) if s.names else {s.name}
        elif isinstance(s, S.ForEach) and s.names is not None:
            out |= set(s.names)
        elif isinstance(s, (S.ForRange, S.ForEach)):
            out.add(s.var)
        elif isinstance(s, S.Match):
            for a in s.arms:
                out |= set(a.binds)
    return out


_walk = S.statements


def renamed(node, names: dict):
    """A copy of node (without notes) in which each name whose symbol is a key of names
    is renamed to its value."""
    def f(n):
        if isinstance(n, S.Name) and not isinstance(n.sym, tuple) and n.sym in names:
            return S.Name(names[n.sym], span=n.span)
        return S.rebuild(n, f)
    return f(node)


def _err(span, msg, hint=None):
    return DPError(Diagnostic("differentiation error", msg, span, hint))
