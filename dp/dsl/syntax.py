"""DP's syntax tree. Every node has a span; the checker fills in `ty` on expressions
and `sym` on names. Transforms build new trees out of these same classes.

A node's fields are of three sorts: its children (nodes, lists of nodes), its data
(names, operators, literal values), and notes — facts a pass attaches (a type, a
symbol, what a call resolves to, a tape fact), declared with `note()`. The one
traversal at the end of this file (`children`, `rebuild`, `copy`, `walk`) is
generated from these declarations, so every pass sees every child of every node."""
from __future__ import annotations

from .records import Record, define, field, fields, record
from .span import NOWHERE, Span
from .types import ListT, Type


def note(default=None, factory=None):
    """A fact a pass attaches to a node. Notes are not children: traversal skips them,
    and a copy or rebuild of the node starts without them."""
    if factory is not None:
        return field(default_factory=factory, kw_only=True, metadata={"note": True})
    return field(default=default, kw_only=True, metadata={"note": True})


# Each node class is a record (dsl/records.py) compared by identity, its __init__ written with all
# the others' after the last of them (records.define, below).
@record
class Node(Record):
    span: Span = field(default=NOWHERE, kw_only=True)


# ---------------------------------------------------------------- type expressions

@record
class TypeExpr(Node):
    name: str                                # "float", "list", "fn", "tuple", "unit", a struct's name
    args: list["TypeExpr"] = field(default_factory=list)
    ret: "TypeExpr | None" = None            # for fn types


# ---------------------------------------------------------------- expressions

@record
class Expr(Node):
    ty: Type | None = note()


@record
class Num(Expr):
    value: float | int                       # an int value is an int literal


@record
class Str(Expr):
    value: str


@record
class Bool(Expr):
    value: bool


@record
class Name(Expr):
    id: str
    sym: object = note()                     # checker.Symbol, or ("prim", Primitive)


@record
class Binary(Expr):
    op: str                                  # + - * / % ** == != < <= > >= && ||
    left: Expr
    right: Expr


@record
class Unary(Expr):
    op: str                                  # - !
    operand: Expr


@record
class Call(Expr):
    func: Expr
    args: list[Expr]
    # made by a transform from a rule: the primitive itself, even where a user's
    # function shadows its name
    primitive: bool = field(default=False, kw_only=True)
    # What the checker found the callee to be: ("fn", FnDef) | ("prim", Primitive) | ("method", name)
    # | ("builtin", name) | ("variant", EnumT, name) | ("value", None) | ("transform", kind, info)
    target: tuple | None = note()


@record
class Index(Expr):
    obj: Expr
    index: Expr


@record
class Slice(Expr):
    """`lo:hi` inside a tensor index; either bound may be missing."""
    lo: Expr | None
    hi: Expr | None


@record
class Subscripts(Expr):
    """`a[i, 1:3]`: several subscripts (ints and slices) of one tensor index."""
    parts: list[Expr]


@record
class Field(Expr):
    obj: Expr
    name: str
    # ("field",) | ("variant", EnumT) | ("module", module name, Symbol)
    target: tuple | None = note()


@record
class TupleIndex(Expr):
    obj: Expr
    index: int


@record
class IfExpr(Expr):
    """`if c { a } else { b }` as a value: only the chosen branch is evaluated. A branch
    is one expression, or a BlockExpr when statements come before its value."""
    cond: Expr
    then: Expr
    orelse: Expr


@record
class BlockExpr(Expr):
    """A branch of an `if` expression with statements before its value, `{ let t = x * x;
    t + 1.0 }` (Rust's block expression): the statements run in a scope of their own,
    then `value` is the branch's value. Made only by the parser as such a branch; the
    compiler and the transforms see it lowered to statements first (dsl/blocks.py)."""
    body: list["Stmt"]
    value: Expr


@record
class TupleLit(Expr):
    items: list[Expr]


@record
class ListLit(Expr):
    items: list[Expr]


@record
class DictLit(Expr):
    keys: list[Expr]
    values: list[Expr]


@record
class StructLit(Expr):
    name: str
    fields: list[tuple[str, Expr]]


