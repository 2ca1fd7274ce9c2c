"""Checked DP syntax → Python `ast` → code objects.

Each DP function becomes one Python function; a DP statement becomes the Python
statement a person would write for it, so running DP costs about what running
hand-written Python costs. Every Python node carries its DP span as its position,
so a Python exception's location *is* the DP location (see errors.py).

Value semantics: a variable mutated in place (`xs[i] = …`, `p.x = …`, `xs.append`)
owns its value. It copies a value it is given unless the value is fresh (a literal
or a builtin's result), and a read of it that escapes (bound, passed, stored,
returned, captured) is copied. Variables never mutated in place share freely: a
rebinding (`p = step(p)`) cannot be seen through another name. A DP function's
parameters are read-only, so a caller lends it a local value without a copy, and
the callee copies whatever part of a parameter escapes; a for-each loop over a list
its body does not change iterates over it directly, and its variable is lent alike."""
from __future__ import annotations

import ast as py
import copy
import functools

from dp.dsl import blocks
from dp.dsl import primitives as P
from dp.dsl import syntax as S
from dp.dsl.diagnostics import Diagnostic, DPError
from dp.dsl.span import NOWHERE, Span
from dp.dsl.symbols import Symbol, field_attr
from dp.dsl.types import (FLOAT, INT, STRING, TENSOR, DefaultDictT, DictT, EnumT, FnT, IntLit, ListT, SetT, StructT,
                       TupleT, Prim)

from .meter import priced_name
from .runtime import Runtime, prim_py_name

AGGREGATE = (ListT, DictT, SetT, StructT, TupleT)


def _pos(node: py.AST, span: Span) -> py.AST:
    node.lineno, node.col_offset = span.line, span.col - 1
    node.end_lineno, node.end_col_offset = span.end_line, span.end_col - 1
    return node


def _load(name: str) -> py.Name:
    return py.Name(id=name, ctx=py.Load())


def _store(name: str) -> py.Name:
    return py.Name(id=name, ctx=py.Store())


def _nan_checked(value, name: str, ty, params: list[str]):
    """A gradient's result, checked for nan: a float (or a tuple of floats) inline, as
    `r if r == r else …` (nan is the only value not equal to itself), anything else by
    rt·gradient_checked. A nan goes to rt·nan_gradient with the arguments."""
    r = _store("rt·r")
    args = py.Tuple(elts=[_load(p) for p in params], ctx=py.Load())
    again = _call(_load("rt·nan_gradient"), py.Constant(name), _load("rt·r"), args)
    floats = [ty] if ty == FLOAT else list(ty.items) if isinstance(ty, TupleT) else None
    if floats is None or any(t != FLOAT for t in floats):
        return _call(_load("rt·gradient_checked"), py.Constant(name), value, args)
    parts = [_load("rt·r")] if ty == FLOAT else [py.Subscript(value=_load("rt·r"), slice=py.Constant(i), ctx=py.Load())
                                                for i in range(len(floats))]
    same = [py.Compare(left=p, ops=[py.Eq()], comparators=[p]) for p in parts]
    test = same[0] if len(same) == 1 else py.BoolOp(op=py.And(), values=same)
    first = py.NamedExpr(target=r, value=value)
    return py.IfExp(test=py.BoolOp(op=py.And(), values=[py.Compare(left=first, ops=[py.IsNot()],
                                                                   comparators=[py.Constant(None)]), test]),
                    body=_load("rt·r"), orelse=again)


def _domain_guard(e, value, compile_expr) -> py.If | None:
    """A call whose value is unused, of a primitive that can fail only outside its
    domain (derived code keeps `log(x1)` for the error it may raise), as the test
    `if not (x1 > 0.0): log(x1)`: a comparison in place of a call. Its arguments are
    names or literals, so the test reads them once more at no cost."""
    if isinstance(e, S.Call) and e.target and e.target[0] == "prim":
        prim, args = e.target[1], e.args
    elif isinstance(e, S.Binary) and e.left.ty == FLOAT and e.right.ty == FLOAT:
        prim, args = next((p for p in P.BY_NAME.get(e.op, ()) if p.types == (FLOAT, FLOAT)), None), (e.left, e.right)
    else:
        return None
    if prim is None or not prim.total_in_domain or not all(isinstance(a, (S.Name, S.Num)) for a in args):
        return None
    holds = _domain_py(prim.domain)
    by_param = {name: compile_expr(a) for name, a in zip(prim.params, args)}
    test = _Substitute(by_param).visit(copy.deepcopy(holds))
    return py.If(test=py.UnaryOp(op=py.Not(), operand=test), body=[py.Expr(value=value)], orelse=[])


@functools.lru_cache(maxsize=None)
def _domain_py(domain: str) -> py.expr:
    """A primitive's domain, DP text of comparisons joined by && and ||, as Python
    (the caller copies it)."""
    return py.parse(domain.replace("&&", " and ").replace("||", " or "), mode="eval").body


class _Substitute(py.NodeTransformer):
    """A domain's Python with its parameters replaced by the arguments (in place: it is
    given a copy)."""

    def __init__(self, by_param):
        self.by_param = by_param

    def visit_Name(self, node):
        return self.by_param[node.id]


def _nests(t) -> bool:
    """Whether a value of type t holds containers (its copy is not one C call)."""
    inner = (t.elem,) if isinstance(t, ListT) else (t.value,) if isinstance(t, DictT) else \
        tuple(t.items) if isinstance(t, TupleT) else tuple(t.fields.values()) if isinstance(t, StructT) else ()
    return any(isinstance(x, (ListT, DictT, TupleT, StructT)) for x in inner)


def _call(f: py.expr, *args: py.expr) -> py.Call:
    return py.Call(func=f, args=list(args), keywords=[])


_PY_METHODS = {"append", "extend", "reverse", "get"}       # called as Python's own list and dict methods
_BINOPS = {"+": py.Add, "-": py.Sub, "*": py.Mult, "/": py.Div, "**": py.Pow, "%": py.Mod, "@": py.MatMult}
_CMPOPS = {"==": py.Eq, "!=": py.NotEq, "<": py.Lt, "<=": py.LtE, ">": py.Gt, ">=": py.GtE}


