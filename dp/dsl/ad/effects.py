"""Effects a derivative cannot make exact: writes to global variables.

A reverse derivative recomputes primal code (a pullback runs its function again, once
more for each caller's reverse sweep) and puts back, in its reverse sweep, what its
forward sweep changed in place. Output is muted while it recomputes (see _muted in
__init__.py), but a global variable assigned or changed in place would be changed
again, or have the change undone, and a recomputed callee could read a global changed
since it first ran. So reverse mode refuses a function that writes a global, itself
or through a function it calls, at the line that writes it; so does a forward-mode
Jacobian, whose columns after the first run the function again.

A jvp runs the primal once, beside the tangents, so it may write globals; but a
global's tangent is a local of the one jvp that writes it (forward.py), not a global
of its own. Each call of a function is a jvp of its own, so the tangent is right only
where the global is read by the function being differentiated itself, which is not
called again inside the derivative. `forward_global_flows` finds the rest (a callee
that reads what its caller wrote, a caller that reads what a callee wrote, a function
called twice, or recursively, that reads what its last call wrote) and stops them
with a differentiation error."""
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
    """Raise a differentiation error if a derivative of kind ("rev", "grad", "vg"; or
    "jvp_quiet", a forward-mode Jacobian's later column) cannot differentiate fn because
    of a global it writes."""
    found = global_write(fn, transitive=True)
    if found is None:
        return
    node, name = found
    if kind == "jvp_quiet":
        why, hint = "a forward-mode Jacobian runs this code once per column and would change `{}` again", \
            "pass the value in and return the new one, or use `jvp` for one direction, which runs the function once"
    else:
        why, hint = "a reverse-mode derivative recomputes this code and would change `{}` again, or undo the change", \
            "pass the value in and return the new one, or use forward mode (`jvp`), which runs the function once"
    raise _err(node.span, f"`{name}` is a global variable: " + why.format(name), hint)


def refuse_forward_global_flows(root: S.FnDef, varied_writes: set[str], tx) -> None:
    """Raise a differentiation error where a jvp of root would lose a global's tangent. varied_writes: the globals root writes with a value
    that carries a tangent; a write elsewhere is taken to carry one.

    The tangent is right when one function alone writes and reads the global, is not
    called again while it runs, and either is root (the global's tangent is zero when
    the jvp starts) or writes the whole global before anything else touches it (so a
    call never reads what an earlier call wrote)."""
    units, callees, unknown = _call_tree(root)
    if unknown is not None:
        # a function known only when it runs may be any function of the program
        outside = _written_anywhere(tx) & {n for _, reads in units.values() for n in reads}
        if outside:
            name = min(outside)
            raise _err(unknown.span, f"this call's function is known only when it runs, and it may write the global "
                                     f"variable `{name}`, which this derivative reads: forward mode follows a "
                                     f"global's derivative only within the one call that writes and reads it",
                       f"pass `{name}`'s value in and return the new one")
    for name in sorted({n for writes, _ in units.values() for n in writes}):
        writers = [u for u in units if name in units[u][0] and (u is not root or name in varied_writes)]
        if not writers:
            continue
        readers = [u for u in units if name in units[u][1]]
        if not readers and unknown is None:
            continue                           # written, never read in the derivative: its tangent is not needed
        writer = writers[0]
        recursive = _reaches(callees, writer, writer)
        if writers == readers == [writer] and unknown is None and not recursive \
                and (writer is root or _writes_first(writer, name)):
            continue                           # forward.py keeps its tangent beside it
        if recursive:
            why = f"{_label(writer)} calls itself, so one call may read what another wrote"
        elif unknown is not None:
            why = "a function known only when it runs is called, and it may read or write it"
        elif len(writers) > 1 or readers != [writer]:
            other = next(u for u in writers + readers if u is not writer)
            why = f"it is {'written' if other in writers else 'read'} in {_label(other)} too"
        else:
            why = (f"{_label(writer)} reads it before writing it, so one call reads what an earlier call "
                   f"wrote")
        raise _err(units[writer][0][name].span,
                   f"`{name}` is a global variable this derivative writes, and {why}: forward mode follows a "
                   f"global's derivative only within the one call that writes and reads it",
                   "pass the value in and return the new one")


def _written_anywhere(tx) -> set[str]:
    """The globals of a differentiable type some function of the program writes."""
    out = set()
    for sym in tx.env().values.values():
        if isinstance(sym, Symbol) and sym.kind == "fn" and isinstance(sym.decl, S.FnDef):
            for node in _own_nodes(sym.decl):
                name = _written_global(node)
                if name is not None and _global_sym(_written_root(node)).ty.active:
                    out.add(name)
    return out