@record
class Lambda(Expr):
    params: list["Param"]
    ret: TypeExpr
    body: list["Stmt"]
    captures: list = note(factory=list)      # Symbols, set by the checker
    as_fn: object = note()                   # the FnDef taking its captures first (dsl/ad/typing.py)
    spec_source: str | None = note()         # the source it was specialised from (normalize.py)
    blocks: bool = note(False)               # its body holds a BlockExpr (the checker's; blocks.py lowers it)


# ---------------------------------------------------------------- statements

@record
class Stmt(Node):
    comment: str | None = field(default=None, kw_only=True)   # printed above the statement
    primal: bool = note(False)               # a derivative's forward sweep: the primal's own step
    tape_var: str | None = note()            # saves or restores this variable on a tape


@record
class Let(Stmt):
    name: str                                # for tuple destructuring: see `names`
    annot: TypeExpr | None
    value: Expr
    mutable: bool = False
    names: list[str] | None = None           # let (a, b) = ...
    sym: object = note()
    syms: list | None = note()
    size_syms: list | None = note()          # `let h: tensor[n, 3]`: the symbols of its sizes
    borrow: bool = note(False)               # derived code: shares its value, never copies


@record
class Assign(Stmt):
    target: Expr
    value: Expr
    is_decl: bool = note(False)              # normal form: overwrites only the declared zero
    once: bool = note(False)                 # normal form: the result, written once per call
    temp: bool = note(False)                 # normal form: one step of a tensor value, read once
    payload: int | None = note()             # normal form: a match arm copies payload k of the subject


@record
class AugAssign(Stmt):
    target: Expr
    op: str                                  # + - * /
    value: Expr


@record
class ExprStmt(Stmt):
    expr: Expr


@record
class If(Stmt):
    cond: Expr
    then: list[Stmt]
    orelse: list[Stmt]


@record
class While(Stmt):
    cond: Expr
    body: list[Stmt]


@record
class ForRange(Stmt):
    var: str
    start: Expr
    stop: Expr
    body: list[Stmt]
    sym: object = note()


@record
class ForEach(Stmt):
    var: str                                 # for destructuring, the binder as written: "(i, x)"
    iterable: Expr
    body: list[Stmt]
    names: list[str] | None = None           # for (i, x) in enumerate(xs): the names bound
    sym: object = note()                     # the loop variable (None when destructuring)
    syms: list | None = note()               # for destructuring: the symbols of `names`


@record
class Return(Stmt):
    value: Expr | None


@record
class Break(Stmt):
    pass


@record
class Continue(Stmt):
    pass


@record
class Param(Node):
    name: str
    annot: TypeExpr
    sym: object = note()


@record
class FnDef(Stmt):
    name: str
    params: list[Param]
    ret: TypeExpr | None
    body: list[Stmt]
    ty: Type | None = note()
    sym: object = note()
    checked: bool = note(False)              # checked whole: the transforms may read it
    rule: object = note()                    # the user's `derivative` rule for it (RuleDef)
    specialises: object = note()             # the function this one is a specialised copy of
    dim_syms: list = note(factory=list)      # the size names its tensor parameters bind
    py_assigned_globals: set = note(factory=set)
    quiet: bool = note(False)                # a pullback: it recomputes the primal, whose effects happened
    # the function grad(f) or value_and_grad(f) names: a nan in its gradient where f's
    # value is finite is made again in forward mode (interpreter/transforms.py)
    gradient_entry: str | None = note()
    instance_of: str | None = note()         # an instance of a generic list function (dsl/generics.py): "map"
    blocks: bool = note(False)               # its body holds a BlockExpr (the checker's; blocks.py lowers it)


@record
class FieldDecl(Node):
    name: str
    annot: TypeExpr


@record
class StructDef(Stmt):
    name: str
    fields: list[FieldDecl]


@record
class VariantDecl(Node):
    name: str
    payload: list[TypeExpr]


@record
class EnumDef(Stmt):
    name: str
    variants: list[VariantDecl]


@record
class MatchArm(Node):
    enum: str | None                         # Shape.Circle(r) gives "Shape"
    variant: str                             # "_" for the wildcard
    binds: list[str]
    body: list[Stmt]
    syms: list = note(factory=list)


@record
class Match(Stmt):
    subject: Expr
    arms: list[MatchArm]


@record
class Import(Stmt):
    module: str


