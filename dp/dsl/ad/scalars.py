"""Struct adjoints as their fields: the last clean-up of a reverse derivative.

The cotangent of a struct of floats is a struct of the same type, so derived code
reads `q_bar = Particle { x: g.x, v: g.x * 0.1 + g.v, m: g.m }`. Run as written,
every such line builds an object and every `q_bar.x` reads an attribute, where a
hand-written adjoint keeps three floats. So each adjoint (and each `let g = q_bar`
that holds one) whose struct has only float fields becomes one float variable per
field, `q_bar_x`, `q_bar_v`, `q_bar_m`, and a struct is built only where the whole
value leaves (stored in a list, passed, returned)."""
from __future__ import annotations

from .. import syntax as S
from ..types import FLOAT, StructT
from . import build as B
from .trees import _walk


def scalarise(body, ret_val, structs: dict, fresh):
    """body, ret_val with the adjoints in structs (name → StructT) held as fields;
    fresh(base) gives an unused name."""
    split = {n: t for n, t in structs.items() if _all_float(t)}
    _add_borrows(body, split)
    for s in _walk(body):
        if isinstance(s, S.Let) and s.names is None and isinstance(s.value, S.Lambda):
            return body, ret_val                       # closures in derived code: leave it as it is
    if not split:
        return body, ret_val
    fields = {n: {f: fresh(f"{n}_{f}") for f in t.fields} for n, t in split.items()}
    r = _Rewriter(split, fields, fresh)
    return r.block(body), r.expr(ret_val)


def _all_float(t) -> bool:
    return isinstance(t, StructT) and bool(t.fields) and all(ft == FLOAT for ft in t.fields.values())


def _add_borrows(body, split):
    """`let g = q_bar` holds the same struct: split it too."""
    changed = True
    while changed:
        changed = False
        for s in _walk(body):
            if isinstance(s, S.Let) and s.names is None and isinstance(s.value, S.Name) \
                    and s.value.id in split and s.name not in split:
                split[s.name] = split[s.value.id]
                changed = True


class _Rewriter:
    def __init__(self, split, fields, fresh):
        self.split, self.fields, self.fresh = split, fields, fresh

    def block(self, stmts):
        out = []
        for s in stmts:
            out += self.stmt(s)
        return out

    def stmt(self, s):
        if isinstance(s, (S.Let, S.Assign)):
            name = s.name if isinstance(s, S.Let) else (s.target.id if isinstance(s.target, S.Name) else None)
            if isinstance(s, S.Let) and s.names is not None:
                name = None
            if name in self.split:
                return self.whole(s, name)
            if isinstance(s, S.Assign) and isinstance(s.target, S.Field) and isinstance(s.target.obj, S.Name) \
                    and s.target.obj.id in self.split:
                new = S.Assign(S.Name(self.fields[s.target.obj.id][s.target.name]), self.expr(s.value), span=s.span)
                return [_keep_comment(s, new)]
        S.replace_blocks(s, self.block)
        self.children(s)
        return [s]

    def whole(self, s, name):
        """`c = value` for a split c: one assignment per field."""
        ty, mine = self.split[name], self.fields[name]
        decl = isinstance(s, S.Let)
        v = s.value
        if isinstance(v, S.Call) and isinstance(v.func, S.Name) and v.func.id == "zeros_like":
            parts = {f: B.num(0.0) for f in ty.fields}
        elif isinstance(v, S.Name) and v.id in self.split:
            parts = {f: S.Name(self.fields[v.id][f]) for f in ty.fields}
        elif isinstance(v, S.StructLit):
            parts = {f: self.expr(e) for f, e in v.fields}
        elif _is_accumulate(v) and all(self.parts_of(a) is not None for a in v.args):
            a, b = (self.parts_of(x) for x in v.args)      # added field by field
            parts = {f: B.add(a[f], b[f]) for f in ty.fields}
        else:
            tmp = self.fresh(f"{name}_new")             # anything else: take the struct apart
            pre = [S.Let(tmp, None, self.expr(v))]
            parts = {f: S.Field(S.Name(tmp), f) for f in ty.fields}
            return pre + self.assign_parts(s, mine, parts, decl)
        pre = []
        if not decl:
            # the fields are assigned one after another: a value that reads a field
            # assigned before it is taken first
            staged, done = {}, set()
            for f, e in parts.items():
                if _names(e) & done:
                    t = self.fresh(f"{mine[f]}_new")
                    pre.append(S.Let(t, None, e))
                    e = S.Name(t)
                staged[f] = e
                done.add(mine[f])
            parts = staged
        return pre + self.assign_parts(s, mine, parts, decl)

    def parts_of(self, e):
        """field → expression, for a split variable or a struct literal; else None."""
        if isinstance(e, S.Name) and e.id in self.split:
            return {f: S.Name(n) for f, n in self.fields[e.id].items()}
        if isinstance(e, S.StructLit):
            return {f: self.expr(x) for f, x in e.fields}
        return None

    def assign_parts(self, s, mine, parts, decl):
        out = []
        for f, e in parts.items():
            if decl:
                out.append(S.Let(mine[f], None, e, s.mutable, span=s.span))
            else:
                out.append(S.Assign(S.Name(mine[f]), e, span=s.span))
        if out:
            _keep_comment(s, out[0])
        return out

    def children(self, node):
        """Rewrite node's expressions in place (its blocks are done by `block`)."""
        for name, shape in S.LAYOUT[type(node)][0]:
            v = getattr(node, name)
            if shape in ("one", "opt") and isinstance(v, S.Expr):
                setattr(node, name, self.expr(v))
            elif shape == "list" and v and isinstance(v[0], S.Expr):
                setattr(node, name, [self.expr(x) for x in v])
            elif shape == "pairs":
                setattr(node, name, [(k, self.expr(x)) for k, x in v])

    def expr(self, e):
        if isinstance(e, S.Field) and isinstance(e.obj, S.Name) and e.obj.id in self.split:
            return S.Name(self.fields[e.obj.id][e.name])
        if isinstance(e, S.Name) and e.id in self.split:
            # the whole value leaves: build it
            ty = self.split[e.id]
            return S.StructLit(ty.name, [(f, S.Name(self.fields[e.id][f])) for f in ty.fields])
        if isinstance(e, S.Lambda):
            return e
        self.children(e)
        return e


def _is_accumulate(e) -> bool:
    return isinstance(e, S.Call) and isinstance(e.func, S.Name) and e.func.id == "accumulate" and len(e.args) == 2


def _names(e) -> set:
    from .trees import names_in
    return names_in(e, set())


def _keep_comment(old, new):
    if old.comment:
        new.comment = old.comment
    return new
