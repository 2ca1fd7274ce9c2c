"""A derived function as the registry keeps it, and the spans generated code takes
from the source it was made of."""
from __future__ import annotations

from .. import syntax as S
from ..span import NOWHERE


class Derived:
    def __init__(self, fn: S.FnDef | None, kind: str, source: S.FnDef, active_idx=None, name=None):
        self.fn = fn                         # the checked derived FnDef (None while being made)
        self.kind = kind
        self.source = source                 # what it was derived from
        self.active_idx = active_idx or []   # for "rev": which parameters get cotangents
        self.name = name if name is not None else fn.name
        self.wrt, self.tuple_wrt = None, False   # what derive() was asked for
        self.pyfns: list = []                # the compiled function objects, unwrapped (redefinitions.py)

    @property
    def py(self) -> str:
        return self.name + "·d"


def stamp(node, span):
    """Give generated nodes the span of the source they come from: a node without one
    takes its nearest ancestor's (errors in derived code point at the source line)."""
    todo = [(n, span) for n in (node if isinstance(node, list) else [node])]
    while todo:
        n, sp = todo.pop()
        if n.span is NOWHERE or n.span.line == 0:
            n.span = sp
        todo.extend((c, n.span) for c in S.children(n))
