"""Small constructors for the DP trees the transforms emit, with the algebra that
keeps derived code readable (x * 1 → x, 0 + y → y, constants folded)."""
from __future__ import annotations

from .. import syntax as S
from ..types import (BOOL, FLOAT, INT, STRING, TENSOR, UNIT, DefaultDictT, DictT, EnumT, FnT, ListT, Prim, SetT, StructT,
                     TupleT, Type)


def name(n: str) -> S.Name:
    return S.Name(n)


def num(v: float) -> S.Num:
    return S.Num(float(v))


def inum(v: int) -> S.Num:
    return S.Num(int(v))


def call(f: str | S.Expr, *args: S.Expr) -> S.Call:
    return S.Call(S.Name(f) if isinstance(f, str) else f, list(args))


def method(obj: S.Expr, m: str, *args: S.Expr) -> S.Call:
    return S.Call(S.Field(obj, m), list(args))


def field(obj: S.Expr, f: str) -> S.Field:
    return S.Field(obj, f)


def index(obj: S.Expr, i: S.Expr) -> S.Expr:
    """obj[i]; the k-th piece of `split_like(g, [a, b, …], axis)` (concat's cotangent)
    is a slice of g, read without building the other pieces."""
    if isinstance(obj, S.Call) and isinstance(obj.func, S.Name) and obj.func.id == "split_like" \
            and isinstance(obj.args[1], S.ListLit) and is_const(obj.args[2]) and obj.args[2].value >= 0 \
            and is_const(i):
        return _piece(obj.args[0], obj.args[1].items, obj.args[2].value, i.value)
    return S.Index(obj, i)


def _piece(g, parts, axis, k):
    """g[lo:hi] along axis, where parts[k] lay in concat(parts, axis). Sizes known
    from the code (`zeros(1)`) are folded; the last pieces count from the end, so
    the parts themselves need not be kept for their sizes."""
    def size(p):
        n = _static_dim(p, axis)
        return inum(n) if n is not None else call("dim", copy_expr(p), inum(axis))

    def total(ps):
        out = inum(0)
        for p in ps:
            s = size(p)
            out = inum(out.value + s.value) if is_const(out) and is_const(s) else \
                (s if is_zero(out) else S.Binary("+", out, s))
        return out
    lo = total(parts[:k])
    after = total(parts[k + 1:])
    if not parts[k + 1:]:
        hi = None
    elif is_const(after):
        hi = S.Unary("-", after)
    else:
        hi = S.Binary("+", copy_expr(lo), size(parts[k]))
    piece = S.Slice(None if is_zero(lo) else lo, hi)
    return S.Index(g, piece if axis == 0 else S.Subscripts([S.Slice(None, None)] * axis + [piece]))


def _static_dim(e, axis):
    """The size along axis of `zeros(n)`, `ones(n)`, `zeros([n, m])`, … when it is a literal."""
    if isinstance(e, S.Call) and isinstance(e.func, S.Name) and e.func.id in ("zeros", "ones") and len(e.args) == 1:
        a = e.args[0]
        if axis == 0 and is_const(a) and isinstance(a.value, int):
            return a.value
        if isinstance(a, S.ListLit) and axis < len(a.items) and is_const(a.items[axis]):
            return a.items[axis].value
    return None


def tindex(obj: S.Expr, i: int) -> S.TupleIndex:
    return S.TupleIndex(obj, i)


def assign(target: S.Expr | str, value: S.Expr) -> S.Assign:
    return S.Assign(S.Name(target) if isinstance(target, str) else target, value)


def let(n: str, value: S.Expr, mutable: bool = False, annot: S.TypeExpr | None = None) -> S.Let:
    return S.Let(n, annot, value, mutable)


def is_const(e, v=None) -> bool:
    return isinstance(e, S.Num) and (v is None or e.value == v)


def is_zero(e) -> bool:
    return is_const(e, 0) or (isinstance(e, S.Num) and e.value == 0.0)


def _term(e):
    """e as (coefficient, term): `3.0 * t` is (3.0, t), `t` is (1.0, t)."""
    if isinstance(e, S.Binary) and e.op == "*" and is_const(e.left) and isinstance(e.left.value, float):
        return e.left.value, e.right
    return 1.0, e


