"""The normal form the transforms work on, made from a checked function:

  * every local is declared once, at the top, as `var name: T = <zero>` with a name
    unique in the function (so a reverse sweep in another block still sees it);
  * `for x in xs` becomes an index loop; `a op= b` becomes `a = a op b`;
  * `break`, `continue` and early `return` become flags guarding what follows, so
    control flow is structured and a single `return` ends the function;
  * a call with a differentiable result inside a differentiable expression is lifted
    into its own statement `tN = f(args)`, with simple arguments.

The output is untyped DP; it is checked again before the transforms read it."""
from __future__ import annotations

from .. import blocks
from .. import generics as G
from .. import primitives as P
from .. import syntax as S
from ..diagnostics import Diagnostic, DPError
from ..types import BOOL, FLOAT, INT, TENSOR, UNIT, DictT, FnT, ListT, SetT
from . import build as B
from ..symbols import Symbol
from .trees import _declared, renamed

_PRIMITIVE_NAMES = P.CALLABLE | P.SPECIAL_BUILTINS | G.NAMES
TRANSFORM_NAMES = {"grad", "value_and_grad", "jvp", "vjp", "jacfwd", "jacrev", "hessian"}


def is_path(e) -> bool:
    """A read of a variable or of a part of one, with inactive indices."""
    while isinstance(e, (S.Field, S.Index, S.TupleIndex)):
        if isinstance(e, S.Index) and e.index.ty is not None and e.index.ty.active:
            return False
        if isinstance(e, S.Index) and isinstance(e.index, S.Slice) and isinstance(e.obj.ty, ListT):
            return False                  # xs[lo:hi] of a list is a new list: a sublist call
        if isinstance(e, S.Field) and e.target and e.target[0] != "field":
            return False
        e = e.obj
    return isinstance(e, S.Name)


def is_atom(e) -> bool:
    return isinstance(e, (S.Num, S.Str, S.Bool)) or is_path(e)


class _Jumps:
    """Which jumps a statement list may take out of itself."""

    @staticmethod
    def scan(body):
        ret = brk = cont = False
        for s in body:
            r, b, c = _Jumps.stmt(s)
            ret, brk, cont = ret or r, brk or b, cont or c
        return ret, brk, cont

    @staticmethod
    def stmt(s):
        if isinstance(s, S.Return):
            return True, False, False
        if isinstance(s, S.Break):
            return False, True, False
        if isinstance(s, S.Continue):
            return False, False, True
        if isinstance(s, S.If):
            a = _Jumps.scan(s.then)
            b = _Jumps.scan(s.orelse)
            return a[0] or b[0], a[1] or b[1], a[2] or b[2]
        if isinstance(s, S.Match):
            out = [False, False, False]
            for arm in s.arms:
                r = _Jumps.scan(arm.body)
                out = [x or y for x, y in zip(out, r)]
            return tuple(out)
        if isinstance(s, (S.While, S.ForRange, S.ForEach)):
            r, _, _ = _Jumps.scan(s.body)
            return r, False, False        # a loop's break/continue stay inside it
        return False, False, False


