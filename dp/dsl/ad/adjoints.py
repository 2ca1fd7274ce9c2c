"""Adjoints of expressions: for `x = e`, the statements that add x's cotangent,
through each primitive's derivative rule, to the adjoints of the variables e
reads (`a_bar = a_bar + x_bar * b`), and through calls, to their arguments'."""
from __future__ import annotations

from .. import primitives as P
from .. import syntax as S
from ..types import FLOAT, INT, TENSOR, ListT
from . import build as B
from .normalize import is_path
from . import rules
from .rules import instantiate
from .trees import _err, names_in, root_of


class Adjoints:
    """Statements that send a value's cotangent into what the value was made of:
    partial derivatives from the primitives' rules, summed per leaf and added to
    its adjoint; calls by running the callee's reverse, or the user's rule.
    Mixed into `Reverse`, whose names, tapes, activity and shapes it reads."""

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
        if not self.depends(e):
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
                self.aggregate_contribs(fe, _part(g, lambda: B.field(B.copy_expr(g), n)), out)
            return
        if isinstance(e, S.TupleLit):
            for k, it in enumerate(e.items):
                self.aggregate_contribs(it, _part(g, lambda: B.tindex(B.copy_expr(g), k)), out)
            return
        if isinstance(e, S.ListLit):
            for k, it in enumerate(e.items):
                self.aggregate_contribs(it, _part(g, lambda: B.index(B.copy_expr(g), B.inum(k))), out)
            return
        if isinstance(e, S.DictLit):
            for k, it in zip(e.keys, e.values):
                self.aggregate_contribs(it, _part(g, lambda: B.index(B.copy_expr(g), B.copy_expr(k))), out)
            return
        if isinstance(e, S.Call) and e.target and e.target[0] == "variant":
            if B.is_zero(g):
                for a in e.args:
                    self.aggregate_contribs(a, g, out)
                return
            out.append(("pre", self.payload_adjoints(e, g)))
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
            self.aggregate_contribs(e.left, _part(g, lambda: B.call("sublist", B.copy_expr(g), B.inum(0), n)), out)
            self.aggregate_contribs(e.right, _part(g, lambda: B.call("sublist", B.copy_expr(g), B.copy_expr(n),
                                                                     B.call("len", B.copy_expr(g)))), out)
            return
        if isinstance(e, S.Call) and e.target and e.target[0] == "builtin":
            name = e.target[1]
            if name in ("zeros_like", "stop_gradient"):
                return
            if name == "accumulate":
                for a in e.args:
                    self.aggregate_contribs(a, g, out)
                return
            if name == "sublist":
                # xs[lo:hi]'s cotangent, in xs: zeros around g (a concatenation, whose own
                # cotangent is sublists again, to every order)
                xs, lo, hi = e.args
                if B.is_zero(g):
                    self.aggregate_contribs(xs, g, out)
                    return
                zero = B.zeros_like(B.copy_expr(xs), xs.ty)
                padded = S.Binary("+", S.Binary("+", B.call("sublist", zero, B.inum(0), B.copy_expr(lo)), B.copy_expr(g)),
                                  B.call("sublist", B.copy_expr(zero), B.copy_expr(hi), B.call("len", B.copy_expr(xs))))
                self.aggregate_contribs(xs, padded, out)
                return
            if name == "splice":
                # xs[lo:hi] = ys: ys's part of the cotangent is ys's, the rest xs's, with
                # zeros for the elements ys replaced (nothing read them after)
                xs, lo, hi, ys = e.args
                if B.is_zero(g):
                    self.aggregate_contribs(xs, g, out)
                    self.aggregate_contribs(ys, g, out)
                    return
                pre: list = []
                lo = self._bind(lo, pre, "lo")
                if pre:
                    out.append(("pre", pre))
                def at(k):                             # lo + k, an int
                    return k if B.is_zero(lo) else S.Binary("+", B.copy_expr(lo), k) if not B.is_zero(k) else B.copy_expr(lo)
                end = at(B.inum(len(ys.items)) if isinstance(ys, S.ListLit) else B.call("len", B.copy_expr(ys)))
                removed = B.zeros_like(B.call("sublist", B.copy_expr(xs), B.copy_expr(lo), B.copy_expr(hi)), xs.ty)
                self.aggregate_contribs(xs, B.call("splice", B.copy_expr(g), B.copy_expr(lo), end, removed), out)
                if isinstance(ys, S.ListLit):          # element k's is g[lo + k]
                    for k, it in enumerate(ys.items):
                        self.aggregate_contribs(it, B.index(B.copy_expr(g), at(B.inum(k))), out)
                else:
                    self.aggregate_contribs(ys, B.call("sublist", B.copy_expr(g), B.copy_expr(lo), B.copy_expr(end)), out)
                return
        raise _err(e.span, "cannot differentiate this expression yet", "bind its parts to variables first")

    def payload_adjoints(self, e: S.Call, g) -> list[S.Stmt]:
        """`E.V(a, b)` with cotangent g, itself a `V`: its payload's cotangents go to
        a and b, read by matching g."""
        _, et, variant = e.target
        names = [self.temp("c") for _ in e.args]
        inner: list = []
        for a, n in zip(e.args, names):
            self.aggregate_contribs(a, B.name(n), inner)
        if not inner:
            return []
        arm = S.MatchArm(et.name, variant, names, self.accumulate_all(inner))
        return [S.Match(B.copy_expr(g), [arm, S.MatchArm(None, "_", [], [])])] if len(et.variants) > 1 else \
            [S.Match(B.copy_expr(g), [arm])]

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
        if not self.depends(e):
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
        if B.is_zero(g):
            # a literal zero cotangent (below floor, sign, `t * 0.0`): every rule is linear
            # in its cotangent, so each argument's is the literal zero too, passed down as
            # it is (a template would fold it to code of the wrong type, `to_list(0.0)`)
            # until it reaches the steps, whose cotangents accumulate_all declares zero
            for k in active:
                if args[k].ty in (FLOAT, TENSOR):
                    self._fc(args[k], g, out, pre)
                else:
                    self.aggregate_contribs(args[k], g, out)
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
            root = self.root_value
            if root is not None and root[0] is e:
                env["y"] = root[1]
            else:
                env["y"] = self._bind(e, pre) if not _simple(e) else e
        if len(active) > 1 and not _simple(g):
            g = B.name(self._bind_bar(g, pre))
        env["y_bar"] = g
        for k in active:
            tpl = rules.template(prim.vjp[k])
            if _unbroadcasts_to(tpl, prim.params[k]):
                # the rule sums its cotangent back to the argument's shape; the parts of
                # the template, not of what was substituted in, decide where it is needed
                contribution = self._unbroadcast(instantiate(tpl.args[0], env), prim, args[k], e, env[prim.params[k]])
            else:
                contribution = instantiate(tpl, env)
            if args[k].ty in (FLOAT, TENSOR):
                self._fc(args[k], contribution, out, pre)
            else:                              # a list of tensors (concat, stack)
                self.aggregate_contribs(args[k], contribution, out)

    def _unbroadcast(self, v, prim, arg, op, like):
        """`unbroadcast(v, like)`, v being op's cotangent sent to its argument arg (like
        names arg): v itself where arg provably has op's shape; summed to a literal
        shape where arg's is known; elsewhere, outside loops, summed to arg's shape
        saved in the forward sweep, so the forward sweep need not keep a temporary alive
        for its shape."""
        if prim.elementwise and self.shapes.same(arg, op):
            return v
        known = self.shapes.shape_of(arg) if arg.ty == TENSOR else None
        if known:
            return B.call("unbroadcast", v, S.ListLit([B.inum(d) for d in known]))
        if self.loop_depth > 0 and arg.ty == TENSOR:
            self.unbroadcasts_in_loops += 1
        if self.loop_depth == 0 and isinstance(like, S.Name) and isinstance(arg, S.Name) and like.id == arg.id \
                and arg.ty == TENSOR and like.id not in self.params:
            snap = self.bookkeeping(f"{like.id}_shape", ListT(INT), S.ListLit([]))
            self.before_fwd.append(B.assign(snap, B.call("shape", B.name(like.id))))
            return B.call("unbroadcast", v, B.name(snap))
        return B.call("unbroadcast", v, B.copy_expr(like))

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
            if B.is_zero(c) and leaf.ty != FLOAT:
                # a literal zero (`x * 0.0`) for a tensor or aggregate: adds nothing, but
                # a step's cotangent must still exist, with its value's type
                if key in total or not (isinstance(leaf, S.Name) and leaf.id in self.temps):
                    continue
                c = B.zeros_like(B.copy_expr(leaf), leaf.ty)
            if key not in total:
                order.append(leaf)
                total[key] = c
            else:
                total[key] = B.accumulate(total[key], c, leaf.ty)
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
            out += self.update(leaf, lambda cur, c=c, t=leaf.ty: B.accumulate(cur, c, t))
        return out

    def update(self, leaf, f) -> list[S.Stmt]:
        """`bar(leaf) = f(bar(leaf))`, rebuilding tuples (they are immutable): a struct
        inside one as a literal, a list or dict inside one as a copy with the element set."""
        def set_(path, new):
            if isinstance(path, S.Name):
                return [B.assign(self.barname(path.id), new)]
            if isinstance(path, S.TupleIndex):
                tt = path.obj.ty
                items = [new if j == path.index else B.tindex(self.bar_path(path.obj), j) for j in range(len(tt.items))]
                return set_(path.obj, S.TupleLit(items))
            if S.through_tuple(path.obj):
                if isinstance(path, S.Field):
                    st = path.obj.ty
                    fields = [(n, new if n == path.name else B.field(self.bar_path(path.obj), n)) for n in st.fields]
                    return set_(path.obj, S.StructLit(st.name, fields))
                part = self.temp("part")            # `r.0[i]`: var part = r_bar.0; part[i] = …; r_bar = (part, …)
                return [S.Let(part, None, self.bar_path(path.obj), True),
                        S.Assign(B.index(B.name(part), B.copy_expr(path.index)), new)] + set_(path.obj, B.name(part))
            return [S.Assign(self.bar_path(path), new)]
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
            # a function value known only at run time: its pullback, itself a function
            # value, so derivatives of this code reach through it too
            call = S.Call(B.call("pullback", B.copy_expr(v.func)), [B.copy_expr(a) for a in v.args] + [g])
            out.append(S.Let(r, None, call))
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
        given = {c.target[:-4] for c in rule.clauses if c.target.endswith("_bar")}
        for p, a in zip(rule.params, v.args):
            if p not in given and a.ty is not None and a.ty.active and self.depends(a):
                where = v.span if v.span.line else rule.span
                raise _err(where, f"the derivative rule for `{rule.fn}` gives no `{p}_bar`, which reverse mode needs here",
                           f"add `{p}_bar = …` (in terms of `{rule.result}_bar`) to the rule at line {rule.span.line}")
        contribs = []
        for c in rule.clauses:
            if not c.target.endswith("_bar"):
                continue
            p = c.target[:-4]
            k = rule.params.index(p)
            a = v.args[k]
            if a.ty is not None and a.ty.active:
                val = instantiate(c.value, env)
                if a.ty == TENSOR:
                    # a rule written for same-shaped arguments still gives a broadcast
                    # argument a cotangent of its own shape
                    val = B.call("unbroadcast", val, B.copy_expr(env[p]))
                if a.ty == FLOAT:
                    self._fc(a, val, contribs, pre)
                else:
                    self.aggregate_contribs(a, val, contribs)
        return pre + self.accumulate_all(contribs)