class Compiler:
    def __init__(self, runtime: Runtime, transforms=None):
        self.rt = runtime
        self.hoisted: list[py.stmt] = []          # lambda factories, placed before the code
        self.counter = 0
        self.transforms = transforms             # compiles grad(...) & co. (dsl.ad)
        self.code_nodes: dict = {}               # filled by the session: code name -> DP node
        self.loop_depth = 0
        self.returned_sizes = None            # `-> tensor[n]` of the function being compiled
        self.returned_type = None
        self.entry = None                     # (name, result type, parameters) of a gradient's entry
        self.locals: list[Symbol] = []           # the symbols the function being compiled declares
        self.owning: set[Symbol] = set()         # … those of them that own their value (see s_Return)
        # Metered code counts its steps and prices its big calls (interpreter/meter.py): a
        # session compiles it once a limit is set. Code compiled before is plain Python.
        self.metered = False
        self.compiled_unmetered = False

    def fresh(self, base: str) -> str:
        self.counter += 1
        return f"rt·{base}·{self.counter}·{id(self) % 10000}"

    # ------------------------------------------------------------------ programs
    def program(self, prog: S.Program) -> py.Module:
        # named functions are defined before any top-level statement runs, so a
        # statement may call a function declared further down (the checker allows it)
        ordered = [s for s in prog.body if isinstance(s, S.FnDef)] + \
                  [s for s in prog.body if not isinstance(s, S.FnDef)]
        outer, self.locals, self.owning = (self.locals, self.owning), [], set()    # top level: none kept
        if not self.metered:
            self.compiled_unmetered = True
        try:
            if prog.blocks:                    # `if` expressions' statements as statements (dsl/blocks.py)
                ordered = blocks.lower(ordered, self.temporary)
            body = self.stmts(ordered, span=prog.span)
            mod = py.Module(body=self.hoisted + body, type_ignores=[])
            return self.finish(mod, prog.span)
        except RecursionError:
            raise DPError(Diagnostic("syntax error", "this program is nested too deeply", prog.span,
                                     "split long expressions into several statements")) from None
        finally:
            self.hoisted = []
            self.locals, self.owning = outer

    def temporary(self, base, ty, kind) -> Symbol:
        """A temporary of lowered code (dsl/blocks.py), named apart from every DP name."""
        return Symbol(base, ty, kind, self.fresh(base))

    def finish(self, mod, span):
        fill_positions(mod, span)
        if self.metered:
            self.rt.meter.charge_code(mod)
        return mod

    # ------------------------------------------------------------------ statements
    def stmts(self, body, span=NOWHERE) -> list[py.stmt]:
        out: list[py.stmt] = []
        for s in body:
            got = getattr(self, "s_" + type(s).__name__)(s)
            if got is None:
                continue
            for g in (got if isinstance(got, list) else [got]):
                if not hasattr(g, "lineno"):
                    _pos(g, s.span if s.span is not NOWHERE else span)
                out.append(g)
        return out

    def block(self, body, span) -> list[py.stmt]:
        out = self.stmts(body, span)
        return out or [_pos(py.Pass(), span)]

    def s_StructDef(self, s):
        return None

    def s_EnumDef(self, s):
        return None

    def s_Import(self, s):
        return None

    def s_RuleDef(self, s):
        return None

    def s_FnDef(self, s):
        return self.function(s.sym.py, s.params, s.body, s.span, getattr(s, "py_assigned_globals", ()), s)

    def function(self, name, params, body, span, assigned_globals=(), node=None):
        if node is not None and node.blocks:
            body = blocks.lower(body, self.temporary)    # `if` expressions' statements as statements
        outer = self.loop_depth, self.locals, self.owning, self.returned_sizes, self.returned_type, self.entry
        self.loop_depth, self.locals, self.owning = 0, [], set()          # a new code object
        self.returned_type = node.ret if node is not None else None
        self.entry = (node.gradient_entry, node.ty.ret, [p.sym.py for p in params]) \
            if node is not None and getattr(node, "gradient_entry", None) else None
        self.returned_sizes = _sizes_of(self.returned_type)
        try:
            stmts = self.size_checks(params, node) + self.block(body, span)
            tensors = [s.py for s in self.locals
                       if _holds_tensor(s.ty) and not s.is_global and s.py not in assigned_globals]
        finally:
            self.loop_depth, self.locals, self.owning, self.returned_sizes, self.returned_type, self.entry = outer
        stmts = _release_after_last_use(stmts, tensors)
        if self.metered and _fans_out(body):
            # a step for each call that goes on to call: charged at the `fn`, just before the
            # first statement that calls (a call that returns before it, a leaf of the call
            # tree, takes none: each that does take one makes at most its call sites' calls)
            at = next((i for i, st in enumerate(stmts) if _calls(st)), len(stmts))
            stmts.insert(at, _pos(_step(), Span(span.file, span.line, span.col, span.line, span.col + 2)))
        if assigned_globals:
            stmts.insert(0, py.Global(names=sorted(assigned_globals)))
        args = py.arguments(posonlyargs=[], args=[py.arg(arg=p.sym.py) for p in params], kwonlyargs=[],
                            kw_defaults=[], defaults=[])
        return _pos(py.FunctionDef(name=name, args=args, body=stmts, decorator_list=[], returns=None,
                                   type_params=[]), span)

    def size_checks(self, params, node) -> list[py.stmt]:
        """`x: tensor[n, 3]`: each such parameter's shape is checked as the function is
        entered, and the names in the sizes are bound (read by the body as ints)."""
        out = []
        checked = [p for p in params if _sizes_of(p.annot)]
        if not checked and self.returned_sizes is None:
            return out
        out.append(py.Assign(targets=[_store("rt·sizes")], value=py.Dict(keys=[], values=[])))
        for p in checked:
            call = _call(_load("rt·check_sizes"), _load(p.sym.py), py.Constant(f"`{p.name}`"),
                         py.Constant(_written(p.annot)), _sizes_of(p.annot), _load("rt·sizes"))
            out.append(_pos(py.Expr(value=call), p.annot.span))
        for sym in getattr(node, "dim_syms", []):
            self.locals.append(sym)
            index = py.Subscript(value=_load("rt·sizes"), slice=py.Constant(sym.name), ctx=py.Load())
            out.append(py.Assign(targets=[_store(sym.py)], value=index))
        return out

    def s_Let(self, s):
        self.locals += s.syms if s.names is not None else [s.sym]
        if getattr(s, "size_syms", None) and s.names is None:
            # `let h: tensor[n, 3] = …`: checked as it is bound, against the ints in scope
            sizes = py.Tuple(elts=[_load(sym.py) if sym is not None else
                                   (py.Constant(int(d.name)) if d.name.isdigit() else py.Constant(None))
                                   for sym, d in zip(s.size_syms, s.annot.args)], ctx=py.Load())
            value = _call(_load("rt·check_sizes"), self.owned(s.value, s.sym), py.Constant(f"`{s.name}`"),
                          py.Constant(_written(s.annot)), sizes, py.Dict(keys=[], values=[]))
            return py.Assign(targets=[_store(s.sym.py)], value=_pos(value, s.annot.span))
        if s.names is not None:
            target = py.Tuple(elts=[_store(sym.py) for sym in s.syms], ctx=py.Store())
            return py.Assign(targets=[target], value=self.escaping(s.value))
        if getattr(s, "borrow", False) and (isinstance(s.value, S.Name) or not _holds_tensor(s.sym.ty)):
            # derived code only: the transform guarantees the source is not mutated in
            # place while this binding lives, so it may share instead of copying (a part
            # of a tensor is a numpy view of memory a later write changes: copied)
            return py.Assign(targets=[_store(s.sym.py)], value=self.expr(s.value))
        if not getattr(s, "borrow", False):
            self.owning.add(s.sym)           # owned() gives it a value of its own if it is mutated in place
        return py.Assign(targets=[_store(s.sym.py)], value=self.owned(s.value, s.sym))

    def s_Assign(self, s):
        t = s.target
        if isinstance(t, S.Name):
            return py.Assign(targets=[_store(t.sym.py)], value=self.owned(s.value, t.sym))
        if S.is_list_slice(t):
            return self.slice_write(t, s.value)
        added = _added_to(t, s.value)
        if added is not None:
            # `a[1:n] = a[1:n] + v` on a tensor: numpy adds in place, no temporary
            if isinstance(added, S.Unary) and added.op == "-":
                return py.AugAssign(target=self.target(t), op=py.Sub(), value=self.expr(added.operand))
            return py.AugAssign(target=self.target(t), op=py.Add(), value=self.expr(added))
        return py.Assign(targets=[self.target(t)], value=self.stored(s.value, _root_sym(t)))

    def s_AugAssign(self, s):
        t = s.target
        ty = t.ty
        if self.metered:
            helper = _priced_aug(s.op, ty, s.value)
            if helper is not None:
                return py.Assign(targets=[self.target(t)], value=_call(_load(helper), self.expr(t), self.expr(s.value)))
        if s.op in ("/", "%") and ty == INT or (s.op == "%" and ty == FLOAT):
            helper = {"/": "rt·idiv", "%": "rt·imod"}[s.op] if ty == INT else "rt·fmod"
            return py.Assign(targets=[self.target(t)], value=_call(_load(helper), self.expr(t), self.expr(s.value)))
        return py.AugAssign(target=self.target(t), op=_BINOPS[s.op](), value=self.expr(s.value))

    def slice_write(self, t, value) -> py.stmt:
        """`xs[lo:hi] = ys` is Python's own: the bounds clamped as a slice read's are, the
        elements lo … hi-1 replaced by ys's. Python copies the list, not its elements, so
        elements that are values of their own (lists, structs, tensors) are copied unless
        they were just made (value semantics: `ys`, or `xs` itself, keeps its own)."""
        ys = self.expr(value)
        if needs_copy(value.ty.elem) and not _deeply_fresh(value):
            ys = self.copy(ys, value.ty, value.span)
        elif _root_sym(value) is not None and _mutates([t], _root_sym(value)):
            ys = self.copy(ys, value.ty, value.span)   # `xs[ys.pop():] = ys`: ys as it was first
        if self.metered:                       # priced by the elements it moves (meter.py)
            lo, hi = (self.expr(b) if b is not None else py.Constant(None) for b in (t.index.lo, t.index.hi))
            return py.Expr(value=_pos(_call(_load("rt·g·splice"), self.place(t.obj), lo, hi, ys), t.span))
        return py.Assign(targets=[self.target(t)], value=ys)

    def target(self, t) -> py.expr:
        if isinstance(t, S.Name):
            return _store(t.sym.py)
        if isinstance(t, S.Field):
            return _pos(py.Attribute(value=self.place(t.obj), attr=field_attr(t.name), ctx=py.Store()), t.span)
        if isinstance(t, S.Index):
            return _pos(py.Subscript(value=self.place(t.obj), slice=self.expr(t.index), ctx=py.Store()), t.span)
        raise AssertionError(t)

    def place(self, e) -> py.expr:
        """The object an in-place update goes into: never a copy."""
        if isinstance(e, S.Name):
            return _pos(_load(e.sym.py), e.span)
        if isinstance(e, S.Field):
            return _pos(py.Attribute(value=self.place(e.obj), attr=field_attr(e.name), ctx=py.Load()), e.span)
        if isinstance(e, S.Index) and isinstance(e.obj.ty, DefaultDictT):
            # changed through a missing key: the key is added with its default first
            return _pos(_call(_load("rt·slot"), self.place(e.obj), self.expr(e.index)), e.span)
        if isinstance(e, S.Index):
            return _pos(py.Subscript(value=self.place(e.obj), slice=self.expr(e.index), ctx=py.Load()), e.span)
        return self.expr(e)

    def s_ExprStmt(self, s):
        value = self.expr(s.expr)
        guard = None if self.metered else _domain_guard(s.expr, value, self.expr)
        return py.Expr(value=value) if guard is None else _pos(guard, s.span)

    def s_If(self, s):
        return py.If(test=self.expr(s.cond), body=self.block(s.then, s.span), orelse=self.stmts(s.orelse, s.span))

    def s_While(self, s):
        if self.metered:                      # a step for each trip: `for` over the session's steps
            test = _pos(py.UnaryOp(op=py.Not(), operand=self.expr(s.cond)), s.cond.span)
            body = [_pos(py.If(test=test, body=[_pos(py.Break(), s.span)], orelse=[]), s.cond.span)] + self.loop_body(s)
            return py.For(target=_store("rt·each"), iter=_load("rt·steps"), body=body,
                          orelse=[_out(_header(s, s.cond))])
        return py.While(test=self.expr(s.cond), body=self.loop_body(s), orelse=[])

    def s_ForRange(self, s):
        self.locals.append(s.sym)
        if self.metered:
            start, stop = self.expr(s.start), self.expr(s.stop)
            body = self.loop_body(s)
            if not _leaves_early(s.body):         # every trip will run: charged at once
                it = _pos(_call(_load("rt·counted_range"), start, stop), s.span)
                return py.For(target=_store(s.sym.py), iter=it, body=body, orelse=[])
            it = _pos(_call(_load("rt·chunked_range"), start, stop), s.span)
            return py.For(target=_store(s.sym.py), iter=it, body=body, orelse=[])
        it = _pos(_call(_load("rt·range"), self.expr(s.start), self.expr(s.stop)), s.span)
        return py.For(target=_store(s.sym.py), iter=it, body=self.loop_body(s), orelse=[])

    def s_ForEach(self, s):
        syms = s.syms if s.names is not None else [s.sym]
        self.locals.extend(syms)
        root = _root_sym(s.iterable)
        if needs_copy(s.iterable.ty) and root is not None and not root.is_global and not _mutates(s.body, root):
            # nothing in the body changes the list in place: iterate over it directly;
            # if it is itself borrowed, so is the loop variable (escapes copy it)
            it = self.expr(s.iterable)
            for sym in syms:
                sym.borrowed = _reads_mutable(s.iterable)
        else:
            it = self.escaping(s.iterable)
        if isinstance(s.iterable.ty, (DictT, SetT)):
            it = _call(_load("rt·list"), it)
        # `for (i, x) in …` unpacks each element as Python's `for i, x in …` does
        target = _store(s.sym.py) if s.names is None else py.Tuple(elts=[_store(x.py) for x in syms], ctx=py.Store())
        if self.metered:
            body = self.loop_body(s)
            if not _leaves_early(s.body):
                it = _pos(_call(_load("rt·counted"), it), s.span)
                return py.For(target=target, iter=it, body=body, orelse=[])
            it = _pos(_call(_load("rt·chunked"), it), s.span)
            return py.For(target=target, iter=it, body=body, orelse=[])
        return py.For(target=target, iter=it, body=self.loop_body(s), orelse=[])

    MAX_LOOP_NESTING = 20                 # Python's limit on nested blocks in one function

    def loop_body(self, s) -> list[py.stmt]:
        self.loop_depth = getattr(self, "loop_depth", 0) + 1
        try:
            if self.loop_depth > self.MAX_LOOP_NESTING:
                raise DPError(Diagnostic("syntax error", f"loops are nested more than {self.MAX_LOOP_NESTING} deep",
                                         s.span, "move the inner loops into a function"))
            return self.block(s.body, s.span)
        finally:
            self.loop_depth -= 1

    def s_Return(self, s):
        if s.value is None:
            return py.Return(value=None)
        if self.returned_sizes is not None:
            # `-> tensor[n]`: the result is checked against the sizes bound on entry
            value = _call(_load("rt·check_sizes"), self.escaping(s.value), py.Constant("the result"),
                          py.Constant(_written(self.returned_type)), self.returned_sizes, _load("rt·sizes"))
            return py.Return(value=value)
        root = _root_sym(s.value)
        if root in self.owning and not getattr(root, "borrowed", False):
            # a local that owns its value dies here: no one else can see it, so no copy
            value = self.expr(s.value)
        else:
            value = self.escaping(s.value)
        if self.entry is not None:
            value = self.nan_checked(s.value, value)
        return py.Return(value=value)

    def nan_checked(self, e, value):
        """A gradient's result, checked for nan (see _nan_checked). A float variable or a
        tuple of them, as a gradient's return usually is, is compared with itself where it
        is, before the tuple is built: `(x1_bar, x2_bar) if x1_bar == x1_bar and …`."""
        name, ty, params = self.entry
        items = [e] if ty == FLOAT else e.items if isinstance(e, S.TupleLit) and isinstance(ty, TupleT) else None
        if items is None or not all(isinstance(x, S.Name) and x.ty == FLOAT for x in items):
            return _nan_checked(value, name, ty, params)
        tests = [py.Compare(left=self.expr(x), ops=[py.Eq()], comparators=[self.expr(x)]) for x in items]
        args = py.Tuple(elts=[_load(p) for p in params], ctx=py.Load())
        again = _call(_load("rt·nan_gradient"), py.Constant(name), value, args)
        return py.IfExp(test=tests[0] if len(tests) == 1 else py.BoolOp(op=py.And(), values=tests),
                        body=value, orelse=again)

    def s_Break(self, s):
        return py.Break()

    def s_Continue(self, s):
        return py.Continue()

    def s_Match(self, s):
        subj = self.fresh("match")
        out: list[py.stmt] = [_pos(py.Assign(targets=[_store(subj)], value=self.expr(s.subject)), s.span)]
        et = s.subject.ty
        chain: list[py.stmt] = []
        for arm in reversed(s.arms):
            self.locals += arm.syms
            body = []
            for i, sym in enumerate(arm.syms):
                body.append(_pos(py.Assign(targets=[_store(sym.py)], value=py.Subscript(
                    value=py.Attribute(value=_load(subj), attr="vals", ctx=py.Load()),
                    slice=py.Constant(i), ctx=py.Load())), arm.span))
            body += self.block(arm.body, arm.span)
            if arm.variant == "_" and arm.enum is None:
                chain = body
                continue
            tag = list(et.variants).index(arm.variant) if isinstance(et, EnumT) else -1
            test = py.Compare(left=py.Attribute(value=_load(subj), attr="tag", ctx=py.Load()), ops=[py.Eq()],
                              comparators=[py.Constant(tag)])
            chain = [_pos(py.If(test=test, body=body, orelse=chain), arm.span)]
        return out + chain

    # ------------------------------------------------------------------ value semantics
    def owned(self, e, sym: Symbol) -> py.expr:
        """A value about to be owned by variable sym. One whose parts are changed in
        place (sym.deep) owns them too: a value some part of which another variable may
        hold (`S { t: t22 }`, `[a]`, `ys + b`) is copied whole."""
        if sym is not None and (sym.inplace or (sym.is_global and sym.kind == "var")) and needs_copy(e.ty) and not is_fresh(e):
            return self.copy(self.expr(e), e.ty, e.span)
        if sym is not None and sym.deep and not _deeply_fresh(e):
            return self.copy(self.expr(e), e.ty, e.span)
        return self.escaping(e)

    def stored(self, e, root) -> py.expr:
        """A value stored into a part of variable root (`q.t = v`, `xs[i] = v`,
        `xs.append(v)`): copied whole where root's parts are changed in place and some
        part of it may be another variable's."""
        if root is not None and getattr(root, "deep", False) and not _deeply_fresh(e):
            return self.copy(self.expr(e), e.ty, e.span)
        return self.escaping(e)

    def escaping(self, e) -> py.expr:
        """A value that is bound, passed, stored or returned: copy it if it is part
        of a variable that may later be mutated in place."""
        code = self.expr(e)
        if needs_copy(e.ty) and _reads_mutable(e):
            return self.copy(code, e.ty, e.span)
        return code

    def copy(self, code, ty, span):
        c = self.rt.named("copy", ty)
        if c is None:
            return code
        if self.metered and _nests(ty):
            # a copy of lists of lists priced first by what it makes (meter.py)
            return _pos(_call(_load("rt·g·copied"), _load(c), code), span)
        return _pos(_call(_load(c), code), span)

    # ------------------------------------------------------------------ expressions
    def expr(self, e) -> py.expr:
        return _pos(getattr(self, "e_" + type(e).__name__)(e), e.span)

    def e_Num(self, e):
        if e.ty == FLOAT:
            return py.Constant(float(e.value))
        return py.Constant(e.value)

    def e_Str(self, e):
        return py.Constant(e.value)

    def e_Bool(self, e):
        return py.Constant(e.value)

    def e_Name(self, e):
        if isinstance(e.sym, tuple):                  # a primitive used as a value
            return _load(prim_py_name(e.sym[1]))
        return _load(e.sym.py)

    def e_Unary(self, e):
        if e.op == "!":
            return py.UnaryOp(op=py.Not(), operand=self.expr(e.operand))
        return py.UnaryOp(op=py.USub(), operand=self.expr(e.operand))

    def e_Binary(self, e):
        op = e.op
        if op in ("&&", "||"):
            return py.BoolOp(op=py.And() if op == "&&" else py.Or(), values=[self.expr(e.left), self.expr(e.right)])
        if op in ("==", "!=") and isinstance(e.left.ty, (ListT, TupleT, DictT, StructT, EnumT, SetT)) \
                and (self.metered or _holds_tensor(e.left.ty)):
            # walked in Python (values.py): in metered code priced as it goes (meter.py),
            # comparing a list shared many times over is not one C call no limit can stop;
            # and tensors inside compare as DP's `==` does, not as numpy's ambiguous truth
            helper = "rt·g·equal" if self.metered else "rt·values_equal"
            same = _call(_load(helper), self.expr(e.left), self.expr(e.right))
            return same if op == "==" else py.UnaryOp(op=py.Not(), operand=same)
        if op in _CMPOPS:
            cmp = py.Compare(left=self.expr(e.left), ops=[_CMPOPS[op]()], comparators=[self.expr(e.right)])
            # a tensor is float64 throughout: a comparison gives 1.0 where it holds, else 0.0
            return _call(_load("rt·tensor_truth"), cmp) if e.ty == TENSOR else cmp
        lt = e.left.ty
        if isinstance(e.ty, ListT) and needs_copy(e.ty.elem):
            # `xs + ys` makes a new list, but of the same elements: copy those that are shared
            left, right = self.escaping(e.left), self.escaping(e.right)
        else:
            left, right = self.expr(e.left), self.expr(e.right)
        if self.metered:
            priced = self.priced_binary(e, left, right)
            if priced is not None:
                return priced
        if e.ty == TENSOR:
            if op == "%":                     # numpy's fmod: the sign of the dividend, as for floats
                return _call(_load("rt·tensor_fmod"), left, right)
            if op == "@":                     # so a mismatch names both shapes
                return _call(_load("rt·matmul"), left, right)
            return py.BinOp(left=left, op=_BINOPS[op](), right=right)
        if lt == INT or isinstance(lt, IntLit):
            helper = {"/": "rt·idiv", "%": "rt·imod", "**": "rt·ipow"}.get(op)
            if helper:
                return _call(_load(helper), left, right)
        elif lt == FLOAT:
            if op == "%":
                return _call(_load("rt·fmod"), left, right)
            if op == "**" and e.right.ty == FLOAT:
                return _call(_load("rt·fpow"), left, right)
        return py.BinOp(left=left, op=_BINOPS[op](), right=right)

    def priced_binary(self, e, left, right):
        """A binary operation that can make a value much bigger than its operands, in
        metered code: through a helper that prices it first (meter.py)."""
        op, lt, rt_ = e.op, e.left.ty, e.right.ty
        if e.ty == TENSOR and op in _CMPOPS:
            return _call(_load("rt·tensor_truth"), _call(_load("rt·g·compare"), left, right, py.Constant(op)))
        if e.ty == TENSOR:
            if op == "@":
                return _call(_load("rt·g·matmul"), left, right)
            name = self.priced_prim(op, (_as_float(lt), _as_float(rt_)))
            return _call(_load(name), left, right) if name is not None else None
        literal = isinstance(e.left, _LITERALS) or isinstance(e.right, _LITERALS)
        if lt == INT or isinstance(lt, IntLit):
            if op == "**":
                return _call(_load("rt·g·ipow"), left, right)
            if op in ("/", "%") and not isinstance(e.right, S.Num):     # by a literal: linear in the dividend
                return _call(_load("rt·g·idiv" if op == "/" else "rt·g·imod"), left, right)
            if op == "*" and not literal:           # a literal factor grows an int by little
                return _call(_load("rt·g·imul"), left, right)
            return None
        if op == "+" and (lt == STRING or isinstance(lt, ListT)) and not literal:
            return _call(_load("rt·g·concat"), left, right)      # `s + s` doubles; `s + "x"` does not
        return None

    def priced_prim(self, name, types):
        for p in P.BY_NAME.get(name, ()):
            if tuple(p.types) == types and p.impl is not None:
                g = priced_name(prim_py_name(p))
                return g if g in self.rt.ns else None
        return None

    def e_Call(self, e):
        kind = e.target[0]
        if kind == "fn":
            return _call(self.expr(e.func), *self.fn_args(e.args))
        if kind == "prim":
            prim = e.target[1]
            args = [self.expr(a) for a in e.args]
            if self.metered and priced_name(prim_py_name(prim)) in self.rt.ns:
                return _call(_load(priced_name(prim_py_name(prim))), *args)
            if prim.name == "unbroadcast" and prim.types[1] == TENSOR and all(isinstance(a, S.Name) for a in e.args):
                # `g if g.shape == like.shape else unbroadcast(g, like)`: the common case,
                # nothing was broadcast, costs no call (reverse sweeps run it every step)
                same = py.Compare(left=py.Attribute(value=args[0], attr="shape", ctx=py.Load()), ops=[py.Eq()],
                                  comparators=[py.Attribute(value=args[1], attr="shape", ctx=py.Load())])
                return py.IfExp(test=same, body=self.expr(e.args[0]), orelse=_call(_load(prim_py_name(prim)), *args))
            return _call(_load(prim_py_name(prim)), *args)
        if kind == "builtin":
            return self.builtin(e)
        if kind == "method":
            return self.method(e)
        if kind == "variant":
            _, et, name = e.target
            return _call(_load(self.rt.named("variant", et, name)), *[self.escaping(a) for a in e.args])
        if kind == "transform":
            return self.transforms.compile_call(self, e)
        return _call(self.expr(e.func), *[self.escaping(a) for a in e.args])

    def fn_args(self, args) -> list[py.expr]:
        """Arguments to a DP function. Its parameters are read-only in it and it copies
        whatever part of them it lets escape (see _reads_mutable), so a local variable
        is lent to it without a copy, unless a later argument changes that variable
        first (`f(xs, xs.pop())`). A global could be changed by the callee: copied."""
        out = []
        for i, a in enumerate(args):
            root = _root_sym(a)
            if root is not None and not root.is_global and not _mutates(args[i + 1:], None):
                out.append(self.expr(a))
            else:
                out.append(self.escaping(a))
        return out

    def builtin(self, e):
        name = e.target[1]
        # print's arguments are all evaluated before it formats them: an aggregate
        # read before a later argument mutates it prints as it was when read
        snap = name == "print" and _mutates(e.args, None)
        args = [self.escaping(a) if snap else self.expr(a) for a in e.args]
        if name == "defaultdict":          # its default is made afresh for each missing key read
            factory = py.Lambda(args=py.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[]),
                                body=self.expr(e.args[0]))
            return _call(_load("rt·defaultdict"), factory)
        if name == "accumulate" and e.ty in (FLOAT, TENSOR):
            return py.BinOp(left=args[0], op=py.Add(), right=args[1])      # one numpy call, no helper
        if name in ("zeros_like", "accumulate"):
            # specialised to the static type: Particle(a.x + b.x, …), not reflection
            return _call(_load(self.rt.named(name, e.ty)), *args)
        helper = {"print": "rt·print", "len": "rt·len", "range": "rt·range_list", "float": "rt·float",
                  "int": "rt·int", "str": "rt·str"}.get(name, f"rt·{name}")
        if self.metered and name == "range":
            helper = "rt·g·range_list"
        if self.metered and name in ("str", "print"):
            # the text of a value priced as it is written: a list shared many times over
            # prints as what it is to walk (meter.py); print writes each argument's text
            texts = [a if t == STRING else _call(_load("rt·g·str"), a) for a, t in zip(args, (x.ty for x in e.args))]
            return _call(_load(helper), *texts) if name == "print" else texts[0]
        return _call(_load(helper), *args)

    def method(self, e):
        f = e.func
        name = f.name
        if name in ("append", "pop", "insert", "extend", "reverse", "remove", "add"):
            obj = self.place(f.obj)
        else:
            obj = self.expr(f.obj)
        if name in ("append", "insert", "extend", "add"):
            args = [self.stored(a, _root_sym(f.obj)) for a in e.args]
        else:
            args = [self.escaping(a) for a in e.args]
        if isinstance(f.obj.ty, SetT) and name != "contains":
            if name == "to_list":
                return _call(_load("rt·list"), obj)
            return _call(_load(f"rt·set_{name}"), obj, *args)      # add remove union intersection difference
        if name == "pop":
            # Python's own pop: on an empty list its IndexError becomes DP's
            # "pop from an empty list" (errors.py); no helper call on the hot path
            return _call(py.Attribute(value=obj, attr="pop", ctx=py.Load()))
        if name == "insert":
            return _call(_load("rt·insert"), obj, *args)
        if name == "remove":
            return _call(_load("rt·remove"), obj, *args)
        if name == "extend" and self.metered:
            return _call(_load("rt·g·extend"), obj, *args)
        if name == "keys":
            return _call(_load("rt·list"), obj)
        if name in ("values", "items"):
            obj = self.escaping(f.obj)                  # a fresh list of the values (and keys), unshared
            return _call(_load("rt·list"), _call(py.Attribute(value=obj, attr=name, ctx=py.Load())))
        if name == "get" and needs_copy(e.ty) and _reads_mutable(f.obj):
            got = _call(py.Attribute(value=obj, attr=name, ctx=py.Load()), *args)
            return self.copy(got, e.ty, e.span)
        if name == "contains":
            return py.Compare(left=args[0], ops=[py.In()], comparators=[obj])
        if name not in _PY_METHODS:                # only ever a list's or a dict's own method
            raise AssertionError(name)
        return _call(py.Attribute(value=obj, attr=name, ctx=py.Load()), *args)

    def e_Index(self, e):
        return py.Subscript(value=self.expr(e.obj), slice=self.expr(e.index), ctx=py.Load())

    def e_Field(self, e):
        if e.target[0] == "variant":
            return _load(self.rt.named("variant", e.target[1], e.name))
        if e.target[0] == "module":
            return _load(e.target[2].py)
        return py.Attribute(value=self.expr(e.obj), attr=field_attr(e.name), ctx=py.Load())

    def e_Slice(self, e):
        return py.Slice(lower=self.expr(e.lo) if e.lo is not None else None,
                        upper=self.expr(e.hi) if e.hi is not None else None, step=None)

    def e_Subscripts(self, e):
        return py.Tuple(elts=[self.expr(p) for p in e.parts], ctx=py.Load())

    def e_TupleIndex(self, e):
        return py.Subscript(value=self.expr(e.obj), slice=py.Constant(e.index), ctx=py.Load())

    def e_IfExpr(self, e):
        # each branch escapes as the value would (a branch reading a variable copies it)
        return py.IfExp(test=self.expr(e.cond), body=self.escaping(e.then), orelse=self.escaping(e.orelse))

    def e_BlockExpr(self, e):
        raise S.UnhandledNode("a BlockExpr is lowered to statements before it is compiled (dsl/blocks.py)")

    def e_TupleLit(self, e):
        return py.Tuple(elts=[self.escaping(x) for x in e.items], ctx=py.Load())

    def e_ListLit(self, e):
        return py.List(elts=[self.escaping(x) for x in e.items], ctx=py.Load())

    def e_DictLit(self, e):
        return py.Dict(keys=[self.expr(k) for k in e.keys], values=[self.escaping(v) for v in e.values])

    def e_StructLit(self, e):
        st = e.ty
        given = dict(e.fields)
        return _call(_load(self.rt.named("struct", st)), *[self.escaping(given[f]) for f in st.fields])

    def e_Lambda(self, e):
        """A lambda is a closure over the *values* of what it captures: a factory at
        module level takes them as arguments and returns the inner function."""
        factory = self.fresh("lambda")
        inner = self.function("lambda", e.params, e.body, e.span, node=e)
        # Two lambdas alike but for their types compile to equal code objects, and the
        # transforms find a lambda's DP node by its code: a local of each one's own
        # keeps them apart. It follows a return, so no instruction is emitted for it.
        inner.body += [_pos(py.Return(value=None), e.span),
                       _pos(py.Assign(targets=[_store(factory)], value=py.Constant(None)), e.span)]
        cap_args = py.arguments(posonlyargs=[], args=[py.arg(arg=sym.py) for sym in e.captures], kwonlyargs=[],
                                kw_defaults=[], defaults=[])
        fdef = _pos(py.FunctionDef(name=factory, args=cap_args, body=[inner, _pos(py.Return(value=_load("lambda")), e.span)],
                                   decorator_list=[], returns=None, type_params=[]), e.span)
        self.hoisted.append(fdef)
        self.code_nodes[("lambda", e.span)] = e
        self.code_nodes[factory] = e            # runtime transforms find a lambda's DP node
        args = []
        for sym in e.captures:
            v = _pos(_load(sym.py), e.span)
            if needs_copy(sym.ty) and (_sym_mutable(sym) or sym.kind == "var"):
                v = self.copy(v, sym.ty, e.span)
            args.append(v)
        return _call(_load(factory), *args)


