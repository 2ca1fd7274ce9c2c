"""Reverse mode: a normal-form function → a DP function that runs the primal
forward (saving what it overwrites on tapes) and then the adjoint statements in
reverse, like the lecture's adjoint trace:

    fn f_rev(x1: float, x2: float, y_bar: float) -> (float, float)

returns the cotangent of every differentiable parameter. Control flow
runs on primal values and is recorded (branch taken, trip counts) for the reverse
sweep; loops with data-dependent trip counts and in-place updates work because
each overwritten value is pushed before it is overwritten and popped back after its
adjoint has run. Calls to other functions recompute them in the reverse sweep
(checkpointing at call boundaries): `f_rev(args, t_bar)`."""
from __future__ import annotations

from .. import primitives as P
from .. import syntax as S
from ..diagnostics import Diagnostic, DPError
from ..types import BOOL, FLOAT, INT, TENSOR, DictT, FnT, ListT, StructT, TupleT
from . import build as B
from .normalize import is_path
from .rules import instantiate
from .shapes import Shapes


def root_of(e) -> S.Name | None:
    while isinstance(e, (S.Field, S.Index, S.TupleIndex)):
        e = e.obj
    return e if isinstance(e, S.Name) else None


def names_in(node, acc: set) -> set:
    """Every identifier read anywhere in a statement or expression tree."""
    if isinstance(node, (list, tuple)):          # tuples: a struct literal's (name, value) fields
        for n in node:
            names_in(n, acc)
        return acc
    if isinstance(node, S.Name):
        acc.add(node.id)
        return acc
    if isinstance(node, S.Assign):
        if not isinstance(node.target, S.Name):
            names_in(node.target, acc)
        names_in(node.value, acc)
        return acc
    if isinstance(node, S.Let):
        names_in(node.value, acc)
        return acc
    for f in getattr(node, "__dataclass_fields__", {}):
        if f in ("span", "ty", "sym", "target", "syms", "captures"):
            continue
        v = getattr(node, f)
        if isinstance(v, (S.Node, list)):
            names_in(v, acc)
        elif isinstance(v, tuple):
            for x in v:
                if isinstance(x, (S.Node, list)):
                    names_in(x, acc)
    return acc


def _err(span, msg, hint=None):
    return DPError(Diagnostic("differentiation error", msg, span, hint))


class Sweep:
    """What both transforms read off a checked normal-form function: its variables
    and their types, the declarations, the statements between them and the final
    `return result`, and every name already taken."""

    def __init__(self, nf: S.FnDef, tx, reserved: set[str]):
        self.nf = nf
        self.tx = tx                                   # the Transforms registry
        self.params = [p.name for p in nf.params]
        self.vars: dict[str, object] = {p.name: p.sym.ty for p in nf.params}
        body = nf.body
        n = 0
        while n < len(body) and isinstance(body[n], S.Let):
            self.vars[body[n].name] = body[n].sym.ty
            n += 1
        self.decls = body[:n]
        self.main = body[n:-1] if body and isinstance(body[-1], S.Return) else body[n:]
        self.result = body[-1].value.id if body and isinstance(body[-1], S.Return) else None
        self.used = set(reserved) | names_in(body, set()) | set(self.vars) | _declared(body)

    def fresh(self, base: str) -> str:
        n, i = base, 2
        while n in self.used:
            n, i = f"{base}_{i}", i + 1
        self.used.add(n)
        return n

    def path_of(self, e, name_of) -> S.Expr:
        """The same path (`p.x`, `xs[i]`) on the variable `name_of` names for its root."""
        if isinstance(e, S.Name):
            return B.name(name_of(e.id))
        if isinstance(e, S.Field):
            return B.field(self.path_of(e.obj, name_of), e.name)
        if isinstance(e, S.Index):
            return B.index(self.path_of(e.obj, name_of), B.copy_expr(e.index))
        if isinstance(e, S.TupleIndex):
            return B.tindex(self.path_of(e.obj, name_of), e.index)
        raise AssertionError(e)


