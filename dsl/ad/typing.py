"""The transforms as DP builtins: how `grad(f)`, `value_and_grad`, `jvp`, `vjp`,
`jacfwd`, `jacrev` and `hessian` are typed, compiled, and run on function values
that only arrive at run time."""
from __future__ import annotations

import ast as py
import functools

import numpy as np

from .. import primitives as P
from .. import syntax as S

from interpreter.values import DPStruct

from ..types import ERROR, FLOAT, TENSOR, ErrorT, FnT, ListT, TupleT
from . import build as B
from .normalize import _BodyCopier, Normalizer

JAC_KINDS = ("jacfwd", "jacrev", "hessian")


def _copy_body(body):
    n = Normalizer.__new__(Normalizer)
    n.names, n.used, n.hoisted = {}, set(), []
    return _BodyCopier(n).block(body)


class TransformTyping:
    # ------------------------------------------------------------ typing
    def type_call(self, checker, e: S.Call, expected):
        self.current_env = checker.env
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
        static = self.static_fn_of_expr(args[0])
        info = {"static": static}
        e.target = ("transform", kind, info)
        if kind in ("grad", "value_and_grad"):
            return self.type_grad(checker, e, ft, info, kind)
        if kind == "jvp":
            return self.type_jvp(checker, e, ft, info)
        if kind == "vjp":
            return self.type_vjp(checker, e, ft, info)
        return self.type_jacobian(checker, e, ft, info, kind)

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
        if info["static"] is not None:
            fn, caps = info["static"]
            shifted = tuple(i + len(caps) for i in wrt)
            info["derived"] = self.derive(fn, "grad" if kind == "grad" else "vg", shifted, tuple_wrt)
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
        if info["static"] is not None:
            info["derived"] = self.derive(info["static"][0], "jvp")
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
        if info["static"] is not None:
            info["derived"] = self.derive(info["static"][0], "rev")
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
        if info["static"] is not None:
            fn, caps = info["static"]
            info["derived"] = self.derive_jacobian(fn, kind, wrt + len(caps))
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

    # ------------------------------------------------------------ static functions
    def static_fn_of_expr(self, e):
        """(FnDef, capture expressions) when e is a function known now, else None."""
        if isinstance(e, S.Name):
            sym = e.sym
            if isinstance(sym, tuple) and sym[0] == "prim":
                return (self.prim_fn(sym[1]), [])
            if sym is not None and not isinstance(sym, tuple) and sym.kind == "fn":
                fn = sym.decl
                if isinstance(fn, S.FnDef) and getattr(fn, "checked", False):
                    return (fn, [])
                return None
            # a `let` bound to a lambda: its captures are known here, so derivatives
            # flow into them too
            if sym is not None and not isinstance(sym, tuple) and sym.kind == "let" and \
                    isinstance(sym.decl, S.Let) and isinstance(sym.decl.value, S.Lambda) and sym.decl.names is None:
                return self.lambda_fn(sym.decl.value)
            return None
        if isinstance(e, S.Call) and e.target and e.target[0] == "transform":
            info = e.target[2]
            d = info.get("derived")
            if d is None or e.target[1] in ("jvp", "vjp"):
                return None
            caps = info["static"][1] if info.get("static") else []
            return (d.fn, caps)
        if isinstance(e, S.Lambda):
            return self.lambda_fn(e)
        return None

    def lambda_fn(self, lam: S.Lambda):
        """A lambda as a top-level function whose first parameters are its captures."""
        fn = getattr(lam, "as_fn", None)
        if fn is None:
            params = [S.Param(s.name, B.type_expr(s.ty)) for s in lam.captures]
            params += [S.Param(p.name, B.param_type(p)) for p in lam.params]
            name = self.unique(f"lambda_line{lam.span.line}")
            fn = S.FnDef(name, params, B.type_expr(lam.ty.ret), _copy_body(lam.body), span=lam.span)
            fn = self.check_fn(fn, register=True)
            self.compile_fn(fn, lam.span.file)
            lam.as_fn = fn
        caps = []
        for s in lam.captures:
            n = S.Name(s.name, span=lam.span)
            n.sym, n.ty = s, s.ty
            caps.append(n)
        return (fn, caps)

    def prim_fn(self, prim: P.Primitive) -> S.FnDef:
        key = ("prim", prim.name)
        fn = self.wrappers.get(key)
        if fn is None:
            params = [S.Param(p, B.type_expr(t)) for p, t in zip(prim.params, prim.types)]
            body = [S.Return(S.Call(S.Name(prim.name), [S.Name(p) for p in prim.params]))]
            fn = S.FnDef(self.unique(f"{prim.name}_fn"), params, B.type_expr(prim.ret), body)
            fn = self.check_fn(fn, register=True)
            self.compile_fn(fn, "<derived>")
            self.wrappers[key] = fn
        return fn

    # ------------------------------------------------------------ jacobians, as DP source
    def derive_jacobian(self, fn: S.FnDef, kind: str, wrt: int = 0):
        """The Jacobian of fn with respect to parameter wrt, as a DP function taking
        all of fn's parameters. Forward mode pushes one basis tangent per input
        element; reverse mode pulls one basis cotangent per output element."""
        key = (id(fn), kind, wrt)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        if kind == "hessian":
            g = self.derive(fn, "grad", (wrt,))
            d = self.derive_jacobian(g.fn, "jacfwd", wrt)
            self.cache[key] = d
            return d
        from ..parser import parse
        from . import Derived
        name = self.unique(f"{fn.name}_{kind}")
        call = _JacobianCalls(self, fn, kind, wrt)
        a, b = fn.ty.params[wrt], fn.ty.ret
        if TENSOR in (a, b):
            body = _tensor_jacobian_body(call, kind, a, b)
        else:
            body = _list_jacobian_body(call, kind, a, b)
        params = ", ".join(f"{n}: {_src_type(t)}" for n, t in zip(call.names, fn.ty.params))
        src = f"fn {name}({params}) -> {_src_type(_jac_type(a, b))} {{\n{body}}}\n"
        file = f"<derived {name}>"              # its own file: a diagnostic quotes this text
        self.session.sources.add(file, src)
        prog = parse(src, file)
        out = self.check_fn(prog.body[0], register=True)
        self.compile_fn(out, file)
        d = Derived(out, kind, fn)
        self.cache[key] = d
        self.by_name[out.name] = d
        return d

    # ------------------------------------------------------------ compiling calls
    def compile_call(self, compiler, e: S.Call):
        self.install_runtime()
        _, kind, info = e.target
        d = info.get("derived")
        static = info.get("static")
        caps = [compiler.expr(c) for c in static[1]] if static else []
        f = compiler.expr(e.args[0]) if d is None else None

        def load(n):
            return py.Name(id=n, ctx=py.Load())

        def call(fn, *args):
            return py.Call(func=fn, args=list(args), keywords=[])

        if kind in ("grad", "value_and_grad") or kind in JAC_KINDS:
            if d is not None:
                fv = load(d.py)
                return call(load("rt·partial"), fv, *caps) if caps else fv
            if kind in JAC_KINDS:
                return call(load("rt·jacobian"), py.Constant(kind), f, py.Constant(info["wrt"]))
            return call(load("rt·transform"), py.Constant(kind), f, py.Constant(info["wrt"]), py.Constant(info["tuple_wrt"]))
        if kind == "jvp":
            primals, tangents = e.args[1], e.args[2]
            if info["bare"]:
                ps, ts = [compiler.expr(primals)], [compiler.expr(tangents)]
            else:
                ps = [compiler.expr(x) for x in primals.items] if isinstance(primals, S.TupleLit) else [py.Starred(value=compiler.expr(primals), ctx=py.Load())]
                ts = [compiler.expr(x) for x in tangents.items] if isinstance(tangents, S.TupleLit) else [py.Starred(value=compiler.expr(tangents), ctx=py.Load())]
            tup = lambda xs: py.Tuple(elts=xs, ctx=py.Load())       # noqa: E731
            if d is not None:
                mask = tuple(p.sym.ty.active for p in d.source.params)
                return call(load("rt·jvp_static"), load(d.py), py.Constant(mask), tup(caps), tup(ps), tup(ts))
            inside = py.Constant(getattr(e, "inside_derivative", False))
            return call(load("rt·jvp"), f, tup(ps), tup(ts), inside)
        if kind == "vjp":
            args = [compiler.escaping(a) for a in e.args[1:]]
            fv = compiler.expr(e.args[0])
            if getattr(e, "inside_derivative", False):
                return call(load("rt·vjp_inside"), fv, *args)
            return call(load("rt·vjp"), fv, *args)
        raise AssertionError(kind)

    # ------------------------------------------------------------ at run time
    def install_runtime(self):
        ns = self.session.runtime.ns
        if "rt·transform" in ns:
            return
        ns["rt·partial"] = functools.partial
        ns["rt·transform"] = self.rt_transform
        ns["rt·jvp"] = self.rt_jvp
        ns["rt·jvp_static"] = _jvp_static
        ns["rt·vjp"] = self.rt_vjp
        ns["rt·vjp_inside"] = lambda f, *args: self.rt_vjp(f, *args, inside=True)
        ns["rt·jacobian"] = self.rt_jacobian
        ns["rt·source"] = self.rt_source

    def node_of(self, f):
        """The DP function behind a Python callable, and the values it captured."""
        if isinstance(f, functools.partial):
            fn, caps = self.node_of(f.func)
            return fn, list(f.args) + caps
        f = getattr(f, "generic", f)           # a derivative specialised per shape (specialise.py)
        code = getattr(f, "__code__", None)
        node = self.by_code.get(code) if code is not None else None
        if node is None and code is not None:
            ns = self.session.runtime.ns
            for sym in self.session.env.values.values():
                g = ns.get(sym.py)
                if sym.kind == "fn" and getattr(g, "__code__", None) is code:
                    node = sym.decl
                    self.by_code[code] = node
                    break
            if node is None:
                self.register_lambdas(self.session.compiler)
                node = self.by_code.get(code)
        if node is None:
            for p in P.TABLE:
                if p.impl is f:
                    return self.prim_fn(p), []
            from interpreter.runtime import DPRuntimeError
            raise DPRuntimeError("cannot differentiate this function: it is not a DP function",
                                 "functions registered from Python need derivative rules to be differentiated")
        if isinstance(node, S.Lambda):
            fn, _ = self.lambda_fn(node)
            cells = dict(zip(code.co_freevars, f.__closure__ or ()))
            return fn, [cells[s.py].cell_contents for s in node.captures]
        return node, []

    def rt_source(self, f) -> str:
        """`source(f)`: a function's DP source; for a derivative, the derived code (source.py)."""
        from .source import derivative_source
        return derivative_source(self, self.node_of(f)[0])

    def rt_transform(self, kind, f, wrt, tuple_wrt):
        fn, caps = self.node_of(f)
        shifted = tuple(i + len(caps) for i in wrt)
        d = self.derive(fn, "grad" if kind == "grad" else "vg", shifted, tuple_wrt)
        g = self.session.runtime.ns[d.py]
        return functools.partial(g, *caps) if caps else g

    def _no_active_captures(self, fn, caps):
        """Inside a derivative, a closure that arrived as a value is differentiated
        with respect to its arguments only; if it captured differentiable values, the
        result would be wrong, so stop instead."""
        n = len(caps)
        if any(p.sym.ty.active for p in fn.params[:n]):
            from interpreter.runtime import DPRuntimeError
            raise DPRuntimeError("cannot differentiate through a closure that captured a differentiable value "
                                 "and was passed as an argument",
                                 "pass the captured value as an argument instead, or call the lambda where it is made")

    def rt_jvp(self, f, primals, tangents, inside=False):
        fn, caps = self.node_of(f)
        if inside:
            self._no_active_captures(fn, caps)
        d = self.derive(fn, "jvp")
        mask = tuple(p.sym.ty.active for p in fn.params)
        return _jvp_static(self.session.runtime.ns[d.py], mask, tuple(caps), primals, tangents)

    def rt_vjp(self, f, *args, inside=False):
        from interpreter.tangents import zeros_like
        fn, caps = self.node_of(f)
        if inside:
            self._no_active_captures(fn, caps)
        d = self.derive(fn, "rev")
        rev = self.session.runtime.ns[d.py]
        y = f(*args)
        n = len(caps)

        def pullback(y_bar):
            _check_like(y_bar, y, "the cotangent", "the result", "")
            r = rev(*caps, *args, y_bar)
            cot = [zeros_like(a) for a in args]
            for rank, k in enumerate(d.active_idx):
                if k >= n:
                    cot[k - n] = r[rank]
            return cot[0] if len(args) == 1 else tuple(cot)
        return (y, pullback)

    def rt_jacobian(self, kind, f, wrt):
        fn, caps = self.node_of(f)
        d = self.derive_jacobian(fn, kind, wrt + len(caps))
        g = self.session.runtime.ns[d.py]
        return functools.partial(g, *caps) if caps else g


