"""Which tensors provably have the same shape: a small static analysis over a
function in normal form, run before reverse mode.

Every tensor value gets a shape class. Without seeds a class is a symbol (an int):
two values in one class have the same shape whatever the inputs. Elementwise
operations keep their operands' class when the operands share one (or beside a
float); `zeros(1)` and `zeros(1)` share a class, and so do `concat([s, zeros(1)])`
and `concat([zeros(1), s])`. Anything the analysis cannot see through gets a class
of its own.

Seeded with the shapes of the actual arguments (a derivative specialised to them,
see Transforms.specialise), a class is a concrete shape, a tuple, and ints from
`len`, `dim` and literals are followed too, so slices and concatenations have
known shapes.

Reverse mode asks `same(operand, op)`: when it holds, the operand was not broadcast,
so `unbroadcast` of its cotangent is the identity and is left out of derived code,
and the operand's value is not kept for its shape. `shape_of(e)` gives a concrete
shape when one is known."""
from __future__ import annotations

import itertools

from .. import lazy_numpy
from .. import syntax as S
from ..types import FLOAT, INT, TENSOR

np = lazy_numpy.module(globals())          # numpy, imported when a program first needs it

SCALAR = "scalar"                    # a float: broadcasts against any shape
_KEEPS_SHAPE = {"zeros_like", "stop_gradient", "copy"}
_REDUCTIONS = {"sum", "mean", "max", "min"}