class Reverse(Sweep):
    def __init__(self, nf: S.FnDef, tx, reserved: set[str]):
        super().__init__(nf, tx, reserved)
        self.bar: dict[str, str] = {}
        self.extra: list[S.Stmt] = []                  # tapes and bookkeeping declarations
        self.tapes: dict = {}
        self.sites: dict[str, int] = {}
        self.varied: set | None = None         # None: every differentiable variable
        self.temps: set[str] = set()            # one step of a tensor value: its cotangent is a `let`
        self.in_loop_assigned: set[str] = set()
        self._scan(self.main, False)
        self.loop_depth = 0
        self.shapes = Shapes().run({p: self.vars[p] for p in self.params}, self.main)
        self.before_fwd: list[S.Stmt] = []      # shape snapshots the current statement's reverse reads

    # ------------------------------------------------------------ analysis
    def _scan(self, body, in_loop):
        for s in body:
            if isinstance(s, S.Assign) and isinstance(s.target, S.Name):
                if getattr(s, "temp", False):
                    self.temps.add(s.target.id)
                self.sites[s.target.id] = self.sites.get(s.target.id, 0) + 1
                if in_loop and not getattr(s, "once", False):
                    self.in_loop_assigned.add(s.target.id)
            elif isinstance(s, S.If):
                self._scan(s.then, in_loop)
                self._scan(s.orelse, in_loop)
            elif isinstance(s, (S.While, S.ForRange)):
                self._scan(s.body, True)
            elif isinstance(s, S.Match):
                for a in s.arms:
                    self._scan(a.body, in_loop)

    def overwritable(self, v: str) -> bool:
        """Whether an assignment to v may destroy a value the reverse sweep needs: v is
        assigned in a loop, or at more than one place."""
        return v in self.in_loop_assigned or self.sites.get(v, 0) > 1

    def active(self, v: str) -> bool:
        """Differentiable, and (when differentiating with respect to some parameters
        only) depending on one of them: the others are constants here."""
        t = self.vars.get(v)
        return t is not None and t.active and (self.varied is None or v in self.varied)

    def depends(self, e) -> bool:
        """Whether e reads a differentiable variable (so has a nonzero derivative)."""
        if e.ty is None or not e.ty.active:
            return False
        if is_path(e):
            return self.root_active(e)
        if isinstance(e, (S.Num, S.Str, S.Bool)):
            return False
        if isinstance(e, S.Call) and e.target and e.target[0] == "builtin" and e.target[1] in ("stop_gradient", "zeros_like", "float"):
            return False
        if isinstance(e, S.Binary) and e.op in ("==", "!=", "<", "<=", ">", ">="):
            return False                       # a bool tensor: no derivative
        if isinstance(e, S.Call) and e.target and e.target[0] == "builtin" and e.target[1] == "sublist":
            return self.depends(e.args[0])
        if isinstance(e, S.Call) and e.target and e.target[0] == "prim" and e.target[1].vjp is None \
                and e.target[1].jvp is None:
            return False                       # constructors and shapes
        return any(self.depends(c) for c in B.children(e))

    def root_active(self, e) -> bool:
        r = root_of(e)
        return r is not None and self.active(r.id) and e.ty is not None and e.ty.active

    # ------------------------------------------------------------ names
    def temp(self, base: str) -> str:
        """v1, v2, … like the lecture's trace."""
        i = 1
        while f"{base}{i}" in self.used:
            i += 1
        self.used.add(f"{base}{i}")
        return f"{base}{i}"

    def barname(self, v: str) -> str:
        if v not in self.bar:
            self.bar[v] = self.fresh(f"{v}_bar")
        return self.bar[v]

    def bar_path(self, e) -> S.Expr:
        return self.path_of(e, self.barname)

    def tape(self, key: str, ty) -> str:
        k = (key, str(ty))
        if k not in self.tapes:
            n = self.fresh(f"{key}_tape")
            self.tapes[k] = n
            self.extra.append(S.Let(n, B.type_expr(ListT(ty)), S.ListLit([]), True))
        return self.tapes[k]

    def bookkeeping(self, base: str, ty, init) -> str:
        n = self.fresh(base)
        self.extra.append(S.Let(n, B.type_expr(ty), init, True))
        return n

    def push(self, tape: str, value: S.Expr, var: str | None = None) -> S.Stmt:
        s = S.ExprStmt(B.method(B.name(tape), "append", value))
        s.tape_var = var
        return s

    def pop(self, tape: str) -> S.Expr:
        return B.method(B.name(tape), "pop")

    def restore(self, target: S.Expr, tape: str, var: str | None = None) -> S.Stmt:
        s = S.Assign(target, self.pop(tape))
        s.tape_var = var
        return s

    # ------------------------------------------------------------ driver
    def run(self, out_name: str, mode: str, wrt: list[int] | None = None) -> S.FnDef:
        if mode != "rev":
            self.varied = _varied(self.main, {self.params[i] for i in wrt})
        fwd, rev = self.block(self.main)
        ret_t = self.nf.ty.ret
        active_params = [p for p in self.params if self.active(p)]
        seed_name = self.fresh("y_bar") if mode == "rev" else None
        adj_decls = []
        for v in list(self.bar):
            if v == self.result or v in self.temps:
                continue
            adj_decls.append(S.Let(self.bar[v], None, B.zeros_like(B.name(v), self.vars[v]), True))
        for p in active_params:
            if p not in self.bar:
                adj_decls.append(S.Let(self.barname(p), None, B.zeros_like(B.name(p), self.vars[p]), True))
        seed = B.name(seed_name) if seed_name else B.num(1.0)
        if self.result is not None:
            adj_decls.insert(0, S.Let(self.barname(self.result), None, seed, True))
        for d in adj_decls:
            d.comment = None
        rev = _zero_at_loop_heads(adj_decls + rev, {self.barname(p) for p in active_params})
        # pushes of variables the reverse sweep never reads are dropped (the adjoints'
        # declarations come before any value is restored: they read final values)
        needed = names_in([s for s in _walk(rev[len(adj_decls):]) if getattr(s, "tape_var", None) is None], set())
        fwd = _drop_tapes(fwd, needed)
        rev = _peephole(_drop_tapes(rev, needed))
        live_tapes = names_in(fwd, set())
        extra = [d for d in self.extra if d.name in live_tapes or not d.name.endswith("_tape")]
        if rev:
            rev[0].comment = "reverse sweep: adjoints, seeded with the result's"
        params = [S.Param(p.name, B.type_expr(p.sym.ty)) for p in self.nf.params]
        grads = [B.name(self.barname(p)) for p in active_params]
        if mode == "rev":
            # the pullback: callers have the value already, so only cotangents come back
            params.append(S.Param(seed_name, B.type_expr(ret_t)))
            ret_val = S.TupleLit(grads)
            ret_ty = TupleT(tuple(self.vars[p] for p in active_params))
        else:
            chosen = [B.name(self.barname(self.params[i])) for i in wrt]
            g = chosen[0] if len(chosen) == 1 and not getattr(self, "tuple_wrt", False) else S.TupleLit(chosen)
            gt = self.vars[self.params[wrt[0]]] if len(chosen) == 1 and not getattr(self, "tuple_wrt", False) else TupleT(tuple(self.vars[self.params[i]] for i in wrt))
            if mode == "grad":
                ret_val, ret_ty = g, gt
            else:
                ret_val, ret_ty = S.TupleLit([B.name(self.result), g]), TupleT((ret_t, gt))
        if fwd:
            fwd[0].comment = "forward sweep: the primal, saving what it overwrites"
        structs = {self.bar[v]: t for v, t in self.vars.items() if v in self.bar and isinstance(t, StructT)}
        rev = _fresh_parts(rev, structs)
        body = _dead_code(self.decls + extra + fwd + rev, ret_val) + [S.Return(ret_val)]
        return S.FnDef(out_name, params, B.type_expr(ret_ty), body, span=self.nf.span)

    # ------------------------------------------------------------ statements
    def block(self, body):
        fwd, rev = [], []
        from . import _stamp
        for s in body:
            f, r = self.stmt(s)
            f, self.before_fwd = self.before_fwd + f, []
            _stamp(f, s.span)                    # errors in derived code point at the source line
            _stamp(r, s.span)
            fwd += f
            if r:
                src = s.span
                if src.line > 0 and r:
                    r[0].comment = getattr(r[0], "comment", None) or f"line {src.line}: {_describe(s)}"
            rev = r + rev
        return fwd, rev

    def stmt(self, s):
        m = getattr(self, "s_" + type(s).__name__, None)
        if m is None:
            raise _err(s.span, f"cannot differentiate a `{type(s).__name__}` statement yet")
        return m(s)

    def s_Let(self, s):
        if isinstance(s.sym.ty, FnT):
            return [s], []
        raise _err(s.span, "internal: unexpected declaration in normal form")

    def s_ExprStmt(self, s):
        e = s.expr
        if isinstance(e, S.Call) and e.target and e.target[0] == "method":
            return self.method_stmt(s, e)
        return [s], []

    def method_stmt(self, s, e):
        name = e.func.name
        obj = e.func.obj
        active = self.root_active(obj)
        if name == "append":
            rev = [S.ExprStmt(B.method(B.copy_expr(obj), "pop"))]
            if active:
                g = self.temp("g")
                rev.append(_borrow(g, B.method(self.bar_path(obj), "pop")))
                rev += self.value_adjoint(e.args[0], B.name(g))
            return [s], rev
        if name == "pop":
            elem_t = obj.ty.elem
            tape = self.tape(f"{root_of(obj).id}_popped", elem_t)
            fwd = [S.ExprStmt(B.method(B.name(tape), "append", B.method(B.copy_expr(obj), "pop")))]
            z = self.temp("popped")
            rev = [S.Let(z, None, self.pop(tape)), S.ExprStmt(B.method(B.copy_expr(obj), "append", B.name(z)))]
            if active:
                rev.append(S.ExprStmt(B.method(self.bar_path(obj), "append", B.zeros_like(B.name(z), elem_t))))
            return fwd, rev
        if active:
            raise _err(s.span, f"cannot differentiate `.{name}` on a differentiable value yet",
                       "build the new value with `append`, or assign elements")
        # an inactive container changed in place: snapshot it whole
        root = root_of(obj)
        tape = self.tape(f"{root.id}_before", obj.ty)
        return [self.push(tape, B.copy_expr(obj)), s], [S.Assign(B.copy_expr(obj), self.pop(tape))]

    def s_Assign(self, s):
        t, v = s.target, s.value
        if isinstance(t, S.Name):
            return self.assign_name(s, t.id, v)
        return self.assign_part(s, t, v)

    def assign_name(self, s, name, v):
        ty = self.vars[name]
        # a declaration outside loops, or the function's result, overwrites only the
        # zero the variable was declared with
        pushed = self.overwritable(name) and not (getattr(s, "is_decl", False) and self.loop_depth == 0) \
            and not getattr(s, "once", False)
        fwd, rev = [], []
        if pushed:
            tape = self.tape(name, ty)
            fwd.append(self.push(tape, B.name(name), name))
        fwd.append(s)
        restore = [self.restore(B.name(name), self.tape(name, ty), name)] if pushed else []
        popped = isinstance(v, S.Call) and v.target and v.target[0] == "method" and v.func.name == "pop"
        if not self.active(name):
            if popped:                         # the list gets its value back, active or not
                return fwd, [S.ExprStmt(B.method(B.copy_expr(v.func.obj), "append", B.name(name)))] + restore
            return fwd, restore
        if name in self.temps:
            # its reader (the next step) declared its cotangent; nothing to reset
            keep_y = self.keep_result(v, name, pushed)
            adj = self.value_adjoint(v, B.name(self.barname(name)))
            self.root_value = None
            return fwd, _unless_unused(keep_y, adj) + restore + adj
        if isinstance(v, S.Call) and v.target and v.target[0] == "method" and v.func.name == "pop":
            obj = v.func.obj
            rev = [S.ExprStmt(B.method(B.copy_expr(obj), "append", B.name(name)))]
            if self.root_active(obj):
                rev.append(S.ExprStmt(B.method(self.bar_path(obj), "append", B.name(self.barname(name)))))
            rev += restore + [B.assign(self.barname(name), B.zeros_like(B.name(name), ty))]
            return fwd, rev
        # (a float overwritten in a loop is cheaper to recompute than to keep on a tape)
        keep_y = self.keep_result(v, name, pushed) if not (pushed and ty == FLOAT) else []
        if ty == FLOAT and not self.is_call(v):
            contribs, pre = self.float_contribs(v, B.name(self.barname(name)))
            self.root_value = None
            own = [c for leaf, c in contribs if isinstance(leaf, S.Name) and leaf.id == name]
            others = [(leaf, c) for leaf, c in contribs if not (isinstance(leaf, S.Name) and leaf.id == name)]
            total = B.num(0.0)
            for c in own:
                total = B.add(total, c)
            adj = pre + self.accumulate_all(others) + [B.assign(self.barname(name), total)]
            return fwd, _unless_unused(keep_y, adj) + restore + adj
        g = self.temp("g")
        adj = self.value_adjoint(v, B.name(g))
        rev = [_borrow(g, B.name(self.barname(name)))] + _unless_unused(keep_y, adj) + restore + [
            B.assign(self.barname(name), B.zeros_like(B.name(name), ty))] + adj
        self.root_value = None
        return fwd, rev

    def keep_result(self, v, name, pushed) -> list[S.Stmt]:
        """A rule that needs the result (exp, tanh, /, …) reads the variable itself,
        saved before the variable is restored, instead of computing it again."""
        if not self._root_uses_y(v):
            return []
        if not pushed:
            self.root_value = (v, B.name(name))
            return []
        y = self.temp("y")
        self.root_value = (v, B.name(y))
        return [_borrow(y, B.name(name))]

    def _root_uses_y(self, v) -> bool:
        if v.ty not in (FLOAT, TENSOR):
            return False
        if isinstance(v, S.Binary) and v.op not in ("==", "!=", "<", "<=", ">", ">=", "&&", "||"):
            prim = _binary_prim(v)
        elif isinstance(v, S.Call) and v.target and v.target[0] == "prim":
            prim = v.target[1]
        else:
            return False
        return prim.vjp is not None and _uses([t for t in prim.vjp if t]).get("y", 0) > 0

    def assign_part(self, s, t, v):
        root = root_of(t)
        ty = t.ty
        if root is None:
            raise _err(s.span, "cannot differentiate an assignment into a temporary")
        fwd, rev = [], []
        active = self.root_active(t)
        if isinstance(t, S.Index) and isinstance(t.obj.ty, DictT):
            had_tape = self.tape(f"{root.id}_had", BOOL)
            old_tape = self.tape(f"{root.id}_part", ty)
            fwd += [self.push(had_tape, B.method(B.copy_expr(t.obj), "contains", B.copy_expr(t.index))),
                    self.push(old_tape, B.method(B.copy_expr(t.obj), "get", B.copy_expr(t.index), B.zero_of_type(ty)))]
            fwd.append(s)
            g = self.temp("g")
            had, old = self.temp("had"), self.temp("old")
            rev = []
            if active:
                rev.append(_borrow(g, self.bar_path(t)))
            rev += [S.Let(old, None, self.pop(old_tape)), S.Let(had, None, self.pop(had_tape))]
            restore_then = [S.Assign(B.copy_expr(t), B.name(old))]
            restore_else = [S.ExprStmt(B.method(B.copy_expr(t.obj), "remove", B.copy_expr(t.index)))]
            if active:
                restore_then.append(S.Assign(self.bar_path(t), B.zeros_like(B.name(old), ty)))
                restore_else.append(S.ExprStmt(B.method(self.bar_path(t.obj), "remove", B.copy_expr(t.index))))
            rev.append(S.If(B.name(had), restore_then, restore_else))
            if active:
                rev += self.value_adjoint(v, B.name(g))
            return fwd, rev
        tape = self.tape(f"{root.id}_part", ty)
        fwd += [self.push(tape, B.copy_expr(t)), s]
        popped = isinstance(v, S.Call) and v.target and v.target[0] == "method" and v.func.name == "pop"
        if popped:
            # `xs[i] = ys.pop()`: the value goes back onto ys, its cotangent onto ys_bar
            obj = v.func.obj
            rev = []
            if active:
                g = self.temp("g")
                rev.append(_borrow(g, self.bar_path(t)))
            rev.append(S.ExprStmt(B.method(B.copy_expr(obj), "append", B.copy_expr(t))))
            if active and self.root_active(obj):
                rev.append(S.ExprStmt(B.method(self.bar_path(obj), "append", B.name(g))))
            rev.append(S.Assign(B.copy_expr(t), self.pop(tape)))
            if active:
                rev.append(S.Assign(self.bar_path(t), B.zeros_like(B.copy_expr(t), ty)))
            return fwd, rev
        if not active:
            return fwd, [S.Assign(B.copy_expr(t), self.pop(tape))]
        g = self.temp("g")
        rev = [_borrow(g, self.bar_path(t)), S.Assign(B.copy_expr(t), self.pop(tape)),
               S.Assign(self.bar_path(t), B.zeros_like(B.copy_expr(t), ty))]
        rev += self.value_adjoint(v, B.name(g))
        return fwd, rev

    def s_If(self, s):
        in_loop = self.loop_depth > 0
        br = self.bookkeeping("branch", BOOL, S.Bool(False))
        tf, tr = self.block(s.then)
        ef, er = self.block(s.orelse)
        fwd = [B.assign(br, B.copy_expr(s.cond)), S.If(B.name(br), tf, ef)]
        rev = []
        if in_loop:
            # pushed after the branch's own pushes, so it is popped before them
            tape = self.tape("branch", BOOL)
            fwd.append(self.push(tape, B.name(br)))
            rev.append(B.assign(br, self.pop(tape)))
        if tr or er:
            rev.append(S.If(B.name(br), tr, er))
        elif not in_loop:
            rev = []
        return fwd, rev

    def s_While(self, s):
        in_loop = self.loop_depth > 0
        cnt = self.bookkeeping("trips", INT, B.inum(0))
        self.loop_depth += 1
        bf, br = self.block(s.body)
        self.loop_depth -= 1
        fwd = [B.assign(cnt, B.inum(0)),
               S.While(B.copy_expr(s.cond), [B.assign(cnt, S.Binary("+", B.name(cnt), B.inum(1)))] + bf)]
        rev = []
        if in_loop:
            tape = self.tape("trips", INT)
            fwd.append(self.push(tape, B.name(cnt)))
            rev.append(B.assign(cnt, self.pop(tape)))
        k = self.fresh("k")
        rev.append(S.ForRange(k, B.inum(0), B.name(cnt), br or []))
        if not br:
            rev = rev[:-1]
        return fwd, rev

    def s_ForRange(self, s):
        in_loop = self.loop_depth > 0
        const = isinstance(s.start, S.Num) and isinstance(s.stop, S.Num)
        self.loop_depth += 1
        bf, br = self.block(s.body)
        self.loop_depth -= 1
        if const:
            lo_e, hi_e = B.copy_expr(s.start), B.copy_expr(s.stop)
            fwd = [S.ForRange(s.var, lo_e, hi_e, bf)]
        else:
            lo = self.bookkeeping("lo", INT, B.inum(0))
            hi = self.bookkeeping("hi", INT, B.inum(0))
            lo_e, hi_e = B.name(lo), B.name(hi)
            fwd = [B.assign(lo, B.copy_expr(s.start)), B.assign(hi, B.copy_expr(s.stop)),
                   S.ForRange(s.var, B.name(lo), B.name(hi), bf)]
        rev = []
        if in_loop and not const:
            tl, th = self.tape("lo", INT), self.tape("hi", INT)
            fwd += [self.push(tl, B.name(lo)), self.push(th, B.name(hi))]
            rev += [B.assign(hi, self.pop(th)), B.assign(lo, self.pop(tl))]
        if br:
            k = self.fresh("k")
            body = br
            if s.var in names_in(br, set()):
                # the reverse sweep runs the iterations backwards: i = hi - 1 - k
                body = [B.assign(s.var, B.sub(B.sub(B.copy_expr(hi_e), B.inum(1)), B.name(k)))] + br
            rev.append(S.ForRange(k, B.inum(0), B.sub(B.copy_expr(hi_e), B.copy_expr(lo_e)), body))
        else:
            rev = []
        return fwd, rev

    def s_Match(self, s):
        in_loop = self.loop_depth > 0
        arm = self.bookkeeping("arm", INT, B.inum(0))
        arms, revs = [], []
        for k, a in enumerate(s.arms):
            f, r = self.block(a.body)
            arms.append(S.MatchArm(a.enum, a.variant, list(a.binds), [B.assign(arm, B.inum(k))] + f))
            revs.append(r)
        fwd = [S.Match(B.copy_expr(s.subject), arms)]
        rev = []
        if in_loop:
            tape = self.tape("arm", INT)
            fwd.append(self.push(tape, B.name(arm)))
            rev.append(B.assign(arm, self.pop(tape)))
        chain: list = []
        for k in reversed(range(len(revs))):
            if revs[k]:
                chain = [S.If(S.Binary("==", B.name(arm), B.inum(k)), revs[k], chain)]
        return fwd, rev + chain

    def s_Return(self, s):
        raise _err(s.span, "internal: return inside normal form")

    # ------------------------------------------------------------ adjoints of values
    def is_call(self, v) -> bool:
        return isinstance(v, S.Call) and v.target is not None and v.target[0] in ("fn", "value", "transform")

    def value_adjoint(self, v, g: S.Expr) -> list[S.Stmt]:
        """Statements that send cotangent g (a name) into what value v was made of."""
        if v.ty is None or not v.ty.active:
            return []
        if self.is_call(v):
            return self.call_adjoint(v, g)
        if v.ty in (FLOAT, TENSOR):
            contribs, pre = self.float_contribs(v, g)
            return pre + self.accumulate_all(contribs)
        contribs: list = []
        self.aggregate_contribs(v, g, contribs)
        return self.accumulate_all(contribs)

    def aggregate_contribs(self, e, g, out):
        if e.ty is None or not e.ty.active:
            return
        if is_path(e):
            if self.root_active(e):
                out.append((e, g))
            return
        if e.ty in (FLOAT, TENSOR):
            contribs, pre = self.float_contribs(e, g)
            if pre:
                out.append(("pre", pre))
            out.extend(contribs)
            return
        if isinstance(e, S.StructLit):
            for n, fe in e.fields:
                self.aggregate_contribs(fe, B.field(B.copy_expr(g), n), out)
            return
        if isinstance(e, S.TupleLit):
            for k, it in enumerate(e.items):
                self.aggregate_contribs(it, B.tindex(B.copy_expr(g), k), out)
            return
        if isinstance(e, S.ListLit):
            for k, it in enumerate(e.items):
                self.aggregate_contribs(it, B.index(B.copy_expr(g), B.inum(k)), out)
            return
        if isinstance(e, S.DictLit):
            for k, it in zip(e.keys, e.values):
                self.aggregate_contribs(it, B.index(B.copy_expr(g), B.copy_expr(k)), out)
            return
        if isinstance(e, S.Call) and e.target and e.target[0] == "prim":
            # a primitive with an aggregate result (to_list, split_like, …)
            pre: list = []
            self._apply_rule(e, e.target[1], e.args, g, out, pre)
            if pre:
                out.append(("pre", pre))
            return
        if isinstance(e, S.Binary) and e.op == "+" and isinstance(e.ty, ListT):
            # xs + ys: the first len(xs) cotangents are xs's, the rest ys's
            n = B.call("len", B.copy_expr(e.left))
            self.aggregate_contribs(e.left, B.call("sublist", B.copy_expr(g), B.inum(0), n), out)
            self.aggregate_contribs(e.right, B.call("sublist", B.copy_expr(g), B.copy_expr(n),
                                                    B.call("len", B.copy_expr(g))), out)
            return
        if isinstance(e, S.Call) and e.target and e.target[0] == "builtin":
            name = e.target[1]
            if name in ("zeros_like", "stop_gradient"):
                return
            if name == "accumulate":
                for a in e.args:
                    self.aggregate_contribs(a, g, out)
                return
        raise _err(e.span, "cannot differentiate this expression yet", "bind its parts to variables first")

    def float_contribs(self, e, g):
        """(leaf, contribution) pairs for a float expression, and the statements that
        bind intermediate values they share (v1, v2, … as in the lecture's trace)."""
        out: list = []
        pre: list = []
        # partial derivatives first (cotangent 1), summed per leaf, then scaled by g
        # once: v_bar * (4.0 * (1.0 - v) - 4.0 * v), as one would write it by hand.
        # Only for scalar expressions: a tensor's cotangent does not factor out.
        if not _all_float(e):
            self._fc(e, g, out, pre)
            flat, stmts = [], list(pre)
            for item in out:
                if item[0] == "pre":
                    stmts += item[1]
                else:
                    flat.append(item)
            return flat, stmts
        self._fc(e, B.num(1.0), out, pre)
        from ..printer import expr_src
        order, total, stmts = [], {}, list(pre)
        for item in out:
            if item[0] == "pre":
                stmts += item[1]
                continue
            leaf, partial = item
            key = expr_src(leaf)
            if key not in total:
                order.append(leaf)
                total[key] = partial
            else:
                total[key] = B.add(total[key], partial)
        return [(leaf, B.mul(B.copy_expr(g), total[expr_src(leaf)])) for leaf in order], stmts

    def _bind(self, e, pre, base="v"):
        """An atom for e: e itself if simple, else a new temporary holding it."""
        if _simple(e):
            return e
        n = self.temp(base)
        pre.append(S.Let(n, None, B.copy_expr(e)))
        return B.name(n)

    def _fc(self, e, g, out, pre):
        if e.ty is None or not e.ty.active:
            return
        if isinstance(e, S.Num):
            return
        if is_path(e):
            if self.root_active(e):
                out.append((e, g))
            return
        if isinstance(e, S.Unary) and e.op == "-":
            self._fc(e.operand, B.neg(g), out, pre)
            return
        if isinstance(e, S.Binary):
            prim = _binary_prim(e)
            self._apply_rule(e, prim, [e.left, e.right], g, out, pre)
            return
        if isinstance(e, S.Call) and e.target and e.target[0] == "prim":
            self._apply_rule(e, e.target[1], e.args, g, out, pre)
            return
        if isinstance(e, S.Call) and e.target and e.target[0] == "builtin":
            if e.target[1] in ("float", "stop_gradient", "zeros_like", "int", "len"):
                return
            if e.target[1] == "accumulate":
                for a in e.args:
                    self._fc(a, g, out, pre)
                return
        if isinstance(e, (S.Field, S.Index, S.TupleIndex)):
            raise _err(e.span, "cannot differentiate a read from a temporary value yet", "bind the value to a variable first")
        raise _err(e.span, f"cannot differentiate `{type(e).__name__}` here yet")

    def _apply_rule(self, e, prim: P.Primitive, args, g, out, pre):
        active = [k for k, a in enumerate(args) if self.depends(a)]
        if not active:
            return
        if prim.vjp is None:
            raise _err(e.span, f"`{prim.name}` has no derivative rule")
        templates = [prim.vjp[k] for k in active]
        env = {}
        uses = _uses(templates)
        for name_, a in zip(prim.params, args):
            n_uses = uses.get(name_, 0)
            env[name_] = self._bind(a, pre) if n_uses > 0 and not _simple(a) and (n_uses > 1 or _costly(a)) else a
        if uses.get("y", 0):
            root = getattr(self, "root_value", None)
            if root is not None and root[0] is e:
                env["y"] = root[1]
            else:
                env["y"] = self._bind(e, pre) if not _simple(e) else e
        if len(active) > 1 and not _simple(g):
            g = B.name(self._bind_bar(g, pre))
        env["y_bar"] = g
        for k in active:
            contribution = self._unbroadcast(instantiate(prim.vjp[k], env), prim, args[k], e)
            if args[k].ty in (FLOAT, TENSOR):
                self._fc(args[k], contribution, out, pre)
            else:                              # a list of tensors (concat, stack)
                self.aggregate_contribs(args[k], contribution, out)

    def _unbroadcast(self, c, prim, arg, op):
        """`unbroadcast(v, a)` is v itself where a provably has op's shape; elsewhere,
        outside loops, it reads a's shape saved in the forward sweep instead of a, so
        the forward sweep need not keep a temporary alive for its shape."""
        if not (isinstance(c, S.Call) and isinstance(c.func, S.Name) and c.func.id == "unbroadcast"):
            return c
        if prim.elementwise and self.shapes.same(arg, op):
            return c.args[0]
        like = c.args[1]
        if self.loop_depth == 0 and isinstance(like, S.Name) and isinstance(arg, S.Name) and like.id == arg.id \
                and arg.ty == TENSOR and like.id not in self.params:
            snap = self.bookkeeping(f"{like.id}_shape", ListT(INT), S.ListLit([]))
            self.before_fwd.append(B.assign(snap, B.call("shape", B.name(like.id))))
            return B.call("unbroadcast", c.args[0], B.name(snap))
        return c

    def _bind_bar(self, g, pre):
        n = self.temp("g")
        pre.append(S.Let(n, None, g))
        return n

    def accumulate_all(self, contribs) -> list[S.Stmt]:
        """One `x_bar = x_bar + …` per leaf, in first-seen order."""
        order, total = [], {}
        pre = []
        from ..printer import expr_src
        for leaf, c in contribs:
            if leaf == "pre":
                pre += c
                continue
            key = expr_src(leaf)
            if key not in total:
                order.append(leaf)
                total[key] = c
            else:
                total[key] = B.add(total[key], c) if leaf.ty == FLOAT else B.call("accumulate", total[key], c)
        out = list(pre)
        # parts of one variable together (p_bar.x, p_bar.v, then a_bar), so a struct
        # adjoint built field by field can become one literal
        roots = []
        for leaf in order:
            r = root_of(leaf)
            if r is not None and r.id not in roots:
                roots.append(r.id)
        order.sort(key=lambda leaf: roots.index(root_of(leaf).id) if root_of(leaf) is not None else len(roots))
        for leaf in order:
            c = total[expr_src(leaf)]
            if isinstance(leaf, S.Name) and leaf.id in self.temps:
                out.append(S.Let(self.barname(leaf.id), None, c))      # a step's cotangent, once
                continue
            out.append(self.update(leaf, lambda cur, c=c, t=leaf.ty: B.accumulate(cur, c, t)))
        return out

    def update(self, leaf, f) -> S.Stmt:
        """`bar(leaf) = f(bar(leaf))`, rebuilding tuples (they are immutable)."""
        def set_(path, new):
            if isinstance(path, S.Name):
                return B.assign(self.barname(path.id), new)
            if isinstance(path, S.TupleIndex):
                tt = path.obj.ty
                items = [new if j == path.index else B.tindex(self.bar_path(path.obj), j) for j in range(len(tt.items))]
                return set_(path.obj, S.TupleLit(items))
            if _has_tuple(path.obj):
                if isinstance(path, S.Field):
                    st = path.obj.ty
                    fields = [(n, new if n == path.name else B.field(self.bar_path(path.obj), n)) for n in st.fields]
                    return set_(path.obj, S.StructLit(st.name, fields))
                raise _err(leaf.span, "cannot differentiate an element of a list inside a tuple yet")
            return S.Assign(self.bar_path(path), new)
        return set_(leaf, f(self.bar_path(leaf)))

    def call_adjoint(self, v: S.Call, g: S.Expr) -> list[S.Stmt]:
        """`t = f(args)`: recompute f's forward and run its reverse with t's cotangent."""
        rule = self.tx.user_rule(v)
        if rule is not None:
            return self.rule_adjoint(v, rule, g)
        callee, caps, active_idx = self.tx.reverse_callee(v)
        r = self.temp("r")
        out: list[S.Stmt] = []
        if callee is None:
            # a function value known only at run time
            pb = self.temp("pullback")
            call = S.Call(B.name("vjp"), [B.copy_expr(v.func)] + [B.copy_expr(a) for a in v.args])
            call.inside_derivative = True       # derivatives cannot reach what it captured: say so
            out.append(S.Let(pb, None, call))
            out.append(S.Let(r, None, S.Call(B.tindex(B.name(pb), 1), [g])))
            n = len(v.args)
            for k, a in enumerate(v.args):
                if a.ty is not None and a.ty.active and self.root_active(a):
                    c = B.name(r) if n == 1 else B.tindex(B.name(r), k)
                    out += self.accumulate_all([(a, c)])
            return out
        all_args = list(caps) + list(v.args)
        out.append(S.Let(r, None, S.Call(callee, [B.copy_expr(a) for a in all_args] + [g])))
        contribs = []
        for rank, k in enumerate(active_idx):
            a = all_args[k]
            if a.ty is not None and a.ty.active:
                contribs.append((a, B.tindex(B.name(r), rank)))
        agg = []
        for leaf, c in contribs:
            if is_path(leaf):
                if self.root_active(leaf):
                    agg.append((leaf, c))
            else:
                self.aggregate_contribs(leaf, c, agg)
        return out + self.accumulate_all(agg)

    def rule_adjoint(self, v: S.Call, rule: S.RuleDef, g) -> list[S.Stmt]:
        pre: list[S.Stmt] = []
        env = {}
        for p, a in zip(rule.params, v.args):
            env[p] = self._bind(a, pre)
        y = self.temp("y")
        pre.append(S.Let(y, None, S.Call(B.copy_expr(v.func), [B.copy_expr(env[p]) for p in rule.params])))
        env[rule.result] = B.name(y)
        env[rule.result + "_bar"] = g
        contribs = []
        for c in rule.clauses:
            if not c.target.endswith("_bar"):
                continue
            p = c.target[:-4]
            k = rule.params.index(p)
            a = v.args[k]
            if a.ty is not None and a.ty.active:
                val = instantiate(c.value, env)
                if a.ty == FLOAT:
                    self._fc(a, val, contribs, pre)
                else:
                    self.aggregate_contribs(a, val, contribs)
        return pre + self.accumulate_all(contribs)


