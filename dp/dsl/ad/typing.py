"""How the checker types the transforms `grad(f)`, `value_and_grad`, `jvp`, `vjp`,
`jacfwd`, `jacrev` and `hessian`: from f's type alone. The derive stage (derive.py)
makes the functions they name; interpreter/transforms.py compiles and runs them."""
from __future__ import annotations

from .. import syntax as S

from ..types import ERROR, FLOAT, TENSOR, ErrorT, FnT, ListT, TupleT

JAC_KINDS = ("jacfwd", "jacrev", "hessian")


class TransformTyping:
    # ------------------------------------------------------------ typing
    def type_call(self, checker, e: S.Call, expected):
        """The type of `grad(f)` & co. from f's type alone; the derive stage makes the
        function it names (derive.py)."""
        kind = e.func.id
        args = e.args

        def rest(start=1):
            for a in args[start:]:
                if a.ty is None:
                    checker.expr(a)

        if not args:
            return checker.error(e.span, f"`{kind}` needs a function", f"write `{kind}(f)`")
        ft = checker.expr(args[0])
        if isinstance(ft, ErrorT):
            rest()
            return ERROR
        if not isinstance(ft, FnT):
            rest()
            return checker.error(args[0].span, f"`{kind}` needs a function, not `{ft}`")
        info = {}
        e.target = ("transform", kind, info)
        if kind in ("grad", "value_and_grad"):
            return self.type_grad(checker, e, ft, info, kind)
        if kind == "jvp":
            return self.type_jvp(checker, e, ft, info)
        if kind == "vjp":
            return self.type_vjp(checker, e, ft, info)
        if kind in ("pullback", "pushforward"):
            return self.type_function_derivative(checker, e, ft, kind)
        return self.type_jacobian(checker, e, ft, info, kind)

    def type_function_derivative(self, checker, e, ft, kind):
        """`pullback(f)`: fn(args…, y_bar) -> cotangents (one, or a tuple of them), as
        vjp's pullback; `pushforward(f)`: fn(args…, tangents…) -> (value, tangent)."""
        for a in e.args[1:]:
            checker.expr(a)
        if len(e.args) != 1:
            return checker.error(e.span, f"`{kind}` takes a function", f"write `{kind}(f)`")
        if not ft.ret.active:
            return checker.error(e.args[0].span, f"`{kind}` needs a function with a differentiable result, not `{ft.ret}`")
        if kind == "pullback":
            cot = ft.params[0] if len(ft.params) == 1 else TupleT(tuple(ft.params))
            return FnT(tuple(ft.params) + (ft.ret,), cot)
        return FnT(tuple(ft.params) * 2, TupleT((ft.ret, ft.ret)))

    def type_grad(self, checker, e, ft, info, kind):
        args = e.args
        wrt, tuple_wrt = (0,), False
        if len(args) > 2:
            for a in args[2:]:
                checker.expr(a)
            return checker.error(e.span, f"`{kind}` takes a function and an optional parameter selector",
                                 f"write `{kind}(f)`, `{kind}(f, 1)` or `{kind}(f, (0, 1))`")
        if len(args) == 2:
            sel = args[1]
            checker.expr(sel)
            if isinstance(sel, S.Num) and isinstance(sel.value, int):
                wrt = (sel.value,)
            elif isinstance(sel, S.TupleLit) and sel.items and all(isinstance(i, S.Num) and isinstance(i.value, int) for i in sel.items):
                wrt, tuple_wrt = tuple(i.value for i in sel.items), True
            else:
                return checker.error(sel.span, "a parameter selector is an int literal or a tuple of them",
                                     f"write `{kind}(f, 1)` or `{kind}(f, (0, 1))`")
            for i in wrt:
                if not 0 <= i < len(ft.params):
                    return checker.error(sel.span, f"the function has {len(ft.params)} parameter(s); there is no parameter {i}")
        if not ft.params:
            return checker.error(e.span, f"`{kind}` needs a function with parameters")
        if ft.ret != FLOAT:
            return checker.error(e.args[0].span, f"`{kind}` needs a function that returns a `float`, and this one returns `{ft.ret}`",
                                 "use `vjp` or `jacrev` for other results")
        for i in wrt:
            if not ft.params[i].active:
                return checker.error(e.args[1].span if len(args) == 2 else e.args[0].span,
                                     f"cannot differentiate with respect to parameter {i}: `{ft.params[i]}` carries no derivative",
                                     "only float, tensor, and structs, lists, tuples and dicts of them have gradients")
        g = TupleT(tuple(ft.params[i] for i in wrt)) if tuple_wrt else ft.params[wrt[0]]
        info.update(wrt=wrt, tuple_wrt=tuple_wrt)
        return FnT(ft.params, g if kind == "grad" else TupleT((FLOAT, g)))

    def _primals(self, checker, arg, params, what):
        """Check a primal/tangent argument: a tuple of the parameters' types (a bare
        value when there is one parameter)."""
        want = TupleT(tuple(params))
        t = checker.expr(arg, want if len(params) != 1 else None)
        if isinstance(t, ErrorT):
            return None
        if len(params) == 1 and not (isinstance(t, TupleT) and len(t.items) == 1 and not isinstance(params[0], TupleT)):
            checker.expect(arg, t, params[0])
            return True
        checker.expect(arg, t, want)
        return False

    def type_jvp(self, checker, e, ft, info):
        if len(e.args) != 3:
            for a in e.args[1:]:
                checker.expr(a)
            return checker.error(e.span, "`jvp` takes a function, its primals and its tangents",
                                 "write `jvp(f, (x, y), (dx, dy))`")
        if not ft.ret.active:
            return checker.error(e.args[0].span, f"`jvp` needs a function with a differentiable result, not `{ft.ret}`")
        bare = self._primals(checker, e.args[1], ft.params, "primals")
        self._primals(checker, e.args[2], ft.params, "tangents")
        info["bare"] = bool(bare)
        return TupleT((ft.ret, ft.ret))

    def type_vjp(self, checker, e, ft, info):
        if len(e.args) - 1 != len(ft.params):
            for a in e.args[1:]:
                checker.expr(a)
            return checker.error(e.span, f"`vjp` takes the function and its {len(ft.params)} argument(s)",
                                 "write `vjp(f, x, y)`")
        for a, p in zip(e.args[1:], ft.params):
            checker.expect(a, checker.expr(a, p), p)
        if not ft.ret.active:
            return checker.error(e.args[0].span, f"`vjp` needs a function with a differentiable result, not `{ft.ret}`")
        cot = ft.params[0] if len(ft.params) == 1 else TupleT(tuple(ft.params))
        return TupleT((ft.ret, FnT((ft.ret,), cot)))

    def type_jacobian(self, checker, e, ft, info, kind):
        wrt = self._jacobian_selector(checker, e, ft, kind)
        if wrt is None:
            return ERROR
        ok = {FLOAT, ListT(FLOAT), TENSOR}
        a, ret = ft.params[wrt], ft.ret
        if a not in ok or ret not in ok or (kind == "hessian" and ret != FLOAT):
            want = "a `float`, `list[float]` or `tensor` parameter and a `float` result" if kind == "hessian" else \
                "a `float`, `list[float]` or `tensor` parameter and such a result"
            which = f"parameter {wrt}" if len(ft.params) > 1 else "its parameter"
            return checker.error(e.args[0].span, f"`{kind}` needs a function with {want}, not `{ft}`",
                                 f"{which} is `{a}`; for other types use `grad`, `jvp` or `vjp`")
        if TENSOR in (a, ret) and ListT(FLOAT) in (a, ret):
            return checker.error(e.args[0].span, f"`{kind}` takes lists or tensors, not both: `{ft}`",
                                 "convert with `tensor(xs)`")
        info["wrt"] = wrt
        return FnT(ft.params, _jac_type(a, a if kind == "hessian" else ret))

    def _jacobian_selector(self, checker, e, ft, kind):
        """Which parameter a Jacobian is taken with respect to: `jacrev(f)` is the
        first, `jacrev(f, 1)` the second (one parameter at a time, as JAX's argnums=int)."""
        if not ft.params:
            for a in e.args[1:]:
                checker.expr(a)
            checker.error(e.span, f"`{kind}` needs a function with parameters")
            return None
        if len(e.args) == 1:
            return 0
        for a in e.args[1:]:
            checker.expr(a)
        sel = e.args[1]
        if len(e.args) > 2 or not (isinstance(sel, S.Num) and isinstance(sel.value, int)):
            checker.error(e.args[1].span if len(e.args) == 2 else e.span,
                          f"`{kind}` takes a function and an optional parameter number",
                          f"write `{kind}(f)` or `{kind}(f, 1)`; a Jacobian is taken with respect to one parameter")
            return None
        if not 0 <= sel.value < len(ft.params):
            checker.error(sel.span, f"the function has {len(ft.params)} parameter(s); there is no parameter {sel.value}")
            return None
        return sel.value


def _jac_type(a, b):
    if TENSOR in (a, b):
        return TENSOR
    if a == FLOAT:
        return b
    if b == FLOAT:
        return a
    return ListT(ListT(FLOAT))