def _part(g, part):
    """The cotangent of a part of an aggregate whose cotangent is g: part(), or the
    literal zero itself where g is one (`0.0.x` would not check)."""
    return g if B.is_zero(g) else part()


def _all_float(e) -> bool:
    """Whether e and everything in it that carries a derivative is a float."""
    if e.ty is not None and e.ty.active and e.ty != FLOAT:
        return False
    if is_path(e):
        return True                            # a float read from a list, struct, …
    return all(_all_float(c) for c in B.children(e))


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


def _uses(templates) -> dict:
    from .rules import _parsed
    counts: dict = {}
    for t in templates:
        for n in names_in(_parsed(t), set()) if t else ():
            counts[n] = counts.get(n, 0) + 1
    return counts


def _unbroadcasts_to(template, param: str) -> bool:
    """Whether a vjp template is `unbroadcast(…, param)`."""
    return isinstance(template, S.Call) and isinstance(template.func, S.Name) and template.func.id == "unbroadcast" \
        and isinstance(template.args[1], S.Name) and template.args[1].id == param


def _binary_prim(e: S.Binary) -> P.Primitive:
    """The table entry for an operator at its operands' types."""
    if e.op == "**" and e.right.ty == INT:
        return P.BY_NAME["**int"][0]
    types = (e.left.ty, e.right.ty)
    for p in P.BY_NAME[e.op]:
        if p.types == types:
            return p
    raise _err(e.span, f"`{e.op}` has no derivative rule for `{types[0]}` and `{types[1]}`")