# ---------------------------------------------------------------- helpers

def _is_zero_of(e) -> bool:
    return B.is_zero(e) or (isinstance(e, S.Call) and isinstance(e.func, S.Name) and e.func.id == "zeros_like")


def _accumulates_into(s, target: str):
    """The added value if s is `target = target + v` or `target = accumulate(target, v)`."""
    if not (isinstance(s, S.Assign) and isinstance(s.target, S.Name) and s.target.id == target):
        return None
    v = s.value
    if isinstance(v, S.Binary) and v.op == "+" and isinstance(v.left, S.Name) and v.left.id == target:
        return v.right
    if isinstance(v, S.Call) and isinstance(v.func, S.Name) and v.func.id == "accumulate" and \
            isinstance(v.args[0], S.Name) and v.args[0].id == target:
        return v.args[1]
    return None


def _unless_unused(lets, later):
    """The `let`s among these that a later statement reads."""
    used = names_in(later, set())
    return [s for s in lets if s.name in used]


def _varied(stmts, seeds: set[str]) -> set[str]:
    """The variables that depend on the seeds (activity analysis, flow-insensitive)."""
    varied = set(seeds)
    changed = True
    while changed:
        changed = False
        for s in _walk(stmts):
            if isinstance(s, S.Assign):
                r, reads = root_of(s.target), names_in(s.value, set())
            elif isinstance(s, S.ExprStmt) and isinstance(s.expr, S.Call) and isinstance(s.expr.func, S.Field):
                r, reads = root_of(s.expr.func.obj), names_in(s.expr.args, set())
            elif isinstance(s, S.Let) and isinstance(s.value, S.Lambda):
                r, reads = S.Name(s.name), names_in(s.value, set())
            else:
                continue
            if r is not None and r.id not in varied and reads & varied:
                varied.add(r.id)
                changed = True
    return varied


