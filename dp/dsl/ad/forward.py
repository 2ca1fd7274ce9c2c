"""Forward mode: a normal-form function → a DP function that carries a tangent
beside every differentiable value:

    fn f_jvp(x1: float, x2: float, x1_dot: float, x2_dot: float) -> (float, float)

returns the value and its tangent. Each statement is preceded by its tangent
statement; control flow is the primal's."""
from __future__ import annotations

from .. import syntax as S
from ..types import FLOAT, FnT, ListT, TupleT
from . import build as B
from ..symbols import Symbol
from .activity import Activity, varied
from .adjoints import _binary_prim
from .effects import _written_root, refuse_forward_global_flows
from .normalize import is_path
from .reverse import Reverse, Sweep
from .rules import instantiate
from .trees import _err, root_of


class Forward(Activity, Sweep):
    def __init__(self, nf: S.FnDef, tx, reserved: set[str], source: S.FnDef | None = None):
        super().__init__(nf, tx, reserved)
        self.source = source                   # the function nf is the normal form of
        self.dot: dict[str, str] = {}
        # a global the function writes has its tangent in a local beside it (effects.py
        # refuses where that tangent would be read by another call)
        self.globals_written: dict[str, Symbol] = {}
        for s in self.main:
            for node in S.walk(s):
                root = _written_root(node)
                if isinstance(root, S.Name) and isinstance(root.sym, Symbol) and root.sym.is_global \
                        and root.sym.ty.active:
                    self.globals_written.setdefault(root.id, root.sym)
        self.vars.update({n: sym.ty for n, sym in self.globals_written.items()})
        self.varied: set = set(self.vars)      # narrowed to what depends on a parameter by run

    def dotname(self, v):
        if v not in self.dot:
            self.dot[v] = self.fresh(f"{v}_dot")
        return self.dot[v]

    def active(self, v):
        """Differentiable, and depending on a parameter: a variable only ever given
        constants (a derivative's seed `result_bar = 1.0`) has no tangent, so no term
        multiplies its run-time zero by another factor (0 · inf would be nan)."""
        t = self.vars.get(v)
        return t is not None and t.active and v in self.varied

    def run(self, out_name: str, wrt: tuple | None = None) -> S.FnDef:
        """wrt: the parameters that get tangents (by default every differentiable one)."""
        moving = [p for k, p in enumerate(self.nf.params) if p.sym.ty.active and (wrt is None or k in wrt)]
        self.varied = varied(self.decls + self.main, {p.name for p in moving})
        refuse_forward_global_flows(self.source or self.nf, {sym for n, sym in self.globals_written.items()
                                                             if n in self.varied}, self.tx)
        params = [S.Param(p.name, B.param_type(p)) for p in self.nf.params]
        for p in moving:
            params.append(S.Param(self.dotname(p.name), B.param_type(p)))
        body = self.block(self.main)
        decls = list(self.decls)
        for d in self.decls:
            if self.active(d.name):
                decls.append(S.Let(self.dotname(d.name), B.type_expr(self.vars[d.name]), B.zero_of_type(self.vars[d.name]), True))
        for g, sym in self.globals_written.items():
            if self.active(g):                 # zero at the call: what the global held came from outside it
                decls.append(S.Let(self.dotname(g), B.type_expr(sym.ty), B.zeros_like(B.name(g), sym.ty), True))
        ret_t = self.nf.ty.ret
        ret = S.Return(S.TupleLit([B.name(self.result), self.dot_of_name(self.result)]))
        return S.FnDef(out_name, params, B.type_expr(TupleT((ret_t, ret_t))), decls + body + [ret], span=self.nf.span)

    def dot_of_name(self, v):
        """v's tangent: zero of v's own shape when v does not move (a list of n zeros,
        not an empty list)."""
        if self.active(v):
            return B.name(self.dotname(v))
        return B.zeros_like(B.name(v), self.vars[v])

    def dot_path(self, e):
        return self.path_of(e, self.dotname)

    def root_active(self, e):
        r = root_of(e)
        return r is not None and self.active(r.id) and e.ty is not None and e.ty.active

    # ---------------------------------------------------------- statements
    def block(self, body):
        out = []
        for s in body:
            out += self.stmt(s)
        return out

    stmt = S.Dispatch("s_", S.STMTS)

    def s_Assign(self, s):
        return self.assign(s)

    def s_ExprStmt(self, s):
        e = s.expr
        if isinstance(e, S.Call) and e.target and e.target[0] == "method" and self.root_active(e.func.obj):
            obj = e.func.obj
            if e.func.name == "append":
                return [S.ExprStmt(B.method(self.dot_path(obj), "append", self.tan(e.args[0]))), s]
            if e.func.name in ("pop", "remove", "reverse"):
                return [S.ExprStmt(B.method(self.dot_path(obj), e.func.name, *map(B.copy_expr, e.args))), s]
            if e.func.name == "extend":
                return [S.ExprStmt(B.method(self.dot_path(obj), "extend", self.tan(e.args[0]))), s]
            raise _err(s.span, f"cannot differentiate `.{e.func.name}` on a differentiable value yet")
        return [s]

    def s_If(self, s):
        return [S.If(s.cond, self.block(s.then), self.block(s.orelse))]

    def s_While(self, s):
        return [S.While(s.cond, self.block(s.body))]

    def s_ForRange(self, s):
        return [S.ForRange(s.var, s.start, s.stop, self.block(s.body))]

    def s_Match(self, s):
        return [S.Match(s.subject, [self.arm(s.subject, a) for a in s.arms])]

    def s_Let(self, s):
        return [s]                             # a function value (the only `let` in normal form)

    def _not_in_normal_form(self, s):
        raise _err(s.span, f"internal: a `{type(s).__name__}` statement in normal form",
                   "this is a bug in DP's transforms; please report it")

    # normalize.py rewrites these away (or they are never inside a function)
    s_AugAssign = s_ForEach = s_Break = s_Continue = s_Return = _not_in_normal_form
    s_FnDef = s_StructDef = s_EnumDef = s_Import = s_RuleDef = _not_in_normal_form

    def arm(self, subject, a: S.MatchArm) -> S.MatchArm:
        """A match arm whose payload copies take their tangents from the subject's:
        `match e_dot { V(d) => { r_dot = d } }`."""
        copies = [c for c in a.body if isinstance(c, S.Assign) and c.payload is not None]
        rest = self.block(a.body[len(copies):])
        tangents = []
        if copies and subject.ty.active and self.root_active(subject):
            names = [self.fresh(f"{b}_dot") for b in a.binds]
            sets = [S.Assign(self.dot_path(c.target), B.name(names[c.payload])) for c in copies
                    if self.root_active(c.target)]
            arms = [S.MatchArm(subject.ty.name, a.variant, names, sets)]
            if len(subject.ty.variants) > 1:
                arms.append(S.MatchArm(None, "_", [], []))
            tangents = [S.Match(self.dot_path(subject), arms)] if sets else []
        return S.MatchArm(a.enum, a.variant, list(a.binds), copies + tangents + rest)

    def assign(self, s):
        t, v = s.target, s.value
        if t.ty is None or not t.ty.active or not self.root_active(t):
            return [s]
        dt = self.dot_path(t)
        if isinstance(v, S.Call) and v.target and v.target[0] in ("fn", "value", "transform"):
            return self.call(s, dt)
        if isinstance(v, S.Call) and v.target and v.target[0] == "method" and v.func.name == "pop":
            obj = v.func.obj
            src = B.method(self.dot_path(obj), "pop") if self.root_active(obj) else B.zero_of_type(t.ty)
            return [S.Assign(dt, src), s]
        return [S.Assign(dt, self.tan(v)), s]

    def call(self, s, dt):
        v = s.value
        rule = self.tx.user_rule(v)
        if rule is not None:
            return self.rule_call(s, dt, rule)
        fn, caps = self.tx.forward_callee(v)
        args = list(caps) + list(v.args)
        r = self.fresh("r")
        if fn is None:
            # known at run time only: its pushforward takes a tangent for every
            # argument and ignores those of inactive ones, so pass the argument itself
            tangents = [self.tan(a) if a.ty is not None and a.ty.active else B.copy_expr(a) for a in args]
            call = S.Call(B.call("pushforward", B.copy_expr(v.func)), [B.copy_expr(a) for a in args] + tangents)
            out = S.Let(r, None, call)
        else:
            # the callee's jvp takes tangents only for the arguments that move
            moving = tuple(k for k, a in enumerate(args) if a.ty is not None and a.ty.active and self.depends(a))
            every = tuple(k for k, a in enumerate(args) if a.ty is not None and a.ty.active)
            if any(isinstance(a.ty, FnT) and self.captures_move(a) for a in args):
                # a function value whose captures move: the callee's jvp must push tangents
                # through its calls (which refuse such a value), so every argument moves
                moving = every
            d = self.tx.derive(fn, "jvp", None if moving == every else moving)
            tangents = [self.tan(args[k]) for k in moving]
            out = S.Let(r, None, S.Call(B.name(d.name), [B.copy_expr(a) for a in args] + tangents))
        return [out, S.Assign(B.copy_expr(s.target), B.tindex(B.name(r), 0)), S.Assign(dt, B.tindex(B.name(r), 1))]

    def captures_move(self, f) -> bool:
        """Whether function value f may have captured what varies (unknown: yes)."""
        st = self.tx.static_fn_of_expr(f)
        if st is None:
            return True
        return any(self.depends(c) for c in st[1])

    def rule_call(self, s, dt, rule):
        v = s.value
        env = {p: B.copy_expr(a) for p, a in zip(rule.params, v.args)}
        for p, a in zip(rule.params, v.args):
            env[p + "_dot"] = self.tan(a) if a.ty is not None and a.ty.active else B.zero_of_type(a.ty)
        y = self.fresh("y")
        env[rule.result] = B.name(y)
        out = [S.Let(y, None, B.copy_expr(v))]
        dots = [c for c in rule.clauses if c.target == rule.result + "_dot"]
        if dots:
            tangent = instantiate(dots[0].value, env)
        else:
            # from the cotangent rules: for float results, y_dot = Σ rule_i[y_bar := x_i_dot]
            if v.ty != FLOAT or any(a.ty != FLOAT for a in v.args if a.ty is not None and a.ty.active):
                raise _err(s.span, f"the rule for `{rule.fn}` gives no `{rule.result}_dot`, needed by forward mode",
                           f"add `{rule.result}_dot = …` to the rule")
            tangent = B.num(0.0)
            for c in rule.clauses:
                p = c.target[:-4]
                env2 = dict(env)
                env2[rule.result + "_bar"] = env[p + "_dot"]
                tangent = B.add(tangent, instantiate(c.value, env2))
        return out + [S.Assign(dt, tangent), S.Assign(B.copy_expr(s.target), B.name(y))]

    # ---------------------------------------------------------- tangents of values
    def tan(self, e) -> S.Expr:
        """The tangent of expression e."""
        if e.ty is None or not e.ty.active:
            return B.zero_of_type(e.ty) if e.ty is not None and B.zero_of_type(e.ty) is not None else B.num(0.0)
        if not self.depends(e):
            return B.zeros_like(B.copy_expr(e), e.ty)
        if is_path(e):
            return self.dot_path(e)
        return self._tan(e)

    # Each t_<Kind>(e) is the tangent of an expression of that kind that depends on
    # what is differentiated and is not a path (tan's work).
    _tan = S.Dispatch("t_", S.EXPRS)

    def _cannot(self, e):
        raise _err(e.span, "cannot differentiate this expression in forward mode yet", "bind its parts to variables first")

    # constants and names are handled by tan; a read of a part of a computed value is
    # bound to a variable by normalize.py
    t_Num = t_Str = t_Bool = t_Name = t_Slice = t_Subscripts = t_Lambda = _cannot
    t_Index = t_Field = t_TupleIndex = _cannot
    t_IfExpr = _cannot                          # normalize.py makes an `if` expression an `if` statement
    t_BlockExpr = _cannot                       # blocks.py makes a branch's statements statements

    def t_Unary(self, e):
        if e.op != "-":
            return self._cannot(e)
        return B.neg(self.tan(e.operand))

    def t_Binary(self, e):
        if e.op == "+" and isinstance(e.ty, ListT):
            return S.Binary("+", self.tan(e.left), self.tan(e.right))     # concatenation
        return self.rule(e, _binary_prim(e), [e.left, e.right])

    def t_Call(self, e):
        kind = e.target[0] if e.target else "value"
        if kind == "prim":
            return self.rule(e, e.target[1], e.args)
        if kind == "builtin" and e.target[1] == "accumulate":
            return B.accumulate(self.tan(e.args[0]), self.tan(e.args[1]), e.ty)
        if kind == "builtin" and e.target[1] == "sublist":
            return B.call("sublist", self.tan(e.args[0]), B.copy_expr(e.args[1]), B.copy_expr(e.args[2]))
        if kind == "builtin" and e.target[1] == "splice":
            return B.call("splice", self.tan(e.args[0]), B.copy_expr(e.args[1]), B.copy_expr(e.args[2]),
                          self.tan(e.args[3]))
        if kind == "variant":
            return S.Call(B.copy_expr(e.func), [self.tan(a) if a.ty.active else B.copy_expr(a) for a in e.args])
        return self._cannot(e)                 # calls of functions are statements of their own

    def t_StructLit(self, e):
        return S.StructLit(e.name, [(n, self.tan(v)) for n, v in e.fields])

    def t_TupleLit(self, e):
        return S.TupleLit([self.tan(x) for x in e.items])

    def t_ListLit(self, e):
        return S.ListLit([self.tan(x) for x in e.items])

    def t_DictLit(self, e):
        return S.DictLit([B.copy_expr(k) for k in e.keys], [self.tan(v) for v in e.values])

    def rule(self, e, prim, args):
        env = {}
        for name_, a in zip(prim.params, args):
            env[name_] = a
            # a float that does not depend has the literal tangent 0.0, so its terms fold
            # away (a tensor's zero keeps the shape it broadcasts the result to)
            env[name_ + "_dot"] = self.tan(a) if self.depends(a) or a.ty != FLOAT else B.num(0.0)
        env["y"] = e
        if prim.jvp is None:
            raise _err(e.span, f"`{prim.name}` has no derivative rule")
        t = instantiate(prim.jvp, env)
        if B.is_zero(t) and e.ty != FLOAT:
            return B.zeros_like(B.copy_expr(e), e.ty)   # `x * 0.0`: the zero has the value's shape
        return t

