"""Derivatives after a redefinition (the REPL, `Interpreter.load`).

A derived function is made from the definitions in force when it was made: the
pullback `g_grad` of `g` calls `f_rev`, the pullback of the `f` that `g` called then,
and what it does (which calls it makes, what it keeps) was decided from that `f`.
When `f` is redefined (or a global function value `let q = fn…` is bound again, or a
`derivative` rule is added), `g` itself calls the new `f` (a call is by name), so every
derivative made before is made again from the definitions now in force, lazily: the
code of each derived function, under every name and in every value that holds it
(`let h = grad(g)`), is replaced by a stub that derives it again on its first call,
under the same name, and then runs. A derivative that can no longer be made is a
differentiation error where it is called, never the old derivative."""
from __future__ import annotations

from .. import syntax as S
from ..types import FnT
from .derived import Derived


class Redefinitions:
    """Mixed into Transforms."""

    def forget(self) -> None:
        """Derivatives made from now on are made afresh (an input that redefines a
        function derives its own `grad(g)` from the new definitions)."""
        self.cache.clear()
        self.wrappers.clear()
        self.specialized.clear()

    def redefined(self, old_env, env) -> None:
        """Definitions from env land over old_env: retire every derivative made before if
        what derivatives are made from changed (see changes_derivatives)."""
        if not changes_derivatives(old_env, env):
            return
        olds = [old_env.values[n].decl for n, s in env.values.items() if s.kind == "fn" and n in old_env.values
                and old_env.values[n] is not s and isinstance(old_env.values[n].decl, S.FnDef)]
        for fn in olds:
            self.replaced[id(fn)] = fn          # kept, so the id is not reused
        ns = self.session.runtime.ns
        for d in list(self.by_name.values()):
            if not d.pyfns or d.pyfns[0].__code__ in self.stale or d.fn is None:
                continue
            stub = _stub_code(d.py)
            self.stale[stub] = d.name
            for f in d.pyfns:
                self.by_code.pop(f.__code__, None)
                f.__code__ = stub
            entry = ns.get(d.py)
            if hasattr(entry, "variants"):
                entry.retired = True            # shape-specialised variants (specialise.py) are stale too
        self.forget()

    def refreshed(self, f):
        """f itself, made again first if it is a retired derivative (a value held since)."""
        code = getattr(f, "__code__", None)
        if code is not None and code in self.stale:
            self.rederive(self.stale[code] + "·d")
        return f

    def rederive(self, py_name: str):
        """Make the derivative named py_name again from the definitions now in force
        (called by its stub); returns the function to call."""
        name = py_name[:-len("·d")]
        old = self.by_name[name]
        f = old.pyfns[0]
        if f.__code__ not in self.stale:
            return f
        new = self.derive(self.current(old.source), old.kind, old.wrt, old.tuple_wrt, name=name)
        del self.stale[f.__code__]
        for g in old.pyfns:                     # every value holding the old one runs the new code
            g.__code__ = new.pyfns[0].__code__
        self.remade[id(old.fn)] = (old.fn, new.fn)
        if new.name == name:
            new.pyfns = old.pyfns + new.pyfns
        else:                                   # made already, under another name, by this input
            alias = Derived(new.fn, new.kind, new.source, new.active_idx, name=name)
            alias.wrt, alias.tuple_wrt, alias.pyfns = new.wrt, new.tuple_wrt, old.pyfns
            self.by_name[name] = alias
        return f

    def current(self, fn: S.FnDef) -> S.FnDef:
        """The definition in force of what fn was: a redefined function's new
        definition, a retired derivative made again."""
        while True:
            if id(fn) in self.remade:
                fn = self.remade[id(fn)][1]
                continue
            d = self.by_name.get(fn.name)
            if d is not None and d.fn is fn and d.pyfns and d.pyfns[0].__code__ in self.stale:
                self.rederive(d.py)
                continue
            break
        if id(fn) in self.replaced:
            sym = (self.current_env or self.session.env).values.get(fn.name)
            # redefined with another type, it is another function: what was derived from
            # the old one (a `let g = grad(f)` made before) keeps deriving the old one,
            # as a closure keeps calling the definition it was made with
            if sym is not None and sym.kind == "fn" and isinstance(sym.decl, S.FnDef) and sym.decl.ty == fn.ty:
                return sym.decl
        return fn


def changes_derivatives(old_env, env) -> bool:
    """Whether env, landing over old_env, changes what a derivative made before was
    made from: a function redefined, a global function value (`let q = fn…`) bound
    again, or a `derivative` rule added or replaced."""
    for n, s in env.values.items():
        was = old_env.values.get(n)
        if was is not None and was is not s and (s.kind == "fn" or was.kind == "fn"
                                                 or isinstance(s.ty, FnT) or isinstance(was.ty, FnT)):
            return True
    return any(old_env.rules.get(n) is not r for n, r in env.rules.items())


def _stub_code(py_name: str):
    """The code of a function that derives py_name again and calls it."""
    src = f"def {py_name}(*args):\n    return rt·rederive({py_name!r})(*args)\n"
    module = compile(src, "<derived>", "exec")
    return next(c for c in module.co_consts if hasattr(c, "co_code"))