def _declared(stmts) -> set[str]:
    """Every name a statement list declares (lets, loop variables, match bindings)."""
    out = set()
    for s in _walk(stmts):
        if isinstance(s, S.Let):
            out |= set(s.names) if s.names else {s.name}
        elif isinstance(s, (S.ForRange, S.ForEach)):
            out.add(s.var)
        elif isinstance(s, S.Match):
            for a in s.arms:
                out |= set(a.binds)
    return out


def _fresh_parts(stmts, structs=None):
    """After `var p_bar = zeros_like(p)`, the first `p_bar.w = accumulate(p_bar.w, v)`
    of each part is `p_bar.w = v`: adding to a zero is a copy of work. When every
    field of a struct is written so, one after another, the struct is built at once:
    `q_bar = Particle { x: g.x, v: …, m: g.m }`."""
    structs = structs or {}
    fresh: dict[str, set] = {}                 # root -> parts already written
    out = []
    for s in stmts:
        for f in ("then", "orelse", "body"):
            inner = getattr(s, f, None)
            if isinstance(inner, list):
                setattr(s, f, _fresh_parts(inner, structs))
        target = s.name if isinstance(s, S.Let) else (s.target.id if isinstance(s, S.Assign) and isinstance(s.target, S.Name) else None)
        if target is not None and _is_zero_of(s.value):
            fresh[target] = set()
            out.append(s)
            continue
        if isinstance(s, S.Assign) and isinstance(s.target, S.Field) and isinstance(s.target.obj, S.Name) \
                and s.target.obj.id in fresh and s.target.name not in fresh[s.target.obj.id]:
            root, part = s.target.obj.id, s.target.name
            added = _part_accumulates(s, root, part)
            if added is not None and root not in names_in(added, set()):
                fresh[root].add(part)
                new = S.Assign(s.target, added, span=s.span)
                new.comment = getattr(s, "comment", None)
                out.append(new)
                _build_whole(out, root, structs.get(root))
                continue
        for root in [r for r in fresh if r in names_in(s, set()) or r == target]:
            del fresh[root]
        out.append(s)
    return out


