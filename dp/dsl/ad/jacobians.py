"""Jacobians as DP source: `jacfwd(f)` pushes one basis tangent per input element
through f's jvp, `jacrev(f)` pulls one basis cotangent per output element through
its pullback, `hessian(f)` is `jacfwd(grad(f))`. Each is a DP function taking all
of f's parameters, printed, checked and compiled like any other."""
from __future__ import annotations

from ..types import FLOAT, TENSOR
from . import build as B
from .derived import Derived
from .typing import _jac_type


class JacobianMaker:
    """Mixed into Transforms."""

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
        name = self.unique(f"{fn.name}_{kind}")
        call = _JacobianCalls(self, fn, kind, wrt)
        a, b = fn.ty.params[wrt], fn.ty.ret
        if TENSOR in (a, b):
            body = _tensor_jacobian_body(call, kind, a, b)
        else:
            body = _list_jacobian_body(call, kind, a, b)
        params = ", ".join(f"{n}: {_src_type(t)}" for n, t in zip(call.names, fn.ty.params))
        src = f"fn {name}({params}) -> {_src_type(_jac_type(a, b))} {{\n{body}}}\n"
        d = self.cache[key] = self.from_source(src, name, kind, fn, entry=True)
        d.wrt = (wrt,)
        return d

    def from_source(self, src: str, name: str, kind: str, fn, entry: bool = False) -> Derived:
        """A derived function written as DP source: parsed, checked, compiled and
        registered, under a file name of its own (a diagnostic quotes its text). entry:
        its result is checked for nan as a gradient's is (a Jacobian)."""
        from ..parser import parse
        file = f"<derived {name}>"
        self.session.sources.add(file, src)
        out = self.check_fn(parse(src, file).body[0], register=True)
        if entry:
            out.gradient_entry = name
        self.compile_fn(out, file)
        d = Derived(out, kind, fn)
        self.by_name[out.name] = d
        return d


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

    def jvp(self, tangent: str, quiet: bool = True) -> str:
        """The tangent of the result when parameter wrt moves by `tangent`; quiet: with
        effects muted, the primal having run already."""
        d = self.ad.derive(self.fn, "jvp_quiet" if quiet else "jvp")
        dots = [tangent if k == self.wrt else f"zeros_like({self.names[k]})" for k in d.active_idx]
        return f"{d.name}({', '.join(self.names + dots)}).1"

    def grad(self) -> str:
        """The gradient with respect to parameter wrt, of a function with a float result."""
        d = self.ad.derive(self.fn, "grad", (self.wrt,))
        return f"{d.name}({', '.join(self.names)})"

    def vjp(self, seed: str) -> str:
        """Parameter wrt's cotangent for the result's cotangent `seed` (a pullback: the
        primal ran already)."""
        d = self.ad.derive(self.fn, "rev")
        return f"{d.name}({', '.join(self.names)}, {seed}).{d.active_idx.index(self.wrt)}"


def _list_jacobian_body(call, kind, a, b) -> str:
    """float and list[float] functions: rows of the Jacobian are outputs."""
    x = call.x
    if kind == "jacfwd":
        if a == FLOAT:
            return f"    return {call.jvp('1.0', quiet=False)}\n"
        if b == FLOAT:
            return (f"    {call.primal()}\n"
                    f"    var jac: list[float] = []\n    for i in 0..len({x}) {{\n        var e = zeros_like({x})\n"
                    f"        e[i] = 1.0\n        jac.append({call.jvp('e')})\n    }}\n    return jac\n")
        return (f"    var cols: list[list[float]] = []\n    for i in 0..len({x}) {{\n        var e = zeros_like({x})\n"
                f"        e[i] = 1.0\n        cols.append({call.jvp('e')})\n    }}\n"
                f"    var jac: list[list[float]] = []\n    let m = len({call.primal()})\n"
                f"    for r in 0..m {{\n        var row: list[float] = []\n        for c in 0..len({x}) {{\n"
                f"            row.append(cols[c][r])\n        }}\n        jac.append(row)\n    }}\n    return jac\n")
    if b == FLOAT:
        return f"    return {call.grad()}\n"
    J = _src_type(_jac_type(a, b))
    return (f"    let y = {call.primal()}\n    var jac: {J} = []\n    for j in 0..len(y) {{\n"
            f"        var e = zeros_like(y)\n        e[j] = 1.0\n        jac.append({call.vjp('e')})\n    }}\n    return jac\n")


def _tensor_jacobian_body(call, kind, a, b) -> str:
    """A tensor function's Jacobian, shaped (output shape + input shape): the tangents
    (or cotangents) of the basis vectors, stacked, or gathered into a tensor when
    each is a float."""
    x = call.x
    if b == FLOAT and kind == "jacrev":
        return f"    return {call.grad()}\n"
    if a == FLOAT and kind == "jacfwd":
        return f"    return {call.jvp('1.0', quiet=False)}\n"
    each_float = (b if kind == "jacfwd" else a) == FLOAT
    pieces = "vals: list[float]" if each_float else "parts: list[tensor]"
    if kind == "jacfwd":
        n, piece = f"size({x})", call.jvp(f"reshape(e, shape({x}))")
    else:
        n, piece = "size(y)", call.vjp("reshape(e, shape(y))")
    # the primal runs once, for its effects (and the result's shape); the columns are quiet
    out = f"    let y = {call.primal()}\n" if kind == "jacrev" or not each_float else f"    {call.primal()}\n"
    out += (f"    var {pieces} = []\n    let n = {n}\n    for i in 0..n {{\n        var e = zeros(n)\n"
            f"        e[i] = 1.0\n        {pieces.split(':')[0]}.append({piece})\n    }}\n")
    if each_float:
        return out + f"    return reshape(tensor(vals), shape({x if kind == 'jacfwd' else 'y'}))\n"
    axis = "len(shape(y))" if kind == "jacfwd" else "0"
    # (no columns to stack when a side is empty: the Jacobian has no elements)
    return out + (f"    if n == 0 {{\n        return zeros(shape(y) + shape({x}))\n    }}\n"
                  f"    return reshape(stack(parts, {axis}), shape(y) + shape({x}))\n")
