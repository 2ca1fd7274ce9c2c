"""The transforms at run time: the Python code a `grad(f)`, `jvp(f, …)`, … call
compiles to, and what runs when the function it differentiates is known only then (a
function value passed in, returned or stored): the DP function behind the value is
found, derived on first use (dsl/ad, cached there) and called."""
from __future__ import annotations

import ast as py
import copy
import functools
import math

from dp.dsl import lazy_numpy
from dp.dsl import primitives as P
from dp.dsl import syntax as S
from dp.dsl.diagnostics import DPError
from dp.dsl.types import FLOAT

from .values import DPStruct, format_value

np = lazy_numpy.module(globals())          # numpy, imported when a program first needs it

JAC_KINDS = ("jacfwd", "jacrev", "hessian")


class TransformRuntime:
    def __init__(self, session):
        self.session = session
        self.install()

    @property
    def ad(self):
        return self.session.ad                  # made on first use (session.py)

    def compile_call(self, compiler, e: S.Call):
        _, kind, info = e.target
        d = info.get("derived")
        static = info.get("static")
        caps = self.captured(compiler, e.args[0], static[1]) if static else []
        f = compiler.expr(e.args[0]) if d is None else None

        def load(n):
            return py.Name(id=n, ctx=py.Load())

        def call(fn, *args):
            return py.Call(func=fn, args=list(args), keywords=[])

        if kind in ("grad", "value_and_grad", "pullback", "pushforward") or kind in JAC_KINDS:
            if d is not None:
                fv = load(d.py)
                return call(load("rt·partial"), fv, *caps) if caps else fv
            if kind in ("pullback", "pushforward"):
                return call(load("rt·function_derivative"), py.Constant(kind), f)
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
            return call(load("rt·jvp"), f, tup(ps), tup(ts))
        if kind == "vjp":
            args = [compiler.escaping(a) for a in e.args[1:]]
            return call(load("rt·vjp"), compiler.expr(e.args[0]), *args)
        raise AssertionError(kind)

    # ------------------------------------------------------------ at run time
    def captured(self, compiler, fn_expr, caps) -> list:
        """The values a function known statically captured, as the call passes them.
        A lambda captured them where it was made, so for a name bound to one (or to a
        derivative of one) they are read from the function value itself: the variables
        may have changed since."""
        direct = _direct_captures(fn_expr)
        if caps and direct is not None and all(c.sym in direct for c in caps):
            names = py.Tuple(elts=[py.Constant(c.sym.py) for c in caps], ctx=py.Load())
            value = py.Call(func=py.Name(id="rt·captured", ctx=py.Load()), args=[compiler.expr(fn_expr), names], keywords=[])
            return [py.Starred(value=value, ctx=py.Load())]
        return [compiler.expr(c) for c in caps]

    def install(self):
        ns = self.session.runtime.ns
        ns["rt·partial"] = functools.partial
        ns["rt·rederive"] = lambda name: self.ad.rederive(name)   # a retired derivative's stub (dsl/ad/redefinitions.py)
        ns["rt·captured"] = _captured
        ns["rt·transform"] = self.rt_transform
        ns["rt·jvp"] = self.rt_jvp
        ns["rt·jvp_static"] = self.jvp_static
        ns["rt·vjp"] = self.rt_vjp
        ns["rt·jacobian"] = self.rt_jacobian
        ns["rt·function_derivative"] = self.rt_function_derivative
        ns["rt·source"] = self.rt_source
        ns["rt·nan_gradient"] = self.nan_gradient
        ns["rt·gradient_checked"] = self.gradient_checked

    # ------------------------------------------------------------ nan in a gradient
    def gradient_checked(self, name, result, args):
        return self.nan_gradient(name, result, args) if _has_nan(result) else result

    def nan_gradient(self, name, result, args):
        """A gradient with a nan where f's value is finite: a product of a zero cotangent
        and an infinite partial in the reverse sweep (a value that overflowed on a path
        the result does not depend on, `0 * inf`). Forward mode carries no cotangent
        there: made again as jacfwd, a column for each parameter differentiated. Where
        the value itself is nan, or forward mode gives nan too, the result stands."""
        d = self.ad.by_name.get(name)
        if d is not None and d.kind in ("jacfwd", "jacrev"):
            return self._nan_jacobian(d, result, args)
        if d is None or d.kind not in ("grad", "vg"):
            return result
        value, grads = result if d.kind == "vg" else (None, result)
        if d.kind == "vg" and _has_nan(value):
            return result
        fn = d.source
        wrt = list(d.wrt) if d.wrt else [0]
        ns = self.session.runtime.ns
        output = self.session.runtime.output
        again = None
        output.muted += 1                              # the program's prints happened already, once
        try:
            cols = []
            for i in wrt:
                jac = self.ad.derive_jacobian(fn, "jacfwd", i)
                cols.append(ns[jac.py](*args))
            again = tuple(cols) if d.tuple_wrt or len(cols) > 1 else cols[0]
        except Exception:                              # noqa: BLE001 — no forward mode for it
            again = None
        finally:
            output.muted -= 1
        if again is not None and not _has_nan(again):
            return (value, again) if d.kind == "vg" else again
        if d.kind == "grad":
            output.muted += 1
            try:
                value = ns[fn.sym.py](*args)
            finally:
                output.muted -= 1
        if _has_nan(value) or (isinstance(value, float) and math.isinf(value)):
            return result                              # the value is not a number either
        # a nan where the value is a number: never a number passed on as a derivative
        from .runtime import DPRuntimeError
        shown = fn.name.split("_grad")[0].split("_rev")[0]
        raise DPRuntimeError(f"the derivative of `{shown}` is not a number (nan) where its value is "
                             f"{format_value(value)}",
                             "a value in it overflowed to inf (or is nan) on a path its result does not depend on, "
                             "and the reverse sweep multiplies its zero cotangent by an infinite partial; "
                             "keep the values finite, or take the derivative in forward mode (jvp, jacfwd)",
                             kind="differentiation error")

    def _nan_jacobian(self, d, result, args):
        """A Jacobian with a nan where its function's value is finite. Where that function
        is a gradient (hessian(f), jacfwd(grad(f)), jacrev(grad(f))), the nan is the
        reverse sweep's `0 * inf` (the branch `where` did not take), which forward mode
        does not make: made again as jacfwd(jacfwd(f)). A plain jacrev is made again as
        jacfwd. Otherwise, or if that has a nan too, a differentiation error."""
        ns = self.session.runtime.ns
        output = self.session.runtime.output
        fn, (j,) = d.source, d.wrt
        inner = self.ad.by_name.get(fn.name)
        again = value = None
        output.muted += 1                              # the program's prints happened already, once
        try:
            value = ns[fn.sym.py](*args)
            if _has_nan(value, or_inf=True):
                return result                          # the value is not finite either
            if inner is not None and inner.kind == "grad" and inner.wrt and len(inner.wrt) == 1 \
                    and not inner.tuple_wrt:
                first = self.ad.derive_jacobian(inner.source, "jacfwd", inner.wrt[0])
                made = self.ad.derive_jacobian(first.fn, "jacfwd", j)
            elif d.kind == "jacrev":
                made = self.ad.derive_jacobian(fn, "jacfwd", j)
            else:
                made = None
            if made is not None:
                again = ns[made.fn.sym.py](*args)
        except Exception:                              # noqa: BLE001 — no forward mode for it
            again = None                               # (a stop, a BaseException, goes on)
        finally:
            output.muted -= 1
        if again is not None and not _has_nan(again) and _same_shape(again, result):
            return again
        from .runtime import DPRuntimeError
        shown = fn.name.split("_grad")[0].split("_rev")[0]
        where = f" where its value is {format_value(value)}" if value is not None else ""
        raise DPRuntimeError(f"a Jacobian of `{shown}` is not a number (nan){where}",
                             "a zero (co)tangent met an infinite partial: a value overflowed, or a branch "
                             "`where` did not take is not finite (guard its argument: `sqrt(where(c, x, 1.0))`); "
                             "keep the values finite",
                             kind="differentiation error")

    def node_of(self, f):
        """The DP function behind a Python callable, and the values it captured."""
        if isinstance(f, functools.partial):
            fn, caps = self.node_of(f.func)
            return fn, list(f.args) + caps
        f = getattr(f, "generic", f)           # a derivative specialised per shape (specialise.py)
        f = getattr(f, "wrapped", f)           # a pullback run with effects muted (__init__.py)
        f = self.ad.refreshed(f)               # a derivative retired by a redefinition, made again
        code = getattr(f, "__code__", None)
        node = self.ad.by_code.get(code) if code is not None else None
        if node is None and code is not None:
            ns = self.session.runtime.ns
            for sym in self.session.env.values.values():
                g = ns.get(sym.py)
                if sym.kind == "fn" and getattr(g, "__code__", None) is code:
                    node = sym.decl
                    self.ad.by_code[code] = node
                    break
            if node is None:
                self.ad.register_lambdas(self.session.compiler)
                node = self.ad.by_code.get(code)
        if node is None:
            for p in P.TABLE:
                if p.impl is f:
                    return self.ad.prim_fn(p), []
            from .runtime import DPRuntimeError
            raise DPRuntimeError("cannot differentiate this function: it is not a DP function",
                                 "functions registered from Python need derivative rules to be differentiated",
                                 kind="differentiation error")
        if isinstance(node, S.Lambda):
            fn, _ = self.ad.lambda_fn(node)
            return fn, _capture_values(node, f, self.session.runtime.ns)
        return node, []

    def rt_source(self, f) -> str:
        """`source(f)`: a function's DP source; for a derivative, the derived code (source.py)."""
        from dp.dsl.ad.source import derivative_source
        return derivative_source(self.ad, self.node_of(f)[0])

    def rt_transform(self, kind, f, wrt, tuple_wrt):
        fn, caps = self.node_of(f)
        shifted = tuple(i + len(caps) for i in wrt)
        d = self.ad.derive(fn, "grad" if kind == "grad" else "vg", shifted, tuple_wrt)
        g = self.session.runtime.ns[d.py]
        return functools.partial(g, *caps) if caps else g

    def _no_active_captures(self, fn, caps):
        """Inside a derivative, a closure that arrived as a value is differentiated
        with respect to its arguments only; if it captured differentiable values, the
        result would be wrong, so stop instead."""
        n = len(caps)
        if any(p.sym.ty.active for p in fn.params[:n]):
            from .runtime import DPRuntimeError
            raise DPRuntimeError("cannot differentiate through a function value that captured a differentiable "
                                 "value and is known only when the program runs",
                                 "pass the captured value as an argument instead, or call the lambda where it is made",
                                 kind="differentiation error")

    def rt_jvp(self, f, primals, tangents):
        fn, caps = self.node_of(f)
        d = self.ad.derive(fn, "jvp")
        mask = tuple(p.sym.ty.active for p in fn.params)
        return self.jvp_static(self.session.runtime.ns[d.py], mask, tuple(caps), primals, tangents)

    def jvp_static(self, derived, mask, caps, primals, tangents):
        """Call a derived jvp: the captures' tangents are zero; inactive tangents are
        dropped. A nan in what it gives goes to nan_jvp."""
        from .tangents import zeros_like
        n = len(caps)
        for i, (p, t, m) in enumerate(zip(primals, tangents, mask[n:])):
            if m:
                c = p.__class__
                if c is t.__class__ and (c is float or c is np.ndarray and p.shape == t.shape):
                    continue                                        # the common cases, cheaply
                _check_like(t, p, f"the tangent of parameter {i}", "the primal", "")
        dots = [zeros_like(c) for c, m in zip(caps, mask) if m]
        dots += [t for t, m in zip(tangents, mask[n:]) if m]
        out = derived(*caps, *primals, *dots)
        value, tangent = out
        if (value != value if value.__class__ is float else _has_nan(value)) or \
                (tangent != tangent if tangent.__class__ is float else _has_nan(tangent)):
            return self.nan_jvp(derived, mask, caps, primals, tangents, out)
        return out

    def nan_jvp(self, derived, mask, caps, primals, tangents, out):
        """A jvp that gives a nan (its value's or its tangent's) where the function's own
        value is a number: a product of a zero tangent and an infinite partial (a value
        that overflowed on a path the result does not depend on, `0 * inf`), or, for the
        jvp of a gradient, of the reverse sweep inside it. The value is the function's
        own (a gradient's recovers from such a nan, see nan_gradient); the tangent of a
        float-valued function is made again in reverse mode, as its gradient on the
        tangents (Σ ∂f/∂xᵢ · ẋᵢ), where no zero tangent meets that partial (and a
        gradient recovers from a nan of its own). Where the function's value is not a number, what the jvp gave stands; where the
        tangent cannot be made again, or is nan too, it is a differentiation error."""
        d = self.ad.by_name.get(getattr(derived, "__name__", "").split("·")[0])
        if d is None or d.kind not in ("jvp", "jvp_quiet"):
            return out
        fn, ns, output = d.source, self.session.runtime.ns, self.session.runtime.output
        n = len(caps)
        tangent = out[1]
        output.muted += 1                              # the program's prints happened already, once
        try:
            value = ns[fn.sym.py](*caps, *primals)
            if _has_nan(value, or_inf=True):
                return out                             # the value is not a number either
            if fn.sym.ty.ret == FLOAT and (_has_nan(tangent) or _has_nan(out[0])):
                wrt = tuple(k for k, p in enumerate(fn.params) if k >= n and mask[k] and p.sym.ty.active)
                if wrt:                                # the gradient, itself checked for nan (nan_gradient)
                    g = self.ad.derive(fn, "grad", wrt, True)
                    grads = ns[g.py](*caps, *primals)
                    tangent = sum((_dot(gk, tangents[k - n]) for gk, k in zip(grads, wrt)), 0.0)
                else:
                    tangent = 0.0
        except DPError:
            raise
        except Exception:                              # noqa: BLE001 — no reverse mode for it
            tangent = out[1]
        finally:
            output.muted -= 1
        if not _has_nan(tangent):
            return (value, tangent)
        from .runtime import DPRuntimeError
        shown = fn.name.split("_grad")[0].split("_rev")[0]
        raise DPRuntimeError(f"the jvp of `{shown}` is not a number (nan) where its value is {format_value(value)}",
                             "a value in it overflowed to inf (or is nan) on a path the result does not depend on, "
                             "times a zero tangent; keep the values finite, or take the derivative in reverse mode "
                             "(grad, vjp)",
                             kind="differentiation error")

    def rt_vjp(self, f, *args):
        from .tangents import zeros_like
        fn, caps = self.node_of(f)
        d = self.ad.derive(fn, "rev")
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
            if _has_nan(cot) and not _has_nan(y, or_inf=True) and not _has_nan(y_bar):
                cot = self.nan_pullback(fn, caps, args, y, y_bar, cot)
            return cot[0] if len(args) == 1 else tuple(cot)
        return (y, pullback)

    def nan_pullback(self, fn, caps, args, y, y_bar, cot):
        """A pullback with a nan where the value is a number: the reverse sweep's `0 * inf`
        (see nan_gradient). A float-valued function's is made again as y_bar times its
        gradient, which recovers from such a nan; else a differentiation error."""
        n = len(caps)
        wrt = tuple(k for k, p in enumerate(fn.params) if k >= n and p.sym.ty.active)
        if fn.sym.ty.ret == FLOAT and wrt:
            from .tangents import zeros_like
            g = self.ad.derive(fn, "grad", wrt, True)
            grads = self.session.runtime.ns[g.py](*caps, *args)
            cot = [zeros_like(a) for a in args]
            for gk, k in zip(grads, wrt):
                cot[k - n] = _scaled(gk, y_bar)
            if not _has_nan(cot):
                return cot
        from .runtime import DPRuntimeError
        raise DPRuntimeError(f"the pullback of `{fn.name}` is not a number (nan) where its value is {format_value(y)}",
                             "a value in it overflowed to inf (or is nan) on a path the result does not depend on, "
                             "and the reverse sweep multiplies its zero cotangent by an infinite partial; keep the "
                             "values finite, or take the derivative in forward mode (jvp)",
                             kind="differentiation error")

    def rt_function_derivative(self, kind, f):
        """pullback(f) or pushforward(f) of a function value: made for the DP function
        behind it, with the values it captured. Derived code calls these for function
        values known only now, whose captures are beyond its reach: a closure whose
        captures carry derivatives is refused."""
        fn, caps = self.node_of(f)
        self._no_active_captures(fn, caps)
        d = self.ad.derive_function_derivative(fn, kind, len(caps))
        g = self.session.runtime.ns[d.py]
        return functools.partial(g, *caps) if caps else g

    def rt_jacobian(self, kind, f, wrt):
        fn, caps = self.node_of(f)
        d = self.ad.derive_jacobian(fn, kind, wrt + len(caps))
        g = self.session.runtime.ns[d.py]
        return functools.partial(g, *caps) if caps else g


