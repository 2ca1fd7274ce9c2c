"""Effects a reverse-mode derivative cannot make exact: writes to global variables.

A reverse derivative recomputes primal code (a pullback runs its function again, once
more for each caller's reverse sweep) and puts back, in its reverse sweep, what its
forward sweep changed in place. Output is muted while it recomputes (see _muted in
__init__.py), but a global variable assigned or changed in place would be changed
again, or have the change undone, and a recomputed callee could read a global changed
since it first ran. So reverse mode refuses a function that writes a global, itself
or through a function it calls, at the line that writes it. Forward mode runs the
primal once, beside the tangents, and has no such limit."""
from __future__ import annotations

from .. import syntax as S
from ..checker import MUTATING_METHODS
from ..symbols import Symbol
from .trees import _err, root_of


def global_write(fn: S.FnDef, transitive: bool) -> tuple[S.Node, str] | None:
    """The first statement of fn (and, if transitive, of a function it calls by name)
    that writes a global, and the global's name; None if there is none."""
    seen, todo = set(), [fn]
    while todo:
        f = todo.pop()
        if id(f) in seen:
            continue
        seen.add(id(f))
        for node in S.walk(f):
            name = _written_global(node)
            if name is not None:
                return node, name
            if transitive and isinstance(node, S.Call) and node.target and node.target[0] == "fn" \
                    and isinstance(node.target[1], S.FnDef):
                todo.append(node.target[1])
    return None


def refuse_global_writes(fn: S.FnDef, kind: str) -> None:
    """Raise a differentiation error if reverse mode of kind ("rev", "grad", "vg")
    cannot differentiate fn because of a global it writes."""
    found = global_write(fn, transitive=True)
    if found is None:
        return
    node, name = found
    raise _err(node.span, f"`{name}` is a global variable: a reverse-mode derivative recomputes this code and would "
                          f"change `{name}` again, or undo the change",
               "pass the value in and return the new one, or use forward mode (`jvp`), which runs the function once")


def _written_global(node) -> str | None:
    if isinstance(node, (S.Assign, S.AugAssign)):
        root = root_of(node.target)
    elif isinstance(node, S.ExprStmt) and isinstance(node.expr, S.Call) and node.expr.target \
            and node.expr.target[0] == "method" and node.expr.target[1] in MUTATING_METHODS:
        root = root_of(node.expr.func.obj)
    else:
        return None
    if root is not None and isinstance(root.sym, Symbol) and root.sym.is_global:
        return root.id
    return None