def _step() -> py.stmt:
    """`for rt·each in rt·steps: break` / `else: rt·out()`: one step (meter.py)."""
    return py.For(target=_store("rt·each"), iter=_load("rt·steps"), body=[py.Break()],
                  orelse=[py.Expr(value=_call(_load("rt·out")))])


def _header(s, last) -> Span:
    """A loop's head, `while c` or `for x in xs`: where a step limit it hits points."""
    sp, end = s.span, last.span
    if end.line != sp.line:
        return Span(sp.file, sp.line, sp.col, sp.line, sp.col + 5)
    return Span(sp.file, sp.line, sp.col, sp.line, end.end_col)


def _calls(st: py.stmt) -> bool:
    """Whether a compiled statement calls a DP function (not a runtime helper)."""
    for n in py.walk(st):
        if isinstance(n, py.Call) and not (isinstance(n.func, py.Name) and n.func.id.startswith("rt·")):
            return True
    return False


def _out(span) -> py.stmt:
    return _pos(py.Expr(value=_call(_load("rt·out"))), span)


def _leaves_early(body) -> bool:
    """Whether a loop body may end the loop before its last trip (`break`, `return`);
    a lambda's own returns and a nested loop's breaks do not."""
    stack = list(body)
    while stack:
        n = stack.pop()
        if isinstance(n, (S.Return,)) or (isinstance(n, S.Break)):
            return True
        if isinstance(n, S.Lambda):
            continue
        if isinstance(n, (S.While, S.ForRange, S.ForEach)):
            stack.extend(_returns_deep(n.body))          # its breaks end it, its returns this loop too
            continue
        if isinstance(n, S.If):
            stack.extend(n.then)
            stack.extend(n.orelse)
        elif isinstance(n, S.Match):
            for arm in n.arms:
                stack.extend(arm.body)
    return False