def _reaches(callees, start, target) -> bool:
    """Whether a call of start may call target (start itself counts only when called)."""
    seen, todo = set(), list(callees[start])
    while todo:
        f = todo.pop()
        if f is target:
            return True
        if f in seen or f not in callees:
            continue
        seen.add(f)
        todo.extend(callees[f])
    return False


def _writes_first(fn: S.FnDef, name: str) -> bool:
    """Whether fn's first statement that mentions global `name` is `name = v`, at the
    top of its body, with v not reading it: every call then writes it before it reads it."""
    for s in fn.body:
        mentioned = any(isinstance(n, S.Name) and n.id == name and _global_sym(n) is not None for n in S.walk(s))
        if not mentioned:
            continue
        return isinstance(s, S.Assign) and isinstance(s.target, S.Name) and s.target.id == name and \
            not any(isinstance(n, S.Name) and n.id == name for n in S.walk(s.value))
    return False


def _call_tree(root: S.FnDef):
    """The functions a call of root may run, as {FnDef or Lambda: (writes, reads)}: the
    globals of a differentiable type it writes (name -> first statement that does) and
    reads; the functions each may call ({unit: set}); and a call whose function is known
    only at run time, or None. A lambda is a function of its own: its body runs where it
    is called. Found from the checked tree alone: nothing is made or compiled."""
    units, callees, unknown, todo = {}, {}, None, [root]
    while todo:
        fn = todo.pop()
        if fn in units:
            continue
        writes, reads, targets, out = {}, set(), set(), set()
        units[fn], callees[fn] = (writes, reads), out
        for node in _own_nodes(fn):
            name = _written_global(node)
            if name is not None and _global_sym(_written_root(node)).ty.active:
                writes.setdefault(name, node)
            if isinstance(node, S.Assign) or (name is not None and not isinstance(node, S.AugAssign)):
                targets.add(id(_written_root(node)))   # `gx = v`, `hist[0] = v`, `hist.append(v)`: not a read
            sym = _global_sym(node)
            if sym is not None and sym.kind == "var" and sym.ty.active and id(node) not in targets:
                reads.add(node.id)
            if isinstance(node, S.Lambda):
                out.add(node)                      # made here, may be called anywhere
            elif isinstance(node, S.Name) and isinstance(node.sym, Symbol) and node.sym.kind == "fn" \
                    and isinstance(node.sym.decl, S.FnDef):
                out.add(node.sym.decl)             # a function called, or passed as a value
            elif isinstance(node, S.Call) and node.target and node.target[0] in ("fn", "value", "transform"):
                callee = _callee(node)
                if callee is None:
                    unknown = unknown or node
                elif callee is not _PRIMITIVE:
                    out.add(callee)
        todo.extend(out)
    return units, callees, unknown


_PRIMITIVE = object()                          # a primitive passed as a value: it touches no global


def _callee(call: S.Call):
    """The FnDef or Lambda a call runs, when the tree says which; else None."""
    kind, f = call.target[0], call.func
    if kind == "fn":
        return call.target[1]
    if isinstance(f, S.Lambda):
        return f
    if isinstance(f, S.Name):
        sym = f.sym
        if isinstance(sym, tuple) and sym[0] == "prim":
            return _PRIMITIVE
        if isinstance(sym, Symbol) and sym.kind == "fn" and isinstance(sym.decl, S.FnDef):
            return sym.decl
        if isinstance(sym, Symbol) and sym.kind == "let" and isinstance(sym.decl, S.Let) and sym.decl.names is None \
                and isinstance(sym.decl.value, S.Lambda):
            return sym.decl.value
    if kind == "transform":
        made = call.target[2].get("derived")
        return made.fn if made is not None else None
    return None


def _label(unit) -> str:
    return f"`{unit.name}`" if isinstance(unit, S.FnDef) else f"the lambda at line {unit.span.line}"


def _own_nodes(fn: S.FnDef):
    """fn's nodes, parents first, not those inside the lambdas it makes."""
    todo = list(reversed(fn.body))
    while todo:
        n = todo.pop()
        yield n
        if not isinstance(n, S.Lambda):
            todo.extend(reversed(S.children(n)))


def _global_sym(node) -> Symbol | None:
    if isinstance(node, S.Name) and isinstance(node.sym, Symbol) and node.sym.is_global:
        return node.sym
    return None


def _written_root(node):
    """The variable a write statement changes, or None."""
    if isinstance(node, (S.Assign, S.AugAssign)):
        return root_of(node.target)
    if isinstance(node, S.ExprStmt) and isinstance(node.expr, S.Call) and node.expr.target \
            and node.expr.target[0] == "method" and node.expr.target[1] in MUTATING_METHODS:
        return root_of(node.expr.func.obj)
    return None


def _written_global(node) -> str | None:
    root = _written_root(node)
    return root.id if _global_sym(root) is not None else None