def _same_shape(a, b) -> bool:
    """Whether a remade Jacobian has the layout of the one it replaces."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same_shape(x, y) for x, y in zip(a, b))
    return type(a) is type(b)


def _has_nan(v, or_inf: bool = False) -> bool:
    """Whether a gradient holds a nan anywhere (or_inf: or an infinity), by a stack,
    not recursion."""
    todo = [v]
    while todo:
        x = todo.pop()
        t = type(x)
        if t is float:
            if x != x or or_inf and x in (math.inf, -math.inf):
                return True
        elif t is list or t is tuple:
            todo.extend(x)
        elif isinstance(x, DPStruct):
            for a in x.__slots__:             # a struct of floats, as a gradient's usually is, at once
                f = getattr(x, a)
                if type(f) is float:
                    if f != f or or_inf and f in (math.inf, -math.inf):
                        return True
                else:
                    todo.append(f)
        elif isinstance(x, dict):
            todo.extend(x.values())
        elif isinstance(x, np.ndarray):       # last: before numpy is imported, np's types cost a lookup
            if x.dtype.kind == "f" and (np.isnan(x).any() or or_inf and np.isinf(x).any()):
                return True
    return False


def _direct_captures(e):
    """The symbols a lambda bound with `let` to name e captured itself; None otherwise."""
    if not (isinstance(e, S.Name) and e.sym is not None and not isinstance(e.sym, tuple) and e.sym.kind == "let"):
        return None
    value = e.sym.decl.value if isinstance(e.sym.decl, S.Let) else None
    if isinstance(value, S.Lambda):
        return set(value.captures)
    if isinstance(value, S.Call) and value.target and value.target[0] == "transform":
        return _direct_captures(value.args[0]) if isinstance(value.args[0], S.Name) else None
    return None


def _capture_values(lam, f, ns) -> list:
    """The values the first parameters of lam's function (StaticFunctions.lambda_fn)
    take for the closure f made from lam: what lam captured and, through the lambdas
    bound with `let` that it captured (lambda_fn makes them again inside), what they
    captured, read from each closure's cells (or the globals)."""
    from dp.dsl.ad.derive import _captures_through, let_lambda
    found = {}

    def visit(lm, g):
        g = getattr(g, "wrapped", g)
        cells = dict(zip(g.__code__.co_freevars, g.__closure__ or ()))
        for sym in lm.captures:
            v = cells[sym.py].cell_contents if sym.py in cells else ns.get(sym.py)
            inner = let_lambda(sym)
            if inner is not None and hasattr(getattr(v, "wrapped", v), "__code__"):
                visit(inner, v)
            else:
                found.setdefault(id(sym), v)
    visit(lam, f)
    values, _ = _captures_through(lam)
    return [found[id(sym)] for sym in values]