def _returns_deep(body) -> list:
    """The returns anywhere in body (a return in a nested loop leaves this loop too)."""
    out, stack = [], list(body)
    while stack:
        n = stack.pop()
        if isinstance(n, S.Return):
            out.append(n)
        elif isinstance(n, S.If):
            stack.extend(n.then + n.orelse)
        elif isinstance(n, S.Match):
            for arm in n.arms:
                stack.extend(arm.body)
        elif isinstance(n, (S.While, S.ForRange, S.ForEach)):
            stack.extend(n.body)
    return out


_LITERALS = (S.Num, S.Str, S.ListLit)


def _fans_out(body) -> bool:
    """Whether a function may call more than once without a loop of its own: two call
    sites or more (a lambda's are its own). Its calls are then counted as steps; the
    calls of one that does not are counted by the loops and calls that lead to it, so
    no call tree grows without steps (f calling g twice, g calling h twice, …)."""
    calls, stack = 0, list(body)
    while stack:
        n = stack.pop()
        if isinstance(n, S.Lambda):
            continue
        if isinstance(n, S.Call) and n.target is not None and n.target[0] in ("fn", "value", "transform"):
            calls += 1
            if calls > 1:
                return True
        if isinstance(n, S.Node):
            for f in n.__record_fields__:
                if f in ("span", "ty", "sym", "syms", "target", "captures"):
                    continue
                v = getattr(n, f)
                if isinstance(v, S.Node):
                    stack.append(v)
                elif isinstance(v, (list, tuple)):
                    for x in v:
                        if isinstance(x, S.Node):
                            stack.append(x)
                        elif isinstance(x, tuple):
                            stack.extend(y for y in x if isinstance(y, S.Node))
    return False


