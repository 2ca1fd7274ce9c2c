"""The type checker: rejects every ill-typed program before anything runs and reports
all the errors it finds. On success every expression carries its `ty`, every name
its `sym`, every call its `target`; the compiler and the transforms rely on these."""
from __future__ import annotations


from . import generics as G
from . import primitives as P
from . import syntax as S
from .diagnostics import Diagnostic, DPError, did_you_mean
from .records import Record, define, field, record
from .symbols import GlobalEnv, Scope, Symbol, py_name
from .types import (BOOL, ERROR, FLOAT, INT, INT_LIT, STRING, TENSOR, UNIT, DefaultDictT, DictT, EnumT, ErrorT,
                    FnT, IntLit, ListT, ModuleT, Prim, SetT, StructT, TupleT, Type, assignable, concrete)

INDEX = Prim("index")          # the type of a tensor subscript (`1:3`, `i, :`): inactive
PRIM_TYPES = {"float": FLOAT, "int": INT, "bool": BOOL, "string": STRING, "tensor": TENSOR}
# Made by a call and typed by the checker, like the generic list functions; a program's own
# function of the name shadows them
CONTAINERS = {"set", "defaultdict"}
BUILTIN_NAMES = sorted(P.CALLABLE | P.SPECIAL_BUILTINS | G.NAMES | CONTAINERS)
# Names a program may not redefine. Library functions (sin, dot, shape, …) may be
# shadowed by a user's own definitions; derived code still reaches the primitive.
TRANSFORMS = P.TRANSFORMS
# The rules' helpers (unbroadcast, tie_share, …) too: derived code calls them by name.
RESERVED_NAMES = P.SPECIAL_BUILTINS | TRANSFORMS | {p.name for p in P.TABLE if p.helper and p.name != "item"}
LIST_METHODS = {"append", "pop", "insert", "extend", "reverse"}
DICT_METHODS = {"keys", "values", "items", "contains", "get", "remove"}
SET_METHODS = {"add", "remove", "contains", "union", "intersection", "difference", "to_list"}
MUTATING_METHODS = {"append", "pop", "insert", "extend", "reverse", "remove", "add"}
HASHABLE = (INT, STRING, BOOL)
RESERVED_FIELDS = {"_fields", "_type", "to_dict"}      # attributes of every runtime struct (values.py)


@record
class FnCtx(Record):
    node: object                      # FnDef, Lambda, or None at the top level
    ret: Type
    loops: int = 0
    in_condition: bool = False        # checking a `while` condition (a `break` there leaves no loop)
    py_names: set = field(default_factory=set)
    assigned_globals: set = field(default_factory=set)


define((FnCtx,), __file__ + ":context")      # its __init__ (dsl/records.py)


