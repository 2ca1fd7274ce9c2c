"""DP's syntax tree. Every node has a span; the checker fills in `ty` on expressions
and `sym` on names. Transforms build new trees out of these same classes."""
from __future__ import annotations

from dataclasses import dataclass, field

from .span import NOWHERE, Span
from .types import Type


@dataclass(eq=False)
class Node:
    span: Span = field(default=NOWHERE, kw_only=True)


# ---------------------------------------------------------------- type expressions

@dataclass(eq=False)
class TypeExpr(Node):
    name: str                                # "float", "list", "fn", "tuple", "unit", a struct's name
    args: list["TypeExpr"] = field(default_factory=list)
    ret: "TypeExpr | None" = None            # for fn types


# ---------------------------------------------------------------- expressions

@dataclass(eq=False)
class Expr(Node):
    ty: Type | None = field(default=None, kw_only=True)


@dataclass(eq=False)
class Num(Expr):
    value: float | int                       # an int value is an int literal


@dataclass(eq=False)
class Str(Expr):
    value: str


@dataclass(eq=False)
class Bool(Expr):
    value: bool


@dataclass(eq=False)
class Name(Expr):
    id: str
    sym: object = field(default=None, kw_only=True)      # checker.Symbol


@dataclass(eq=False)
class Binary(Expr):
    op: str                                  # + - * / % ** == != < <= > >= && ||
    left: Expr
    right: Expr


@dataclass(eq=False)
class Unary(Expr):
    op: str                                  # - !
    operand: Expr


@dataclass(eq=False)
class Call(Expr):
    func: Expr
    args: list[Expr]
    # What the checker found the callee to be: ("fn", FnDef) | ("prim", name) | ("method", name)
    # | ("struct", StructT) | ("variant", EnumT, name) | ("value", None) | ("transform", name)
    target: tuple | None = field(default=None, kw_only=True)


@dataclass(eq=False)
class Index(Expr):
    obj: Expr
    index: Expr


@dataclass(eq=False)
class Slice(Expr):
    """`lo:hi` inside a tensor index; either bound may be missing."""
    lo: Expr | None
    hi: Expr | None


@dataclass(eq=False)
class Subscripts(Expr):
    """`a[i, 1:3]`: several subscripts (ints and slices) of one tensor index."""
    parts: list[Expr]


@dataclass(eq=False)
class Field(Expr):
    obj: Expr
    name: str
    # ("field",) | ("variant", EnumT) | ("module", module name)
    target: tuple | None = field(default=None, kw_only=True)


@dataclass(eq=False)
class TupleIndex(Expr):
    obj: Expr
    index: int


@dataclass(eq=False)
class TupleLit(Expr):
    items: list[Expr]


@dataclass(eq=False)
class ListLit(Expr):
    items: list[Expr]


@dataclass(eq=False)
class DictLit(Expr):
    keys: list[Expr]
    values: list[Expr]


@dataclass(eq=False)
class StructLit(Expr):
    name: str
    fields: list[tuple[str, Expr]]


@dataclass(eq=False)
class Lambda(Expr):
    params: list["Param"]
    ret: TypeExpr
    body: list["Stmt"]
    captures: list = field(default_factory=list, kw_only=True)     # Symbols, set by the checker


# ---------------------------------------------------------------- statements

@dataclass(eq=False)
class Stmt(Node):
    pass


@dataclass(eq=False)
class Let(Stmt):
    name: str                                # for tuple destructuring: see `names`
    annot: TypeExpr | None
    value: Expr
    mutable: bool = False
    names: list[str] | None = None           # let (a, b) = ...
    sym: object = field(default=None, kw_only=True)
    syms: list | None = field(default=None, kw_only=True)


@dataclass(eq=False)
class Assign(Stmt):
    target: Expr
    value: Expr


@dataclass(eq=False)
class AugAssign(Stmt):
    target: Expr
    op: str                                  # + - * /
    value: Expr


@dataclass(eq=False)
class ExprStmt(Stmt):
    expr: Expr


@dataclass(eq=False)
class If(Stmt):
    cond: Expr
    then: list[Stmt]
    orelse: list[Stmt]


@dataclass(eq=False)
class While(Stmt):
    cond: Expr
    body: list[Stmt]


@dataclass(eq=False)
class ForRange(Stmt):
    var: str
    start: Expr
    stop: Expr
    body: list[Stmt]
    sym: object = field(default=None, kw_only=True)


@dataclass(eq=False)
class ForEach(Stmt):
    var: str
    iterable: Expr
    body: list[Stmt]
    sym: object = field(default=None, kw_only=True)


@dataclass(eq=False)
class Return(Stmt):
    value: Expr | None


@dataclass(eq=False)
class Break(Stmt):
    pass


@dataclass(eq=False)
class Continue(Stmt):
    pass


@dataclass(eq=False)
class Param(Node):
    name: str
    annot: TypeExpr
    sym: object = field(default=None, kw_only=True)


@dataclass(eq=False)
class FnDef(Stmt):
    name: str
    params: list[Param]
    ret: TypeExpr | None
    body: list[Stmt]
    ty: Type | None = field(default=None, kw_only=True)
    sym: object = field(default=None, kw_only=True)


@dataclass(eq=False)
class FieldDecl(Node):
    name: str
    annot: TypeExpr


@dataclass(eq=False)
class StructDef(Stmt):
    name: str
    fields: list[FieldDecl]


@dataclass(eq=False)
class VariantDecl(Node):
    name: str
    payload: list[TypeExpr]


@dataclass(eq=False)
class EnumDef(Stmt):
    name: str
    variants: list[VariantDecl]


@dataclass(eq=False)
class MatchArm(Node):
    enum: str | None                         # Shape.Circle(r) gives "Shape"
    variant: str                             # "_" for the wildcard
    binds: list[str]
    body: list[Stmt]
    syms: list = field(default_factory=list, kw_only=True)


@dataclass(eq=False)
class Match(Stmt):
    subject: Expr
    arms: list[MatchArm]


@dataclass(eq=False)
class Import(Stmt):
    module: str


@dataclass(eq=False)
class RuleClause(Node):
    target: str                              # x_bar (a cotangent) or y_dot (the tangent)
    value: Expr


@dataclass(eq=False)
class RuleDef(Stmt):
    """`derivative f(x, y) -> r { x_bar = ..., r_dot = ... }`: a user's derivative rule."""
    fn: str
    params: list[str]
    result: str
    clauses: list[RuleClause]


@dataclass(eq=False)
class Program(Node):
    body: list[Stmt]


def through_tuple(place: Expr) -> bool:
    """Whether the place (`t.1[0]`, `p.xs[2]`) is reached through a tuple's item."""
    while isinstance(place, (Field, Index, TupleIndex)):
        if isinstance(place, TupleIndex):
            return True
        place = place.obj
    return False