class Normalizer:
    def __init__(self, fn: S.FnDef, reserved: set[str]):
        self.fn = fn
        self.ret_type = fn.ty.ret
        self.names: dict = {}                   # Symbol -> unique name
        self.used: set[str] = set(reserved)
        self.hoisted: list[tuple[str, object]] = []
        self.loop_flags: list[tuple[str | None, str | None]] = []   # (break flag, continue flag)
        self.ret_name = None
        self.ret_flag = None
        self.tx = None                          # the Transforms registry, to specialise calls
        self.inlined: dict = {}                 # a parameter of a function being inlined -> its argument
        self.fn_position = False                # renaming a function that is called, bound or transformed
        self.captured: dict = {}                # id(lambda) -> {captured symbol: the copy made with it}
        self.in_condition = False               # normalising a `while` condition
        for p in fn.params:
            # a parameter keeps its name, unless derived code needs that name for a
            # primitive (`fn f(sum: float)`)
            self.names[p.sym] = self.fresh(p.name, hoist=False) if p.name in _PRIMITIVE_NAMES else p.name
            self.used.add(p.name)

    # -- names
    def fresh(self, base: str, ty=None, hoist=True) -> str:
        n, i = base, 2
        while n in self.used:
            n, i = f"{base}_{i}", i + 1
        self.used.add(n)
        if hoist:
            self.hoisted.append((n, ty))
        return n

    def local(self, sym) -> str:
        if sym not in self.names:
            self.names[sym] = self.fresh(sym.name, sym.ty)
        return self.names[sym]

    def temporary(self, base, ty, kind) -> Symbol:
        """A temporary of lowered code (dsl/blocks.py): a local declared at the top, as all are."""
        sym = Symbol(base, ty, kind, base)
        self.local(sym)
        return sym

    # -- entry
    def run(self, new_name: str) -> S.FnDef:
        # an `if` expression's statements as statements (dsl/blocks.py), named as locals are
        body = blocks.lower(self.fn.body, self.temporary)
        needs_flag = self._returns_early(body)
        if self.ret_type != UNIT:
            self.ret_name = self.fresh("result", self.ret_type)
        if needs_flag:
            self.ret_flag = self.fresh("returned", BOOL)
        out = self.block(body)
        decls = []
        for n, t in self.hoisted:
            z = B.zero_of_type(t)
            if z is None:
                raise DPError(Diagnostic("differentiation error", f"cannot differentiate through a local function variable `{n}` declared in a block",
                                         self.fn.span, "declare it at the top of the function with `let`"))
            decls.append(S.Let(n, B.type_expr(t), z, True))
        tail = [S.Return(B.name(self.ret_name))] if self.ret_name else []
        params = [S.Param(self.names[p.sym], B.param_type(p)) for p in self.fn.params]
        ret = B.type_expr(self.ret_type) if self.ret_type != UNIT else None
        return S.FnDef(new_name, params, ret, decls + out + tail, span=self.fn.span)

    def _returns_early(self, body) -> bool:
        """Whether some return is not the last top-level statement."""
        for i, s in enumerate(body):
            last = i == len(body) - 1
            if isinstance(s, S.Return):
                if not last:
                    return True
            elif _Jumps.stmt(s)[0]:
                return True
        return False

    # -- statements
    def block(self, body) -> list[S.Stmt]:
        out: list[S.Stmt] = []
        for i, s in enumerate(body):
            out += self.stmt(s)
            r, b, c = _Jumps.stmt(s)
            if (r or b or c) and not isinstance(s, (S.Return, S.Break, S.Continue)) or (
                    isinstance(s, (S.Return, S.Break, S.Continue)) and i < len(body) - 1):
                rest = body[i + 1:]
                if rest:
                    guarded = self.block(rest)
                    cond = self.not_jumped(r, b, c)
                    if cond is not None and guarded:
                        out.append(S.If(cond, guarded, []))
                    elif cond is None:
                        out += guarded
                break
        return out

    def not_jumped(self, r, b, c):
        flags = []
        if r and self.ret_flag:
            flags.append(self.ret_flag)
        if self.loop_flags:
            bf, cf = self.loop_flags[-1]
            if b and bf:
                flags.append(bf)
            if c and cf:
                flags.append(cf)
        if not flags:
            return None
        cond = S.Unary("!", B.name(flags[0]))
        for f in flags[1:]:
            cond = S.Binary("&&", cond, S.Unary("!", B.name(f)))
        return cond

    _stmt = S.Dispatch("s_", S.STMTS)

    def stmt(self, s) -> list[S.Stmt]:
        pre: list[S.Stmt] = []
        main = self._stmt(s, pre)
        for st in main:
            if st.span.line == 0:
                st.span = s.span
        for st in pre:
            if st.span.line == 0:
                st.span = s.span
        return pre + main

    def s_Let(self, s, pre):
        if s.names is not None:
            tmp = self.fresh("tuple", s.value.ty)
            out = [B.assign(tmp, self.value(s.value, pre))]
            for k, sym in enumerate(s.syms):
                out.append(B.assign(self.local(sym), B.tindex(B.name(tmp), k)))
            return out
        if isinstance(s.sym.ty, FnT) and not s.mutable and _names_a_function(s.value):
            # a `let` of a lambda or a named function: bound once, so derivatives may know
            # it statically. (A `var` of one, or a `let` of one read from a list or returned
            # by a call, is a variable like any other, known at run time and saved by the
            # sweep as any other: a loop's body binds it again each trip.)
            n = self.fresh(s.sym.name, hoist=False)
            value = s.value
            if isinstance(value, S.Call) and value.target and value.target[0] == "fn" and _factory(value.target[1]):
                value = self.made_by(value, pre)
            value = self.captured_now(value, pre) if isinstance(value, S.Lambda) else self.rn_fn(value, pre)
            self.names[s.sym] = n
            return [S.Let(n, None, value, False)]
        decl = B.assign(self.local(s.sym), self.value(s.value, pre))
        decl.is_decl = True                   # overwrites only the zero it was declared with
        return [decl]

    def captured_now(self, lam: S.Lambda, pre) -> S.Lambda:
        """A lambda captures values, not variables: a variable it captured that may change
        later is copied where the lambda is made (`k_captured = k`), and the lambda, and
        the calls derivatives make of it, read the copy."""
        names, copies = dict(self.names), {}
        for sym in lam.captures:
            if sym.kind in ("var", "loop") and not sym.is_global:
                n = self.fresh(f"{sym.name}_captured", sym.ty)
                read = S.Name(sym.name, span=lam.span)
                read.sym, read.ty = sym, sym.ty
                pre.append(B.assign(n, self.rn(read, pre)))
                names[sym] = copies[sym] = n
        self.captured[id(lam)] = copies
        return renamed(lam, names)

    def made_by(self, call: S.Call, pre) -> S.Lambda:
        """`let g = make(a)` where make only computes some values and returns a lambda:
        its body here, so derivatives follow what the lambda captures. The lambda is
        returned as it is; captured_now renames what it captures."""
        fn = call.target[1]
        for p, a in zip(fn.params, call.args):
            local = self.fresh(p.name, p.sym.ty)
            pre.append(B.assign(local, self.value(a, pre)))
            self.names[p.sym] = local
        for st in fn.body[:-1]:
            local = self.fresh(st.sym.name, st.sym.ty)
            pre.append(B.assign(local, self.value(st.value, pre)))
            self.names[st.sym] = local
        return fn.body[-1].value

    def s_Assign(self, s, pre):
        # the value first, as the program runs it (Python's order): `ys[ks.pop()] = f(ks)`
        # reads ks before the index pops it
        value = self.value(s.value, pre)
        if S.is_list_slice(s.target):
            return self.slice_write(s, value, pre)
        if not isinstance(s.target, S.Name) and (_pops(s.value) or _has_effects(s.target)) and not is_atom(value):
            ty = _popped_type(s.value) if _pops(s.value) else s.value.ty
            t = self.fresh("popped" if _pops(s.value) else "t", ty)   # a statement of its own, before the target's
            pre.append(B.assign(t, value))
            value = B.name(t)
        target = self.rn(s.target, pre)
        return [S.Assign(target, value)]

    def slice_write(self, s, value, pre):
        """`xs[lo:hi] = ys` as `xs = splice(xs, slice_lo(lo, n), slice_hi(lo, hi, n), ys)` with
        n = len(xs): the bounds made absolute as Python's slice assignment makes them, and
        the list, a whole value, assigned again (the reverse sweep restores the old one
        before its adjoint reads it). splice's derivatives are splices and sublists, to
        every order. The value is a variable or a list literal, so its adjoint reads it."""
        v = s.value
        target_pops = any(_pops(c) for c in S.walk(s.target))
        if target_pops and is_path(value):
            # `xs[ys.pop():] = ys`: the value as it was before the target's pop, a copy
            value = B.call("sublist", value, B.inum(0), B.call("len", B.copy_expr(value)))
        if target_pops or not (is_path(value) or isinstance(value, S.ListLit)):
            t = self.fresh("popped" if _pops(v) else "t", _popped_type(v) if _pops(v) else v.ty)
            pre.append(B.assign(t, value))             # a statement of its own, before the target's
            value = B.name(t)
        place, index = s.target.obj, s.target.index
        xs = self.rn(place, pre)
        n = B.call("len", B.copy_expr(xs))
        lo = self.rn(index.lo, pre) if index.lo is not None else None
        hi = self.rn(index.hi, pre) if index.hi is not None else None
        start = B.call("slice_lo", B.copy_expr(lo), B.copy_expr(n)) if lo is not None and not B.is_zero(lo) else B.inum(0)
        stop = B.call("slice_hi", lo if lo is not None else B.inum(0), hi, B.copy_expr(n)) if hi is not None else n
        return [S.Assign(xs, B.call("splice", B.copy_expr(xs), start, stop, value))]

    def s_AugAssign(self, s, pre):
        target = self.rn(s.target, pre)
        value = self.value(s.value, pre)
        v = s.value
        if isinstance(v, S.Call) and v.target and (v.target[0] in ("fn", "value", "transform") and v.ty.active
                                                    or _pops(v)):
            t = self.fresh("t", v.ty)               # `w -= r(b)`: the call is a statement of its own
            pre.append(B.assign(t, value))
            value = B.name(t)
        return [S.Assign(target, S.Binary(s.op, B.copy_expr(target), value))]

    def s_ExprStmt(self, s, pre):
        e = s.expr
        if isinstance(e, S.Call) and e.target and e.target[0] == "method":
            obj = self.rn(e.func.obj, pre)
            args = [self.atom(a, pre) if a.ty is not None and a.ty.active else self.rn(a, pre) for a in e.args]
            return [S.ExprStmt(S.Call(S.Field(obj, e.func.name), args))]
        return [S.ExprStmt(self.rn(e, pre))]

    def s_If(self, s, pre):
        return [S.If(self.rn(s.cond, pre), self.block(s.then), self.block(s.orelse))]

    def loop(self, body, make):
        r, b, c = _Jumps.scan(body)
        bf = self.fresh("broke", BOOL) if b or r else None
        cf = self.fresh("continued", BOOL) if c else None
        self.loop_flags.append((bf, cf))
        inner = self.block(body)
        self.loop_flags.pop()
        if cf:
            inner = [B.assign(cf, S.Bool(False))] + inner
        return make(inner, bf, r)

    def guard(self, cond, bf, r):
        """The loop condition with the flags that end it early."""
        parts = []
        if bf:
            parts.append(S.Unary("!", B.name(bf)))
        if r and self.ret_flag:
            parts.append(S.Unary("!", B.name(self.ret_flag)))
        for p in parts[::-1]:
            cond = S.Binary("&&", p, cond)
        return cond

    def s_While(self, s, pre):
        def make(inner, bf, r):
            out = [B.assign(bf, S.Bool(False))] if bf else []
            self.in_condition = True
            try:
                cond = self.rn(s.cond, pre)
            finally:
                self.in_condition = False
            return out + [S.While(self.guard(cond, bf, r), inner)]
        return self.loop(s.body, make)

    def s_ForRange(self, s, pre):
        var = self.local(s.sym)
        r, b, _ = _Jumps.scan(s.body)
        if not (r or b):
            def make(inner, bf, r):
                return [S.ForRange(var, self.rn(s.start, pre), self.rn(s.stop, pre), inner)]
            return self.loop(s.body, make)
        hi = self.fresh("stop", INT)

        def make_while(inner, bf, r):
            step = B.assign(var, S.Binary("+", B.name(var), B.inum(1)))
            return [B.assign(var, self.rn(s.start, pre)), B.assign(hi, self.rn(s.stop, pre)), B.assign(bf, S.Bool(False)),
                    S.While(self.guard(S.Binary("<", B.name(var), B.name(hi)), bf, r), inner + [step])]
        return self.loop(s.body, make_while)

    def s_ForEach(self, s, pre):
        it_ty = s.iterable.ty
        seq = self.fresh("items", ListT(it_ty.key) if isinstance(it_ty, DictT) else ListT(it_ty.elem)
                         if isinstance(it_ty, SetT) else it_ty)
        k = self.fresh("k", INT)
        # bound to a variable like any value: a call's arguments are atoms (`zip(ys, [x, 3.0])`)
        source = self.value(s.iterable, pre)
        if isinstance(it_ty, DictT):
            source = B.method(source, "keys")
        elif isinstance(it_ty, SetT):
            source = B.method(source, "to_list")
        first = [B.assign(seq, source)]
        if s.names is None:
            elem = [B.assign(self.local(s.sym), B.index(B.name(seq), B.name(k)))]
        else:                     # for (a, b) in xs: the element, then each of its items
            item = self.fresh("item", it_ty.key if isinstance(it_ty, DictT) else it_ty.elem)     # a list's or a set's
            elem = [B.assign(item, B.index(B.name(seq), B.name(k)))]
            elem += [B.assign(self.local(sym), B.tindex(B.name(item), j)) for j, sym in enumerate(s.syms)]
        r, b, _ = _Jumps.scan(s.body)
        if not (r or b):
            def make(inner, bf, r):
                return first + [S.ForRange(k, B.inum(0), B.call("len", B.name(seq)), elem + inner)]
            return self.loop(s.body, make)

        def make_while(inner, bf, r):
            step = B.assign(k, S.Binary("+", B.name(k), B.inum(1)))
            return first + [B.assign(k, B.inum(0)), B.assign(bf, S.Bool(False)),
                            S.While(self.guard(S.Binary("<", B.name(k), B.call("len", B.name(seq))), bf, r), elem + inner + [step])]
        return self.loop(s.body, make_while)

    def s_Match(self, s, pre):
        # payload names are bound inside the arm; copy them to hoisted variables so a
        # reverse sweep elsewhere can read them
        # (a subject that carries derivatives is a variable, whose cotangent the copies
        # of its payload send theirs to)
        subject = self.atom(s.subject, pre) if s.subject.ty.active else self.rn(s.subject, pre)
        arms = []
        for arm in s.arms:
            binds, copies = [], []
            for k, sym in enumerate(arm.syms):
                inner = self.fresh(sym.name + "_bound", hoist=False)
                binds.append(inner)
                copy = B.assign(self.local(sym), B.name(inner))
                copy.payload = k
                copies.append(copy)
            arms.append(S.MatchArm(arm.enum, arm.variant, binds, copies + self.block(arm.body)))
        return [S.Match(subject, arms)]

    def s_Return(self, s, pre):
        out = []
        if s.value is not None:
            a = B.assign(self.ret_name, self.value(s.value, pre))
            a.once = True                     # the result is written once per call
            out.append(a)
        if self.ret_flag:
            out.append(B.assign(self.ret_flag, S.Bool(True)))
        return out

    def s_Break(self, s, pre):
        return [B.assign(self.loop_flags[-1][0], S.Bool(True))]

    def s_Continue(self, s, pre):
        return [B.assign(self.loop_flags[-1][1], S.Bool(True))]

    def s_FnDef(self, s, pre):
        raise AssertionError("nested fn")

    def s_StructDef(self, s, pre):
        return []

    s_EnumDef = s_Import = s_RuleDef = s_StructDef

    # -- expressions
    def value(self, e, pre) -> S.Expr:
        """An expression whose value may carry derivatives: calls inside it are lifted
        (a call that is the whole value is already a statement of its own)."""
        if _pops(e):
            return S.Call(S.Field(self.rn(e.func.obj, pre), "pop"), [])
        if e.ty is not None and e.ty.active:
            if isinstance(e, S.Call) and e.target and e.target[0] == "fn" and pre is not None and \
                    self.tx is not None and _closure_args(e, self.tx):
                return self.value(self.specialize(e), pre)
            if isinstance(e, S.Call) and e.target and e.target[0] == "fn" and pre is not None and _inlinable(e.target[1]):
                return self.inline(e, pre)
            if isinstance(e, S.Call) and e.target and e.target[0] in ("fn", "value") and pre is not None:
                args = [self.atom(a, pre) if a.ty is not None and a.ty.active else self.rn(a, pre) for a in e.args]
                return S.Call(self.rn_fn(e.func, pre), args)
            if pre is not None and _has_tensor_op(e):
                return self.tensor_steps(e, pre, root=True)
            return self.rn(e, pre, lift=True)
        if isinstance(e, S.Call) and e.target and e.target[0] in ("fn", "value") and pre is not None \
                and not (self.tx is not None and _closure_args(e, self.tx)):
            # the whole value: the statement it is in is the call's own
            return S.Call(self.rn_fn(e.func, pre), [self.rn(a, pre) for a in e.args])
        return self.rn(e, pre)

    def tensor_steps(self, e, pre, root=False) -> S.Expr:
        """One array operation per statement: `h = tanh(x @ w + b)` becomes
        `t = x @ w`, `t_2 = t + b`, `h = tanh(t_2)`, so the reverse sweep reads the
        forward sweep's arrays instead of computing them again."""
        op = isinstance(e, (S.Binary, S.Unary)) or (isinstance(e, S.Call) and e.target and e.target[0] == "prim")
        if isinstance(e, S.Binary) and e.op in ("==", "!=", "<", "<=", ">", ">=", "&&", "||"):
            return self.rn(e, pre)
        if op:
            if isinstance(e, S.Binary):
                node = S.Binary(e.op, self.tensor_steps(e.left, pre), self.tensor_steps(e.right, pre))
            elif isinstance(e, S.Unary):
                node = S.Unary(e.op, self.tensor_steps(e.operand, pre))
            elif _constant_prim(e):
                # `shape(g * x)`: no derivative passes, so no step of a tensor value
                # whose cotangent a next step would declare
                node = S.Call(self.rn(e.func, pre), [self.rn(a, pre, lift=True) for a in e.args])
            else:
                node = S.Call(self.rn(e.func, pre), [self.tensor_steps(a, pre) for a in e.args])
            if not root and e.ty == TENSOR and _reads_variables(e):
                t = self.fresh("t", TENSOR)
                step = B.assign(t, node)
                step.temp = True                  # read once, by the next step of the same value
                pre.append(step)
                return B.name(t)
            return node
        if isinstance(e, S.ListLit):
            return S.ListLit([self.tensor_steps(x, pre) for x in e.items])
        return self.rn(e, pre, lift=True)

    def specialize(self, call: S.Call) -> S.Call:
        """`apply(fn(y) { x * y }, v)`: a copy of `apply` that makes the closure itself,
        from its captured values passed as extra parameters, so derivatives reach them:
        `apply_with_closure(v, x)`."""
        F = call.target[1]
        closures = _closure_args(call, self.tx)
        # a specialised function passing its closure on to itself reuses itself
        key = (id(F.specialises or F), tuple((k, _spec_source(lam)) for k, lam in closures))
        spec = self.tx.specialized.get(key)
        taken = {p.name for p in F.params} | _declared(F.body)
        cap_params, cap_args, lets = [], [], []
        for k, lam in closures:
            if isinstance(lam, S.FnDef):
                # a named function: the copy calls it directly, with no run-time pullback
                copy = _calling(lam)
                copy.spec_source = _spec_source(lam)
                lets.append(S.Let(F.params[k].name, None, copy, False))
                continue
            renames = {}
            for sym in lam.captures:
                n, i = f"{sym.name}_captured", 2
                while n in taken:
                    n, i = f"{sym.name}_captured{i}", i + 1
                taken.add(n)
                renames[sym] = n
                cap_params.append(S.Param(n, B.type_expr(sym.ty)))
                copy_name = self.captured.get(id(lam), {}).get(sym)
                arg = S.Name(copy_name or sym.name)
                if copy_name is None:
                    arg.sym, arg.ty = sym, sym.ty
                cap_args.append(arg)
            copy = renamed(lam, renames)
            copy.spec_source = _spec_source(lam)
            lets.append(S.Let(F.params[k].name, None, copy, False))
        if spec is None:
            params = [S.Param(p.name, B.param_type(p)) for i, p in enumerate(F.params)
                      if i not in dict(closures)] + cap_params
            fn = S.FnDef(self.tx.unique(f"{F.name}_with_closure"), params, B.type_expr(F.ty.ret),
                         lets + [S.copy(s) for s in F.body], span=F.span)
            fn.specialises = F.specialises or F
            self.tx.specialized[key] = fn                 # before checking: it may call itself
            try:
                spec = self.tx.check_fn(fn, register=True)
                self.tx.compile_fn(spec, F.span.file)
            except BaseException:                         # refused (or stopped): nothing half-made stays
                del self.tx.specialized[key]
                self.tx.syms.pop(fn.name, None)
                raise
        args = [a for i, a in enumerate(call.args) if i not in dict(closures)] + cap_args
        f = S.Name(spec.name, span=call.span)
        f.sym, f.ty = spec.sym, spec.ty
        new = S.Call(f, args, span=call.span)
        new.target, new.ty = ("fn", spec), call.ty
        return new

    def inline(self, call: S.Call, pre) -> S.Expr:
        """The body of a small straight-line function in place of a call to it, so its
        adjoint joins the caller's instead of recomputing it in a call."""
        fn = call.target[1]
        subst = {}
        for p, a in zip(fn.params, call.args):
            subst[p.sym] = self.atom(a, pre) if a.ty is not None and a.ty.active else self.rn(a, pre)
        saved = dict(self.names)
        self.inlined.update(subst)
        for st in fn.body[:-1]:
            local = self.fresh(st.sym.name, st.sym.ty)
            self.names[st.sym] = local
            a = B.assign(local, self.value(st.value, pre))
            a.span = st.span
            pre.append(a)
        out = self.value(fn.body[-1].value, pre)
        for p in fn.params:
            self.inlined.pop(p.sym, None)
        self.names = saved | {k: v for k, v in self.names.items() if k not in saved and k not in [p.sym for p in fn.params]}
        return out

    def atom(self, e, pre) -> S.Expr:
        if is_atom(e):
            return self.rn(e, pre)
        t = self.fresh("t", e.ty)
        pre.append(B.assign(t, self.rn(e, pre, lift=True)))
        return B.name(t)

    def rn(self, e, pre=None, lift=False) -> S.Expr:
        """Copy e with locals renamed; with lift, hoist differentiable calls out. The
        copy keeps e's span, so an error about it points at the source."""
        out = self._rn(e, pre, lift)
        if out.span.line == 0:
            out.span = e.span
        return out

    # Each r_<Kind>(e, pre, lift) copies an expression of that kind (rn's work).
    _rn = S.Dispatch("r_", S.EXPRS)

    def r_Num(self, e, pre, lift):
        return S.Num(e.value)

    def r_Str(self, e, pre, lift):
        return S.Str(e.value)

    def r_Bool(self, e, pre, lift):
        return S.Bool(e.value)

    def r_Name(self, e, pre, lift):
        sym = e.sym
        if not self.fn_position and _closure_let(sym) is not None:
            raise _closure_error(e, _active_captures(_closure_let(sym)))
        if isinstance(sym, Symbol) and sym in self.inlined:
            return B.copy_expr(self.inlined[sym])
        if isinstance(sym, Symbol) and sym in self.names:
            return S.Name(self.names[sym])
        return S.Name(e.id)

    def r_Binary(self, e, pre, lift):
        if e.op in ("&&", "||"):
            left = self.rn(e.left, pre, lift)
            if pre is None or self.in_condition or not _has_effects(e.right):
                return S.Binary(e.op, left, self.rn(e.right, None))
            # `a && ys.pop() > 0.0`: the right operand's steps run only when it is evaluated
            t = self.fresh("either", BOOL)
            right_pre: list = []
            right = self.rn(e.right, right_pre)
            pre.append(B.assign(t, left))
            ask = B.name(t) if e.op == "&&" else S.Unary("!", B.name(t))
            pre.append(S.If(ask, right_pre + [B.assign(t, right)], []))
            return B.name(t)
        return S.Binary(e.op, self.rn(e.left, pre, lift), self.rn(e.right, pre, lift))

    def r_Unary(self, e, pre, lift):
        return S.Unary(e.op, self.rn(e.operand, pre, lift))

    def _lifts_part(self, obj, pre, lift) -> bool:
        """Whether a part of obj is read from a temporary: obj is computed, and carries
        derivatives, so it is bound to a variable first."""
        return lift and pre is not None and obj.ty is not None and obj.ty.active and not is_path(obj)

    def r_Index(self, e, pre, lift):
        if isinstance(e.index, S.Slice) and isinstance(e.obj.ty, ListT):
            return self.list_slice(e, pre, lift)
        obj = self.atom(e.obj, pre) if self._lifts_part(e.obj, pre, lift) else self.rn(e.obj, pre, lift)
        return S.Index(obj, self.rn(e.index, pre))

    def list_slice(self, e, pre, lift):
        """`xs[lo:hi]` as `sublist(xs, slice_lo(lo, n), slice_hi(lo, hi, n))` with n = len(xs):
        sublist's derivatives pad the cotangent back to xs's length, to every order."""
        obj = self.atom(e.obj, pre) if pre is not None and not is_path(e.obj) else self.rn(e.obj, pre, lift)
        n = B.call("len", B.copy_expr(obj))
        lo = self.rn(e.index.lo, pre) if e.index.lo is not None else B.inum(0)
        hi = self.rn(e.index.hi, pre) if e.index.hi is not None else B.copy_expr(n)
        start = B.call("slice_lo", B.copy_expr(lo), B.copy_expr(n)) if e.index.lo is not None else B.inum(0)
        stop = B.call("slice_hi", lo, hi, n) if e.index.hi is not None else n
        return B.call("sublist", obj, start, stop)

    def r_Slice(self, e, pre, lift):
        return S.Slice(self.rn(e.lo, pre) if e.lo is not None else None, self.rn(e.hi, pre) if e.hi is not None else None)

    def r_Subscripts(self, e, pre, lift):
        return S.Subscripts([self.rn(p, pre) for p in e.parts])

    def r_Field(self, e, pre, lift):
        return S.Field(self.rn(e.obj, pre, lift), e.name)

    def r_TupleIndex(self, e, pre, lift):
        obj = self.atom(e.obj, pre) if self._lifts_part(e.obj, pre, lift) else self.rn(e.obj, pre, lift)
        return S.TupleIndex(obj, e.index)

    def r_IfExpr(self, e, pre, lift):
        """`if c { a } else { b }` as the statement `if c { t = a } else { t = b }` before
        its use, each branch's own steps inside it, so only the chosen one runs; kept as
        it is in a `while` condition (evaluated on every trip), which carries no derivative."""
        if pre is None or self.in_condition:
            return S.IfExpr(self.rn(e.cond, None), self.rn(e.then, None), self.rn(e.orelse, None))
        cond = self.rn(e.cond, pre)
        t = self.fresh("chosen", e.ty)
        then_pre, else_pre = [], []
        a = B.assign(t, self.value(e.then, then_pre))
        b = B.assign(t, self.value(e.orelse, else_pre))
        pre.append(S.If(cond, then_pre + [a], else_pre + [b]))
        return B.name(t)

    def r_BlockExpr(self, e, pre, lift):
        raise S.UnhandledNode("a BlockExpr is lowered to statements before normalize (dsl/blocks.py)")

    def r_TupleLit(self, e, pre, lift):
        return S.TupleLit([self.rn(x, pre, lift) for x in e.items])

    def r_ListLit(self, e, pre, lift):
        return S.ListLit([self.rn(x, pre, lift) for x in e.items])

    def r_DictLit(self, e, pre, lift):
        return S.DictLit([self.rn(k, pre) for k in e.keys], [self.rn(v, pre, lift) for v in e.values])

    def r_StructLit(self, e, pre, lift):
        return S.StructLit(e.name, [(n, self.rn(v, pre, lift)) for n, v in e.fields])

    def r_Lambda(self, e, pre, lift):
        if not self.fn_position and _active_captures(e):
            raise _closure_error(e, _active_captures(e))
        return self.rn_lambda(e)

    def r_Call(self, e, pre, lift):
        kind = e.target[0] if e.target else "value"
        if kind == "fn" and self.tx is not None and _closure_args(e, self.tx):
            return self.rn(self.specialize(e), pre, lift)
        if kind == "transform" and e.target[1] == "jvp" and e.target[2].get("derived") is not None:
            return self.rn(self.jvp_as_call(e), pre, lift)
        if kind == "transform" and e.target[1] == "jvp":
            return self.rn(self.jvp_at_run_time(e), pre, lift)
        if kind == "transform" and e.target[1] == "vjp":
            raise DPError(Diagnostic(
                "differentiation error", "cannot differentiate `vjp` inside a derivative: the pullback it returns is "
                "not a function derivatives can follow", e.span,
                "call `pullback(f)(args…, y_bar)` instead: it is differentiable to any order"))
        if kind == "transform" and not lift:
            f = e.args[0]
            # a lambda captures values where it is made, here: a `var` it reads may change
            # before the derivative is called (`let g = grad(fn(y) { k * y }); k = …`)
            f = self.captured_now(f, pre) if isinstance(f, S.Lambda) and pre is not None else self.rn_fn(f, pre)
            return S.Call(self.rn(e.func, pre), [f] + [self.rn(a, pre, lift) for a in e.args[1:]])
        if kind == "builtin" and e.target[1] == "float" and e.args[0].ty == FLOAT:
            return self.rn(e.args[0], pre, lift)          # float(x) of a float is x
        if kind in ("prim", "builtin", "variant"):
            # a rule's call of a primitive stays one where a user's function shadows its name
            return S.Call(self.rn(e.func, pre), [self.rn(a, pre, lift) for a in e.args], primitive=e.primitive)
        if kind == "method" and e.ty.active and e.func.name in ("get", "values", "items") and pre is not None:
            return self.dict_read(e, pre)
        if _pops(e) and pre is not None and (lift or not self.in_condition):
            # a pop inside an expression is a statement of its own, so the transforms see
            # the list change (a rule copying its argument would pop twice), whatever
            # reads it: `int(xs.pop())`, an index `ys[ks.pop()]`, a condition
            t = self.fresh("popped", _popped_type(e))
            pre.append(B.assign(t, S.Call(S.Field(self.rn(e.func.obj, pre), "pop"), [])))
            return B.name(t)
        if kind == "method":
            obj = self.rn(e.func.obj, pre)
            return S.Call(S.Field(obj, e.func.name), [self.rn(a, pre) for a in e.args])
        # a user function, a function value or a transform's result: lift it
        lifting = (lift or not self.in_condition) and e.ty is not None and e.ty != UNIT and pre is not None \
            and not isinstance(e.ty, FnT)
        if kind == "transform":
            args = [self.rn_fn(e.args[0], pre)] + [self.rn(a, pre) for a in e.args[1:]]
        else:
            # a call made a statement of its own takes simple arguments (as the transforms want)
            args = [self.atom(a, pre) if a.ty is not None and a.ty.active and lifting else self.rn(a, pre)
                    for a in e.args]
        if lifting:
            # a statement of its own, whatever its type and wherever it is read (an index,
            # a condition): the rules copy the expressions they read, and the call would
            # run (and have its effects) again
            func = self.rn_fn(e.func, pre)
            t = self.fresh("t", e.ty)
            pre.append(B.assign(t, S.Call(func, args)))
            return B.name(t)
        return S.Call(self.rn_fn(e.func, pre), args)

    def dict_read(self, e: S.Call, pre) -> S.Expr:
        """`d.get(k, v)`, `d.values()` and `d.items()` as the reads of elements they are, so
        derivatives follow each element: `got = v; if d.contains(k) { got = d[k] }`."""
        obj = self.atom(e.func.obj, pre)
        if e.func.name == "get":
            key = self.atom(e.args[0], pre)
            got = self.fresh("got", e.ty)
            pre.append(B.assign(got, self.value(e.args[1], pre)))
            pre.append(S.If(B.method(B.copy_expr(obj), "contains", B.copy_expr(key)),
                            [B.assign(got, S.Index(B.copy_expr(obj), B.copy_expr(key)))], []))
            return B.name(got)
        keys = self.fresh("keys", ListT(e.func.obj.ty.key))
        vals, k = self.fresh("vals" if e.func.name == "values" else "items", e.ty), self.fresh("k", INT)
        elem = S.Index(B.copy_expr(obj), B.index(B.name(keys), B.name(k)))
        if e.func.name == "items":
            elem = S.TupleLit([B.index(B.name(keys), B.name(k)), elem])
        pre += [B.assign(keys, B.method(B.copy_expr(obj), "keys")), B.assign(vals, S.ListLit([])),
                S.ForRange(k, B.inum(0), B.call("len", B.name(keys)),
                           [S.ExprStmt(B.method(B.name(vals), "append", elem))])]
        return B.name(vals)

    def jvp_at_run_time(self, e: S.Call) -> S.Call:
        """`jvp(f, primals, tangents)` with f known only at run time: a call of
        `pushforward(f)`, typed as the checker would type it, a call of a function value
        that derivatives follow like any."""
        ft = e.args[0].ty
        pf = S.Call(S.Name("pushforward", span=e.span), [e.args[0]], span=e.span)
        pf.target, pf.ty = ("transform", "pushforward", {}), FnT(tuple(ft.params) * 2, e.ty)
        call = S.Call(pf, _spread(e.args[1], e.target[2]) + _spread(e.args[2], e.target[2]), span=e.span)
        call.target, call.ty = ("value", None), e.ty
        return call

    def jvp_as_call(self, e: S.Call) -> S.Call:
        """`jvp(f, primals, tangents)` with f known: a call of f's derived jvp function,
        typed as the checker would type it, so it is differentiated like any call."""
        info = e.target[2]
        d = info["derived"]
        caps = info["static"][1]
        src = d.source
        primals, tangents = _spread(e.args[1], info), _spread(e.args[2], info)
        mask = [p.sym.ty.active for p in src.params]
        n = len(caps)
        dots = []
        for c, m in zip(caps, mask):
            if m:
                z = S.Call(S.Name("zeros_like"), [c], span=e.span)
                z.target, z.ty = ("builtin", "zeros_like"), c.ty
                dots.append(z)
        dots += [t for t, m in zip(tangents, mask[n:]) if m]
        f = S.Name(d.name, span=e.span)
        f.sym = d.fn.sym
        call = S.Call(f, list(caps) + primals + dots, span=e.span)
        call.target, call.ty = ("fn", d.fn), e.ty
        return call

    def rn_fn(self, e, pre=None):
        """A function in a place derivatives can follow it into: called, bound with
        `let`, or given to a transform."""
        saved, self.fn_position = self.fn_position, True
        try:
            return self.rn(e, pre)
        finally:
            self.fn_position = saved

    def rn_lambda(self, e: S.Lambda) -> S.Lambda:
        """The lambda as it is, but for the names of what it captures."""
        return renamed(e, self.names)


