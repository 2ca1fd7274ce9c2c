"""Derivative rules as DP expressions: the primitive table's templates, and the
rules users declare with `derivative f(x) -> y { x_bar = ..., y_dot = ... }`.
Both are used the same way: instantiate the template with the expressions the
transform has for the arguments, the result, and the (co)tangents."""
from __future__ import annotations

from functools import lru_cache

from .. import primitives as P
from .. import syntax as S
from ..diagnostics import did_you_mean
from ..symbols import Scope
from ..types import UNIT, FnT
from . import build as B


@lru_cache(maxsize=None)
def _parsed(src: str) -> S.Expr:
    from ..parser import parse
    return parse(f"let rule = {src}\n", "<rule>").body[0].value


def instantiate(template: S.Expr | str, env: dict) -> S.Expr:
    """Copy the template with names in env replaced, simplifying as it goes."""
    t = _parsed(template) if isinstance(template, str) else template
    return _subst(t, env)


def _subst(e, env):
    if isinstance(e, S.Name):
        if e.id in env:
            v = env[e.id]
            return B.copy_expr(v) if isinstance(v, S.Expr) else v
        return S.Name(e.id)
    if isinstance(e, S.Num):
        return S.Num(e.value)
    if isinstance(e, S.Binary):
        a, b = _subst(e.left, env), _subst(e.right, env)
        return {"+": B.add, "-": B.sub, "*": B.mul, "/": B.div}.get(e.op, lambda x, y: S.Binary(e.op, x, y))(a, b)
    if isinstance(e, S.Unary):
        o = _subst(e.operand, env)
        return B.neg(o) if e.op == "-" else S.Unary(e.op, o)
    if isinstance(e, S.Call):
        c = S.Call(_subst(e.func, env), [_subst(a, env) for a in e.args])
        c.primitive = isinstance(c.func, S.Name) and c.func.id in P.CALLABLE
        return c
    if isinstance(e, S.TupleIndex):
        return S.TupleIndex(_subst(e.obj, env), e.index)
    if isinstance(e, S.Field):
        return S.Field(_subst(e.obj, env), e.name)
    if isinstance(e, S.Index):
        return S.Index(_subst(e.obj, env), _subst(e.index, env))
    if isinstance(e, S.TupleLit):
        return S.TupleLit([_subst(x, env) for x in e.items])
    if isinstance(e, S.ListLit):
        return S.ListLit([_subst(x, env) for x in e.items])
    if isinstance(e, S.StructLit):
        return S.StructLit(e.name, [(n, _subst(v, env)) for n, v in e.fields])
    return B.copy_expr(e)



# ---------------------------------------------------------------- user rules

def check_rule(checker, s: S.RuleDef) -> None:
    """Type-check `derivative f(params) -> result { clauses }` and register it."""
    sym = checker.env.values.get(s.fn)
    if sym is None or sym.kind != "fn":
        checker.error(s.span, f"`{s.fn}` is not a function defined before this rule", did_you_mean(s.fn, checker.env.values))
        return
    ft: FnT = sym.ty
    if len(s.params) != len(ft.params):
        checker.error(s.span, f"`{s.fn}` takes {len(ft.params)} parameter(s); the rule names {len(s.params)}")
        return
    if ft.ret == UNIT:
        checker.error(s.span, f"`{s.fn}` returns nothing, so it has no derivative")
        return
    names = {}
    for n, t in zip(s.params, ft.params):
        names[n] = t
        names[n + "_dot"] = t
    names[s.result] = ft.ret
    names[s.result + "_bar"] = ft.ret
    targets = {n + "_bar": t for n, t in zip(s.params, ft.params)} | {s.result + "_dot": ft.ret}
    outer_scope = checker.scope
    checker.scope = Scope(outer_scope, owner=s)
    from ..checker import FnCtx
    outer_ctx = checker.ctx
    checker.ctx = FnCtx(s, UNIT)
    for n, t in names.items():
        checker.declare_local(n, t, "let", s, s.span)
    seen = set()
    for c in s.clauses:
        if c.target not in targets:
            checker.error(c.span, f"`{c.target}` is not something this rule can define",
                          f"define {', '.join('`' + t + '`' for t in targets)}")
            checker.expr(c.value)
            continue
        if c.target in seen:
            checker.error(c.span, f"`{c.target}` is defined twice")
        seen.add(c.target)
        want = targets[c.target]
        checker.expect(c.value, checker.expr(c.value, want), want)
    checker.ctx, checker.scope = outer_ctx, outer_scope
    if not any(c.target.endswith("_bar") for c in s.clauses) and not any(c.target.endswith("_dot") for c in s.clauses):
        checker.error(s.span, "a derivative rule needs at least one clause")
        return
    checker.env.rules[s.fn] = s
    if isinstance(sym.decl, S.FnDef):
        sym.decl.rule = s                    # the transforms use the rule, not the body