@record
class RuleClause(Node):
    target: str                              # x_bar (a cotangent) or y_dot (the tangent)
    value: Expr


@record
class RuleDef(Stmt):
    """`derivative f(x, y) -> r { x_bar = ..., r_dot = ... }`: a user's derivative rule."""
    fn: str
    params: list[str]
    result: str
    clauses: list[RuleClause]


@record
class Program(Node):
    body: list[Stmt]
    blocks: bool = note(False)               # its top-level statements hold a BlockExpr (the checker's)


def is_list_slice(e: Expr) -> bool:
    """Whether e (typed) is a list's slice `xs[lo:hi]`: as a place, `xs[lo:hi] = ys` replaces
    those elements; a tensor's slice is a place of the tensor itself."""
    return isinstance(e, Index) and isinstance(e.index, Slice) and isinstance(e.obj.ty, ListT)


def through_tuple(place: Expr) -> bool:
    """Whether the place (`t.1[0]`, `p.xs[2]`) is reached through a tuple's item."""
    while isinstance(place, (Field, Index, TupleIndex)):
        if isinstance(place, TupleIndex):
            return True
        place = place.obj
    return False


# ---------------------------------------------------------------- the one traversal
#
# Generated from the declarations above: a field is a child when its declared type
# names a node class (one, optional, a list, or a list of (name, node) pairs), a note
# when declared with `note()`, and data otherwise.

def _node_classes():
    out, todo = {}, [Node]
    while todo:
        c = todo.pop()
        out[c.__name__] = c
        todo += c.__subclasses__()
    return out


NODE_CLASSES = _node_classes()
define(NODE_CLASSES.values(), __file__ + ":nodes")        # every node class's __init__ (dsl/records.py)
EXPRS = (Num, Str, Bool, Name, Binary, Unary, Call, Index, Slice, Subscripts, Field, TupleIndex, TupleLit,
         ListLit, DictLit, StructLit, Lambda, IfExpr, BlockExpr)
STMTS = (Let, Assign, AugAssign, ExprStmt, If, While, ForRange, ForEach, Return, Break, Continue, FnDef,
         StructDef, EnumDef, Match, Import, RuleDef)


def _shape(annotation: str) -> str | None:
    """How a field holds nodes: "one", "opt", "list", "pairs", or None (data)."""
    t = annotation.replace('"', "").replace("'", "").strip()
    if t.startswith("list[tuple[str, ") and t.endswith("]]"):
        inner, shape = t[len("list[tuple[str, "):-2], "pairs"
    elif t.startswith("list[") and t.endswith("]"):
        inner, shape = t[5:-1], "list"
    elif t.endswith("| None"):
        inner, shape = t[:-len("| None")].strip(), "opt"
    else:
        inner, shape = t, "one"
    return shape if inner in NODE_CLASSES else None


def _layout(cls):
    kids, data, notes = [], [], []
    for f in fields(cls):
        if f.name == "span":
            continue
        if f.metadata.get("note"):
            notes.append(f.name)
            continue
        shape = _shape(f.type) if isinstance(f.type, str) else None
        (kids.append((f.name, shape)) if shape else data.append(f.name))
    return tuple(kids), tuple(data), tuple(notes)


LAYOUT = {c: _layout(c) for c in NODE_CLASSES.values() if c not in (Node, Expr, Stmt)}


def children(node: Node) -> list[Node]:
    """The node's children, in source order."""
    out = []
    for name, shape in LAYOUT[type(node)][0]:
        v = getattr(node, name)
        if shape == "one":
            out.append(v)
        elif shape == "opt":
            if v is not None:
                out.append(v)
        elif shape == "list":
            out.extend(v)
        else:
            out.extend(x for _, x in v)
    return out


def rebuild(node: Node, f, keep_notes: bool = False) -> Node:
    """A node of the same kind and data with each child c replaced by f(c). The span
    is kept; notes only with keep_notes."""
    kids, data, notes = LAYOUT[type(node)]
    kw = {}
    for n in data:
        v = getattr(node, n)
        kw[n] = list(v) if isinstance(v, list) else v
    for name, shape in kids:
        v = getattr(node, name)
        if shape == "one":
            kw[name] = f(v)
        elif shape == "opt":
            kw[name] = f(v) if v is not None else None
        elif shape == "list":
            kw[name] = [f(x) for x in v]
        else:
            kw[name] = [(k, f(x)) for k, x in v]
    out = type(node)(**kw, span=node.span)
    if keep_notes:
        for n in notes:
            setattr(out, n, getattr(node, n))
    return out