def _names_a_function(e) -> bool:
    """Whether e is a function bound once, which normalize and derive can follow: a
    lambda, a function's or a parameter's name, a `let` of one of these, or a call that
    makes one (a factory, a transform). A `var` or a loop variable is none of them, nor
    a `let` of one (review of session 17: `for q in fs { let h = q … }`)."""
    while isinstance(e, S.Name):                # a chain of lets ends: each names an earlier one
        sym = e.sym
        if isinstance(sym, tuple) or sym is None or sym.kind in ("fn", "param"):
            return True
        if sym.kind != "let" or not isinstance(sym.decl, S.Let) or sym.decl.names is not None:
            return False
        e = sym.decl.value
    if isinstance(e, S.Lambda):
        return True
    return isinstance(e, S.Call) and e.target is not None and (
        e.target[0] == "transform" or e.target[0] == "fn" and _factory(e.target[1]))


def _active_captures(lam):
    return [c for c in lam.captures if c.ty.active]


def _closure_let(sym):
    """The lambda a `let` binds, if it captures a differentiable value."""
    if sym is None or isinstance(sym, tuple) or sym.kind != "let" or not isinstance(sym.decl, S.Let):
        return None
    lam = sym.decl.value
    return lam if isinstance(lam, S.Lambda) and sym.decl.names is None and _active_captures(lam) else None