def _build_whole(out, root, st):
    """If out ends with `root = zeros_like(…)` followed only by writes of every field
    of root (values not reading what is written in between), make it one literal."""
    if st is None:
        return
    writes, j = {}, len(out) - 1
    while j >= 0 and isinstance(out[j], S.Assign) and isinstance(out[j].target, S.Field) \
            and isinstance(out[j].target.obj, S.Name) and out[j].target.obj.id == root:
        writes.setdefault(out[j].target.name, out[j].value)
        j -= 1
    if j < 0 or set(writes) != set(st.fields) or len(writes) != len(out) - 1 - j:
        return
    zero = out[j]
    target = zero.name if isinstance(zero, S.Let) else (zero.target.id if isinstance(zero, S.Assign) and isinstance(zero.target, S.Name) else None)
    if target != root or not _is_zero_of(zero.value):
        return
    lit = S.StructLit(st.name, [(f, writes[f]) for f in st.fields])
    if isinstance(zero, S.Let):
        new = S.Let(zero.name, zero.annot, lit, True, span=zero.span)
    else:
        new = S.Assign(zero.target, lit, span=zero.span)
    new.comment = getattr(zero, "comment", None)
    del out[j:]
    out.append(new)


def _part_accumulates(s, root, part):
    v = s.value

    def is_part(e):
        return isinstance(e, S.Field) and e.name == part and isinstance(e.obj, S.Name) and e.obj.id == root
    if isinstance(v, S.Binary) and v.op == "+" and is_part(v.left):
        return v.right
    if isinstance(v, S.Call) and isinstance(v.func, S.Name) and v.func.id == "accumulate" and is_part(v.args[0]):
        return v.args[1]
    return None