class Shapes:
    def __init__(self):
        self._ids = itertools.count()
        self._memo: dict = {}        # a constructor's or a concat's key → its class
        self.at: dict = {}           # id(expression node) → its class where it stands

    def same(self, a, b) -> bool:
        ca, cb = self.at.get(id(a)), self.at.get(id(b))
        return isinstance(ca, (int, tuple)) and ca == cb

    def shape_of(self, e) -> tuple | None:
        c = self.at.get(id(e))
        return c if isinstance(c, tuple) else None

    def run(self, params: dict, body, seeds: dict | None = None, written: dict | None = None) -> "Shapes":
        """params: name → type; seeds: path (`x`, `p.w1`) → the concrete shape it has;
        written: parameter → its sizes as written (`x: tensor[n, 3]` gives ("n", 3)),
        so parameters written with the same sizes share a class."""
        env = {name: self._fresh() for name, ty in params.items() if ty == TENSOR}
        for name, sizes in (written or {}).items():
            if all(isinstance(d, int) for d in sizes):
                env[name] = tuple(sizes)
            elif None not in sizes:
                env[name] = self._keyed(("sizes", tuple(sizes)))
        env.update(seeds or {})
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
                n = self._int(s.value, env) if s.value.ty == INT else None
                _forget(env, t.id)
                if c is not None:
                    env[t.id] = c
                if n is not None:
                    env[_INT + t.id] = n
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
            self._loop(env, s.body, s.cond, None)
        elif isinstance(s, S.ForRange):
            self._expr(s.start, env)
            self._expr(s.stop, env)
            self._loop(env, s.body, None, s.var)
        elif isinstance(s, S.ForEach):
            self._expr(s.iterable, env)
            self._loop(env, s.body, None, s.var)

    def _unknown(self, k):
        """What a variable is after a join that cannot tell: a new class; an int, nothing."""
        return None if k.startswith(_INT) else self._fresh()

    def _merge(self, env, branches):
        for k in set(env) | {k for b in branches for k in b}:
            cs = {b.get(k) for b in branches}
            if len(cs) == 1 and None not in cs:
                env[k] = cs.pop()
            else:
                env.pop(k, None)
                u = self._unknown(k)
                if u is not None:
                    env[k] = u

    def _loop(self, env, body, cond, var):
        """Classes at the loop head: a variable whose class the body keeps keeps it;
        any other gets a class of its own, so facts found in the body hold for every
        trip. Repeated until the set of such variables stops growing."""
        if var is not None:
            _forget(env, var)
        unknown: set = set()
        while True:
            head = {k: c for k, c in env.items() if k not in unknown}
            for k in unknown:
                u = self._unknown(k)
                if u is not None:
                    head[k] = u
            end = dict(head)
            if cond is not None:
                self._expr(cond, end)
            self._block(body, end)
            changed = {k for k in set(end) | set(head) if end.get(k) != head.get(k)}
            if changed <= unknown:
                break
            unknown |= changed
        for k in unknown:
            env.pop(k, None)
            u = self._unknown(k)
            if u is not None:
                env[k] = u

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
        if isinstance(e, S.Index):
            return self._index(e, env)
        if isinstance(e, S.Unary):
            return self.at.get(id(e.operand))
        if isinstance(e, S.Binary):
            if e.op == "@":
                return self._matmul(e.left, e.right)
            return self._broadcast([e.left, e.right])
        if isinstance(e, S.Call) and e.target and e.target[0] in ("prim", "builtin"):
            return self._call(e, env)
        return self._fresh()

    def _call(self, e, env):
        prim = e.target[1] if e.target[0] == "prim" else None
        name = prim.name if prim is not None else e.target[1]
        args = e.args
        if prim is not None and prim.elementwise:
            return self._broadcast(args)
        if name in _KEEPS_SHAPE and args:
            return self.at.get(id(args[0])) or self._fresh()
        if name in ("unbroadcast", "broadcast_like") and len(args) == 2 and args[1].ty == TENSOR:
            return self.at.get(id(args[1])) or self._fresh()
        if name == "matmul":
            return self._matmul(args[0], args[1])
        if name in ("zeros", "ones") and len(args) == 1:
            shape = self._shape_arg(args[0], env)
            if shape is not None:
                return shape
            if _literal(args[0]) is not None:
                return self._keyed(("shape", _literal(args[0])))
        if name == "concat" and isinstance(args[0], S.ListLit) and isinstance(args[1], S.Num):
            parts = [self.at.get(id(p)) for p in args[0].items]
            shape = _concat_shape(parts, args[1].value)
            if shape is not None:
                return shape
            if all(isinstance(p, int) for p in parts):
                return self._keyed(("concat", args[1].value, tuple(sorted(parts))))
        shape = self.at.get(id(args[0])) if args else None
        if isinstance(shape, tuple):
            if name in _REDUCTIONS and len(args) == 2 and isinstance(args[1], S.Num):
                axis = args[1].value
                if -len(shape) <= axis < len(shape):
                    return shape[:axis % len(shape)] + shape[axis % len(shape) + 1:]
            if name == "transpose":
                return shape[:-2] + shape[-2:][::-1]
            if name == "reshape":
                new = self._shape_arg(args[1], env)
                if new is not None and int(np.prod(new)) == int(np.prod(shape)):
                    return new
        return self._fresh()

    def _broadcast(self, operands):
        classes = {self.at.get(id(a)) for a in operands if a.ty in (FLOAT, TENSOR)} - {SCALAR}
        if classes and all(isinstance(c, tuple) for c in classes):
            try:
                return tuple(np.broadcast_shapes(*classes))
            except ValueError:
                return self._fresh()
        if len(classes) == 1 and None not in classes:
            return classes.pop()
        return self._fresh()

    def _matmul(self, a, b):
        sa, sb = self.at.get(id(a)), self.at.get(id(b))
        if not (isinstance(sa, tuple) and isinstance(sb, tuple) and sa and sb):
            return self._fresh()
        if len(sa) == 1 and len(sb) == 1:
            return ()
        if len(sa) == 1:
            return sb[:-2] + sb[-1:]
        if len(sb) == 1:
            return sa[:-1]
        try:
            return tuple(np.broadcast_shapes(sa[:-2], sb[:-2])) + (sa[-2], sb[-1])
        except ValueError:
            return self._fresh()

    def _index(self, e, env):
        """The shape of a tensor read `x[i]`, `x[1:n]`, `x[:, 0]` when x's shape and the
        slices' bounds are known (an int index drops its axis whatever its value)."""
        shape = self.at.get(id(e.obj))
        if not isinstance(shape, tuple):
            return self._fresh()
        parts = e.index.parts if isinstance(e.index, S.Subscripts) else [e.index]
        if len(parts) > len(shape):
            return self._fresh()
        out = []
        for p, dim in zip(parts, shape):
            if isinstance(p, S.Slice):
                lo = self._int(p.lo, env) if p.lo is not None else None
                hi = self._int(p.hi, env) if p.hi is not None else None
                if (p.lo is not None and lo is None) or (p.hi is not None and hi is None):
                    return self._fresh()
                out.append(len(range(dim)[lo:hi]))
            elif p.ty != INT:
                return self._fresh()
        return tuple(out) + shape[len(parts):]

    def _shape_arg(self, e, env):
        """A constructor's shape argument (`n` or `[n, m]`) when its ints are known."""
        if e.ty == INT:
            n = self._int(e, env)
            return (n,) if n is not None and n >= 0 else None
        if isinstance(e, S.ListLit):
            dims = [self._int(x, env) for x in e.items]
            if all(d is not None and d >= 0 for d in dims):
                return tuple(dims)
        return None

    def _int(self, e, env):
        """The value of an int expression, when literals, known shapes and the ints
        assigned from them decide it."""
        if isinstance(e, S.Num) and isinstance(e.value, int):
            return e.value
        if isinstance(e, S.Name):
            return env.get(_INT + e.id)
        if isinstance(e, S.Unary) and e.op == "-":
            v = self._int(e.operand, env)
            return None if v is None else -v
        if isinstance(e, S.Binary) and e.op in ("+", "-", "*"):
            a, b = self._int(e.left, env), self._int(e.right, env)
            if a is None or b is None:
                return None
            return a + b if e.op == "+" else a - b if e.op == "-" else a * b
        if isinstance(e, S.Call) and e.target and e.args:
            name = e.target[1].name if e.target[0] == "prim" else e.target[1]
            shape = self.at.get(id(e.args[0]))
            if not isinstance(shape, tuple):
                return None
            if name == "len" and shape:
                return shape[0]
            if name == "size":
                return int(np.prod(shape))
            if name == "dim" and len(e.args) == 2:
                axis = self._int(e.args[1], env)
                if axis is not None and -len(shape) <= axis < len(shape):
                    return shape[axis]
        return None


_INT = "#"                           # env key prefix for an int variable's known value


def _concat_shape(parts, axis):
    if not parts or not all(isinstance(p, tuple) and p for p in parts):
        return None
    ndim = len(parts[0])
    if not -ndim <= axis < ndim or any(len(p) != ndim for p in parts):
        return None
    axis %= ndim
    rest = {p[:axis] + p[axis + 1:] for p in parts}
    if len(rest) != 1:
        return None
    first = parts[0]
    return first[:axis] + (sum(p[axis] for p in parts),) + first[axis + 1:]


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
    """Assigning a variable ends what was known of it, its fields and its value."""
    for k in [k for k in env if k in (root, _INT + root) or k.startswith(root + ".")]:
        del env[k]