class Checker:
    def __init__(self, env: GlobalEnv, transform_typer=None):
        self.env = env
        self.errors: list[Diagnostic] = []
        self.ctx = FnCtx(None, UNIT)
        self.scope = Scope()
        self.transform_typer = transform_typer     # types grad(...) & co. (dsl.ad.typing)
        self.defined_here: dict[str, int] = {}     # globals this program defines, for duplicates
        self.py_prefix = ""        # a module's globals get Python names apart from its importer's (interpreter/modules.py)
        self.instances: list[S.FnDef] = []         # generic list functions' instances this program made (generics.py)

    # ------------------------------------------------------------------ reporting
    def error(self, span, message, hint=None):
        self.errors.append(Diagnostic("type error", message, span, hint))
        return ERROR

    # ------------------------------------------------------------------ entry
    def check_program(self, prog: S.Program) -> None:
        self._declare(prog.body)
        self.scope = Scope()           # top-level block scope for globals lives in env.values
        self.top_blocks = False
        for stmt in prog.body:
            self.stmt(stmt, top=True)
        prog.blocks = self.top_blocks
        if self.errors:
            raise DPError(self.errors)
        prog.body[:0] = self.instances        # compiled with the program, like its own functions

    # ------------------------------------------------------------------ declarations
    def _declare(self, body):
        structs = [s for s in body if isinstance(s, S.StructDef)]
        enums = [s for s in body if isinstance(s, S.EnumDef)]
        seen = {}
        for d in structs + enums:
            if d.name in seen:
                self.error(d.span, f"`{d.name}` is defined twice", f"the first definition is at line {seen[d.name]}")
            seen[d.name] = d.span.line
            if d.name in PRIM_TYPES or d.name in ("list", "dict", "fn"):
                self.error(d.span, f"`{d.name}` is a built-in type name", "choose another name")
        for d in structs:
            self.env.structs[d.name] = StructT(d.name, {}, d)
        for d in enums:
            self.env.enums[d.name] = EnumT(d.name, {}, d)
        for d in structs:
            st = self.env.structs[d.name]
            for f in d.fields:
                if f.name in st.fields:
                    self.error(f.span, f"field `{f.name}` is declared twice in `{d.name}`")
                if f.name.startswith("__") or f.name in RESERVED_FIELDS:
                    self.error(f.span, f"`{f.name}` cannot name a field: DP's runtime uses it", "choose another name")
                st.fields[f.name] = self.resolve_type(f.annot)
        for d in enums:
            et = self.env.enums[d.name]
            for v in d.variants:
                if v.name in et.variants:
                    self.error(v.span, f"variant `{v.name}` is declared twice in `{d.name}`")
                et.variants[v.name] = tuple(self.resolve_type(t) for t in v.payload)
        for d in structs:
            if _contains_itself(self.env.structs[d.name]):
                self.error(d.span, f"struct `{d.name}` contains itself, so no value of it could be built",
                           f"hold it in a list: `list[{d.name}]`")
        fns_here = {}
        for d in body:
            if isinstance(d, S.FnDef):
                if d.name in fns_here:
                    self.error(d.span, f"function `{d.name}` is defined twice", f"the first definition is at line {fns_here[d.name]}")
                fns_here[d.name] = d.span.line
                self._declare_fn(d)

    def _declare_fn(self, d: S.FnDef):
        params = tuple(self.resolve_type(p.annot, sizes_ok=True) for p in d.params)
        ret = self.resolve_type(d.ret, sizes_ok=True) if d.ret is not None else UNIT
        d.ty = FnT(params, ret)
        if d.name in RESERVED_NAMES:
            self.error(d.span, f"`{d.name}` is a built-in function", "choose another name")
        d.sym = Symbol(d.name, d.ty, "fn", self.env.global_py(d.name, d.ty, self.py_prefix), is_global=True, decl=d)
        self.env.values[d.name] = d.sym

    def resolve_type(self, t: S.TypeExpr | None, sizes_ok: bool = False) -> Type:
        """sizes_ok: a tensor's sizes may be written here (a parameter, a result, a `let`)."""
        if t is None:
            return ERROR
        n = t.name
        if n == "unit":
            return UNIT
        if n == "tuple":
            return TupleT(tuple(self.resolve_type(a) for a in t.args))
        if n == "fn":
            return FnT(tuple(self.resolve_type(a) for a in t.args), self.resolve_type(t.ret))
        if n == "list":
            if len(t.args) != 1:
                return self.error(t.span, "`list` takes one type argument", "write `list[float]`")
            return ListT(self.resolve_type(t.args[0]))
        if n in ("dict", "defaultdict"):
            if len(t.args) != 2:
                return self.error(t.span, f"`{n}` takes two type arguments", f"write `{n}[string, float]`")
            k = self.resolve_type(t.args[0])
            if not self._hashable(k):
                self.error(t.args[0].span, f"`{k}` cannot be a dict key", "keys are int, string, bool or enum values")
            return (DictT if n == "dict" else DefaultDictT)(k, self.resolve_type(t.args[1]))
        if n == "set":
            if len(t.args) != 1:
                return self.error(t.span, "`set` takes one type argument", "write `set[int]`")
            k = self.resolve_type(t.args[0])
            if not self._hashable(k):
                self.error(t.args[0].span, f"`{k}` cannot be a set's element",
                           "elements are int, string, bool or enum values, or tuples of them")
            return SetT(k)
        if n == "tensor" and t.args:
            if not sizes_ok:
                return self.error(t.span, "a tensor's sizes can be written only for a parameter, a result or a `let`",
                                  "write `tensor` here; the functions that take it can give its sizes")
            for d in t.args:
                if d.args or d.ret is not None or not (d.name.isdigit() or d.name.isidentifier()) \
                        or d.name in PRIM_TYPES or d.name in self.env.structs or d.name in self.env.enums:
                    self.error(d.span, "a tensor's sizes are int literals, names or `_`",
                               "write `tensor[n, 3]`: a name is bound where a function is called")
            return TENSOR
        if n.isdigit():
            return self.error(t.span, f"`{n}` is a size, not a type", "sizes go in a tensor's type: `tensor[3]`")
        if t.args:
            return self.error(t.span, f"`{n}` takes no type arguments")
        if n in PRIM_TYPES:
            return PRIM_TYPES[n]
        if n in self.env.structs:
            return self.env.structs[n]
        if n in self.env.enums:
            return self.env.enums[n]
        known = list(PRIM_TYPES) + list(self.env.structs) + list(self.env.enums) + ["list", "dict", "set", "defaultdict"]
        return self.error(t.span, f"unknown type `{n}`", did_you_mean(n, known))

    def _hashable(self, t):
        return t in HASHABLE or isinstance(t, (EnumT, ErrorT)) or (
            isinstance(t, TupleT) and all(self._hashable(x) for x in t.items))

    # ------------------------------------------------------------------ scopes
    def push(self):
        self.scope = Scope(self.scope)

    def pop(self):
        self.scope = self.scope.parent

    def declare_local(self, name, ty, kind, node, span) -> Symbol:
        if self.ctx.node is None and self.scope.parent is None:
            return self.declare_global(name, ty, kind, node, span)
        if name in self.scope.names:
            prev = self.scope.names[name]
            self.error(span, f"`{name}` is already defined in this block",
                       f"it was defined at line {prev.decl.span.line if prev.decl else '?'}; assign to it, or use another name")
        # top-level block locals live beside the globals at module level: keep them apart
        base = py_name(name) if self.ctx.node is not None else f"{name}·t"
        py, i = base, 1
        while py in self.ctx.py_names:
            py, i = f"{name}·{i}", i + 1
        self.ctx.py_names.add(py)
        sym = Symbol(name, ty, kind, py, decl=node, owner=self.ctx.node)
        self.scope.names[name] = sym
        return sym

    def declare_global(self, name, ty, kind, node, span) -> Symbol:
        if name in self.defined_here:
            self.error(span, f"`{name}` is already defined", f"it was defined at line {self.defined_here[name]}; assign to it, or use another name")
        self.defined_here[name] = span.line
        prev = self.env.values.get(name)
        if prev is not None and prev.kind == "fn" and isinstance(prev.decl, S.FnDef) and prev.decl.name == name and kind != "fn":
            self.error(span, f"`{name}` is already a function")
        if name in RESERVED_NAMES:
            self.error(span, f"`{name}` is a built-in function", "choose another name")
        sym = Symbol(name, ty, kind, self.env.global_py(name, ty, self.py_prefix), is_global=True, decl=node)
        self.env.values[name] = sym
        return sym

    def lookup(self, name) -> Symbol | None:
        sym = self.scope.lookup(name)
        if sym is None:
            sym = self.env.values.get(name)
        return sym

    # ------------------------------------------------------------------ statements
    def block(self, stmts):
        self.push()
        for s in stmts:
            self.stmt(s)
        self.pop()

    _stmt = S.Dispatch("s_", S.STMTS)
    _expr = S.Dispatch("e_", S.EXPRS)

    def stmt(self, s, top=False):
        self._stmt(s, top)

    def s_StructDef(self, s, top):
        if not top:
            self.error(s.span, "structs are declared at the top level")

    s_EnumDef = s_StructDef

    def s_Import(self, s, top):
        if not top:
            self.error(s.span, "imports belong at the top level")
        elif s.module not in self.env.modules:
            self.error(s.span, f"no module named `{s.module}`")

    def s_RuleDef(self, s, top):
        """Type-check `derivative f(params) -> result { clauses }` and register it."""
        sym = self.env.values.get(s.fn)
        if sym is None or sym.kind != "fn":
            self.error(s.span, f"`{s.fn}` is not a function defined before this rule", did_you_mean(s.fn, self.env.values))
            return
        ft: FnT = sym.ty
        if len(s.params) != len(ft.params):
            self.error(s.span, f"`{s.fn}` takes {len(ft.params)} parameter(s); the rule names {len(s.params)}")
            return
        if ft.ret == UNIT:
            self.error(s.span, f"`{s.fn}` returns nothing, so it has no derivative")
            return
        names = {}
        for n, t in zip(s.params, ft.params):
            names[n] = t
            names[n + "_dot"] = t
        names[s.result] = ft.ret
        names[s.result + "_bar"] = ft.ret
        targets = {n + "_bar": t for n, t in zip(s.params, ft.params)} | {s.result + "_dot": ft.ret}
        outer_scope = self.scope
        self.scope = Scope(outer_scope, owner=s)
        outer_ctx = self.ctx
        self.ctx = FnCtx(s, UNIT)
        for n, t in names.items():
            self.declare_local(n, t, "let", s, s.span)
        seen = set()
        for c in s.clauses:
            if c.target not in targets:
                self.error(c.span, f"`{c.target}` is not something this rule can define",
                           f"define {', '.join('`' + t + '`' for t in targets)}")
                self.expr(c.value)
                continue
            if c.target in seen:
                self.error(c.span, f"`{c.target}` is defined twice")
            seen.add(c.target)
            want = targets[c.target]
            self.expect(c.value, self.expr(c.value, want), want)
        self.ctx, self.scope = outer_ctx, outer_scope
        if not any(c.target.endswith("_bar") for c in s.clauses) and not any(c.target.endswith("_dot") for c in s.clauses):
            self.error(s.span, "a derivative rule needs at least one clause")
            return
        self.env.rules[s.fn] = s
        if isinstance(sym.decl, S.FnDef):
            sym.decl.rule = s                    # the transforms use the rule, not the body

    def s_FnDef(self, s, top):
        if not top:
            self.error(s.span, "named functions are declared at the top level",
                       "bind a lambda instead: `let f = fn(x: float) -> float { ... }`")
            return
        errors_before = len(self.errors)
        self.function_body(s, s.params, s.ty.params, s.ty.ret, s.body)
        s.checked = len(self.errors) == errors_before      # typed: transforms may read it

    def function_body(self, node, params, ptypes, ret, body):
        outer_ctx, outer_scope = self.ctx, self.scope
        self.ctx = FnCtx(node, ret)
        self.scope = Scope(outer_scope if isinstance(node, S.Lambda) else None, owner=node)
        for p, t in zip(params, ptypes):
            p.sym = self.declare_local(p.name, t, "param", p, p.span)
        node.dim_syms = self.declare_sizes(params)
        bound = {s.name for s in node.dim_syms}
        for d in tensor_sizes(node.ret):
            if d.name.isidentifier() and d.name != "_" and d.name not in bound:
                self.error(d.span, f"`{d.name}` is not a size of a parameter",
                           "a returned tensor's sizes are literals, `_`, or names from the parameters' types")
        for st in body:
            self.stmt(st)
        if ret != UNIT and not isinstance(ret, ErrorT) and not always_returns(body):
            what = f"`{node.name}`" if isinstance(node, S.FnDef) else "this function"
            end = node.ret.span if node.ret is not None else node.span      # point at `-> T`
            self.error(end, f"{what} may end without returning {_a(ret)} `{ret}`",
                       "add a `return` at the end, or in every branch")
        node.py_assigned_globals = self.ctx.assigned_globals
        self.ctx, self.scope = outer_ctx, outer_scope

    def declare_sizes(self, params) -> list:
        """The names in the parameters' tensor types (`x: tensor[n]`) are ints the body can
        read, bound when the function is called."""
        syms, seen = [], set()
        for p in params:
            for d in tensor_sizes(p.annot):
                if d.name in seen or d.name == "_" or d.name.isdigit():
                    continue
                seen.add(d.name)
                if any(q.name == d.name for q in params):
                    self.error(d.span, f"`{d.name}` names both a parameter and a size", "rename one of them")
                    continue
                syms.append(self.declare_local(d.name, INT, "let", p, d.span))
        return syms

    def s_Let(self, s, top):
        if s.mutable and tensor_sizes(s.annot):     # a `var` is rebound later; sizes are checked once
            self.error(s.annot.span, "a `var` cannot give a tensor's sizes",
                       f"sizes are checked where a value is bound once: use `let`, or write "
                       f"`var {s.name or '…'}: tensor`")
        expected = self.resolve_type(s.annot, sizes_ok=True) if s.annot is not None else None
        s.size_syms = []
        for d in tensor_sizes(s.annot):            # `let h: tensor[n, 3]`: n is an int in scope
            sym = self.lookup(d.name) if d.name.isidentifier() and d.name != "_" else None
            if d.name.isidentifier() and d.name != "_" and (sym is None or sym.ty not in (INT, INT_LIT)):
                self.error(d.span, f"`{d.name}` is not an int in scope", "a size is an int literal, `_`, or an int variable")
            s.size_syms.append(sym)
        t = self.expr(s.value, expected)
        if expected is not None:
            self.expect(s.value, t, expected)
            t = expected
        t = concrete(t)
        if s.names is not None:
            if not isinstance(t, (TupleT, ErrorT)) or (isinstance(t, TupleT) and len(t.items) != len(s.names)):
                self.error(s.value.span, f"cannot unpack `{t}` into {len(s.names)} names",
                           f"the value must be a tuple of {len(s.names)}")
                items = [ERROR] * len(s.names)
            else:
                items = t.items if isinstance(t, TupleT) else [ERROR] * len(s.names)
            s.syms = [self.declare_local(n, it, "var" if s.mutable else "let", s, s.span) for n, it in zip(s.names, items)]
            return
        if t == UNIT:
            self.error(s.value.span, "this expression has no value", "it returns `()`")
        if _has_unknown(t):
            self.error(s.value.span, "cannot tell the type of an empty literal",
                       f"annotate it: `{'var' if s.mutable else 'let'} {s.name}: list[float] = []`")
            t = ERROR
        s.sym = self.declare_local(s.name, t, "var" if s.mutable else "let", s, s.span)

    def s_Assign(self, s, top):
        tt = self.lvalue(s.target, s.value)
        vt = self.expr(s.value, tt if not isinstance(tt, ErrorT) else None)
        if tt == TENSOR and isinstance(s.target, S.Index) and (vt == FLOAT or isinstance(vt, IntLit)):
            if isinstance(vt, IntLit):
                coerce(s.value, FLOAT)        # a float fills the indexed part of a tensor
            return
        if S.is_list_slice(s.target) and isinstance(tt, ListT) and not isinstance(vt, (ListT, ErrorT)):
            # xs[lo:hi] = ys replaces the elements lo … hi-1 by ys's, as in Python
            self.error(s.value.span, f"a list slice is replaced by a list, not {_a(concrete(vt))} `{concrete(vt)}`",
                       f"put the value in a list: `{_place_src(s.target)} = [v]`, or write one element: `xs[i] = v`")
            return
        if S.is_list_slice(s.target) and isinstance(tt, ListT) and isinstance(vt, ListT) and vt.elem is not None \
                and tt.elem is not None and not assignable(vt, tt) and not isinstance(s.value, S.ListLit):
            # (a literal's elements were checked one by one, against tt's element type)
            convert = tt.elem == FLOAT and vt.elem == INT
            self.error(s.value.span, f"a slice of a `{tt}` is replaced by a `{tt}`, not a `{vt}`",
                       f"convert the elements: `map(fn(k: int) -> float {{ return float(k) }}, {_place_src(s.value)})`"
                       if convert
                       else f"the elements must be `{tt.elem}`s")
            return
        self.expect(s.value, vt, tt)

    def s_AugAssign(self, s, top):
        tt = self.lvalue(s.target, updated=True)
        if S.is_list_slice(s.target) and not isinstance(tt, ErrorT):
            self.expr(s.value)
            self.error(s.target.span, f"`{s.op}=` cannot update a list slice",
                       "update the elements one by one (`xs[i] += v`), or assign the slice a new list: "
                       "`xs[lo:hi] = …`")
            return
        if isinstance(s.target, S.Name) and s.target.sym is not None and (tt == TENSOR or isinstance(tt, ListT)):
            # Python's `xs += ys` and numpy's `t += v` update in place, so the variable must own its value
            s.target.sym.inplace = True
        elif tt == TENSOR or isinstance(tt, ListT):
            _mark_deep(s.target)              # `q.t += v`: the tensor q.t holds is changed in place
        vt = self.expr(s.value, tt if tt in (FLOAT, INT) else None)
        self.arith_result(s, s.op, tt, vt, s.target, s.value)

    def s_ExprStmt(self, s, top):
        self.expr(s.expr)

    def s_If(self, s, top):
        self.expect(s.cond, self.expr(s.cond, BOOL), BOOL)
        self.block(s.then)
        self.block(s.orelse)

    def s_While(self, s, top):
        # a `break` or `continue` in the condition (in an `if` expression's branch) would
        # leave no loop: it runs before each trip, outside the body (Rust's E0590)
        outer = self.ctx.loops, self.ctx.in_condition
        self.ctx.loops, self.ctx.in_condition = 0, True
        try:
            self.expect(s.cond, self.expr(s.cond, BOOL), BOOL)
        finally:
            self.ctx.loops, self.ctx.in_condition = outer
        self.loop_body(s.body)

    def loop_body(self, body, var=None):
        self.ctx.loops += 1
        self.push()
        if var is not None:
            name, ty, node = var
            if getattr(node, "names", None) is not None:     # for (i, x) in …: each name an item
                node.syms = self.destructure(node, ty)
            else:
                node.sym = self.declare_local(name, ty, "loop", node, node.span)
        for st in body:
            self.stmt(st)
        self.pop()
        self.ctx.loops -= 1

    def s_ForRange(self, s, top):
        for e in (s.start, s.stop):
            t = self.expr(e, INT)
            if not isinstance(t, ErrorT) and t != INT and not isinstance(t, IntLit):
                self.error(e.span, f"a range bound must be an `int`, not `{t}`", "convert with `int(x)`")
        self.loop_body(s.body, (s.var, INT, s))

    def destructure(self, s: S.ForEach, et) -> list:
        """The loop variables of `for (a, b) in xs`: xs's elements are tuples of as many items."""
        n = len(s.names)
        if isinstance(et, TupleT) and len(et.items) == n:
            items = et.items
        else:
            if not isinstance(et, ErrorT):
                self.error(s.iterable.span, f"cannot unpack `{et}` into {n} names",
                           f"the elements must be tuples of {n}: iterate over `enumerate(xs)`, `zip(xs, ys)` "
                           "or `d.items()`")
            items = [ERROR] * n
        return [self.declare_local(name, it, "loop", s, s.span) for name, it in zip(s.names, items)]

    def s_ForEach(self, s, top):
        t = self.expr(s.iterable)
        if isinstance(t, ListT):
            et = t.elem
        elif isinstance(t, DictT):
            et = t.key
        elif isinstance(t, SetT):
            et = t.elem
        elif t == STRING:
            et = STRING
        elif isinstance(t, ErrorT):
            et = ERROR
        else:
            et = self.error(s.iterable.span, f"cannot iterate over `{t}`", "iterate over a list, a dict's keys, a set, or a range `a..b`")
        self.loop_body(s.body, (s.var, et, s))

    def s_Match(self, s, top):
        t = self.expr(s.subject)
        if not isinstance(t, (EnumT, ErrorT)):
            self.error(s.subject.span, f"`match` needs an enum value, not `{t}`")
            t = ERROR
        seen = set()
        for arm in s.arms:
            self.push()
            if "_" in seen:
                self.error(arm.span, "this arm can never run: the `_` arm above matches everything",
                           "move the `_` arm last")
            elif arm.variant in seen:
                self.error(arm.span, f"`{arm.variant}` is already matched above", "remove one of the two arms")
            if arm.variant == "_" and arm.enum is None:
                seen.add("_")
            elif isinstance(t, EnumT):
                if arm.enum is not None and arm.enum != t.name:
                    self.error(arm.span, f"`{arm.enum}.{arm.variant}` is not a variant of `{t.name}`")
                if arm.variant not in t.variants:
                    self.error(arm.span, f"`{t.name}` has no variant `{arm.variant}`", did_you_mean(arm.variant, t.variants))
                else:
                    payload = t.variants[arm.variant]
                    if len(payload) != len(arm.binds):
                        self.error(arm.span, f"`{arm.variant}` carries {len(payload)} value(s), the pattern names {len(arm.binds)}")
                    arm.syms = [self.declare_local(n, pt, "let", arm, arm.span) for n, pt in zip(arm.binds, payload)]
                    seen.add(arm.variant)
            for st in arm.body:
                self.stmt(st)
            self.pop()
        if isinstance(t, EnumT) and "_" not in seen:
            missing = [v for v in t.variants if v not in seen]
            if missing:
                self.error(s.span, f"`match` does not cover {', '.join('`' + m + '`' for m in missing)}",
                           "add the missing arms or a `_ => { ... }` arm")

    def s_Return(self, s, top):
        if self.ctx.node is None:
            self.error(s.span, "`return` outside a function")
            if s.value is not None:
                self.expr(s.value)
            return
        ret = self.ctx.ret
        if s.value is None:
            if ret != UNIT:
                self.error(s.span, f"this function must return {_a(ret)} `{ret}`", "write `return <value>`")
            return
        t = self.expr(s.value, ret)
        if ret == UNIT and not isinstance(t, ErrorT):
            self.error(s.value.span, "this function declares no return type but returns a value",
                       f"declare it: `-> {concrete(t)}`")
            return
        self.expect(s.value, t, ret)

    def s_Break(self, s, top):
        if self.ctx.loops == 0:
            self.jump_outside_loop(s, "break")

    def s_Continue(self, s, top):
        if self.ctx.loops == 0:
            self.jump_outside_loop(s, "continue")

    def jump_outside_loop(self, s, word):
        if self.ctx.in_condition:
            self.error(s.span, f"`{word}` in the condition of a `while` loop", "the condition runs before each trip, "
                       f"outside the loop's body: test in the body and `{word}` there")
        else:
            self.error(s.span, f"`{word}` outside a loop")

    # ------------------------------------------------------------------ lvalues
    def lvalue(self, e, value=None, updated: bool = False) -> Type:
        """Check an assignment target (of `= value`, or updated: of `+=` and the like);
        mark in-place mutation on its root variable."""
        if isinstance(e, S.Name):
            sym = self.lookup(e.id)
            if sym is None:
                # a misspelt variable, or one never declared (a function's name is no likely target)
                from .syntax_hints import undeclared_hint      # the error path only: not at start-up
                hint = (did_you_mean(e.id, set(self.scope.visible_names()) | set(self.env.values))
                        or undeclared_hint(e.id, value, updated))
                e.ty = self.error(e.span, f"`{e.id}` is not defined", hint)
                return e.ty
            e.sym = sym
            self.check_assignable_root(e, sym)
            e.ty = sym.ty
            return sym.ty
        if isinstance(e, (S.Field, S.Index)):
            root = root_name(e)
            if root is None:
                return self.error(e.span, "cannot assign into a temporary value", "assign to a `var` variable or its parts")
            t = self.expr(e, lvalue=True)
            inner = next((p for p in _parts_of(e.obj) if S.is_list_slice(p)), None)
            if inner is not None and not isinstance(t, ErrorT):
                # `xs[1:3][0] = v` would change a copy: a slice is a new list
                return self.error(inner.span, "a list slice is a new list: writing into it would not change the list",
                                  "write the element itself (`xs[lo + i] = v`), or replace the slice: `xs[lo:hi] = ys`")
            if S.through_tuple(e.obj):
                return self.error(e.span, "tuples are immutable, and so are the values in them",
                                  "build a new tuple: `t = (a, t.1)`")
            if isinstance(e, S.Field) and e.target and e.target[0] != "field":
                return self.error(e.span, "only struct fields can be assigned")
            if isinstance(e, S.Index) and isinstance(e.obj.ty, Prim) and e.obj.ty == STRING and not isinstance(t, ErrorT):
                return self.error(e.span, "strings are immutable")
            if root.sym is not None:
                self.check_assignable_root(root, root.sym)
                root.sym.inplace = True
                if not isinstance(e.obj, S.Name):
                    root.sym.deep = True      # `q.t[0] = v`, `xs[i][j] = v`: a part's own value changes
            return t
        if isinstance(e, S.TupleIndex):
            self.expr(e)
            return self.error(e.span, "tuples are immutable", "build a new tuple: `t = (a, t.1)`")
        self.expr(e)
        return self.error(e.span, "cannot assign to this expression", "the left of `=` must be a variable, a field or an element")

    def check_assignable_root(self, name: S.Name, sym: Symbol):
        if sym.kind == "fn":
            self.error(name.span, f"cannot assign to function `{sym.name}`")
        elif sym.kind != "var":
            what = {"let": "a `let` constant", "param": "a parameter", "loop": "a loop variable"}.get(sym.kind, "constant")
            hint = f"declare it with `var {sym.name} = ...`" if sym.kind == "let" else f"copy it into a variable first: `var {sym.name}2 = {sym.name}`"
            self.error(name.span, f"cannot assign to `{sym.name}`: it is {what}", hint)
        elif self.is_capture(sym):
            self.error(name.span, f"cannot assign to `{sym.name}` inside a lambda that captures it",
                       "lambdas capture values, not variables; return the new value instead")
        elif sym.is_global and self.ctx.node is not None:
            self.ctx.assigned_globals.add(sym.py)

    def is_capture(self, sym: Symbol) -> bool:
        if sym.is_global:
            return isinstance(self.ctx.node, S.Lambda)
        return sym.owner is not self.ctx.node

    # ------------------------------------------------------------------ expressions
    def expect(self, e, got: Type, want: Type):
        if isinstance(got, ErrorT) or isinstance(want, ErrorT):
            return
        if got == want:
            return
        if isinstance(got, IntLit) and want in (FLOAT, INT):
            coerce(e, want)
            return
        if _literal_fits(e, got, want):
            return
        hint = None
        if got == INT and want == FLOAT:
            hint = "convert with `float(...)`: an int never silently becomes a float"
        elif got == FLOAT and want == INT:
            hint = "convert with `int(...)`"
        elif str(got) == str(want):
            hint = _same_name_hint(got, want)
        self.error(e.span, f"expected `{want}`, found `{got}`", hint)

    def expr(self, e, expected: Type | None = None, lvalue=False) -> Type:
        t = self._expr(e, expected) if not lvalue else self._expr(e, expected, lvalue=True)
        e.ty = t
        return t

    def e_Num(self, e, expected):
        if isinstance(e.value, int):
            if expected == FLOAT:
                coerce_to_float(e)
                return FLOAT
            return INT_LIT
        return FLOAT

    def e_Str(self, e, expected):
        return STRING

    def e_Bool(self, e, expected):
        return BOOL

    def name_hint(self, name):
        from .syntax_hints import unknown_name_hint        # the error path only: not at start-up
        cands = set(self.scope.visible_names()) | set(self.env.values) | (set(BUILTIN_NAMES) - P.HELPERS)
        return unknown_name_hint(name) or did_you_mean(name, cands)

    def e_Name(self, e, expected):
        sym = self.lookup(e.id)
        if sym is None:
            if e.id in self.env.modules:
                names = sorted(self.env.modules[e.id].values)
                return self.error(e.span, f"`{ModuleT(e.id)}` is not a value",
                                  f"use what it defines: `{e.id}.{names[0] if names else 'name'}`")
            if e.id in BUILTIN_NAMES or e.id in TRANSFORMS:
                return self.builtin_as_value(e)
            if e.id in self.env.structs or e.id in self.env.enums:
                return self.error(e.span, f"`{e.id}` is a type, not a value",
                                  f"build one with `{e.id} {{ ... }}`" if e.id in self.env.structs else f"name a variant: `{e.id}.<variant>`")
            return self.error(e.span, f"`{e.id}` is not defined", self.name_hint(e.id))
        e.sym = sym
        self.note_capture(sym)
        return sym.ty

    def builtin_as_value(self, e):
        prims = P.BY_NAME.get(e.id)
        if prims and len(prims) >= 1 and all(t in (FLOAT,) for t in prims[0].types):
            e.sym = ("prim", prims[0])
            return FnT(prims[0].types, prims[0].ret)
        return self.error(e.span, f"the built-in `{e.id}` can only be called", f"wrap it: `fn(x: float) -> float {{ return {e.id}(x) }}`")

    def note_capture(self, sym):
        # a lambda captures the value of every variable it reads that is not its own,
        # top-level ones included; named functions are referred to, not captured
        if sym.kind == "fn" or sym.owner is self.ctx.node:
            return
        node = self.ctx.node
        # record the capture on every lambda between the use and the symbol's owner
        scope = self.scope
        while scope is not None and scope.owner is not sym.owner:
            lam = scope.owner
            if isinstance(lam, S.Lambda) and sym not in lam.captures:
                lam.captures.append(sym)
            scope = scope.parent
        _ = node

    def e_Unary(self, e, expected):
        if e.op == "!":
            t = self.expr(e.operand, BOOL)
            self.expect(e.operand, t, BOOL)
            return BOOL
        t = self.expr(e.operand, expected if expected in (FLOAT, INT) else None)
        if isinstance(t, ErrorT) or t in (FLOAT, INT, TENSOR) or isinstance(t, IntLit):
            return t
        return self.error(e.span, f"cannot negate a `{t}`")

    def e_Binary(self, e, expected):
        op = e.op
        if op in ("&&", "||"):
            for side in (e.left, e.right):
                self.expect(side, self.expr(side, BOOL), BOOL)
            return BOOL
        numeric_hint = expected if expected in (FLOAT, INT) and op not in ("==", "!=", "<", "<=", ">", ">=") else None
        lt = self.expr(e.left, numeric_hint)
        rt = self.expr(e.right, numeric_hint if op != "**" else None)
        if op in ("==", "!=", "<", "<=", ">", ">="):
            return self.compare(e, lt, rt)
        return self.arith_result(e, op, lt, rt, e.left, e.right)

    def compare(self, e, lt, rt):
        if isinstance(lt, ErrorT) or isinstance(rt, ErrorT):
            return BOOL
        if TENSOR in (lt, rt):
            # elementwise: a bool tensor
            return self.tensor_operands(e, e.op, lt, rt, e.left, e.right, "<" if e.op not in ("==", "!=") else e.op)
        lt, rt = self.unify_numeric(e.left, lt, e.right, rt)
        # an empty literal takes the other side's type: `xs == []`
        if _has_unknown(lt) and not _has_unknown(rt) and assignable(lt, rt):
            lt = e.left.ty = rt
        elif _has_unknown(rt) and not _has_unknown(lt) and assignable(rt, lt):
            rt = e.right.ty = lt
        if lt != rt:
            hint = "convert with `float(...)`" if {lt, rt} == {INT, FLOAT} else None
            self.error(e.span, f"cannot compare `{lt}` with `{rt}`", hint)
        elif e.op not in ("==", "!=") and lt not in (INT, FLOAT, STRING) and not isinstance(lt, IntLit):
            self.error(e.span, f"`{e.op}` needs numbers or strings, not `{lt}`")
        elif isinstance(lt, FnT):
            self.error(e.span, "functions cannot be compared")
        return BOOL

    def unify_numeric(self, le, lt, re, rt):
        if isinstance(lt, IntLit) and isinstance(rt, IntLit):
            return lt, rt
        if isinstance(lt, IntLit) and rt in (FLOAT, INT):
            coerce(le, rt)
            return rt, rt
        if isinstance(rt, IntLit) and lt in (FLOAT, INT):
            coerce(re, lt)
            return lt, lt
        return lt, rt

    def tensor_operands(self, e, op, lt, rt, le, re, _=None):
        """Elementwise between tensors and floats, broadcasting; `@` only on tensors."""
        for side, t in ((le, lt), (re, rt)):
            if isinstance(t, IntLit):
                coerce(side, FLOAT)
            elif t not in (TENSOR, FLOAT):
                return self.error(e.span, f"`{op}` is not defined for `{lt}` and `{rt}`",
                                  "convert with `float(...)`" if t == INT else None)
        if op == "@" and (lt, rt) != (TENSOR, TENSOR):
            return self.error(e.span, f"`@` multiplies two tensors, not `{lt}` and `{rt}`", "use `*` to scale")
        return TENSOR

    def arith_result(self, e, op, lt, rt, le, re):
        if isinstance(lt, ErrorT) or isinstance(rt, ErrorT):
            return ERROR
        if TENSOR in (lt, rt) or op == "@":
            return self.tensor_operands(e, op, lt, rt, le, re)
        if op == "**":
            if lt in (FLOAT,) and (rt == INT or isinstance(rt, IntLit)):
                if isinstance(rt, IntLit):
                    coerce(re, INT)
                return FLOAT
            if isinstance(lt, IntLit) and (rt == FLOAT):
                coerce(le, FLOAT)
                return FLOAT
            if isinstance(lt, IntLit) and isinstance(rt, IntLit):
                return INT_LIT
            lt2, rt2 = self.unify_numeric(le, lt, re, rt)
            if lt2 == rt2 and lt2 in (FLOAT, INT):
                return lt2
            return self.error(e.span, f"cannot raise `{lt}` to `{rt}`", "use float ** float, float ** int or int ** int")
        lt, rt = self.unify_numeric(le, lt, re, rt)
        if isinstance(lt, IntLit) and isinstance(rt, IntLit):
            return INT_LIT
        if lt == rt and lt in (FLOAT, INT):
            return lt
        if op == "+" and lt == rt and (lt == STRING or isinstance(lt, ListT)):
            return lt
        if {lt, rt} == {INT, FLOAT}:
            return self.error(e.span, f"cannot mix `int` and `float` in `{op}`",
                              "convert the int with `float(...)`: an int never silently becomes a float")
        if op == "+" and STRING in (lt, rt):
            return self.error(e.span, f"cannot add `{lt}` and `{rt}`", "convert with `str(...)` first")
        return self.error(e.span, f"`{op}` is not defined for `{lt}` and `{rt}`")

    def e_IfExpr(self, e, expected):
        self.expect(e.cond, self.expr(e.cond, BOOL), BOOL)
        a = self.expr(e.then, expected)
        b = self.expr(e.orelse, expected if expected is not None else (a if not isinstance(a, IntLit) else None))
        if isinstance(a, ErrorT) or isinstance(b, ErrorT):
            return ERROR
        a, b = self.unify_numeric(e.then, a, e.orelse, b)
        if _has_unknown(a) and not _has_unknown(b) and assignable(a, b):      # `if c { [] } else { xs }`
            a = _retyped(e.then, b)
        elif _has_unknown(b) and not _has_unknown(a) and assignable(b, a):
            b = _retyped(e.orelse, a)
        if a != b:
            hint = "convert with `float(...)`" if {a, b} == {INT, FLOAT} else "make both the same type"
            if UNIT in (a, b):
                hint = ("a branch's value is its last expression, and this one's has none (`print(…)` returns "
                        "`()`): end the branch with the value")
            return self.error(e.span, f"the branches of this `if` have different types, `{a}` and `{b}`", hint)
        if a == UNIT:
            return self.error(e.span, "the branches of this `if` have no value", "write an `if` statement")
        return a

    def e_BlockExpr(self, e, expected):
        """A branch's statements in a scope of their own, then its value."""
        if isinstance(self.ctx.node, S.RuleDef):
            self.error(e.span, "a derivative rule's clause is one expression", "compute the parts in a function "
                       "and call it in the clause")
        if isinstance(self.ctx.node, (S.FnDef, S.Lambda)):
            self.ctx.node.blocks = True              # the compiler lowers its body (dsl/blocks.py)
        elif self.ctx.node is None:
            self.top_blocks = True
        self.push()
        for st in e.body:
            self.stmt(st)
        t = self.expr(e.value, expected)
        self.pop()
        return t

    def e_TupleLit(self, e, expected):
        exp = expected.items if isinstance(expected, TupleT) and len(expected.items) == len(e.items) else [None] * len(e.items)
        items = []
        for it, x in zip(e.items, exp):
            t = self.expr(it, x)
            if x is not None:
                self.expect(it, t, x)
                t = x if not isinstance(t, ErrorT) else t
            items.append(concrete(t))
        return TupleT(tuple(items))

    def e_ListLit(self, e, expected):
        want = expected.elem if isinstance(expected, ListT) else None
        if not e.items:
            return expected if isinstance(expected, ListT) else ListT(None)
        types = [self.expr(it, want) for it in e.items]
        if want is None:
            # the element type: float if any element is a float, else the first's
            want = FLOAT if any(t == FLOAT for t in types) and all(t == FLOAT or isinstance(t, IntLit) or isinstance(t, ErrorT) for t in types) else concrete(types[0])
        for it, t in zip(e.items, types):
            self.expect(it, t, want)
        return ListT(want)

    def e_DictLit(self, e, expected):
        kw = expected.key if isinstance(expected, DictT) else None
        vw = expected.value if isinstance(expected, DictT) else None
        if not e.keys:          # `{}` is a dict, never a defaultdict
            return expected if type(expected) is DictT else DictT(None, None)
        kts = [self.expr(k, kw) for k in e.keys]
        vts = [self.expr(v, vw) for v in e.values]
        kw = kw or concrete(kts[0])
        if vw is None:
            vw = FLOAT if any(t == FLOAT for t in vts) and all(t == FLOAT or isinstance(t, IntLit) for t in vts) else concrete(vts[0])
        if not self._hashable(kw):
            self.error(e.keys[0].span, f"`{kw}` cannot be a dict key", "keys are int, string, bool or enum values")
        for k, t in zip(e.keys, kts):
            self.expect(k, t, kw)
        for v, t in zip(e.values, vts):
            self.expect(v, t, vw)
        return DictT(kw, vw)

    def e_StructLit(self, e, expected):
        st = self.env.structs.get(e.name)
        if st is None:
            for _, v in e.fields:
                self.expr(v)
            return self.error(e.span, f"unknown struct `{e.name}`", did_you_mean(e.name, self.env.structs))
        given = set()
        for name, v in e.fields:
            if name in given:
                self.error(v.span, f"field `{name}` is given twice")
            given.add(name)
            if name not in st.fields:
                self.expr(v)
                self.error(v.span, f"`{e.name}` has no field `{name}`", did_you_mean(name, st.fields))
                continue
            self.expect(v, self.expr(v, st.fields[name]), st.fields[name])
        missing = [f for f in st.fields if f not in given]
        if missing:
            self.error(e.span, f"missing field{'s' if len(missing) > 1 else ''} {', '.join('`' + m + '`' for m in missing)} in `{e.name}`",
                       f"`{e.name}` has fields {', '.join(st.fields)}")
        return st

    def e_Lambda(self, e, expected):
        ptypes = tuple(self.resolve_type(p.annot, sizes_ok=True) for p in e.params)
        ret = self.resolve_type(e.ret, sizes_ok=True)
        e.captures = []                      # checking again (derived code) starts afresh
        self.function_body(e, e.params, ptypes, ret, e.body)
        # a capture of a capture: the enclosing lambda captures it too
        for sym in e.captures:
            self.note_capture(sym)
        return FnT(ptypes, ret)

    def e_TupleIndex(self, e, expected):
        t = self.expr(e.obj)
        if isinstance(t, ErrorT):
            return ERROR
        if not isinstance(t, TupleT):
            return self.error(e.span, f"`.{e.index}` needs a tuple, not `{t}`")
        if e.index >= len(t.items):
            return self.error(e.span, f"tuple index {e.index} is out of range for `{t}`", f"the tuple has {len(t.items)} items")
        return t.items[e.index]

    def e_Field(self, e, expected, lvalue=False):
        if isinstance(e.obj, S.Name) and self.lookup(e.obj.id) is None:
            if e.obj.id in self.env.enums:
                et = self.env.enums[e.obj.id]
                if e.name not in et.variants:
                    return self.error(e.span, f"`{et.name}` has no variant `{e.name}`", did_you_mean(e.name, et.variants))
                e.target = ("variant", et)
                if et.variants[e.name]:
                    return FnT(et.variants[e.name], et)
                return et
            if e.obj.id in self.env.modules:
                return self.module_member(e)
        et = self.module_enum(e.obj)
        if et is not None:                                              # a module's enum: geom.Color.Red
            if e.name not in et.variants:
                return self.error(e.span, f"`{et.name}` has no variant `{e.name}`", did_you_mean(e.name, et.variants))
            e.target = ("variant", et)
            return FnT(et.variants[e.name], et) if et.variants[e.name] else et
        t = self.expr(e.obj)
        if isinstance(t, ErrorT):
            return ERROR
        if isinstance(t, StructT):
            if e.name not in t.fields:
                return self.error(e.span, f"`{t.name}` has no field `{e.name}`", did_you_mean(e.name, t.fields))
            e.target = ("field",)
            return t.fields[e.name]
        if isinstance(t, (ListT, DictT, SetT)):
            methods = LIST_METHODS if isinstance(t, ListT) else DICT_METHODS if isinstance(t, DictT) else SET_METHODS
            hint = did_you_mean(e.name, methods) or f"call one of its methods: {', '.join(sorted(methods))}"
            return self.error(e.span, f"`{e.name}` is not a method of `{t}`" if e.name not in methods else f"call the method: `.{e.name}(...)`", hint)
        return self.error(e.span, f"`{t}` has no field `{e.name}`",
                          "tuples use `.0`, `.1`, …" if isinstance(t, TupleT) else None)

    def module_enum(self, e):
        """The enum `geom.Color` names, when e is that (module geom not shadowed)."""
        if isinstance(e, S.Field) and isinstance(e.obj, S.Name) and e.obj.id in self.env.modules \
                and self.lookup(e.obj.id) is None:
            return self.env.enums.get(f"{e.obj.id}.{e.name}")
        return None

    def module_member(self, e):
        mod = self.env.modules[e.obj.id]
        sym = mod.values.get(e.name)
        if sym is None:
            return self.error(e.span, f"module `{e.obj.id}` has no `{e.name}`", did_you_mean(e.name, mod.values))
        e.target = ("module", e.obj.id, sym)
        return sym.ty

    def e_Index(self, e, expected, lvalue=False):
        t = self.expr(e.obj)
        if isinstance(t, ErrorT):
            if not isinstance(e.index, (S.Slice, S.Subscripts)):
                self.expr(e.index)
            return ERROR
        if t == TENSOR:
            parts = e.index.parts if isinstance(e.index, S.Subscripts) else [e.index]
            for p in parts:
                self.subscript(p)
            e.index.ty = INDEX
            return TENSOR
        if isinstance(e.index, S.Slice) and isinstance(t, ListT):
            # xs[lo:hi]: a new list, bounds as Python's (negative from the end, clamped);
            # as a place, `xs[lo:hi] = ys`, the elements it reads are replaced by ys's
            self.subscript(e.index)
            return t
        if isinstance(e.index, S.Slice) and lvalue:
            # `s[0:2] = …` of a string, a dict, …: only lists and tensors have slices to replace
            hint = "strings are immutable: build a new one, `s = s + …`" if t == STRING else \
                "write one entry at a time: `d[k] = v`" if isinstance(t, DictT) else \
                "only a list's or a tensor's slice can be assigned"
            return self.error(e.index.span, f"a `{t}` has no slices to assign to", hint)
        if isinstance(e.index, (S.Slice, S.Subscripts)):
            return self.error(e.index.span, f"slices and `a[i, j]` index tensors and lists, not `{t}`"
                              if isinstance(e.index, S.Slice) else f"`a[i, j]` indexes tensors, not `{t}`",
                              "index one element: `xs[i]`")
        if isinstance(t, ListT):
            it = self.expr(e.index, INT)
            if not isinstance(it, ErrorT) and it != INT and not isinstance(it, IntLit):
                self.error(e.index.span, f"a list index must be an `int`, not `{it}`", "convert with `int(...)`" if it == FLOAT else None)
            return t.elem
        if isinstance(t, DictT):
            self.expect(e.index, self.expr(e.index, t.key), t.key)
            return t.value
        if t == STRING:
            self.expect(e.index, self.expr(e.index, INT), INT)
            return STRING
        self.expr(e.index)
        return self.error(e.span, f"cannot index a `{t}`", "tuples use `.0`, `.1`, …" if isinstance(t, TupleT) else None)

    def subscript(self, p):
        """One subscript of a tensor index: an int or a slice `lo:hi`."""
        if isinstance(p, S.Slice):
            for bound in (p.lo, p.hi):
                if bound is not None:
                    self.expect(bound, self.expr(bound, INT), INT)
            p.ty = INDEX
            return
        self.expect(p, self.expr(p, INT), INT)

    def e_Slice(self, e, expected):
        return self.error(e.span, "a slice `lo:hi` belongs inside a tensor index: `a[1:3]`")

    def e_Subscripts(self, e, expected):
        return self.error(e.span, "several subscripts belong inside a tensor index: `a[i, j]`")

    # -- calls
    def e_Call(self, e, expected):
        f = e.func
        if isinstance(f, S.Name) and getattr(e, "primitive", False) and f.id in P.CALLABLE:
            return self.prim_call(e, expected)        # from a derivative rule: never shadowed
        if isinstance(f, S.Name) and self.lookup(f.id) is None:
            if f.id in TRANSFORMS:
                return self.transform_call(e, expected)
            if f.id in G.NAMES:
                return self.generic_call(e, expected)
            if f.id == "set":
                return self.set_call(e, expected)
            if f.id == "defaultdict":
                return self.defaultdict_call(e, expected)
            if f.id in P.SPECIAL_BUILTINS:
                return self.special_call(e, expected)
            if f.id in P.CALLABLE:
                return self.prim_call(e, expected)
        if isinstance(f, S.Field) and not (isinstance(f.obj, S.Name) and self.lookup(f.obj.id) is None
                                           and (f.obj.id in self.env.enums or f.obj.id in self.env.modules)) \
                and self.module_enum(f.obj) is None:
            ot = self.expr(f.obj)
            if isinstance(ot, (ListT, DictT, SetT)):
                return self.method_call(e, ot)
            if isinstance(ot, ErrorT):
                for a in e.args:
                    self.expr(a)
                return ERROR
        ft = self.expr(f)
        if isinstance(ft, ErrorT):
            for a in e.args:
                self.expr(a)
            return ERROR
        if isinstance(f, S.Field) and f.target and f.target[0] == "variant":
            e.target = ("variant", f.target[1], f.name)
        elif isinstance(f, S.Name) and isinstance(f.sym, Symbol) and f.sym.kind == "fn":
            e.target = ("fn", f.sym.decl)
        elif isinstance(f, S.Field) and f.target and f.target[0] == "module":
            e.target = ("fn", f.target[2].decl) if f.target[2].kind == "fn" else ("value", None)
        else:
            e.target = ("value", None)
        if not isinstance(ft, FnT):
            for a in e.args:
                self.expr(a)
            return self.error(f.span, f"`{ft}` is not a function")
        self.check_args(e, ft.params, self.callee_name(f))
        return ft.ret

    def callee_name(self, f):
        if isinstance(f, S.Name):
            return f"`{f.id}`"
        if isinstance(f, S.Field):
            return f"`{f.name}`"
        return "this function"

    def check_args(self, e, ptypes, what):
        if len(e.args) != len(ptypes):
            self.error(e.span, f"{what} takes {len(ptypes)} argument{'s' if len(ptypes) != 1 else ''}, {len(e.args)} given")
            for a in e.args:
                self.expr(a)
            return
        for a, pt in zip(e.args, ptypes):
            self.expect(a, self.expr(a, pt), pt)

    def prim_call(self, e, expected):
        name = e.func.id
        arities = sorted({len(c.types) for c in P.BY_NAME[name]})
        cands = [c for c in P.BY_NAME[name] if len(c.types) == len(e.args)]
        if not cands:
            for a in e.args:
                self.expr(a)
            arity = " or ".join(map(str, arities))
            return self.error(e.span, f"`{name}` takes {arity} argument{'s' if arities != [1] else ''}, {len(e.args)} given")
        ts = [self.expr(a, _list_literal_type(a, k, cands)) for k, a in enumerate(e.args)]
        if any(isinstance(t, ErrorT) for t in ts):
            return ERROR
        # all int (or int literal) arguments pick the int version, if there is one
        for prim in cands:
            if all(t == pt or (isinstance(t, IntLit) and pt in (INT, FLOAT)) for t, pt in zip(ts, prim.types)):
                if prim.ret == INT and any(t == FLOAT for t in ts):
                    continue
                if all(isinstance(t, IntLit) for t in ts) and prim.ret == FLOAT and any(c.ret == INT for c in cands):
                    continue
                for a, t, pt in zip(e.args, ts, prim.types):
                    if isinstance(t, IntLit):
                        coerce(a, pt)
                e.target = ("prim", prim)
                e.func.ty = FnT(prim.types, prim.ret)
                return prim.ret
        sig = " or ".join("(" + ", ".join(map(str, c.types)) + ")" for c in cands)
        given = "(" + ", ".join(map(str, ts)) + ")"
        hint = "convert with `float(...)`: an int never silently becomes a float" if INT in ts else f"`{name}` takes {sig}"
        return self.error(e.span, f"`{name}` cannot take {given}", hint)

    def special_call(self, e, expected):
        name = e.func.id
        e.target = ("builtin", name)
        # x itself: the type expected of the call is x's (`zeros_like(defaultdict(0.0))`)
        hint = expected if name in ("stop_gradient", "zeros_like") and len(e.args) == 1 else None
        ts = [self.expr(a, hint) for a in e.args]
        n = len(ts)
        if any(isinstance(t, ErrorT) for t in ts):
            return ERROR if name != "print" else UNIT

        def arity(k):
            if n not in (k if isinstance(k, tuple) else (k,)):
                self.error(e.span, f"`{name}` takes {k if not isinstance(k, tuple) else ' or '.join(map(str, k))} argument(s), {n} given")
                return False
            return True
        if name == "print":
            return UNIT
        if name in ("stop_gradient", "zeros_like"):
            if not arity(1):
                return ERROR
            if isinstance(ts[0], IntLit):
                coerce(e.args[0], INT)
            return concrete(ts[0])
        if name == "sublist":
            # xs[lo:hi] of a list, as a new list (the cotangent of `xs + ys` is cut with it)
            if not arity(3):
                return ERROR
            if not isinstance(ts[0], ListT):
                return self.error(e.args[0].span, f"`sublist` takes a list, not `{ts[0]}`")
            for a, t in zip(e.args[1:], ts[1:]):
                self.expect(a, t, INT)
            return ts[0]
        if name == "splice":
            # xs[lo:hi] = ys in derived code: xs with elements lo … hi-1 replaced by ys's
            if not arity(4):
                return ERROR
            if not isinstance(ts[0], ListT):
                return self.error(e.args[0].span, f"`splice` takes a list, not `{ts[0]}`")
            for a, t in zip(e.args[1:3], ts[1:3]):
                self.expect(a, t, INT)
            if _has_unknown(ts[3]) and assignable(ts[3], ts[0]):      # `splice(xs, 0, 1, [])`
                e.args[3].ty = ts[3] = ts[0]
            self.expect(e.args[3], ts[3], ts[0])
            return ts[0]
        if name == "source":
            if arity(1) and not isinstance(ts[0], FnT):
                self.error(e.args[0].span, f"`source` shows a function's DP source, not a `{ts[0]}`")
            return STRING
        if name == "accumulate":
            if not arity(2):
                return ERROR
            if ts[0] != ts[1]:
                return self.error(e.span, f"`accumulate` adds two values of one type, not `{ts[0]}` and `{ts[1]}`")
            return ts[0]
        if name == "len":
            if not arity(1):
                return INT
            if not isinstance(ts[0], (ListT, DictT, SetT)) and ts[0] not in (STRING, TENSOR):
                self.error(e.args[0].span, f"`len` needs a list, dict, set, string or tensor, not `{ts[0]}`")
            return INT
        if name == "range":
            if not arity((1, 2)):
                return ListT(INT)
            for a, t in zip(e.args, ts):
                self.expect(a, t, INT)
            return ListT(INT)
        if name == "float" and n == 1 and ts[0] == TENSOR:
            # a one-element tensor as a float: the primitive `item`, differentiable
            prim = P.BY_NAME["item"][0]
            e.target = ("prim", prim)
            return FLOAT
        if name == "float":
            if arity(1) and ts[0] not in (INT, FLOAT) and not isinstance(ts[0], IntLit):
                self.error(e.args[0].span, f"`float` converts an int, not `{ts[0]}`")
            elif n == 1 and isinstance(ts[0], IntLit):
                coerce(e.args[0], INT)
            return FLOAT
        if name == "int":
            if arity(1) and ts[0] not in (INT, FLOAT) and not isinstance(ts[0], IntLit):
                self.error(e.args[0].span, f"`int` converts a float, not `{ts[0]}`")
            elif n == 1 and isinstance(ts[0], IntLit):
                coerce(e.args[0], INT)
            return INT
        if name == "str":
            arity(1)
            if n == 1 and isinstance(ts[0], IntLit):
                coerce(e.args[0], INT)
            return STRING
        raise AssertionError(name)

    def method_call(self, e, ot):
        f = e.func
        name = f.name
        methods = LIST_METHODS if isinstance(ot, ListT) else DICT_METHODS if isinstance(ot, DictT) else SET_METHODS
        f.ty = ot
        if name not in methods:
            for a in e.args:
                self.expr(a)
            return self.error(f.span, f"`{ot}` has no method `{name}`", did_you_mean(name, methods) or f"its methods: {', '.join(sorted(methods))}")
        e.target = ("method", name)
        if name in MUTATING_METHODS:
            root = root_name(f.obj)
            if root is None:
                self.error(f.obj.span, f"`.{name}` changes its list, so it needs a variable", "store the value in a `var` first")
            elif S.through_tuple(f.obj):
                self.error(f.span, "tuples are immutable, and so are the values in them", "build a new tuple: `t = (a, t.1)`")
            elif root.sym is not None:
                self.check_assignable_root(root, root.sym)
                root.sym.inplace = True
                if not isinstance(f.obj, S.Name):
                    root.sym.deep = True      # `xs[i].append(v)`
        if isinstance(ot, SetT):
            sig = {"add": ((ot.elem,), UNIT), "remove": ((ot.elem,), UNIT), "contains": ((ot.elem,), BOOL),
                   "union": ((ot,), ot), "intersection": ((ot,), ot), "difference": ((ot,), ot),
                   "to_list": ((), ListT(ot.elem))}[name]
        elif isinstance(ot, ListT):
            sig = {"append": ((ot.elem,), UNIT), "pop": ((), ot.elem), "insert": ((INT, ot.elem), UNIT),
                   "extend": ((ot,), UNIT), "reverse": ((), UNIT)}[name]
        else:
            sig = {"keys": ((), ListT(ot.key)), "values": ((), ListT(ot.value)),
                   "items": ((), ListT(TupleT((ot.key, ot.value)))), "contains": ((ot.key,), BOOL),
                   "get": ((ot.key, ot.value), ot.value), "remove": ((ot.key,), UNIT)}[name]
        self.check_args(e, sig[0], f"`.{name}`")
        return sig[1]

    def generic_call(self, e, expected):
        """`map(f, xs)`, `filter(keep, xs)`, `zip(xs, ys)`, `enumerate(xs)`: typed here, and
        bound to the DP function that is the template's instance at these types."""
        name, args = e.func.id, e.args
        want = {"map": 2, "filter": 2, "zip": 2, "enumerate": 1}[name]
        if len(args) != want:
            for a in args:
                self.expr(a)
            return self.error(e.span, f"`{name}` takes {want} argument{'s' if want > 1 else ''}, {len(args)} given",
                              f"`{G.DOCS[name][0]}`")
        if name in ("map", "filter"):
            ft = self.expr(args[0])
            if isinstance(ft, ErrorT):
                self.expr(args[1])
                return ERROR
            if not isinstance(ft, FnT) or len(ft.params) != 1 or (name == "filter" and ft.ret != BOOL):
                self.expr(args[1])
                what = "a function of one element returning `bool`" if name == "filter" else "a function of one element"
                return self.error(args[0].span, f"`{name}` takes {what}, not `{ft}`", f"`{G.DOCS[name][0]}`")
            a, b = ft.params[0], (ft.ret if name == "map" else None)
            lt = self.expr(args[1], ListT(a))
            self.expect(args[1], lt, ListT(a))
            if isinstance(lt, ErrorT) or lt != ListT(a):
                return ERROR
            if name == "map" and ft.ret == UNIT:
                return self.error(args[0].span, "the function given to `map` returns no value", "use a `for` loop")
        else:
            ts = []
            for x in args:
                t = concrete(self.expr(x))
                if isinstance(t, ListT) and t.elem is None:
                    t = self.error(x.span, "cannot tell the type of an empty literal", "annotate it in a `let` first")
                elif not isinstance(t, (ListT, ErrorT)):
                    t = self.error(x.span, f"`{name}` takes lists, not `{t}`", f"`{G.DOCS[name][0]}`")
                ts.append(t)
            if any(isinstance(t, ErrorT) for t in ts):
                return ERROR
            a, b = ts[0].elem, (ts[1].elem if name == "zip" else None)
        fn = self.instance(name, a, b)
        e.func.sym, e.func.ty = fn.sym, fn.ty
        e.target = ("fn", fn)
        return fn.ty.ret

    def set_call(self, e, expected):
        """`set(xs)`: the distinct elements of a list, in the order they first appear."""
        e.target = ("builtin", "set")
        if len(e.args) != 1:
            for a in e.args:
                self.expr(a)
            return self.error(e.span, f"`set` takes 1 argument, {len(e.args)} given", "`set(xs)` of a list `xs`")
        want = ListT(expected.elem) if isinstance(expected, SetT) else None
        t = concrete(self.expr(e.args[0], want))
        if isinstance(t, ErrorT):
            return ERROR
        if not isinstance(t, ListT):
            return self.error(e.args[0].span, f"`set` takes a list, not `{t}`", "`set([1, 2])`, `set(xs)`")
        if t.elem is None:
            if want is not None:
                e.args[0].ty = want
                return expected
            return SetT(None)
        if not self._hashable(t.elem):
            return self.error(e.args[0].span, f"`{t.elem}` cannot be a set's element",
                              "elements are int, string, bool or enum values, or tuples of them")
        return SetT(t.elem)

    def defaultdict_call(self, e, expected):
        """`defaultdict(v)`, where the type says what it holds: `var d: defaultdict[string,
        float] = defaultdict(0.0)`. The default is a constant, so it carries no derivative."""
        e.target = ("builtin", "defaultdict")
        if len(e.args) != 1:
            for a in e.args:
                self.expr(a)
            return self.error(e.span, f"`defaultdict` takes 1 argument, {len(e.args)} given",
                              "`defaultdict(0.0)`: the value a missing key reads as")
        if not isinstance(expected, DefaultDictT):
            self.expr(e.args[0])
            return self.error(e.span, "cannot tell the keys of this `defaultdict`",
                              "give its type: `var d: defaultdict[string, float] = defaultdict(0.0)`")
        self.expect(e.args[0], self.expr(e.args[0], expected.value), expected.value)
        if not _constant(e.args[0]):
            return self.error(e.args[0].span, "a `defaultdict`'s default is a constant",
                              "write it with literals (`0.0`, `[]`, `(0, \"\")`); set a key to a computed value with `d[k] = v`")
        return expected

    def instance(self, name, a, b) -> S.FnDef:
        """The generic function's instance at element types a (and b): found in the
        environment, or made, checked and kept for this program to compile."""
        ty = G.instance_type(name, a, b)
        base = fn_name = G.instance_name(name, a, b)
        k = 1
        while fn_name in self.env.values:
            sym = self.env.values[fn_name]
            if sym.ty == ty and isinstance(sym.decl, S.FnDef) and sym.decl.instance_of == name:
                return sym.decl
            k += 1
            fn_name = f"{base}_{k}"
        from .parser import parse
        text = G.instance_source(name, fn_name, str(a), str(b) if b is not None else None)
        fn = parse(text, f"<{name}>").body[0]
        fn.instance_of = name
        self._declare_fn(fn)
        errors = len(self.errors)
        self.s_FnDef(fn, top=True)
        if len(self.errors) > errors:       # a type the template cannot spell: a bug in DP
            raise AssertionError(f"the instance of `{name}` does not check:\n{text}")
        self.instances.append(fn)
        return fn

    def transform_call(self, e, expected):
        if self.transform_typer is None:
            for a in e.args:
                self.expr(a)
            return self.error(e.span, f"`{e.func.id}` is not available here")
        return self.transform_typer(self, e, expected)


