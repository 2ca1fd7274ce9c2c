"""Effects a derivative cannot make exact: writes to global variables.

A reverse derivative recomputes primal code (a pullback runs its function again, once
more for each caller's reverse sweep) and puts back, in its reverse sweep, what its
forward sweep changed in place. Output is muted while it recomputes (see _muted in
__init__.py), but a global variable assigned or changed in place (`.pop()` inside an
expression too) would be changed again, or have the change undone, and a recomputed
callee could read a global changed since it first ran. So reverse mode refuses a
function that writes a global, itself or through a function it may call, at the line
that writes it; so does a forward-mode Jacobian, whose columns after the first run
the function again.

A jvp runs the primal once, beside the tangents, so it may write globals; but a
global's tangent is a local of the one jvp that writes it (forward.py), not a global
of its own. Each call of a function is a jvp of its own, so the tangent is right only
where the global is read by the function being differentiated itself, which is not
called again inside the derivative. `refuse_forward_global_flows` finds the rest (a
callee that reads what its caller wrote, a caller that reads what a callee wrote, a
function called twice, or recursively, that reads what its last call wrote, a call of
a function known only at run time) and stops them with a differentiation error.

What a function may call is read off the checked tree (`_call_tree`): the functions it
calls or passes as values, by their definitions in force, and the lambdas it makes,
each a function of its own. A derivative (`grad(h)`, `jvp(g, …)`) runs its function,
so the function stands for it."""
from __future__ import annotations

from .. import syntax as S
from ..checker import MUTATING_METHODS
from ..symbols import Symbol
from ..types import FnT
from .trees import _err, root_of


def refuse_global_writes(fn: S.FnDef, kind: str, tx) -> None:
    """Raise a differentiation error if a derivative of kind ("rev", "grad", "vg"; or
    "jvp_quiet", a forward-mode Jacobian's later column) cannot differentiate fn because
    of a global it writes."""
    units, _, unknown = _call_tree(fn, _in_force(tx))
    if kind == "jvp_quiet":
        why, hint = "a forward-mode Jacobian runs this code once per column and would change `{}` again", \
            "pass the value in and return the new one, or use `jvp` for one direction, which runs the function once"
    else:
        why, hint = "a reverse-mode derivative recomputes this code and would change `{}` again, or undo the change", \
            "pass the value in and return the new one, or use forward mode (`jvp`), which runs the function once"
    for unit in units:
        for sym, node in units[unit].writes.items():
            raise _err(node.span, f"`{_shown(sym)}` is a global variable: " + why.format(_shown(sym)), hint)
    if kind == "jvp_quiet" and unknown is not None:
        # the columns run the function the call finds, each time: a reverse derivative's
        # such call refuses for itself, when it is derived as it runs
        written = _program_globals(tx, units, active_only=False)[0]
        if written:
            sym = min(written, key=_shown)
            raise _err(unknown.span, f"this call's function is known only when it runs, and may change the global "
                                     f"variable `{_shown(sym)}`: " + why.format(_shown(sym)), hint)


def refuse_forward_global_flows(root: S.FnDef, varied_writes: set[Symbol], tx) -> None:
    """Raise a differentiation error where a jvp of root would lose a global's tangent.
    varied_writes: the globals root writes with a value that carries a tangent; a write
    elsewhere is taken to carry one.

    The tangent is right when one function alone writes and reads the global, is not
    called again while it runs, and either is root (the global's tangent is zero when
    the jvp starts) or writes the whole global before anything else touches it (so a
    call never reads what an earlier call wrote)."""
    units, callees, unknown = _call_tree(root, _in_force(tx))
    if unknown is not None:
        written, read = _program_globals(tx, units, active_only=True)
        shared = written & read
        if shared:
            sym = min(shared, key=_shown)
            raise _err(unknown.span, f"this call's function is known only when it runs, and it may write or read the "
                                     f"global variable `{_shown(sym)}`, which the program writes and reads: forward "
                                     f"mode follows a global's derivative only within the one call that writes and "
                                     f"reads it", f"pass `{_shown(sym)}`'s value in and return the new one")
    active = {sym for u in units.values() for sym in u.sets if sym.ty.active}
    for sym in sorted(active, key=_shown):
        # a tangent comes in only where a value is set (a `pop()` or `remove` moves none in)
        if not any(sym in units[u].sets and (u is not root or sym in varied_writes) for u in units):
            continue
        writers = [u for u in units if sym in units[u].writes]
        readers = [u for u in units if sym in units[u].reads]
        if not readers:
            continue                           # written, never read in the derivative: its tangent is not needed
        writer = writers[0]
        recursive = _reaches(callees, writer, writer)
        if writers == readers == [writer] and not recursive and (writer is root or _writes_first(writer, sym)):
            continue                           # forward.py keeps its tangent beside it
        if recursive:
            why = f"{_label(writer)} calls itself, so one call may read what another wrote"
        elif len(writers) > 1 or readers != [writer]:
            other = next(u for u in writers + readers if u is not writer)
            why = f"it is {'written' if other in writers else 'read'} in {_label(other)} too"
        else:
            why = f"{_label(writer)} reads it before writing it, so one call reads what an earlier call wrote"
        raise _err(units[writer].writes[sym].span,
                   f"`{_shown(sym)}` is a global variable this derivative writes, and {why}: forward mode follows a "
                   f"global's derivative only within the one call that writes and reads it",
                   "pass the value in and return the new one")


