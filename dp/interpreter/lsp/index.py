"""Every name of a checked document: where each is defined, where each is used, and
which locals are in scope at a position.

A definition is keyed by where its name is written (file, line, column), so a module's
function is the same definition whether it is reached from the importer (`ode.rk4`,
through the symbol the checker resolved) or from the module's own file: references and
renames find it across `import`."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from dp.dsl import syntax as S
from dp.dsl.span import Span
from dp.dsl.symbols import Symbol
from dp.dsl.types import EnumT, StructT, Type

from .positions import contains, size

KINDS = {"fn": "function", "param": "parameter", "let": "constant", "var": "variable", "loop": "loop variable"}


@dataclass(frozen=True)
class Key:
    file: str
    line: int
    col: int


@dataclass
class Definition:
    name: str
    kind: str                   # function, parameter, constant, variable, loop variable, struct, field, enum,
    #                             variant, module, size
    span: Span                  # of the name where it is defined
    ty: Type | None = None
    sym: Symbol | None = None
    node: object = None         # the declaring node
    owner: str | None = None    # the function a local belongs to, the struct of a field, the enum of a variant

    @property
    def key(self) -> Key:
        return Key(self.span.file, self.span.line, self.span.col)


@dataclass
class Occurrence:
    span: Span                  # of the name, where it is written
    definition: Definition
    is_definition: bool = False


@dataclass
class Index:
    occurrences: list[Occurrence] = field(default_factory=list)
    definitions: dict[Key, Definition] = field(default_factory=dict)
    expressions: list[S.Expr] = field(default_factory=list)     # every typed expression of the file

    def at(self, line: int, col: int) -> Occurrence | None:
        """The name written at (line, col), if any."""
        hits = [o for o in self.occurrences if contains(o.span, line, col)]
        return min(hits, key=lambda o: size(o.span)) if hits else None

    def expression_at(self, line: int, col: int) -> S.Expr | None:
        hits = [e for e in self.expressions if contains(e.span, line, col)]
        return min(hits, key=lambda e: size(e.span)) if hits else None

    def references(self, key: Key) -> list[Occurrence]:
        return [o for o in self.occurrences if o.definition.key == key]

    def top_level(self) -> list[Definition]:
        return [d for d in self.definitions.values() if d.owner is None and d.kind != "module"]


def _word(name: str) -> re.Pattern:
    return re.compile(r"(?<![A-Za-z0-9_])" + re.escape(name) + r"(?![A-Za-z0-9_])")


class Indexer:
    """Builds the Index of one analysed document. line_of(file, n) gives a source line
    of any file the program reaches (the document itself, or a module it imports)."""

    def __init__(self, file: str, prog: S.Program, env, line_of, module_file, module_path):
        self.file, self.prog, self.env = file, prog, env
        self.line_of = line_of              # (file, line) -> text | None
        self.module_file = module_file      # a module's name in diagnostics -> its path
        self.module_path = module_path      # module name -> the file `import` reads
        self.index = Index()
        self.by_sym: dict[int, Definition] = {}
        self.owner: str | None = None

    # ------------------------------------------------------------ helpers
    def name_span(self, file: str, line: int, col: int, name: str) -> Span | None:
        """Where name is first written at or after (line, col) on that line (or the next
        few lines, for a declaration split over lines)."""
        pat = _word(name)
        for ln in range(line, line + 4):
            text = self.line_of(file, ln)
            if text is None:
                return None
            m = pat.search(text, (col - 1) if ln == line else 0)
            if m:
                return Span(file, ln, m.start() + 1, ln, m.end() + 1)
        return None

    def define(self, name, kind, span, ty=None, sym=None, node=None, owner=None) -> Definition | None:
        if span is None:
            return None
        key = Key(span.file, span.line, span.col)
        d = self.index.definitions.get(key)
        if sym is not None and d is not None:
            self.by_sym[id(sym)] = d
        if d is not None:
            return d
        d = self.index.definitions[key] = Definition(name, kind, span, ty, sym, node, owner)
        if sym is not None:
            self.by_sym[id(sym)] = d
        if span.file == self.file:
            self.index.occurrences.append(Occurrence(span, d, True))
        return d

    def use(self, span: Span | None, d: Definition | None) -> None:
        if span is not None and d is not None and span.file == self.file and span.line >= 1:
            self.index.occurrences.append(Occurrence(span, d, False))

    def local(self, sym, span, node) -> None:
        if isinstance(sym, Symbol) and span is not None:
            self.define(sym.name, KINDS.get(sym.kind, sym.kind), span, sym.ty, sym, node, self.owner)

    def symbol_definition(self, sym: Symbol, written: str | None = None) -> Definition | None:
        """The definition of a symbol defined elsewhere (a module's), from its declaration."""
        d = self.by_sym.get(id(sym))
        if d is not None:
            return d
        decl = sym.decl
        if not isinstance(decl, (S.FnDef, S.Let)) or decl.span.line < 1:
            return None
        name = written or sym.name
        span = self.name_span(decl.span.file, decl.span.line, decl.span.col + 2, name)
        kind = "function" if sym.kind == "fn" else KINDS.get(sym.kind, sym.kind)
        return self.define(name, kind, span, sym.ty, sym, decl) if span else None

    def type_definition(self, t) -> Definition | None:
        """The definition of a struct or enum type (of this file or a module's)."""
        decl = getattr(t, "decl", None)
        if not isinstance(decl, (S.StructDef, S.EnumDef)) or decl.span.line < 1:
            return None
        name = t.name.rpartition(".")[2]
        span = self.name_span(decl.span.file, decl.span.line, decl.span.col + 4, name)
        return self.define(name, "struct" if isinstance(t, StructT) else "enum", span, t, None, decl)

    def member_definition(self, t, member: str) -> Definition | None:
        """A struct's field or an enum's variant."""
        decl = getattr(t, "decl", None)
        if isinstance(t, StructT) and isinstance(decl, S.StructDef):
            for f in decl.fields:
                if f.name == member:
                    span = Span(f.span.file, f.span.line, f.span.col, f.span.line, f.span.col + len(member))
                    return self.define(member, "field", span, t.fields.get(member), None, f, t.name)
        if isinstance(t, EnumT) and isinstance(decl, S.EnumDef):
            for v in decl.variants:
                if v.name == member:
                    span = Span(v.span.file, v.span.line, v.span.col, v.span.line, v.span.col + len(member))
                    return self.define(member, "variant", span, t, None, v, t.name)
        return None

    def named_type(self, name: str):
        return self.env.structs.get(name) or self.env.enums.get(name) if self.env is not None else None

    # ------------------------------------------------------------ the walk
    def run(self) -> Index:
        body = self.prog.body
        for s in body:                          # types and functions first: used before they are defined
            if isinstance(s, (S.StructDef, S.EnumDef)):
                t = self.named_type(s.name)
                if t is not None:
                    self.type_definition(t)
                    for m in (s.fields if isinstance(s, S.StructDef) else s.variants):
                        self.member_definition(t, m.name)
            elif isinstance(s, S.FnDef) and isinstance(s.sym, Symbol):
                self.define(s.name, "function", self.name_span(self.file, s.span.line, s.span.col + 2, s.name),
                            s.ty, s.sym, s)
            elif isinstance(s, S.Import):
                path = self.module_path(s.module)
                span = self.name_span(self.file, s.span.line, s.span.col + 6, s.module)
                if path is not None and span is not None:
                    d = Definition(s.module, "module", Span(path, 1, 1, 1, 1), node=s)
                    self.index.definitions.setdefault(d.key, d)
                    self.use(span, self.index.definitions[d.key])
        for s in body:
            self.node(s)
        return self.index

    def node(self, n) -> None:
        m = getattr(self, "n_" + type(n).__name__, None)
        if m is not None and m(n) is False:
            return
        for c in S.children(n):
            self.node(c)
        if isinstance(n, S.Expr) and n.ty is not None and n.span.file == self.file and n.span.line >= 1:
            self.index.expressions.append(n)

    def function(self, node, name: str | None) -> None:
        outer = self.owner
        self.owner = name or outer or "<lambda>"
        for sym in getattr(node, "dim_syms", []) or []:
            span = self._size_span(node.params, sym.name)
            self.local(sym, span, node)
            if span is not None:
                self.by_sym[id(sym)].kind = "size"
        for p in node.params:
            self.local(p.sym, Span(p.span.file, p.span.line, p.span.col, p.span.line, p.span.col + len(p.name)), p)
            self.node(p.annot)
        if getattr(node, "ret", None) is not None:
            self.node(node.ret)
        for st in node.body:
            self.node(st)
        self.owner = outer

    def _size_span(self, params, name):
        for p in params:
            for t in S.walk(p.annot):
                if isinstance(t, S.TypeExpr) and t.name == name:
                    return t.span
        return None

    def n_FnDef(self, s):
        self.function(s, s.name)
        return False

    def n_Lambda(self, e):
        self.function(e, None)
        if e.span.file == self.file and e.ty is not None:
            self.index.expressions.append(e)
        return False

    def n_Let(self, s):
        if s.names and s.syms:
            col = s.span.col + 3
            for n, sym in zip(s.names, s.syms):
                span = self.name_span(self.file, s.span.line, col, n)
                self.local(sym, span, s)
                col = span.end_col if span else col
        elif isinstance(s.sym, Symbol):
            self.local(s.sym, self.name_span(self.file, s.span.line, s.span.col + 3, s.name), s)

    def n_ForRange(self, s):
        self.local(s.sym, self.name_span(self.file, s.span.line, s.span.col + 3, s.var), s)

    def n_ForEach(self, s):
        if s.names is None:
            return self.n_ForRange(s)
        col = s.span.col + 3
        for n, sym in zip(s.names, s.syms or []):
            span = self.name_span(self.file, s.span.line, col, n)
            self.local(sym, span, s)
            col = span.end_col if span else col

    def n_MatchArm(self, a):
        col = a.span.col
        if a.enum is not None:
            t = self.named_type(a.enum)
            span = self.name_span(self.file, a.span.line, col, a.enum.rpartition(".")[2])
            if span is not None:
                self.use(span, self.type_definition(t) if t is not None else None)
                col = span.end_col
        subject_t = None
        if a.variant != "_":
            span = self.name_span(self.file, a.span.line, col, a.variant)
            t = self.named_type(a.enum) if a.enum else None
            subject_t = t or self._arm_enum(a)
            if span is not None:
                self.use(span, self.member_definition(subject_t, a.variant) if subject_t is not None else None)
                col = span.end_col
        for n, sym in zip(a.binds, a.syms or []):
            span = self.name_span(self.file, a.span.line, col, n)
            self.local(sym, span, a)
            col = span.end_col if span else col

    def _arm_enum(self, arm):
        for s in S.statements(self.prog.body):
            if isinstance(s, S.Match) and arm in s.arms and isinstance(s.subject.ty, EnumT):
                return s.subject.ty
        return None

    def n_Name(self, e):
        sym = e.sym
        if isinstance(sym, Symbol):
            d = self.by_sym.get(id(sym)) or self.symbol_definition(sym)
            self.use(e.span, d)

    def n_Field(self, e):
        t = e.target
        end = Span(e.span.file, e.span.end_line, e.span.end_col - len(e.name), e.span.end_line, e.span.end_col)
        if t is None:
            return
        if t[0] == "field" and isinstance(e.obj.ty, StructT):
            self.use(end, self.member_definition(e.obj.ty, e.name))
        elif t[0] == "variant":
            self.use(end, self.member_definition(t[1], e.name))
            if isinstance(e.obj, S.Name) and e.obj.sym is None:
                self.use(e.obj.span, self.type_definition(t[1]))
                return False
            if isinstance(e.obj, S.Field):           # geom.Color.Red
                self.n_Field_module(e.obj)
                return False
        elif t[0] == "module":
            self.use(end, self.symbol_definition(t[2], e.name))
            self.n_Field_module(e)
            return False

    def n_Field_module(self, e):
        """The `ode` of `ode.rk4`: the module."""
        if isinstance(e.obj, S.Name):
            path = self.module_path(e.obj.id)
            if path is not None:
                self.use(e.obj.span, self.index.definitions.get(Key(path, 1, 1)))

    def n_StructLit(self, e):
        t = self.named_type(e.name)
        if t is None:
            return
        self.use(self.name_span(self.file, e.span.line, e.span.col, e.name.rpartition(".")[2]), self.type_definition(t))
        line, col = e.span.line, e.span.col + len(e.name)
        for name, _ in e.fields:
            span = self._find_field(line, col, name, e.span)
            if span is not None:
                self.use(span, self.member_definition(t, name))
                line, col = span.line, span.end_col

    def _find_field(self, line, col, name, within):
        pat = re.compile(r"(?<![A-Za-z0-9_.])" + re.escape(name) + r"\s*:")
        for ln in range(line, within.end_line + 1):
            text = self.line_of(self.file, ln)
            if text is None:
                return None
            m = pat.search(text, (col - 1) if ln == line else 0)
            if m:
                return Span(self.file, ln, m.start() + 1, ln, m.start() + 1 + len(name))
        return None

    def n_TypeExpr(self, t):
        if t.name in ("fn", "tuple", "unit", "list", "dict") or t.span.file != self.file:
            return
        ty = self.named_type(t.name)
        if ty is not None:
            span = Span(t.span.file, t.span.line, t.span.end_col - len(t.name.rpartition(".")[2]),
                        t.span.line, t.span.end_col)
            self.use(span, self.type_definition(ty))

    def n_RuleDef(self, s):
        sym = self.env.values.get(s.fn) if self.env is not None else None
        if isinstance(sym, Symbol):
            self.use(self.name_span(self.file, s.span.line, s.span.col + 10, s.fn), self.by_sym.get(id(sym)))


def build_index(analysis) -> Index:
    """The index of an analysed document that parsed (its tree, as far as it checked)."""
    az = analysis.analyzer
    sources = az.session.sources

    def line_of(file, n):
        return sources.line(file, n)

    def module_path(name):
        return az.module_path(name, analysis.file)
    ix = Indexer(analysis.file, analysis.prog, analysis.env, line_of, az.module_file, module_path)
    return ix.run()


# ---------------------------------------------------------------------- scopes

def scope_at(prog: S.Program, line: int, col: int) -> dict[str, Symbol]:
    """The local symbols visible at (line, col): the enclosing function's parameters,
    what the enclosing blocks declared before it, loop variables, a match arm's
    payload names, and an enclosing lambda's parameters. (Globals are the env's.)"""
    return _Scopes(line, col).block(prog.body, {}, top=True)


class _Scopes:
    def __init__(self, line, col):
        self.pos = (line, col)

    def before(self, s) -> bool:
        return (s.span.end_line, s.span.end_col) <= self.pos

    def inside(self, node) -> bool:
        return contains(node.span, *self.pos)

    def block(self, stmts, scope, top=False):
        scope = dict(scope)
        for s in stmts:
            if self.inside(s) and not self.before(s):
                return self.stmt(s, scope)
            if (s.span.line, s.span.col) > self.pos:
                break
            if not top:
                scope.update(_declared(s))
        return scope

    def stmt(self, s, scope):
        if isinstance(s, S.FnDef):
            return self.function(s, {})
        if isinstance(s, S.If):
            if s.orelse and (s.orelse[0].span.line, s.orelse[0].span.col) <= self.pos:
                return self.block(s.orelse, scope)
            if self.in_exprs([s.cond], scope) is not None:
                return self.in_exprs([s.cond], scope)
            return self.block(s.then, scope)
        if isinstance(s, (S.ForRange, S.ForEach)):
            inner = dict(scope)
            if isinstance(s.sym, Symbol):
                inner[s.var] = s.sym
            for n, sym in zip(getattr(s, "names", None) or [], getattr(s, "syms", None) or []):
                inner[n] = sym
            return self.block(s.body, inner)
        if isinstance(s, S.While):
            return self.block(s.body, scope)
        if isinstance(s, S.Match):
            for a in s.arms:
                if self.inside(a):
                    inner = dict(scope)
                    inner.update({n: sym for n, sym in zip(a.binds, a.syms or []) if isinstance(sym, Symbol)})
                    return self.block(a.body, inner)
            return scope
        exprs = [c for c in S.children(s) if isinstance(c, S.Expr)]
        found = self.in_exprs(exprs, scope)
        return found if found is not None else scope

    def in_exprs(self, exprs, scope):
        """The scope inside the innermost lambda or `if` expression's branch around the
        position, if there is one."""
        for e in exprs:
            for n in S.walk(e):
                if isinstance(n, S.Lambda) and self.inside(n):
                    return self.function(n, scope)
                if isinstance(n, S.BlockExpr) and self.inside(n):
                    return self.block(n.body + [S.ExprStmt(n.value, span=n.value.span)], scope)
        return None

    def function(self, node, scope):
        inner = dict(scope)
        for sym in getattr(node, "dim_syms", []) or []:
            inner[sym.name] = sym
        for p in node.params:
            if isinstance(p.sym, Symbol):
                inner[p.name] = p.sym
        return self.block(node.body, inner)


def _declared(s) -> dict[str, Symbol]:
    if isinstance(s, S.Let):
        if s.names and s.syms:
            return {n: sym for n, sym in zip(s.names, s.syms) if isinstance(sym, Symbol)}
        if isinstance(s.sym, Symbol):
            return {s.name: s.sym}
    return {}