# ---------------------------------------------------------------------- helpers

def _parts_of(e):
    """e and the values it is a part of: `p.xs[1:3]`, then `p.xs`, then `p`."""
    while isinstance(e, (S.Field, S.Index, S.TupleIndex)):
        yield e
        e = e.obj


def _place_src(e) -> str:
    from .printer import expr_src
    return expr_src(e)


def _mark_deep(e) -> None:
    root = root_name(e)
    if root is not None and root.sym is not None and not isinstance(root.sym, tuple):
        root.sym.deep = True


def root_name(e) -> S.Name | None:
    while isinstance(e, (S.Field, S.Index, S.TupleIndex)):
        e = e.obj
    return e if isinstance(e, S.Name) else None


def coerce(e, t: Type):
    """Retype an int-literal expression as `t` (float or int); any other expression
    keeps its type (retyping a float `x` in `2.0 ** x` made its derivative vanish)."""
    if not isinstance(e.ty, IntLit):
        return
    e.ty = t
    if isinstance(e, S.Num):
        if t == FLOAT:
            coerce_to_float(e)
        else:
            e.value = int(e.value)
    elif isinstance(e, S.Unary):
        coerce(e.operand, t)
    elif isinstance(e, S.Binary):
        coerce(e.left, t)
        if e.op != "**":
            coerce(e.right, t)
        else:
            coerce(e.right, INT)
    elif isinstance(e, S.IfExpr):               # `2.0 * (if c { 1 } else { 2 })`
        coerce(e.then, t)
        coerce(e.orelse, t)
    elif isinstance(e, S.BlockExpr):            # `if c { let k = 3; 1 } else { 2.0 }`
        coerce(e.value, t)


