"""Which tensors provably have the same shape: a small static analysis over a
function in normal form, run before reverse mode.

Every tensor value gets a shape class (an int); two values in one class have the
same shape whatever the inputs. Elementwise operations keep their operands' class
when the operands share one (or beside a float); `zeros(1)` and `zeros(1)` share a
class, and so do `concat([s, zeros(1)])` and `concat([zeros(1), s])`. Anything the
analysis cannot see through gets a class of its own.

Reverse mode asks `same(operand, op)`: when it holds, the operand was not broadcast,
so `unbroadcast` of its cotangent is the identity and is left out of derived code,
and the operand's value is not kept for its shape."""
from __future__ import annotations

import itertools

from .. import syntax as S
from ..types import FLOAT, TENSOR

SCALAR = "scalar"                    # a float: broadcasts against any shape
_KEEPS_SHAPE = {"zeros_like", "stop_gradient", "copy"}


class Shapes:
    def __init__(self):
        self._ids = itertools.count()
        self._memo: dict = {}        # a constructor's or a concat's key → its class
        self.at: dict = {}           # id(expression node) → its class where it stands

    def same(self, a, b) -> bool:
        ca, cb = self.at.get(id(a)), self.at.get(id(b))
        return isinstance(ca, int) and ca == cb

    def run(self, params: dict, body) -> "Shapes":
        env = {name: self._fresh() for name, ty in params.items() if ty == TENSOR}
        self._block(body, env)
        return self

    def _fresh(self) -> int:
        return next(self._ids)

    def _keyed(self, key) -> int:
        if key not in self._memo:
            self._memo[key] = self._fresh()
        return self._memo[key]

    # ---------------------------------------------------------------- statements
    def _block(self, body, env):
        for s in body:
            self._stmt(s, env)

    def _stmt(self, s, env):
        if isinstance(s, S.Assign):
            c = self._expr(s.value, env)
            t = s.target
            if isinstance(t, S.Name):
                _forget(env, t.id)
                if c is not None:
                    env[t.id] = c
            elif isinstance(t, S.Index) and t.obj.ty == TENSOR:
                self._expr(t.index, env)        # a write into a tensor keeps its shape
            else:
                key = _path_key(t)
                root = _root(t)
                if root is not None:
                    _forget(env, root)
                if key is not None and c is not None:
                    env[key] = c
        elif isinstance(s, S.ExprStmt):
            self._expr(s.expr, env)
            e = s.expr
            if isinstance(e, S.Call) and isinstance(e.func, S.Field):
                root = _root(e.func.obj)        # a list changed in place
                if root is not None:
                    _forget(env, root)
        elif isinstance(s, S.If):
            self._expr(s.cond, env)
            a, b = dict(env), dict(env)
            self._block(s.then, a)
            self._block(s.orelse, b)
            self._merge(env, [a, b])
        elif isinstance(s, S.Match):
            self._expr(s.subject, env)
            arms = []
            for arm in s.arms:
                e = dict(env)
                for b in arm.binds:
                    _forget(e, b)
                self._block(arm.body, e)
                arms.append(e)
            self._merge(env, arms)
        elif isinstance(s, S.While):
            self._loop(env, s.body, s.cond)
        elif isinstance(s, S.ForRange):
            self._expr(s.start, env)
            self._expr(s.stop, env)
            self._loop(env, s.body, None)
        elif isinstance(s, S.ForEach):
            self._expr(s.iterable, env)
            _forget(env, s.var)
            self._loop(env, s.body, None)

    def _merge(self, env, branches):
        for k in set(env) | {k for b in branches for k in b}:
            cs = {b.get(k) for b in branches}
            if len(cs) == 1 and None not in cs:
                env[k] = cs.pop()
            else:
                env[k] = self._fresh()

    def _loop(self, env, body, cond):
        """Classes at the loop head: a variable whose class the body keeps keeps it;
        any other gets a class of its own, so facts found in the body hold for every
        trip. Repeated until the set of such variables stops growing."""
        unknown: set = set()
        while True:
            head = {k: (self._fresh() if k in unknown else c) for k, c in env.items()}
            for k in unknown - set(head):
                head[k] = self._fresh()
            end = dict(head)
            if cond is not None:
                self._expr(cond, end)
            self._block(body, end)
            changed = {k for k in set(end) | set(head) if end.get(k) != head.get(k)}
            if changed <= unknown:
                break
            unknown |= changed
        for k in list(env):
            if k in unknown:
                env[k] = self._fresh()

    # ---------------------------------------------------------------- expressions
    def _expr(self, e, env):
        c = self._class(e, env)
        if c is not None:
            self.at[id(e)] = c
        return c

    def _class(self, e, env):
        for child in _children(e):
            self._expr(child, env)
        if e.ty == FLOAT:
            return SCALAR
        if e.ty != TENSOR:
            return None
        if isinstance(e, (S.Name, S.Field)):
            key = _path_key(e)
            if key is None:
                return self._fresh()
            if key not in env:
                env[key] = self._fresh()
            return env[key]
        if isinstance(e, S.Unary):
            return self.at.get(id(e.operand))
        if isinstance(e, S.Binary):
            return self._fresh() if e.op == "@" else self._broadcast([e.left, e.right])
        if isinstance(e, S.Call) and e.target and e.target[0] in ("prim", "builtin"):
            return self._call(e)
        return self._fresh()

    def _call(self, e):
        prim = e.target[1] if e.target[0] == "prim" else None
        name = prim.name if prim is not None else e.target[1]
        args = e.args
        if prim is not None and prim.elementwise:
            return self._broadcast(args)
        if name in _KEEPS_SHAPE and args:
            return self.at.get(id(args[0])) or self._fresh()
        if name in ("unbroadcast", "broadcast_like") and len(args) == 2 and args[1].ty == TENSOR:
            return self.at.get(id(args[1])) or self._fresh()
        if name in ("zeros", "ones") and len(args) == 1 and _literal(args[0]) is not None:
            return self._keyed(("shape", _literal(args[0])))
        if name == "concat" and isinstance(args[0], S.ListLit) and isinstance(args[1], S.Num):
            parts = [self.at.get(id(p)) for p in args[0].items]
            if all(isinstance(p, int) for p in parts):
                return self._keyed(("concat", args[1].value, tuple(sorted(parts))))
        return self._fresh()

    def _broadcast(self, operands):
        classes = {self.at.get(id(a)) for a in operands if a.ty in (FLOAT, TENSOR)} - {SCALAR}
        if len(classes) == 1 and None not in classes:
            return classes.pop()
        return self._fresh()