def _jvp_static(derived, mask, caps, primals, tangents):
    """Call a derived jvp: the captures' tangents are zero; inactive tangents are dropped."""
    from interpreter.tangents import zeros_like
    n = len(caps)
    for i, (p, t, m) in enumerate(zip(primals, tangents, mask[n:])):
        if m:
            c = p.__class__
            if c is t.__class__ and (c is float or c is _NDARRAY and p.shape == t.shape):
                continue                                        # the common cases, cheaply
            _check_like(t, p, f"the tangent of parameter {i}", "the primal", "")
    dots = [zeros_like(c) for c, m in zip(caps, mask) if m]
    dots += [t for t, m in zip(tangents, mask[n:]) if m]
    return derived(*caps, *primals, *dots)


_NDARRAY = np.ndarray


def _check_like(v, like, what: str, of: str, path: str):
    """A (co)tangent v must have the shape of the value `like` it belongs to: walk
    both together; tensors compare shapes, lists lengths. Raises a DP runtime error."""
    if isinstance(v, (np.ndarray, np.generic)) or isinstance(like, (np.ndarray, np.generic)):
        got, want = np.shape(v), np.shape(like)
        if got != want:
            _mismatch(f"{what}{_at(path)} has shape {got}, but {of} has shape {want}")
    elif isinstance(like, list):
        if not isinstance(v, list):
            return
        if len(v) != len(like):
            _mismatch(f"{what}{_at(path)} is a list of {len(v)}, but {of} is a list of {len(like)}")
        for k, (a, b) in enumerate(zip(v, like)):
            if not isinstance(b, (float, int, str)):
                _check_like(a, b, what, of, f"{path}[{k}]")
    elif isinstance(like, tuple) and isinstance(v, tuple):
        for k, (a, b) in enumerate(zip(v, like)):
            _check_like(a, b, what, of, f"{path}.{k}")
    elif isinstance(like, DPStruct) and type(v) is type(like):
        for f in like._fields:
            _check_like(getattr(v, f), getattr(like, f), what, of, f"{path}.{f}")
    elif isinstance(like, dict) and isinstance(v, dict):
        for k, b in like.items():
            if k in v:
                _check_like(v[k], b, what, of, f"{path}[{k!r}]")