def _captured(f, names):
    """The values function value f captured, by the Python names of the captures: a
    derivative's (functools.partial) holds them first among its arguments; a lambda in
    its closure's cells."""
    if isinstance(f, functools.partial):
        return f.args[:len(names)]
    f = getattr(f, "wrapped", f)
    cells = dict(zip(f.__code__.co_freevars, f.__closure__ or ()))
    return tuple(cells[n].cell_contents for n in names)


def _scaled(v, c: float):
    """A value of a differentiable type with each float multiplied by c."""
    if v.__class__ is float:
        return v * c
    if isinstance(v, list):
        return [_scaled(x, c) for x in v]
    if isinstance(v, tuple):
        return tuple(_scaled(x, c) for x in v)
    if isinstance(v, dict):
        return {k: _scaled(x, c) for k, x in v.items()}
    if isinstance(v, DPStruct):
        out = copy.copy(v)
        for s in v.__slots__:
            object.__setattr__(out, s, _scaled(getattr(v, s), c))
        return out
    if isinstance(v, np.ndarray):
        return v * c
    return v                                   # an inactive part


def _dot(a, b) -> float:
    """The inner product of two values of one differentiable type (a cotangent and a
    tangent): the sum of the products of their floats."""
    if a.__class__ is float:
        return a * b
    if isinstance(a, (list, tuple)):
        return sum((_dot(x, y) for x, y in zip(a, b)), 0.0)
    if isinstance(a, dict):
        return sum((_dot(a[k], b[k]) for k in a), 0.0)
    if isinstance(a, DPStruct):
        return sum((_dot(getattr(a, s), getattr(b, s)) for s in a.__slots__), 0.0)
    if isinstance(a, np.ndarray):
        return float(np.sum(a * b))
    return 0.0                                 # an inactive part: ints, strings, enum tags


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
    from .runtime import DPRuntimeError
    raise DPRuntimeError(message, "a tangent or cotangent has the shape of the value it belongs to; "
                                  "`shape(x)` shows a tensor's shape, `zeros_like(x)` makes a fitting zero")


