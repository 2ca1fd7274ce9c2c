"""`pullback(f)` and `pushforward(f)`: the derivatives of a function as functions, made
as DP source around f's reverse and forward derivatives:

    fn f_pullback(x: float, n: int, y_bar: float) -> (float, int) {
        let r = f_rev(x, n, y_bar)
        return (r.0, 0)
    }
    fn f_pushforward(x: float, n: int, x_dot: float, n_dot: int) -> (float, float) {
        return f_jvp(x, n, x_dot)
    }

Derived code calls them for a function value known only at run time (`g(x)` where g
was returned, stored or passed in): the call's reverse is `pullback(g)(x, g_bar)`
and its tangent `pushforward(g)(x, x_dot)`, themselves calls of function values, so
derivatives of derivatives reach through them to any order. A lambda's captured
values come first among f's parameters (StaticFunctions.lambda_fn); the functions
made here take them first too, and give nothing for them: at run time a closure
whose captures carry derivatives is refused (interpreter/transforms.py)."""
from __future__ import annotations

from .jacobians import _src_type


class FunctionDerivatives:
    """Mixed into Transforms."""

    def derive_function_derivative(self, fn, kind: str, n_caps: int = 0):
        """pullback(fn) or pushforward(fn) as a derived function; its first n_caps
        parameters are captured values."""
        key = (id(fn), kind, n_caps)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        names = _names(fn)
        types = list(fn.ty.params)
        own = range(n_caps, len(names))
        if kind == "pullback":
            d_rev = self.derive(fn, "rev")
            y_bar = _fresh("y_bar", names)
            params = [f"{n}: {_src_type(t)}" for n, t in zip(names, types)] + [f"{y_bar}: {_src_type(fn.ty.ret)}"]
            cot = [f"r.{d_rev.active_idx.index(k)}" if k in d_rev.active_idx else f"zeros_like({names[k]})" for k in own]
            ret_t = types[n_caps] if len(cot) == 1 else _tuple_type(types[n_caps:])
            value = cot[0] if len(cot) == 1 else "(" + ", ".join(cot) + ("," if len(cot) == 1 else "") + ")"
            call = f"{d_rev.name}({', '.join(names + [y_bar])})"
            reads_r = any(c.startswith("r.") for c in cot)
            r = _fresh("r", names + [y_bar])
            body = (f"    let {r} = {call}\n" if reads_r else "") + f"    return {value.replace('r.', r + '.')}\n"
        else:
            d_jvp = self.derive(fn, "jvp")
            dots = [_fresh(f"{names[k]}_dot", names) for k in own]
            params = [f"{n}: {_src_type(t)}" for n, t in zip(names, types)] + \
                     [f"{d}: {_src_type(types[k])}" for d, k in zip(dots, own)]
            tangents = [f"zeros_like({names[k]})" if k < n_caps else dots[k - n_caps] for k in d_jvp.active_idx]
            ret_t = _tuple_type([fn.ty.ret, fn.ty.ret])
            body = f"    return {d_jvp.name}({', '.join(names + tangents)})\n"
        name = self.unique(f"{fn.name}_{kind}")
        src = f"fn {name}({', '.join(params)}) -> {ret_t} {{\n{body}}}\n"
        d = self.cache[key] = self.from_source(src, name, kind, fn)
        return d


def _names(fn) -> list[str]:
    return [p.name for p in fn.params]


def _fresh(base: str, taken) -> str:
    n = base
    while n in taken:
        n += "_"
    return n


def _tuple_type(types) -> str:
    items = [_src_type(t) for t in types]
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