def _as_float(t):
    return FLOAT if (t == INT or isinstance(t, IntLit)) else t


def _priced_aug(op, ty, value):
    """The priced helper for `x op= v` in metered code, or None."""
    if isinstance(value, _LITERALS):
        return None                         # grows the value by a constant, or divides by one
    if ty == INT:
        return {"*": "rt·g·imul", "/": "rt·g·idiv", "%": "rt·g·imod"}.get(op)
    if op == "+" and (ty == STRING or isinstance(ty, ListT)):
        return "rt·g·concat"
    return None


def _sizes_of(t):
    """`tensor[n, 3, _]` as the Python tuple ("n", 3, None); None for any other type."""
    if t is None or t.name != "tensor" or not t.args:
        return None
    return py.Tuple(elts=[py.Constant(int(d.name) if d.name.isdigit() else None if d.name == "_" else d.name)
                          for d in t.args], ctx=py.Load())


def _written(t) -> str:
    return f"tensor[{', '.join(d.name for d in t.args)}]"


def _holds_tensor(t, seen=None) -> bool:
    if t == TENSOR:
        return True
    seen = seen if seen is not None else set()
    if isinstance(t, StructT):
        if t in seen:
            return False                      # a struct that holds itself, through a list
        seen.add(t)
        return any(_holds_tensor(x, seen) for x in t.fields.values())
    if isinstance(t, ListT):
        return _holds_tensor(t.elem, seen)
    if isinstance(t, DictT):
        return _holds_tensor(t.value, seen)
    if isinstance(t, TupleT):
        return any(_holds_tensor(x, seen) for x in t.items)
    return False