def add(a: S.Expr, b: S.Expr) -> S.Expr:
    if is_zero(a):
        return b
    if is_zero(b):
        return a
    if is_const(a) and is_const(b):
        return S.Num(a.value + b.value)
    folded = like_terms(a, b)
    if folded is not None:
        return folded
    if isinstance(b, S.Unary) and b.op == "-":
        return S.Binary("-", a, b.operand)
    return S.Binary("+", a, b)


def like_terms(a: S.Expr, b: S.Expr) -> S.Expr | None:
    """a + b as one term when they differ only in coefficient: `x * x + x * x + x * x`
    is `3.0 * (x * x)`, and `g * d + d * g` is `2.0 * (g * d)` (elementwise `*`
    commutes, for floats and tensors alike). None when they are not like terms."""
    (ca, ta), (cb, tb) = _term(a), _term(b)
    if not isinstance(ta, S.Num) and (_same(ta, tb) or _same(ta, _commuted(tb))):
        return mul(num(ca + cb), ta)
    return None


def _commuted(e):
    if isinstance(e, S.Binary) and e.op == "*":
        return S.Binary("*", e.right, e.left)
    return None


def _same(a, b) -> bool:
    from ..printer import expr_src
    if b is None:
        return False
    try:
        return expr_src(a) == expr_src(b)
    except TypeError:
        return False


def sub(a: S.Expr, b: S.Expr) -> S.Expr:
    if is_zero(b):
        return a
    if is_zero(a):
        return neg(b)
    if is_const(a) and is_const(b):
        return S.Num(a.value - b.value)
    if isinstance(b, S.Unary) and b.op == "-":
        return S.Binary("+", a, b.operand)
    return S.Binary("-", a, b)


def neg(a: S.Expr) -> S.Expr:
    if is_const(a):
        return S.Num(-a.value)
    if isinstance(a, S.Unary) and a.op == "-":
        return a.operand
    return S.Unary("-", a)


def mul(a: S.Expr, b: S.Expr) -> S.Expr:
    if is_zero(a) or is_zero(b):
        return S.Num(0 if isinstance(a, S.Num) and isinstance(b, S.Num) and isinstance(a.value, int) and isinstance(b.value, int) else 0.0)
    if is_const(a, 1):
        return b
    if is_const(b, 1):
        return a
    if is_const(a, -1):
        return neg(b)
    if is_const(b, -1):
        return neg(a)
    if is_const(a) and is_const(b):
        return S.Num(a.value * b.value)
    if isinstance(a, S.Unary) and a.op == "-":
        return neg(mul(a.operand, b))
    if isinstance(b, S.Unary) and b.op == "-":
        return neg(mul(a, b.operand))
    return S.Binary("*", a, b)


def div(a: S.Expr, b: S.Expr) -> S.Expr:
    if is_zero(a):
        return num(0.0)
    if is_const(b, 1):
        return a
    if isinstance(a, S.Unary) and a.op == "-":
        return neg(div(a.operand, b))
    return S.Binary("/", a, b)


def sizes_of(t) -> list:
    """The sizes of a tensor type written with them (`tensor[n, 3]`), else []."""
    return list(t.args) if t is not None and t.name == "tensor" else []


def param_type(p) -> S.TypeExpr:
    """A parameter's type for derived code: as written when it gives a tensor's sizes,
    so the derived function checks them and binds their names too."""
    if sizes_of(p.annot):
        return S.TypeExpr("tensor", [S.TypeExpr(d.name, span=d.span) for d in p.annot.args], span=p.annot.span)
    return type_expr(p.sym.ty)