def _at(path: str) -> str:
    return f" (at `{path}`)" if path else ""


def _mismatch(message: str):
    from interpreter.runtime import DPRuntimeError
    raise DPRuntimeError(message, "a tangent or cotangent has the shape of the value it belongs to; "
                                  "`shape(x)` shows a tensor's shape, `zeros_like(x)` makes a fitting zero")


def _jac_type(a, b):
    if TENSOR in (a, b):
        return TENSOR
    if a == FLOAT:
        return b
    if b == FLOAT:
        return a
    return ListT(ListT(FLOAT))


def _src_type(t) -> str:
    from ..printer import type_src
    return type_src(B.type_expr(t))



# the locals a Jacobian's body declares; a parameter with one of these names is renamed
_JACOBIAN_LOCALS = {"cols", "vals", "parts", "jac", "row", "n", "m", "i", "j", "r", "c", "e", "y"}


class _JacobianCalls:
    """Source text for the calls a Jacobian body makes: the function, its jvp with a
    tangent for one parameter (zero for the others), its pullback picking one cotangent."""

    def __init__(self, ad, fn, kind, wrt):
        self.names = [p.name + "_" if p.name in _JACOBIAN_LOCALS else p.name for p in fn.params]
        self.x = self.names[wrt]
        self.fn, self.ad, self.kind, self.wrt = fn, ad, kind, wrt

    def primal(self) -> str:
        return f"{self.fn.name}({', '.join(self.names)})"

    def jvp(self, tangent: str) -> str:
        """The tangent of the result when parameter wrt moves by `tangent`."""
        d = self.ad.derive(self.fn, "jvp")
        dots = [tangent if k == self.wrt else f"zeros_like({self.names[k]})" for k in d.active_idx]
        return f"{d.name}({', '.join(self.names + dots)}).1"

    def vjp(self, seed: str) -> str:
        """Parameter wrt's cotangent for the result's cotangent `seed`."""
        d = self.ad.derive(self.fn, "rev")
        return f"{d.name}({', '.join(self.names)}, {seed}).{d.active_idx.index(self.wrt)}"