def _closure_error(node, caps):
    names = ", ".join(f"`{c.name}`" for c in caps)
    return DPError(Diagnostic(
        "differentiation error", f"this closure captures {names}, and derivatives cannot follow it where it goes",
        node.span, "call it where it is made, bind it with `let` and call it, or pass it straight to a function"))


def _closure_args(call, tx=None):
    """(index, Lambda or FnDef) for each function argument the callee can be
    specialised to: a lambda (a literal, or a `let` bound to one), a named function,
    or a primitive (with tx, which wraps it as a function). Specialised, the callee
    calls a function known statically, so derivatives of every order follow it."""
    out = []
    for k, a in enumerate(call.args):
        lam = a if isinstance(a, S.Lambda) else None
        sym = a.sym if isinstance(a, S.Name) else None
        if sym is not None and not isinstance(sym, tuple) and sym.kind == "let" and isinstance(sym.decl, S.Let) \
                and isinstance(sym.decl.value, S.Lambda) and sym.decl.names is None:
            lam = sym.decl.value
        if lam is not None:
            out.append((k, lam))
        elif sym is not None and not isinstance(sym, tuple) and sym.kind == "fn" and isinstance(sym.decl, S.FnDef) \
                and sym.decl.checked and isinstance(a.ty, FnT):
            out.append((k, sym.decl))
        elif isinstance(sym, tuple) and sym[0] == "prim" and tx is not None and sym[1].jvp is not None:
            out.append((k, tx.prim_fn(sym[1])))
    return out


