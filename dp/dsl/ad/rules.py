"""Derivative rules as DP expressions: the primitive table's templates, and the
rules users declare with `derivative f(x) -> y { x_bar = ..., y_dot = ... }`
(checked by the checker, s_RuleDef). Both are used the same way: instantiate the template with the expressions the
transform has for the arguments, the result, and the (co)tangents."""
from __future__ import annotations

from functools import lru_cache

from .. import primitives as P
from .. import syntax as S
from . import build as B


@lru_cache(maxsize=None)
def _parsed(src: str) -> S.Expr:
    from ..parser import parse
    return parse(f"let rule = {src}\n", "<rule>").body[0].value


def template(src: str) -> S.Expr:
    """A rule's template, parsed once and shared: read it, never change it."""
    return _parsed(src)


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
        args = [_subst(a, env) for a in e.args]
        c = S.Call(_subst(e.func, env), args)
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
