"""`if` expressions whose branches hold statements (BlockExpr), lowered to statements.

Python has no statement inside an expression, and the transforms want each step a
statement of its own, so the compiler and normalize (dsl/ad) both start from a
function body in which no expression holds a BlockExpr. `lower` makes it from the
checked body, as checked nodes (types and symbols set), statement by statement:

    let y = a + (if c { let t = x * x; t + 1.0 } else { 0.0 })

becomes

    let a1 = a                    # what is evaluated before the `if`, if it may change
    if c { let t = x * x; chosen = t + 1.0 } else { chosen = 0.0 }
    let y = a1 + chosen

The evaluation order is the one the statement had: the parts of an expression left of
a branch's statements that may change (a `var`'s value, a call's result) are bound
first, a `&&`/`||` evaluates its right side only when it must, and a `while` whose
condition holds statements tests it at the top of each trip (`while true { …; if !c
{ break } … }`). The temporaries are declared by their first assignment (the lowered
body is the compiler's and normalize's, never printed as it is). A statement without
a BlockExpr is kept as it is, and so is a body without one (the same list)."""
from __future__ import annotations

import copy as _copy

from . import syntax as S
from .checker import MUTATING_METHODS
from .symbols import Symbol
from .types import BOOL, StructT, concrete


def lower(body: list, fresh) -> list:
    """body with its BlockExprs lowered to statements; body itself if it has none.
    fresh(base, type, kind) gives the Symbol of a new temporary ("let" or "var")."""
    return _Lowering(fresh).block(body)


def _own_exprs(s) -> list:
    """The expressions a statement holds itself (not those of its blocks)."""
    return [c for c in S.children(s) if isinstance(c, S.Expr)]


def _blocky(e) -> bool:
    return bool(S.branch_blocks(e))