def _unrelated(s, name) -> bool:
    """A simple statement that neither reads nor writes `name`."""
    if isinstance(s, S.Let):
        return s.name != name and name not in names_in(s, set())
    if isinstance(s, S.Assign):
        root = root_of(s.target)
        return root is not None and root.id != name and name not in names_in(s, set())
    return False


def _peephole(stmts):
    """`x_bar = 0` then `x_bar = x_bar + v` (only lets between) becomes `x_bar = v`;
    `x_bar = x_bar` goes."""
    out = []
    for s in stmts:
        for f in ("then", "orelse", "body"):
            inner = getattr(s, f, None)
            if isinstance(inner, list):
                setattr(s, f, _peephole(inner))
        if isinstance(s, S.Assign) and isinstance(s.target, S.Name) and isinstance(s.value, S.Name) and s.value.id == s.target.id:
            continue
        merged = False
        for j in range(len(out) - 1, -1, -1):
            prev = out[j]
            if isinstance(prev, S.Let) and prev.mutable and isinstance(s, S.Assign) and isinstance(s.target, S.Name) \
                    and prev.name == s.target.id and _is_zero_of(prev.value):
                # `var x_bar = zeros_like(x)` … `x_bar = accumulate(x_bar, v)`: declare it as v
                added = _accumulates_into(s, prev.name)
                if added is not None and prev.name not in names_in(added, set()):
                    new = S.Let(prev.name, prev.annot, added, True, span=prev.span)
                    new.comment = getattr(prev, "comment", None) or getattr(s, "comment", None)
                    del out[j]
                    out.append(new)
                    merged = True
                break
            if isinstance(s, S.Assign) and isinstance(s.target, S.Name) and _unrelated(prev, s.target.id):
                continue
            if isinstance(prev, S.Assign) and isinstance(prev.target, S.Name) and _is_zero_of(prev.value):
                added = _accumulates_into(s, prev.target.id)
                if added is not None and prev.target.id not in names_in(added, set()):
                    new = S.Assign(prev.target, added, span=s.span)
                    new.comment = getattr(prev, "comment", None) or getattr(s, "comment", None)
                    del out[j]
                    out.append(new)
                    merged = True
            break
        if not merged:
            out.append(s)
    return out