def _children(e):
    if isinstance(e, S.Binary):
        return [e.left, e.right]
    if isinstance(e, S.Unary):
        return [e.operand]
    if isinstance(e, S.Call):
        return ([] if isinstance(e.func, S.Name) else [e.func]) + list(e.args)
    if isinstance(e, (S.Index,)):
        return [e.obj, e.index]
    if isinstance(e, S.Subscripts):
        return list(e.parts)
    if isinstance(e, S.Slice):
        return [x for x in (e.lo, e.hi) if x is not None]
    if isinstance(e, (S.Field, S.TupleIndex)):
        return [e.obj]
    if isinstance(e, (S.ListLit, S.TupleLit)):
        return list(e.items)
    if isinstance(e, S.StructLit):
        return [v for _, v in e.fields]
    if isinstance(e, S.DictLit):
        return list(e.keys) + list(e.values)
    return []


def _literal(e):
    """The value of an int literal or a list of them, for keying constructors."""
    if isinstance(e, S.Num) and isinstance(e.value, int):
        return e.value
    if isinstance(e, S.ListLit) and all(isinstance(x, S.Num) and isinstance(x.value, int) for x in e.items):
        return tuple(x.value for x in e.items)
    return None


def _path_key(e):
    """`p.w1` for a field path on a variable; None for anything else."""
    if isinstance(e, S.Name):
        return e.id
    if isinstance(e, S.Field):
        inner = _path_key(e.obj)
        return None if inner is None else f"{inner}.{e.name}"
    return None


def _root(e):
    while isinstance(e, (S.Field, S.Index, S.TupleIndex)):
        e = e.obj
    return e.id if isinstance(e, S.Name) else None


def _forget(env, root):
    """Assigning a variable ends what was known of it and of its fields."""
    for k in [k for k in env if k == root or k.startswith(root + ".")]:
        del env[k]