class _Lowering:
    _stmt = S.Dispatch("s_", S.STMTS)
    _expr = S.Dispatch("e_", S.EXPRS)

    def __init__(self, fresh):
        self.fresh = fresh
        self.temps: set = set()              # the temporaries' symbols: nothing else writes them

    # -- statement lists
    def block(self, body: list) -> list:
        out, changed = [], False
        for s in body:
            if isinstance(s, S.FnDef):
                out.append(s)
            elif any(_blocky(e) for e in _own_exprs(s)):
                out += self.block(self._stmt(s))
                changed = True
            else:
                n = self.nested(s)
                changed = changed or n is not s
                out.append(n)
        return out if changed else body

    def nested(self, s):
        """s with the statement lists inside it lowered: a copy if one changes."""
        if isinstance(s, S.Match):
            arms = [self.arm(a) for a in s.arms]
            if all(a is b for a, b in zip(arms, s.arms)):
                return s
            return _with(s, arms=arms)
        inner = S.blocks(s)
        lowered = [self.block(b) for b in inner]
        if all(a is b for a, b in zip(lowered, inner)):
            return s
        new = _copy.copy(s)
        it = iter(lowered)
        S.replace_blocks(new, lambda b: next(it))
        return new

    def arm(self, a):
        body = self.block(a.body)
        return a if body is a.body else _with(a, body=body)

    # -- the temporaries
    def temp(self, base, ty, kind):
        sym = self.fresh(base, concrete(ty), kind)
        self.temps.add(sym)
        return sym

    def name(self, sym, span):
        n = S.Name(sym.name, span=span)
        n.sym, n.ty = sym, sym.ty
        return n

    def bind(self, e, pre) -> S.Expr:
        """e's value now, in a `let` of its own; its name."""
        sym = self.temp("part", e.ty, "let")
        let = S.Let(sym.name, None, e, False, span=e.span)
        let.sym, let.size_syms = sym, []
        sym.decl = let
        pre.append(let)
        return self.name(sym, e.span)

    def assign(self, sym, value) -> S.Assign:
        return S.Assign(self.name(sym, value.span), value, span=value.span)

    def stable(self, e) -> bool:
        """Whether e's value cannot change before the rest of its expression is evaluated:
        a literal, or a read of something no statement can change (a `let`, a parameter,
        a function, a loop variable, a temporary), or a lambda that captures nothing else
        (it captures values where it is made: `apply(fn(y) { k * y }, if c { k -= 1.0; … })`
        makes it before k changes)."""
        if isinstance(e, (S.Num, S.Str, S.Bool)):
            return True
        if isinstance(e, S.Lambda):
            return all(not isinstance(s, Symbol) or s.kind != "var" or s in self.temps for s in e.captures)
        if isinstance(e, S.Name):
            return not isinstance(e.sym, Symbol) or e.sym.kind != "var" or e.sym in self.temps
        if isinstance(e, S.Field):
            if e.target and e.target[0] == "variant":
                return True
            if e.target and e.target[0] == "module":
                sym = e.target[2]
                return not isinstance(sym, Symbol) or sym.kind != "var"
            return self.stable(e.obj)
        if isinstance(e, S.TupleIndex):
            return self.stable(e.obj)
        if isinstance(e, S.Index):
            return self.stable(e.obj) and self.stable(e.index)
        return False

    # -- expressions, in evaluation order
    def expr(self, e, pre) -> S.Expr:
        """e with no BlockExpr left in it; the statements it needs go to pre."""
        if not _blocky(e):
            return e
        out = self._expr(e, pre)
        if out.span is S.NOWHERE:
            out.span = e.span
        return out

    def ordered(self, parts: list, pre) -> list:
        """parts (evaluated in this order) lowered: those before the last that holds a
        BlockExpr are evaluated first, into temporaries where they could change."""
        last = max((k for k, p in enumerate(parts) if _blocky(p)), default=-1)
        out = []
        for k, p in enumerate(parts):
            if k < last:
                out.append(self.settled(p, pre))
            elif k == last:
                out.append(self.expr(p, pre))
            else:
                out.append(p)
        return out

    def settled(self, e, pre) -> S.Expr:
        """e lowered and its value fixed now: bound, unless stable (a slice's bounds each)."""
        if isinstance(e, (S.Slice, S.Subscripts)):
            kids = [c for c in S.children(e)]
            return _swap(e, dict(zip(map(id, kids), [self.settled(c, pre) for c in kids])))
        e = self.expr(e, pre)
        return e if self.stable(e) else self.bind(e, pre)

    def by_parts(self, e, parts, pre) -> S.Expr:
        new = self.ordered(parts, pre)
        return _swap(e, {id(p): q for p, q in zip(parts, new) if p is not q})

    def e_IfExpr(self, e, pre):
        cond = self.expr(e.cond, pre)
        t = self.temp("chosen", e.ty, "var")
        pre.append(S.If(cond, self.branch(e.then, t), self.branch(e.orelse, t), span=e.span))
        return self.name(t, e.span)

    def branch(self, b, t) -> list:
        """A branch as statements that assign its value to t (lowered in turn, as the
        block of the `if` they are in)."""
        if isinstance(b, S.BlockExpr):
            return list(b.body) + self.branch(b.value, t)
        return [self.assign(t, b)]

    def e_BlockExpr(self, e, pre):
        raise S.UnhandledNode("a BlockExpr outside an `if` expression's branch")

    def e_Binary(self, e, pre):
        if e.op not in ("&&", "||") or not _blocky(e.right):
            return self.by_parts(e, [e.left, e.right], pre)
        # the right side's statements run only when it is evaluated
        t = self.temp("either", BOOL, "var")
        pre.append(self.assign(t, self.expr(e.left, pre)))
        test = self.name(t, e.span)
        if e.op == "||":
            test = S.Unary("!", test, span=e.span)
            test.ty = BOOL
        pre.append(S.If(test, [self.assign(t, e.right)], [], span=e.span))
        return self.name(t, e.span)

    def e_Call(self, e, pre):
        if e.target and e.target[0] == "method":
            recv = e.func.obj
            if e.func.name in MUTATING_METHODS:      # the receiver is the place changed, not a value
                return self.by_parts(e, list(e.args), pre)
            new = self.ordered([recv] + list(e.args), pre)
            func = _swap(e.func, {id(recv): new[0]})
            return _swap(e, {id(e.func): func} | {id(a): b for a, b in zip(e.args, new[1:])})
        return self.by_parts(e, [e.func] + list(e.args), pre)

    def e_DictLit(self, e, pre):
        parts = [x for kv in zip(e.keys, e.values) for x in kv]         # k0, v0, k1, v1: Python's order
        return self.by_parts(e, parts, pre)

    def e_StructLit(self, e, pre):
        given = dict(e.fields)
        order = list(e.ty.fields) if isinstance(e.ty, StructT) else list(given)
        return self.by_parts(e, [given[f] for f in order if f in given], pre)   # built in the fields' order

    def _children(self, e, pre):
        return self.by_parts(e, [c for c in S.children(e) if isinstance(c, S.Expr)], pre)

    e_Unary = e_Index = e_Field = e_TupleIndex = e_TupleLit = e_ListLit = e_Slice = e_Subscripts = _children

    def _leaf(self, e, pre):
        return e

    e_Num = e_Str = e_Bool = e_Name = e_Lambda = _leaf

    # -- statements holding a BlockExpr: each as the statements that do its work
    def s_Let(self, s):
        pre = []
        return pre + [_with(s, value=self.expr(s.value, pre))]

    def s_Assign(self, s):
        pre = []
        idx = _indexes(s.target)
        value, *new = self.ordered([s.value] + idx, pre)       # the value first, as the compiler runs it
        target = _swap(s.target, {id(a): b for a, b in zip(idx, new) if a is not b})
        return pre + [_with(s, value=value, target=target)]

    def s_AugAssign(self, s):
        pre = []
        idx = _indexes(s.target)
        *new, value = self.ordered(idx + [s.value], pre)
        target = _swap(s.target, {id(a): b for a, b in zip(idx, new) if a is not b})
        return pre + [_with(s, value=value, target=target)]

    def s_ExprStmt(self, s):
        pre = []
        e = s.expr
        if isinstance(e, S.IfExpr):                 # its value unused: each branch's value a statement
            cond = self.expr(e.cond, pre)
            return pre + [S.If(cond, self.unused(e.then), self.unused(e.orelse), span=s.span)]
        return pre + [_with(s, expr=self.expr(e, pre))]

    def unused(self, b) -> list:
        if isinstance(b, S.BlockExpr):
            return list(b.body) + self.unused(b.value)
        return [S.ExprStmt(b, span=b.span)]

    def s_If(self, s):
        pre = []
        return pre + [_with(s, cond=self.expr(s.cond, pre))]

    def s_While(self, s):
        pre = []
        cond = self.expr(s.cond, pre)
        stop = S.Unary("!", cond, span=s.cond.span)
        stop.ty = BOOL
        true = S.Bool(True, span=s.cond.span)
        true.ty = BOOL
        test = S.If(stop, [S.Break(span=s.cond.span)], [], span=s.cond.span)
        return [_with(s, cond=true, body=pre + [test] + list(s.body))]

    def s_ForRange(self, s):
        pre = []
        start, stop = self.ordered([s.start, s.stop], pre)
        return pre + [_with(s, start=start, stop=stop)]

    def s_ForEach(self, s):
        pre = []
        return pre + [_with(s, iterable=self.expr(s.iterable, pre))]

    def s_Return(self, s):
        pre = []
        return pre + [_with(s, value=self.expr(s.value, pre))]

    def s_Match(self, s):
        pre = []
        return pre + [_with(s, subject=self.expr(s.subject, pre))]

    def _as_is(self, s):
        return [s]

    s_Break = s_Continue = s_FnDef = s_StructDef = s_EnumDef = s_Import = s_RuleDef = _as_is


def _with(node, **fields):
    """A shallow copy of node (its notes too) with fields replaced."""
    new = _copy.copy(node)
    for k, v in fields.items():
        setattr(new, k, v)
    return new


def _indexes(place) -> list:
    """The index expressions of an assignment's target, root first (as they are evaluated)."""
    out = []
    while isinstance(place, (S.Field, S.Index, S.TupleIndex)):
        if isinstance(place, S.Index):
            out.append(place.index)
        place = place.obj
    return out[::-1]


def _swap(e, new: dict):
    """e with the nodes whose ids are keys of new replaced by their values (copies of
    the expressions on the way, notes kept)."""
    if id(e) in new:
        return new[id(e)]
    if not new or not isinstance(e, S.Expr) or isinstance(e, S.Lambda) or not _holds(e, new):
        return e
    return S.rebuild(e, lambda c: _swap(c, new), keep_notes=True)


def _holds(e, new) -> bool:
    return any(id(n) in new for n in S.walk(e))