class _Unit:
    """What one function does to globals: the first statement that writes each, those
    it sets a value in (not by `pop`, `remove` or `reverse` alone), and those it reads
    (a `pop()` reads what it takes)."""
    __slots__ = ("writes", "sets", "reads")

    def __init__(self):
        self.writes: dict[Symbol, S.Node] = {}
        self.sets: set[Symbol] = set()
        self.reads: set[Symbol] = set()


def _call_tree(root, current):
    """The functions a call of root may run, as {FnDef or Lambda: _Unit}; the functions
    each may call ({unit: set}); and a call whose function is known only at run time,
    or None. Read off the checked tree alone: nothing is made or compiled. current
    maps a function to its definition in force (a session's redefinitions)."""
    units, callees, unknown, todo = {}, {}, None, [root]
    while todo:
        fn = todo.pop()
        if fn in units:
            continue
        unit, out = _Unit(), set()
        units[fn], callees[fn] = unit, out
        _globals_of(fn, unit, own_only=True)
        for node in _own_nodes(fn):
            if isinstance(node, S.Lambda):
                out.add(node)                      # made here, may be called anywhere
            elif isinstance(node, S.Name) and isinstance(node.sym, Symbol) and node.sym.kind == "fn" \
                    and isinstance(node.sym.decl, S.FnDef):
                out.add(current(node.sym.decl))    # called, or passed as a value (to a derivative too)
            elif isinstance(node, S.Field) and node.target and node.target[0] == "module" \
                    and node.target[2].kind == "fn" and isinstance(node.target[2].decl, S.FnDef):
                out.add(current(node.target[2].decl))
            elif isinstance(node, S.Call) and node.target:
                kind = node.target[0]
                if kind == "fn" and isinstance(node.target[1], S.FnDef):
                    out.add(current(node.target[1]))
                elif kind == "transform":
                    # a derivative runs the functions it is given (found as names or
                    # lambdas by this walk); one given as any other value is unknown
                    if any(isinstance(a.ty, FnT) and _callee_of(a) is None for a in node.args):
                        unknown = unknown or node
                elif kind in ("fn", "value"):
                    callee = _callee_of(node.func)
                    if callee is None:
                        unknown = unknown or node
                    elif isinstance(callee, (S.FnDef, S.Lambda)):
                        out.add(current(callee) if isinstance(callee, S.FnDef) else callee)
        todo.extend(out)
    return units, callees, unknown


def _in_force(tx):
    """fn -> the definition of it in force: a call's target is the definition it was
    checked against, and a session may have redefined it since (a derivative is made
    from the one in force, found by name)."""
    values = tx.env().values

    def current(fn: S.FnDef) -> S.FnDef:
        sym = values.get(fn.name)
        if sym is not None and sym.kind == "fn" and isinstance(sym.decl, S.FnDef) and sym.decl.ty == fn.ty:
            return sym.decl
        return tx.current(fn)
    return current


_PRIMITIVE = object()                          # a primitive as a value: it touches no global


def _callee_of(f: S.Expr):
    """The FnDef or Lambda a function-valued expression is, when the tree says which;
    _PRIMITIVE for a primitive or a derivative (its functions are found as names);
    else None."""
    if isinstance(f, S.Lambda):
        return f
    if isinstance(f, S.Call) and f.target and f.target[0] == "transform":
        return _PRIMITIVE
    if isinstance(f, S.Field) and f.target and f.target[0] == "module" and isinstance(f.target[2].decl, S.FnDef):
        return f.target[2].decl
    if isinstance(f, S.Name):
        sym = f.sym
        if isinstance(sym, tuple) and sym[0] == "prim":
            return _PRIMITIVE
        if isinstance(sym, Symbol) and sym.kind == "fn" and isinstance(sym.decl, S.FnDef):
            return sym.decl
        if isinstance(sym, Symbol) and sym.kind == "let" and isinstance(sym.decl, S.Let) and sym.decl.names is None:
            value = sym.decl.value
            if isinstance(value, S.Lambda):
                return value
            if isinstance(value, S.Call) and value.target and value.target[0] == "transform":
                return _PRIMITIVE
    return None