def _list_jacobian_body(call, kind, a, b) -> str:
    """float and list[float] functions: rows of the Jacobian are outputs."""
    x = call.x
    if kind == "jacfwd":
        if a == FLOAT:
            return f"    return {call.jvp('1.0')}\n"
        if b == FLOAT:
            return (f"    var jac: list[float] = []\n    for i in 0..len({x}) {{\n        var e = zeros_like({x})\n"
                    f"        e[i] = 1.0\n        jac.append({call.jvp('e')})\n    }}\n    return jac\n")
        return (f"    var cols: list[list[float]] = []\n    for i in 0..len({x}) {{\n        var e = zeros_like({x})\n"
                f"        e[i] = 1.0\n        cols.append({call.jvp('e')})\n    }}\n"
                f"    var jac: list[list[float]] = []\n    let m = len({call.primal()})\n"
                f"    for r in 0..m {{\n        var row: list[float] = []\n        for c in 0..len({x}) {{\n"
                f"            row.append(cols[c][r])\n        }}\n        jac.append(row)\n    }}\n    return jac\n")
    if b == FLOAT:
        return f"    return {call.vjp('1.0')}\n"
    J = _src_type(_jac_type(a, b))
    return (f"    let y = {call.primal()}\n    var jac: {J} = []\n    for j in 0..len(y) {{\n"
            f"        var e = zeros_like(y)\n        e[j] = 1.0\n        jac.append({call.vjp('e')})\n    }}\n    return jac\n")