def _spec_source(lam) -> str:
    from ..printer import expr_src
    if isinstance(lam, S.FnDef):
        return f"fn {lam.name}"
    return lam.spec_source or expr_src(lam)


def _calling(fn: S.FnDef) -> S.Lambda:
    """`fn(x: float) -> float { return f(x) }`: a lambda that calls a named function."""
    params = [S.Param(p.name, B.param_type(p)) for p in fn.params]
    body = [S.Return(S.Call(S.Name(fn.name), [S.Name(p.name) for p in fn.params]))]
    return S.Lambda(params, B.type_expr(fn.ty.ret), body)


def _spread(arg, info) -> list:
    """jvp's primals or tangents, one expression per parameter."""
    if info["bare"]:
        return [arg]
    if isinstance(arg, S.TupleLit):
        return list(arg.items)
    parts = []
    for k, t in enumerate(arg.ty.items):
        p = S.TupleIndex(arg, k, span=arg.span)
        p.ty = t
        parts.append(p)
    return parts


def _constant_prim(e) -> bool:
    """A call of a primitive without derivatives (shapes, sizes, constructors)."""
    return isinstance(e, S.Call) and e.target is not None and e.target[0] == "prim" \
        and e.target[1].jvp is None and e.target[1].vjp is None


def _pops(e) -> bool:
    return isinstance(e, S.Call) and e.target is not None and e.target[0] == "method" and e.func.name == "pop"