def _program_globals(tx, units, active_only: bool) -> tuple[set, set]:
    """The globals some function of the program (or of units) writes, and those some
    function reads: what a function known only at run time might touch."""
    written, read = set(), set()
    bodies = list(units)
    envs = [tx.env()]
    while envs:
        env = envs.pop()
        envs.extend(env.modules.values())
        for sym in env.values.values():
            decl = getattr(sym, "decl", None)
            if isinstance(sym, Symbol) and sym.kind == "fn" and isinstance(decl, S.FnDef):
                bodies.append(decl)
            elif isinstance(decl, S.Let) and isinstance(decl.value, S.Lambda):
                bodies.append(decl.value)
    for body in bodies:
        unit = _Unit()
        _globals_of(body, unit, own_only=False)
        written |= {s for s in (unit.sets if active_only else unit.writes) if s.ty.active or not active_only}
        read |= {s for s in unit.reads if s.ty.active or not active_only}
    return written, read


def _globals_of(fn, unit: _Unit, own_only: bool) -> None:
    """Fill unit with the globals fn writes and reads (own_only: not inside the lambdas
    it makes)."""
    targets = set()
    for node in (_own_nodes(fn) if own_only else _all_nodes(fn)):
        root = _written_root(node)
        sym = _global_sym(root)
        if sym is not None:
            unit.writes.setdefault(sym, node)
            if not _moves_only(node):
                unit.sets.add(sym)
            if isinstance(node, S.AugAssign) or _is_pop(node):
                unit.reads.add(sym)            # `g += v`, `hist.pop()`: what it held is read too
        if root is not None:
            targets.add(id(root))              # `g = v`, `hist[0] = v`, `hist.append(v)`: not a read
        sym = _global_sym(node)
        if sym is not None and sym.kind == "var" and id(node) not in targets:
            unit.reads.add(sym)


def _own_nodes(fn):
    """fn's nodes, parents first, not those inside the lambdas it makes."""
    todo = list(reversed(fn.body))
    while todo:
        n = todo.pop()
        yield n
        if not isinstance(n, S.Lambda):
            todo.extend(reversed(S.children(n)))


def _all_nodes(fn):
    for s in fn.body:
        yield from S.walk(s)


def _moves_only(node) -> bool:
    """A write that takes elements away or reorders them, and sets no value."""
    return isinstance(node, S.Call) and node.target is not None and node.target[0] == "method" \
        and node.target[1] in ("pop", "remove", "reverse")


def _is_pop(node) -> bool:
    return isinstance(node, S.Call) and node.target is not None and node.target[0] == "method" \
        and node.target[1] == "pop"


def _global_sym(node) -> Symbol | None:
    """The global a name or a module member (`gm.g`) is, or None."""
    if isinstance(node, S.Name) and isinstance(node.sym, Symbol) and node.sym.is_global:
        return node.sym
    if isinstance(node, S.Field) and node.target and node.target[0] == "module" \
            and isinstance(node.target[2], Symbol) and node.target[2].kind == "var":
        return node.target[2]
    return None


def _written_root(node):
    """The variable a write changes (`g = v`, `g[i] += v`, `hist.append(v)`, a `pop()`
    anywhere), or None."""
    if isinstance(node, (S.Assign, S.AugAssign)):
        return _root(node.target)
    if isinstance(node, S.Call) and node.target and node.target[0] == "method" \
            and node.target[1] in MUTATING_METHODS:
        return _root(node.func.obj)
    return None


def _root(e):
    """The variable at the root of a place: a name, or a module's global (`gm.g[0]`)."""
    while isinstance(e, (S.Field, S.Index, S.TupleIndex)):
        if _global_sym(e) is not None:
            return e
        e = e.obj
    return e if isinstance(e, S.Name) else root_of(e)


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


def _writes_first(fn, sym: Symbol) -> bool:
    """Whether fn's first statement that mentions global sym is `g = v`, at the top of
    its body, with v not reading it: every call then writes it before it reads it."""
    for s in fn.body:
        if not any(_global_sym(n) is sym for n in S.walk(s)):
            continue
        return isinstance(s, S.Assign) and _global_sym(s.target) is sym \
            and not any(_global_sym(n) is sym for n in S.walk(s.value))
    return False


def _shown(sym: Symbol) -> str:
    """A global's name as the program spells it (`g`, `gm.g`)."""
    return sym.py.split("·")[0]


def _label(unit) -> str:
    if isinstance(unit, S.FnDef):
        return f"`{unit.name.replace('__', '.')}`"
    return f"the lambda at line {unit.span.line}"