def _retyped(e, t: Type) -> Type:
    """A branch typed t (`[]` as the other branch's `list[float]`), a block's value too."""
    e.ty = t
    while isinstance(e, S.BlockExpr):
        e = e.value
        e.ty = t
    return t


def coerce_to_float(e: S.Num) -> None:
    """An int literal read as a float: one past the largest float is an error at it."""
    try:
        e.value = float(e.value)
    except OverflowError:
        raise DPError(Diagnostic("type error", "this integer is too large for a float", e.span,
                                 "a float is at most about 1.8e308; write `inf` for infinity")) from None


def _literal_fits(e, got, want) -> bool:
    """A list/dict/tuple literal of int literals fits a float container it is checked against."""
    return False


def _contains_itself(st: StructT) -> bool:
    """Whether a struct holds itself through fields and tuples (not lists, dicts or
    enums, which can be empty), so that no finite value of it exists."""
    stack, seen = list(st.fields.values()), set()
    while stack:
        t = stack.pop()
        if t is st:
            return True
        if isinstance(t, TupleT):
            stack.extend(t.items)
        elif isinstance(t, StructT) and t not in seen:
            seen.add(t)
            stack.extend(t.fields.values())
    return False


def _a(t) -> str:
    """The article for a type's name: "an `int`", "a `float`"."""
    return "an" if str(t)[:1] in "aeiou" else "a"