def _popped_type(e) -> object:
    """The type of what `xs.pop()` gives: xs's element type (the checker retypes a pop in
    a tensor subscript as an index)."""
    t = e.func.obj.ty
    return t.elem if isinstance(t, ListT) else e.ty


def _has_effects(e) -> bool:
    """Whether evaluating e pops a list or calls a user's function (which may print)."""
    if isinstance(e, S.Lambda):
        return False
    if isinstance(e, S.Call) and (_pops(e) or (e.target is not None and e.target[0] in ("fn", "value"))):
        return True
    return any(_has_effects(c) for c in B.children(e))


def _has_tensor_op(e) -> bool:
    if isinstance(e, (S.Binary, S.Unary, S.Call)) and e.ty == TENSOR:
        return True
    return any(_has_tensor_op(c) for c in B.children(e))


def _reads_variables(e) -> bool:
    """Whether e reads a variable (a function's name, called, is not one)."""
    if isinstance(e, S.Name):
        return True
    if isinstance(e, S.Call) and isinstance(e.func, S.Name):
        return any(_reads_variables(a) for a in e.args)
    return any(_reads_variables(c) for c in B.children(e))


def _calls_user_code(e) -> bool:
    if isinstance(e, S.Call) and not (e.target and e.target[0] in ("prim", "builtin", "variant")):
        return True
    if isinstance(e, (S.Lambda, S.BlockExpr)):          # a branch's statements: not one straight line
        return True
    return any(_calls_user_code(c) for c in S.subexpressions(e))