def _release_after_last_use(stmts: list[py.stmt], names: list[str]) -> list[py.stmt]:
    """Set each of names to None after the last top-level statement that reads or
    writes it (unless that is the last one, or a return). A function keeps its locals
    alive until it returns; freeing dead tensors early lets numpy reuse their memory."""
    last: dict[str, int] = {}
    wanted = set(names)
    for i, st in enumerate(stmts):
        for n in py.walk(st):
            if isinstance(n, py.Name) and n.id in wanted:
                last[n.id] = i
    after: dict[int, list[str]] = {}
    for name in names:
        i = last.get(name)
        if i is not None and i < len(stmts) - 1 and not isinstance(stmts[i], (py.Return, py.Raise)):
            after.setdefault(i, []).append(name)
    out = []
    for i, st in enumerate(stmts):
        out.append(st)
        if i in after:          # `a = b = None`: assignment, not del, so a name bound in one branch is fine
            release = py.Assign(targets=[_store(n) for n in after[i]], value=py.Constant(None))
            out.append(py.copy_location(release, st))
    return out


def needs_copy(t) -> bool:
    return isinstance(t, AGGREGATE) or t == TENSOR


def is_fresh(e) -> bool:
    """Whether e makes a new value no variable shares."""
    if isinstance(e, (S.ListLit, S.DictLit, S.StructLit, S.TupleLit, S.Num, S.Str, S.Bool, S.Lambda)):
        return True
    if isinstance(e, S.Call) and e.target and e.target[0] == "prim":
        return not e.target[1].view          # reshape, transpose, … may share the argument's memory
    if isinstance(e, S.Call) and e.target and e.target[0] == "variant":
        return True
    if isinstance(e, S.Call) and e.target and e.target[0] == "builtin":
        if e.target[1] in ("sublist", "splice"):
            return not needs_copy(e.ty.elem)     # a new list, of its arguments' elements
        return e.target[1] not in ("stop_gradient", "accumulate")     # these may return an argument
    if isinstance(e, S.Call) and e.target and e.target[0] == "method" and e.func.name in ("keys", "values", "items", "union", "intersection", "difference", "to_list"):
        return True
    if isinstance(e, S.Binary):
        return True
    return False