def _zero_at_loop_heads(stmts, returned: set):
    """An adjoint that is zero on entering a loop and reset to zero at the end of
    each trip (its variable is overwritten in the loop) is zero at the head of every
    trip: its first `v_bar = accumulate(v_bar, x)` in the body becomes `v_bar = x`
    and the reset goes, when nothing after the loop reads it (`returned` are read at
    the end). Top-level loops only."""
    out = list(stmts)
    for i, loop in enumerate(out):
        if not isinstance(loop, (S.ForRange, S.While)):
            continue
        body = loop.body
        for v in _zeroed_at_end(body):
            first = next(j for j, s in enumerate(body) if _touches(s, v))
            added = _accumulates_into(body[first], v)
            if added is None or v in names_in(added, set()) or not _zero_before(out[:i], v) \
                    or _read_later(out[i + 1:], v, returned):
                continue
            last = max(j for j, s in enumerate(body) if _touches(s, v))
            body[first] = S.Assign(S.Name(v), added, span=body[first].span)
            del body[last]
    return out


def _read_later(stmts, v, returned) -> bool:
    """Whether v's value is read by stmts before they overwrite it. `let g = v` with g
    never read does not count: dead code removal takes it later."""
    for j, s in enumerate(stmts):
        if isinstance(s, S.Let) and isinstance(s.value, S.Name) and s.value.id == v and s.names is None \
                and not any(_touches(t, s.name) for t in stmts[j + 1:]) and s.name not in returned:
            continue
        if isinstance(s, S.Assign) and isinstance(s.target, S.Name) and s.target.id == v \
                and v not in names_in(s.value, set()):
            return False
        if _touches(s, v):
            return True
    return v in returned