def _factory(fn) -> bool:
    """Lets of values that call nothing but primitives, then `return fn(…) { … }`."""
    if not isinstance(fn, S.FnDef) or not fn.checked or fn.rule is not None:
        return False
    if any(B.sizes_of(p.annot) for p in fn.params):
        return False
    body = fn.body
    if not body or not isinstance(body[-1], S.Return) or not isinstance(body[-1].value, S.Lambda):
        return False
    return all(isinstance(s, S.Let) and s.names is None and not isinstance(s.sym.ty, FnT)
               and not _calls_user_code(s.value) for s in body[:-1])


def _inlinable(fn) -> bool:
    """Small, straight-line, calling nothing but primitives: `let`s then `return`."""
    if not isinstance(fn, S.FnDef) or not fn.checked or fn.rule is not None:
        return False
    if any(B.sizes_of(p.annot) for p in fn.params) or B.sizes_of(fn.ret):
        return False                      # its shapes are checked, and its sizes bound, on entry
    body = fn.body
    if not body or len(body) > 12 or not isinstance(body[-1], S.Return) or body[-1].value is None:
        return False
    for s in body[:-1]:
        if not (isinstance(s, S.Let) and s.names is None and s.sym is not None and not isinstance(s.sym.ty, FnT)):
            return False
    return not any(_calls_user_code(s.value) for s in body)


def normalize(fn: S.FnDef, new_name: str, reserved: set[str], tx=None) -> S.FnDef:
    n = Normalizer(fn, reserved)
    n.tx = tx
    return n.run(new_name)