def _deeply_fresh(e) -> bool:
    """Whether no part of e's value can be another variable's: a literal of such
    parts, or a fresh value holding no values of its own (a tensor a primitive made,
    a list of floats)."""
    if isinstance(e, (S.ListLit, S.TupleLit)):
        return all(_deeply_fresh(x) for x in e.items)
    if isinstance(e, S.StructLit):
        return all(_deeply_fresh(x) for _, x in e.fields)
    if isinstance(e, S.DictLit):
        return all(_deeply_fresh(x) for x in e.values)
    if not needs_copy(e.ty):
        return True
    if not is_fresh(e):
        return False
    if isinstance(e, S.Call) and e.target and (e.target[0] == "prim" or e.target[:2] == ("builtin", "zeros_like")):
        return True
    inner = (e.ty.elem,) if isinstance(e.ty, (ListT, SetT)) else (e.ty.value,) if isinstance(e.ty, DictT) else \
        tuple(e.ty.items) if isinstance(e.ty, TupleT) else tuple(e.ty.fields.values()) if isinstance(e.ty, StructT) else ()
    return not any(needs_copy(x) for x in inner)


def _reads_mutable(e) -> bool:
    """Whether e is (part of) a variable that may be mutated in place later, or a
    parameter or loop variable lent such a value without a copy."""
    s = _root_sym(e)
    return s is not None and _sym_mutable(s)