def copy(node: Node) -> Node:
    """A deep copy without notes: what a transform splices into new code, to be checked
    again."""
    return rebuild(node, copy)


def walk(node):
    """The node and every node below it, parents first, in source order."""
    todo = [node]
    while todo:
        n = todo.pop()
        yield n
        todo.extend(reversed(children(n)))


class UnhandledNode(Exception):
    """A pass met a node kind it has no case for: a bug in DP, never skipped silently."""


class Dispatch:
    """`stmt = Dispatch("s_", STMTS)` in a pass: `self.stmt(node, …)` runs the pass's
    `s_<Kind>` method. The table is made on first use and must cover every kind; a
    pass without a case for one fails there and then, whatever node it was given
    (as jlox's Visitor makes every pass handle every node)."""

    def __init__(self, prefix: str, kinds: tuple):
        self.prefix, self.kinds = prefix, kinds
        self.tables: dict = {}
        self.name = prefix

    def __set_name__(self, owner, name):
        self.name = name

    def table(self, cls) -> dict:
        t = self.tables.get(cls)
        if t is None:
            missing = [k.__name__ for k in self.kinds if not hasattr(cls, self.prefix + k.__name__)]
            if missing:
                raise UnhandledNode(f"{cls.__name__}.{self.name} has no case for {', '.join(missing)}")
            t = self.tables[cls] = {k: getattr(cls, self.prefix + k.__name__) for k in self.kinds}
        return t

    def __get__(self, obj, cls=None):
        if obj is None:
            return self
        table = self.table(type(obj))

        def dispatch(node, *args, **kw):
            m = table.get(type(node))
            if m is None:
                raise UnhandledNode(f"{type(obj).__name__}.{self.name}: unexpected {type(node).__name__}")
            return m(obj, node, *args, **kw)
        return dispatch


def subexpressions(e: Expr) -> list[Expr]:
    """The expressions an expression is made of; a lambda is a value, so its body is
    not among them."""
    if isinstance(e, Lambda):
        return []
    return [c for c in children(e) if isinstance(c, Expr)]


def statements(stmts):
    """Every statement of a block and of the blocks nested in it, in order, those of an
    `if` expression's branches too (a lambda's body is inside an expression, not among
    them)."""
    todo = list(reversed(stmts))
    while todo:
        s = todo.pop()
        if isinstance(s, Stmt):
            yield s
        kids = []
        for c in children(s):
            if isinstance(c, (Stmt, MatchArm)):
                kids.append(c)
            elif isinstance(c, Expr):
                kids.extend(x for b in branch_blocks(c) for x in b.body)
        todo.extend(reversed(kids))


def branch_blocks(e: Expr) -> list["BlockExpr"]:
    """The BlockExprs in e, in source order: not those inside a lambda, nor inside
    another one's statements (their own expressions hold those), but those in its value."""
    out, todo = [], [e]
    while todo:
        n = todo.pop()
        if isinstance(n, BlockExpr):
            out.append(n)
            todo.append(n.value)
        elif not isinstance(n, Lambda):
            todo.extend(reversed([c for c in children(n) if isinstance(c, Expr)]))
    return out


def blocks(s: Stmt) -> list[list[Stmt]]:
    """The statement lists directly inside s: an if's two branches, a loop's body, each
    match arm's body (a function's body too, for a nested definition)."""
    out = []
    for name, shape in LAYOUT[type(s)][0]:
        v = getattr(s, name)
        if name in _BLOCK_FIELDS:
            out.append(v)
        elif name == "arms":
            out.extend(a.body for a in v)
    return out


def replace_blocks(s: Stmt, f) -> None:
    """Replace each statement list directly inside s by f(list), in place."""
    for name, shape in LAYOUT[type(s)][0]:
        if name in _BLOCK_FIELDS:
            setattr(s, name, f(getattr(s, name)))
        elif name == "arms":
            for a in s.arms:
                a.body = f(a.body)


_BLOCK_FIELDS = ("then", "orelse", "body")