def type_expr(t: Type) -> S.TypeExpr:
    """The TypeExpr that names t in source."""
    if isinstance(t, Prim):
        return S.TypeExpr("unit" if t == UNIT else t.name)
    if isinstance(t, ListT):
        return S.TypeExpr("list", [type_expr(t.elem)])
    if isinstance(t, DictT):
        name = "defaultdict" if isinstance(t, DefaultDictT) else "dict"
        return S.TypeExpr(name, [type_expr(t.key), type_expr(t.value)])
    if isinstance(t, SetT):
        return S.TypeExpr("set", [type_expr(t.elem)])
    if isinstance(t, TupleT):
        return S.TypeExpr("tuple", [type_expr(x) for x in t.items])
    if isinstance(t, FnT):
        return S.TypeExpr("fn", [type_expr(x) for x in t.params], type_expr(t.ret))
    if isinstance(t, (StructT, EnumT)):
        return S.TypeExpr(t.name)
    if t is not None and str(t) == "int":
        return S.TypeExpr("int")
    raise TypeError(f"no source name for type {t}")


def zero_of_type(t: Type) -> S.Expr | None:
    """A literal zero value of type t, or None when t has none (functions)."""
    if t == FLOAT:
        return num(0.0)
    if t == INT or str(t) == "int":
        return inum(0)
    if t == BOOL:
        return S.Bool(False)
    if t == STRING:
        return S.Str("")
    if t == TENSOR:
        return call("zeros", inum(0))
    if isinstance(t, ListT):
        return S.ListLit([])
    if isinstance(t, DefaultDictT):
        v = zero_of_type(t.value)
        return None if v is None else call("defaultdict", v)
    if isinstance(t, DictT):
        return S.DictLit([], [])
    if isinstance(t, SetT):
        return call("set", S.ListLit([]))
    if isinstance(t, TupleT):
        items = [zero_of_type(x) for x in t.items]
        return None if any(i is None for i in items) else S.TupleLit(items)
    if isinstance(t, StructT):
        fields = [(n, zero_of_type(ft)) for n, ft in t.fields.items()]
        return None if any(v is None for _, v in fields) else S.StructLit(t.name, fields)
    if isinstance(t, FnT):
        # a function that returns zero: what a variable holding functions is declared
        # with before the function it will hold is known
        ret = None if t.ret == UNIT else zero_of_type(t.ret)
        if t.ret != UNIT and ret is None:
            return None
        params = [S.Param(f"a{k}", type_expr(p)) for k, p in enumerate(t.params)]
        return S.Lambda(params, type_expr(t.ret), [S.Return(ret)] if ret is not None else [])
    if isinstance(t, EnumT):
        vname, payload = next(iter(t.variants.items()))
        if not payload:
            return S.Field(S.Name(t.name), vname)
        args = [zero_of_type(p) for p in payload]
        return None if any(a is None for a in args) else S.Call(S.Field(S.Name(t.name), vname), args)
    return None


def zeros_like(e: S.Expr, t: Type) -> S.Expr:
    """The zero cotangent/tangent for a value e of type t."""
    if t == FLOAT:
        return num(0.0)
    if isinstance(e, (S.ListLit, S.DictLit)) and not (e.items if isinstance(e, S.ListLit) else e.keys):
        return copy_expr(e)                  # an empty literal is its own zero
    if isinstance(e, S.TupleLit) and isinstance(t, TupleT) and len(t.items) == len(e.items):
        return S.TupleLit([zeros_like(x, xt) for x, xt in zip(e.items, t.items)])
    if isinstance(e, S.StructLit) and isinstance(t, StructT):
        return S.StructLit(e.name, [(n, zeros_like(x, t.fields[n])) for n, x in e.fields])
    if isinstance(e, S.Call) and isinstance(e.func, S.Name) and e.func.id in ("zeros", "ones", "full") \
            and t == TENSOR and e.args:
        return call("zeros", copy_expr(e.args[0]))   # zeros_like(zeros(0)) reads as zeros(0)
    return call("zeros_like", e)


def accumulate(target: S.Expr, value: S.Expr, t: Type) -> S.Expr:
    if t == FLOAT or is_zero(value):
        return add(target, value)
    if t == TENSOR:
        folded = like_terms(target, value)
        if folded is not None:
            return folded
    return call("accumulate", target, value)


def copy_expr(e):
    """A structural copy of an expression tree without checker annotations."""
    return S.copy(e)


children = S.subexpressions