def _list_literal_type(arg, k, cands):
    """The list type a list literal argument is meant to have (`tensor([[1, 2], [3, 4]])`
    is a list[list[float]]): the candidate parameter type of the literal's depth."""
    if not isinstance(arg, S.ListLit):
        return None
    depth, e = 0, arg
    while isinstance(e, S.ListLit):
        depth += 1
        e = e.items[0] if e.items else None
    if isinstance(e, (S.Str, S.Bool)):
        return None                               # `sort(["b", "a"])`: not a list of numbers
    if isinstance(e, S.Num) and isinstance(e.value, int) and any(_depth_of(c.types[k]) == (depth, INT) for c in cands):
        return None                               # `sum([1, 2])`: the int version takes it
    for c in cands:
        t, d = c.types[k], 0
        while isinstance(t, ListT):
            t, d = t.elem, d + 1
        if d == depth and t == FLOAT:
            return c.types[k]
    return None


def _constant(e) -> bool:
    """Whether e is made of literals alone (and enum variants): it reads no variable."""
    if isinstance(e, (S.Num, S.Str, S.Bool)):
        return True
    if isinstance(e, S.Field):
        return bool(e.target) and e.target[0] == "variant"
    if isinstance(e, S.Call) and e.target and e.target[0] in ("variant", "builtin") and \
            (e.target[0] == "variant" or e.target[1] in ("set", "defaultdict")):
        return all(_constant(a) for a in e.args)
    if isinstance(e, (S.Unary, S.ListLit, S.TupleLit, S.DictLit, S.StructLit)):
        return all(_constant(c) for c in S.subexpressions(e))
    return False