def _zeroed_at_end(body) -> list[str]:
    """Variables whose last mention in body is a top-level `v = zeros_like(…)`."""
    out = []
    for j, s in enumerate(body):
        if isinstance(s, S.Assign) and isinstance(s.target, S.Name) and _is_zero_of(s.value):
            v = s.target.id
            if v not in out and not any(_touches(t, v) for t in body[j + 1:]):
                out.append(v)
    return out


def _zero_before(stmts, v) -> bool:
    """Whether the last of stmts that mentions v sets it to zero."""
    for s in reversed(stmts):
        if not _touches(s, v):
            continue
        if isinstance(s, S.Let) and s.name == v and s.names is None:
            return _is_zero_of(s.value)
        return isinstance(s, S.Assign) and isinstance(s.target, S.Name) and s.target.id == v and _is_zero_of(s.value)
    return False


def _touches(s, v) -> bool:
    """Whether statement s reads or writes variable v anywhere inside it."""
    if v in names_in(s, set()):
        return True
    for x in _walk([s]):
        if isinstance(x, S.Assign) and isinstance(x.target, S.Name) and x.target.id == v:
            return True
        if isinstance(x, S.Let) and x.name == v:
            return True
    return False


_PURE_CALLS = P.CALLABLE | {"zeros_like", "accumulate", "float", "int", "len", "str", "stop_gradient"}


def _pure(e) -> bool:
    """No effects: only primitives and pure builtins are called (user functions may not
    be named like them, so the name decides, typed or not)."""
    if isinstance(e, S.Call) and not (isinstance(e.func, S.Name) and e.func.id in _PURE_CALLS):
        return False
    return all(_pure(c) for c in B.children(e))


def _borrow(name, value):
    """`let g = x_bar`: the cotangent held while x_bar is reset. x_bar is rebound, never
    mutated in place, while g lives, so the binding need not copy."""
    s = S.Let(name, None, value)
    s.borrow = True
    return s


def _dead_code(body, ret_val):
    """Drop top-level assignments whose value nobody reads afterwards (the primal's
    result in a gradient, an adjoint zeroed after its last use), then declarations
    of names nothing mentions."""
    live = names_in(ret_val, set())
    kept = []
    for s in reversed(body):
        if isinstance(s, S.Assign) and isinstance(s.target, S.Name) and s.target.id not in live and _pure(s.value):
            continue
        names_in(s, live)
        if isinstance(s, S.Assign):
            names_in(s.target, live)
        kept.append(s)
    kept.reverse()
    mentioned: dict = {n: 1 for n in names_in(ret_val, set())}
    for s in kept:
        targets = {x.target.id for x in _walk([s]) if isinstance(x, S.Assign) and isinstance(x.target, S.Name)}
        for n in names_in(s, set()) | targets:
            mentioned[n] = mentioned.get(n, 0) + 1
    return [s for s in kept if not (isinstance(s, S.Let) and s.names is None and s.name not in mentioned and _pure(s.value))]


def _all_float(e) -> bool:
    """Whether e and everything in it that carries a derivative is a float."""
    if e.ty is not None and e.ty.active and e.ty != FLOAT:
        return False
    if is_path(e):
        return True                            # a float read from a list, struct, …
    return all(_all_float(c) for c in B.children(e))


def _walk(stmts):
    for s in stmts:
        yield s
        for f in ("then", "orelse", "body"):
            inner = getattr(s, f, None)
            if isinstance(inner, list):
                yield from _walk(inner)
        if isinstance(s, S.Match):
            for a in s.arms:
                yield from _walk(a.body)


def _drop_tapes(stmts, needed):
    out = []
    for s in stmts:
        tv = getattr(s, "tape_var", None)
        if tv is not None and tv not in needed:
            continue
        for f in ("then", "orelse", "body"):
            inner = getattr(s, f, None)
            if isinstance(inner, list):
                setattr(s, f, _drop_tapes(inner, needed))
        if isinstance(s, S.Match):
            for a in s.arms:
                a.body = _drop_tapes(a.body, needed)
        out.append(s)
    return out


def _simple(e) -> bool:
    return isinstance(e, (S.Num, S.Name)) or (is_path(e) and _depth(e) <= 2)


def _costly(e) -> bool:
    """Worth a temporary rather than recomputing inline."""
    if isinstance(e, S.Call):
        return True
    if isinstance(e, S.Binary):
        return _costly(e.left) or _costly(e.right) or e.op in ("/", "**")
    if isinstance(e, S.Unary):
        return _costly(e.operand)
    return False


def _depth(e) -> int:
    d = 0
    while isinstance(e, (S.Field, S.Index, S.TupleIndex)):
        e, d = e.obj, d + 1
    return d


def _has_tuple(e) -> bool:
    while isinstance(e, (S.Field, S.Index, S.TupleIndex)):
        if isinstance(e, S.TupleIndex):
            return True
        e = e.obj
    return False


def _uses(templates) -> dict:
    from .rules import _parsed
    counts: dict = {}
    for t in templates:
        for n in names_in(_parsed(t), set()) if t else ():
            counts[n] = counts.get(n, 0) + 1
    return counts


def _binary_prim(e: S.Binary) -> P.Primitive:
    """The table entry for an operator at its operands' types."""
    if e.op == "**" and e.right.ty == INT:
        return P.BY_NAME["**int"][0]
    types = (e.left.ty, e.right.ty)
    for p in P.BY_NAME[e.op]:
        if p.types == types:
            return p
    raise _err(e.span, f"`{e.op}` has no derivative rule for `{types[0]}` and `{types[1]}`")


def _describe(s) -> str:
    from ..printer import stmt_src
    text = stmt_src(s).strip().split("\n")[0]
    return text if len(text) < 60 else text[:57] + "..."

