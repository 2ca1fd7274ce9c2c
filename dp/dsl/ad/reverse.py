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

from .. import syntax as S
from ..diagnostics import Diagnostic, DPError
from ..types import BOOL, FLOAT, INT, TENSOR, DictT, FnT, ListT, StructT, TupleT
from . import build as B
from .activity import Activity, useful, varied
from .adjoints import Adjoints, _binary_prim, _uses
from .derived import stamp as _stamp
from .cleanup import _dead_code, _drop_tapes, _restored_values_read, _fresh_parts, _peephole, _zero_at_loop_heads
from .normalize import is_path
from .scalars import scalarise
from .shapes import Shapes
from .trees import _declared, _err, _walk, names_in, root_of


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


class Reverse(Adjoints, Activity, Sweep):
    """The reverse transform of one function: the statements' forward and reverse
    sweeps here, the adjoints of the values they assign in `Adjoints`
    (adjoints.py), and the clean-up of the result in cleanup.py."""

    def __init__(self, nf: S.FnDef, tx, reserved: set[str], seeds: dict | None = None):
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
        # seeds: the arguments' shapes, when specialising to them (specialise.py)
        written = {p.name: tuple(int(d.name) if d.name.isdigit() else None if d.name == "_" else d.name
                                 for d in B.sizes_of(p.annot)) for p in self.nf.params if B.sizes_of(p.annot)}
        self.shapes = Shapes().run({p: self.vars[p] for p in self.params}, self.main, seeds, written)
        self.before_fwd: list[S.Stmt] = []      # shape snapshots the current statement's reverse reads
        self.unbroadcasts_in_loops = 0          # left to run time, each trip: specialising would help
        self.tuple_wrt = False                  # grad(f, (0, 1)): the gradient is a tuple
        self.root_value = None                  # (value, name holding it) a rule may read as `y`
        self.payload_cotangents: dict = {}      # in a match arm: payload index -> its cotangent's name
        self.useful: set = set(self.vars)      # what the result reads (set by run)

    # ------------------------------------------------------------ analysis
    def _scan(self, body, in_loop):
        for s in body:
            if isinstance(s, S.Assign) and isinstance(s.target, S.Name):
                if s.temp:
                    self.temps.add(s.target.id)
                self.sites[s.target.id] = self.sites.get(s.target.id, 0) + 1
                if in_loop and not s.once:
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
        """Differentiable, depending on what is differentiated (when that is some
        parameters only: the others are constants here), and read on the way to the
        result (a value nothing reads has cotangent zero, and its adjoint, were it run,
        could turn that zero into nan: 0 * inf)."""
        t = self.vars.get(v)
        return t is not None and t.active and (self.varied is None or v in self.varied) and v in self.useful

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
            self.varied = varied(self.decls + self.main, {self.params[i] for i in wrt})
        self.useful = useful(self.decls + self.main, {self.result} if self.result else set()) | set(self.params)
        fwd, rev = self.block(self.main, nested=False)
        for s in fwd:
            s.primal = True                      # kept by _dead_code if it may fail (cleanup.py)
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
        returned = {self.barname(p) for p in active_params} | ({self.result} if self.result else set())
        rev = _peephole(_zero_at_loop_heads(adj_decls + rev, returned))
        rev = _dead_code(rev, S.TupleLit([B.name(n) for n in sorted(returned)]))
        # pushes of variables the reverse sweep never reads back are dropped
        needed = _restored_values_read(rev)
        fwd = _drop_tapes(fwd, needed)
        rev = _peephole(_drop_tapes(rev, needed))
        live_tapes = names_in(fwd, set())
        extra = [d for d in self.extra if d.name in live_tapes or not d.name.endswith("_tape")]
        if rev:
            rev[0].comment = "reverse sweep: adjoints, seeded with the result's"
        params = [S.Param(p.name, B.param_type(p)) for p in self.nf.params]
        grads = [B.name(self.barname(p)) for p in active_params]
        if mode == "rev":
            # the pullback: callers have the value already, so only cotangents come back
            params.append(S.Param(seed_name, B.type_expr(ret_t)))
            ret_val = S.TupleLit(grads)
            ret_ty = TupleT(tuple(self.vars[p] for p in active_params))
        else:
            chosen = [B.name(self.barname(self.params[i])) for i in wrt]
            g = chosen[0] if len(chosen) == 1 and not self.tuple_wrt else S.TupleLit(chosen)
            gt = self.vars[self.params[wrt[0]]] if len(chosen) == 1 and not self.tuple_wrt else TupleT(tuple(self.vars[self.params[i]] for i in wrt))
            if mode == "grad":
                ret_val, ret_ty = g, gt
            else:
                ret_val, ret_ty = S.TupleLit([B.name(self.result), g]), TupleT((ret_t, gt))
        if fwd:
            fwd[0].comment = "forward sweep: the primal, saving what it overwrites"
        structs = {self.bar[v]: t for v, t in self.vars.items() if v in self.bar and isinstance(t, StructT)}
        rev = _fresh_parts(rev, structs)
        body, ret_val = scalarise(self.decls + extra + fwd + rev, ret_val, structs, self.fresh)
        body = _dead_code(body, ret_val) + [S.Return(ret_val)]
        return S.FnDef(out_name, params, B.type_expr(ret_ty), body, span=self.nf.span)

    # ------------------------------------------------------------ statements
    def block(self, body, nested=True):
        fwd, rev = [], []
        for s in body:
            f, r = self.stmt(s)
            f, self.before_fwd = self.before_fwd + f, []
            _stamp(f, s.span)                    # errors in derived code point at the source line
            _stamp(r, s.span)
            fwd += f
            if r:
                src = s.span
                if src.line > 0 and r:
                    r[0].comment = r[0].comment or f"line {src.line}: {_describe(s)}"
            rev = r + rev
        if nested:
            fwd, rev = self.function_values_kept(body, fwd, rev)
        return fwd, rev

    def function_values_kept(self, body, fwd, rev):
        """A function value a branch or a loop's body binds (`let g = fn…`, the lambda a
        factory made) is out of scope in its reverse block, which is another block: the
        forward block keeps it on a tape where it binds it, and the reverse block binds
        it again first, the same closure, each trip its own."""
        used = names_in(rev, set())
        kept = []
        for s in body:
            if isinstance(s, S.Let) and isinstance(s.sym.ty, FnT) and s.name in used:
                tape = self.tape(f"{s.name}_made", s.sym.ty)
                at = next(i for i, f in enumerate(fwd) if f is s)
                fwd = fwd[:at + 1] + [self.push(tape, B.name(s.name))] + fwd[at + 1:]
                kept.append(S.Let(s.name, None, self.pop(tape)))
        return fwd, kept[::-1] + rev

    stmt = S.Dispatch("s_", S.STMTS)

    def _not_in_normal_form(self, s):
        raise _err(s.span, f"internal: a `{type(s).__name__}` statement in normal form",
                   "this is a bug in DP's transforms; please report it")

    # normalize.py rewrites these away (or they are never inside a function)
    s_AugAssign = s_ForEach = s_Break = s_Continue = s_Return = _not_in_normal_form
    s_FnDef = s_StructDef = s_EnumDef = s_Import = s_RuleDef = _not_in_normal_form

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
        if name == "remove" and isinstance(obj.ty, DictT):
            return self.remove_stmt(s, e, obj, active)
        if name == "reverse":
            # its own inverse, on the list and on its cotangent alike
            rev = [S.ExprStmt(B.method(B.copy_expr(obj), "reverse"))]
            if active:
                rev.append(S.ExprStmt(B.method(self.bar_path(obj), "reverse")))
            return [s], rev
        if name == "extend":
            return self.extend_stmt(s, e, obj, active)
        if active:
            raise _err(s.span, f"cannot differentiate `.{name}` on a differentiable value yet",
                       "build the new value with `append`, or assign elements")
        # an inactive container changed in place: snapshot it whole
        root = root_of(obj)
        tape = self.tape(f"{root.id}_before", obj.ty)
        return [self.push(tape, B.copy_expr(obj)), s], [S.Assign(B.copy_expr(obj), self.pop(tape))]

    def extend_stmt(self, s, e, obj, active):
        """`xs.extend(ys)`: the reverse sweep pops what was added, from the list and its
        cotangent, sending each cotangent to its element of ys."""
        ys = e.args[0]
        lens = self.tape(f"{root_of(obj).id}_len", INT)
        fwd = [self.push(lens, B.call("len", B.copy_expr(obj))), s]
        n, j = self.temp("n"), self.temp("j")
        body = [S.ExprStmt(B.method(B.copy_expr(obj), "pop")), B.assign(j, B.sub(B.name(j), B.inum(1)))]
        if active:
            g = self.temp("g")
            body.append(S.Let(g, None, B.method(self.bar_path(obj), "pop")))
            if self.depends(ys):
                body += self.value_adjoint(S.Index(ys, B.name(j), ty=ys.ty.elem), B.name(g))
        rev = [S.Let(n, None, self.pop(lens)), S.Let(j, None, B.call("len", B.copy_expr(ys)), True),
               S.While(S.Binary(">", B.call("len", B.copy_expr(obj)), B.name(n)), body)]
        return fwd, rev

    def remove_stmt(self, s, e, obj, active):
        """`d.remove(k)`: whether k was there and its value are saved, and put back in the
        reverse sweep; the removed value's cotangent is zero (nothing read it after)."""
        root, key, ty = root_of(obj), e.args[0], obj.ty.value
        had_tape, old_tape = self.tape(f"{root.id}_had", BOOL), self.tape(f"{root.id}_removed", ty)
        fwd = [self.push(had_tape, B.method(B.copy_expr(obj), "contains", B.copy_expr(key))),
               self.push(old_tape, B.method(B.copy_expr(obj), "get", B.copy_expr(key), B.zero_of_type(ty))), s]
        had, old = self.temp("had"), self.temp("old")
        back = [S.Assign(S.Index(B.copy_expr(obj), B.copy_expr(key)), B.name(old))]
        if active:
            back.append(S.Assign(S.Index(self.bar_path(obj), B.copy_expr(key)), B.zeros_like(B.name(old), ty)))
        rev = [S.Let(old, None, self.pop(old_tape)), S.Let(had, None, self.pop(had_tape)), S.If(B.name(had), back, [])]
        return fwd, rev

    def s_Assign(self, s):
        t, v = s.target, s.value
        if isinstance(t, S.Name):
            return self.assign_name(s, t.id, v)
        return self.assign_part(s, t, v)

    def assign_name(self, s, name, v):
        ty = self.vars[name]
        if s.payload is not None:
            return self.payload_copy(s, name, ty)
        # a declaration outside loops, or the function's result, overwrites only the
        # zero the variable was declared with
        pushed = self.overwritable(name) and not (s.is_decl and self.loop_depth == 0) \
            and not s.once
        fwd, rev = [], []
        if pushed:
            tape = self.tape(name, ty)
            fwd.append(self.push(tape, B.name(name), name))
        fwd.append(s)
        restore = [self.restore(B.name(name), self.tape(name, ty), name)] if pushed else []
        popped = isinstance(v, S.Call) and v.target and v.target[0] == "method" and v.func.name == "pop"
        if not self.active(name):
            if popped:                         # the list gets its value back, active or not,
                obj = v.func.obj               # and its cotangent a zero for it
                back = [S.ExprStmt(B.method(B.copy_expr(obj), "append", B.name(name)))]
                if self.root_active(obj):
                    back.append(S.ExprStmt(B.method(self.bar_path(obj), "append", B.zeros_like(B.name(name), ty))))
                return fwd, back + restore
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

    def payload_copy(self, s, name, ty):
        """`r = r_bound` at the head of a match arm: r's cotangent is held for the
        subject's (see s_Match), and r is restored if it was saved."""
        pushed = self.overwritable(name)
        fwd = ([self.push(self.tape(name, ty), B.name(name), name)] if pushed else []) + [s]
        rev = [self.restore(B.name(name), self.tape(name, ty), name)] if pushed else []
        if self.active(name):
            g = self.temp("g")
            self.payload_cotangents[s.payload] = g
            rev = [_borrow(g, B.name(self.barname(name)))] + rev + [
                B.assign(self.barname(name), B.zeros_like(B.name(name), ty))]
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
        place_bar = self.bar_path(t)
        if ty == TENSOR and v.ty == FLOAT:
            place_bar = B.call("sum", place_bar)     # a float written into every element of the place
        elif ty == TENSOR and v.ty == TENSOR and self.depends(v):
            # the value may have been broadcast into the place: its cotangent is summed
            # back to the value's own shape, saved as the write happens
            value, shapes = self.temp("value"), self.tape(f"{root.id}_value_shape", ListT(INT))
            fwd[-1:] = [S.Let(value, None, v), self.push(shapes, B.call("shape", B.name(value))),
                        S.Assign(s.target, B.name(value), span=s.span)]
            place_bar = B.call("unbroadcast", place_bar, self.pop(shapes))
        # the place's cotangent itself is only borrowed; a sum or unbroadcast of it is new
        rev = [S.Let(g, None, place_bar) if isinstance(place_bar, S.Call) else _borrow(g, place_bar),
               S.Assign(B.copy_expr(t), self.pop(tape)),
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
        popping = next((c for c in S.walk(s.cond) if isinstance(c, S.Call) and isinstance(c.func, S.Field)
                        and c.func.name == "pop"), None)
        root = root_of(popping.func.obj) if popping is not None else None
        if root is not None and (self.active(root.id) or root.id in names_in(s.body, set())):
            # each trip's pop would have to be undone in the reverse sweep, trip by trip,
            # for the body (or the list's cotangent) to see the list as it was
            raise DPError(Diagnostic("differentiation error", "cannot differentiate in reverse mode through a "
                                     "`pop()` in a `while` condition yet", popping.span or s.span,
                                     "pop at the start of the loop's body (`while len(xs) > 0 { let v = xs.pop() … }`), "
                                     "or use forward mode (jvp)"))
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
        if in_loop and not const and br:      # (no reverse loop: nothing to push, or to pop)
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
        active = self.root_active(s.subject) if s.subject.ty.active else False
        outer = self.payload_cotangents         # a match inside an arm has cotangents of its own
        for k, a in enumerate(s.arms):
            self.payload_cotangents = cotangents = {}
            f, r = self.block(a.body)
            arms.append(S.MatchArm(a.enum, a.variant, list(a.binds), [B.assign(arm, B.inum(k))] + f))
            if active and cotangents:
                r = r + self.subject_adjoint(s.subject, a, cotangents)
            revs.append(r)
        self.payload_cotangents = outer
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

    def subject_adjoint(self, subject, arm, cotangents) -> list[S.Stmt]:
        """After arm `V(b0, b1)` ran backwards, the cotangents of its payload (held by
        payload_copy) are the subject's: `e_bar = accumulate(e_bar, E.V(g1, b1))`,
        with zero for a payload nothing sent a cotangent to, and the primal's own value
        for one that carries no derivative."""
        et = subject.ty
        binds = [self.fresh(f"{b}_again") for b in arm.binds]
        types = et.variants[arm.variant]
        payload = [B.name(cotangents[k]) if k in cotangents else
                   B.zeros_like(B.name(binds[k]), types[k]) if types[k].active else B.name(binds[k])
                   for k in range(len(binds))]
        value = S.Call(S.Field(S.Name(et.name), arm.variant), payload)
        add = S.Assign(self.bar_path(subject), B.call("accumulate", self.bar_path(subject), value))
        arms = [S.MatchArm(et.name, arm.variant, binds, [add])]
        if len(et.variants) > 1:
            arms.append(S.MatchArm(None, "_", [], []))
        return [S.Match(B.copy_expr(subject), arms)]



# ---------------------------------------------------------------- helpers

def _unless_unused(lets, later):
    """The `let`s among these that a later statement reads."""
    used = names_in(later, set())
    return [s for s in lets if s.name in used]


def _borrow(name, value):
    """`let g = x_bar`: the cotangent held while x_bar is reset. x_bar is rebound, never
    mutated in place, while g lives, so the binding need not copy."""
    s = S.Let(name, None, value)
    s.borrow = True
    return s


def _describe(s) -> str:
    from ..printer import stmt_src
    text = stmt_src(s).strip().split("\n")[0]
    return text if len(text) < 60 else text[:57] + "..."