def _depth_of(t) -> tuple:
    """(how many lists deep, the element type inside): list[list[float]] gives (2, float)."""
    d = 0
    while isinstance(t, ListT):
        t, d = t.elem, d + 1
    return d, t


def _has_unknown(t) -> bool:
    if isinstance(t, ListT):
        return t.elem is None or _has_unknown(t.elem)
    if isinstance(t, DictT):
        return t.key is None or _has_unknown(t.value)
    if isinstance(t, TupleT):
        return any(_has_unknown(x) for x in t.items)
    if isinstance(t, SetT):
        return t.elem is None
    return False


def always_returns(body) -> bool:
    for s in body:
        if isinstance(s, S.Return):
            return True
        if isinstance(s, S.If) and always_returns(s.then) and always_returns(s.orelse):
            return True
        if isinstance(s, S.Match) and s.arms and all(always_returns(a.body) for a in s.arms):
            return True
        if isinstance(s, S.While) and isinstance(s.cond, S.Bool) and s.cond.value and not _breaks(s.body):
            return True
    return False


def _breaks(body) -> bool:
    for s in body:
        if isinstance(s, S.Break):
            return True
        if isinstance(s, S.If) and (_breaks(s.then) or _breaks(s.orelse)):
            return True
        if isinstance(s, S.Match) and any(_breaks(a.body) for a in s.arms):
            return True
    return False