def _tensor_jacobian_body(call, kind, a, b) -> str:
    """A tensor function's Jacobian, shaped (output shape + input shape): the tangents
    (or cotangents) of the basis vectors, stacked, or gathered into a tensor when
    each is a float."""
    x = call.x
    if b == FLOAT and kind == "jacrev" or a == FLOAT and kind == "jacfwd":
        return f"    return {call.jvp('1.0') if kind == 'jacfwd' else call.vjp('1.0')}\n"
    each_float = (b if kind == "jacfwd" else a) == FLOAT
    pieces = "vals: list[float]" if each_float else "parts: list[tensor]"
    if kind == "jacfwd":
        n, piece = f"size({x})", call.jvp(f"reshape(e, shape({x}))")
    else:
        n, piece = "size(y)", call.vjp("reshape(e, shape(y))")
    out = f"    let y = {call.primal()}\n" if kind == "jacrev" or not each_float else ""
    out += (f"    var {pieces} = []\n    let n = {n}\n    for i in 0..n {{\n        var e = zeros(n)\n"
            f"        e[i] = 1.0\n        {pieces.split(':')[0]}.append({piece})\n    }}\n")
    if each_float:
        return out + f"    return reshape(tensor(vals), shape({x if kind == 'jacfwd' else 'y'}))\n"
    axis = "len(shape(y))" if kind == "jacfwd" else "0"
    return out + f"    return reshape(stack(parts, {axis}), shape(y) + shape({x}))\n"