def _sym_mutable(s: Symbol) -> bool:
    return s.inplace or (s.is_global and s.kind == "var") or s.kind == "param" or getattr(s, "borrowed", False)


def _root_sym(e) -> Symbol | None:
    """The variable e is part of; a numpy view (reshape, transpose, …) is part of
    what it views."""
    while isinstance(e, (S.Field, S.Index, S.TupleIndex)) or _is_view(e):
        e = e.args[0] if isinstance(e, S.Call) else e.obj
    if isinstance(e, S.Name) and isinstance(e.sym, Symbol):
        return e.sym
    return None


def _is_view(e) -> bool:
    return isinstance(e, S.Call) and e.target is not None and e.target[0] == "prim" and e.target[1].view and bool(e.args)


def _added_to(target, value):
    """v when value is `target + v` or `accumulate(target, v)` and target is part of a
    tensor (so `target += v` updates it in place with numpy)."""
    if not (isinstance(target, S.Index) and target.obj.ty == TENSOR):
        return None
    if isinstance(value, S.Binary) and value.op == "+":
        first, added = value.left, value.right
    elif isinstance(value, S.Call) and value.target == ("builtin", "accumulate"):
        first, added = value.args
    else:
        return None
    from dp.dsl.printer import expr_src
    return added if expr_src(first) == expr_src(target) else None


_MUTATING = {"append", "pop", "insert", "extend", "reverse", "remove"}


def _mutates(nodes, sym) -> bool:
    """Whether running nodes may change sym's value in place (any variable's, when sym
    is None). Only assignments into parts and mutating methods can: a called function
    or lambda cannot reach the caller's locals."""
    stack = list(nodes) if isinstance(nodes, list) else [nodes]
    while stack:
        n = stack.pop()
        if isinstance(n, S.Lambda):
            continue
        if isinstance(n, (S.Assign, S.AugAssign)) and isinstance(n.target, (S.Field, S.Index)):
            if sym is None or _root_sym(n.target) is sym:
                return True
        if isinstance(n, S.Call) and n.target and n.target[0] == "method" and n.func.name in _MUTATING:
            if sym is None or _root_sym(n.func.obj) is sym:
                return True
        for k, v in vars(n).items():
            if k == "target" and not isinstance(n, (S.Assign, S.AugAssign)):
                continue                        # a call's callee declaration, not a child
            if isinstance(v, S.Node):
                stack.append(v)
            elif isinstance(v, (list, tuple)):
                stack.extend(x for x in v if isinstance(x, S.Node))
                stack.extend(y for x in v if isinstance(x, tuple) for y in x if isinstance(y, S.Node))
    return False


def fill_positions(node: py.AST, span: Span):
    """Give every node without a position its parent's, so generated code compiles.
    A position is (line, column, end line, end column), columns from 0. Only statements,
    expressions, arguments, handlers and keywords are visited (not what is inside a
    comprehension or an `arguments`' defaults)."""
    stack = [(node, (max(span.line, 1), max(span.col - 1, 0), max(span.end_line, 1), max(span.end_col - 1, 0)))]
    while stack:
        node, parent = stack.pop()
        if not getattr(node, "lineno", None):           # none, or 0
            node.lineno, node.col_offset, node.end_lineno, node.end_col_offset = parent
        children = []
        for name in node._fields:
            value = getattr(node, name, None)
            for child in value if isinstance(value, list) else (value,):
                kind = _VISIT.get(type(child))
                if kind is None:
                    kind = _visit(type(child))
                if kind == "node":
                    children.append(child)
                elif kind == "arguments":
                    children.extend(child.args)
        if children:             # visited in order (a node put in two places takes the first's position)
            here = (max(node.lineno, 1), max(node.col_offset, 0), max(node.end_lineno or node.lineno, 1),
                    max(node.end_col_offset or 0, 0))
            stack.extend((child, here) for child in reversed(children))


def _visit(cls: type) -> str:
    if issubclass(cls, py.arguments):
        return "arguments"
    return "node" if issubclass(cls, (py.expr, py.stmt, py.arg, py.excepthandler, py.keyword)) else ""


def _ast_classes():
    todo, out = [py.AST], []
    while todo:
        c = todo.pop()
        out.append(c)
        todo.extend(c.__subclasses__())
    return out


# a class of child → "node", "arguments" or "" (not visited): every ast class and the
# scalars a field holds, made once at import (a table filled as it went would be state
# shared by sessions)
_VISIT: dict[type, str] = {c: _visit(c) for c in _ast_classes() + [str, int, float, bool, type(None), bytes]}


_unused = (STRING, FnT, Prim)