def _same_name_hint(got, want) -> str:
    """Two types that print alike: a struct or enum and its redefinition."""
    def where(t):
        d = getattr(t, "decl", None)
        return f" (defined at {d.span})" if d is not None and getattr(d, "span", None) is not None else ""
    if isinstance(got, (StructT, EnumT)) and isinstance(want, (StructT, EnumT)):
        return (f"two types are named `{want}`: the one expected{where(want)} and an older one{where(got)} this "
                "value was made with; a struct or enum redefined is a new type, and values made before keep the old one")
    return ("two different types print alike here: a struct or enum in them was redefined, and values made "
            "before keep the old one")


def check(prog: S.Program, env: GlobalEnv, transform_typer=None) -> GlobalEnv:
    """Check prog against a copy of env; return the extended env, or raise DPError.
    env itself is left untouched, so a failed REPL input loses nothing."""
    work = env.copy()
    try:
        Checker(work, transform_typer).check_program(prog)
    except RecursionError:
        raise DPError(Diagnostic("syntax error", "this program is nested too deeply", prog.span,
                                 "split long expressions into several statements")) from None
    return work


def tensor_sizes(t) -> list:
    """The sizes written in a tensor type: `tensor[n, 3]` gives the TypeExprs n and 3."""
    if t is None or t.name != "tensor":
        return []
    return list(t.args)
