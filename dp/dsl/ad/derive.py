"""The derive stage, between check and compile: every `grad(f)`, `jvp(f, …)`, … of a
checked program whose function is known now gets the derived function it names
(Transforms.resolve). Inner calls come first, so `grad(grad(f))` differentiates the
derivative made for `grad(f)`. The checker typed these calls and derived nothing;
`dp check` stops before this stage."""
from __future__ import annotations

from .. import primitives as P
from .. import syntax as S
from ..diagnostics import Diagnostic, DPError
from . import build as B


def transform_calls(nodes) -> list[S.Call]:
    """The transform calls in the trees, each after the calls inside it and after the
    calls of earlier statements (post-order, without recursion: programs nest deep)."""
    out, todo = [], [(n, False) for n in reversed(nodes)]
    while todo:
        node, done = todo.pop()
        if done:
            if isinstance(node, S.Call) and node.target and node.target[0] == "transform":
                out.append(node)
            continue
        todo.append((node, True))
        todo.extend((c, False) for c in reversed(S.children(node)))
    return out


def derive_program(tx, body: list[S.Stmt], env) -> None:
    """Derive what the transform calls in a checked program's statements name, checking
    derived code against env (the program's globals)."""
    saved, tx.current_env = tx.current_env, env
    try:
        for call in transform_calls(body):
            tx.resolve(call)
    finally:
        tx.current_env = saved


def let_lambda(sym) -> S.Lambda | None:
    """The lambda literal a `let` binds to sym, if it does."""
    if sym is None or isinstance(sym, tuple) or sym.kind != "let" or not isinstance(sym.decl, S.Let):
        return None
    value = sym.decl.value
    return value if sym.decl.names is None and isinstance(value, S.Lambda) else None


def _captures_through(lam: S.Lambda):
    """(the values lam captures, directly or through the let-bound lambdas it captures;
    those lambdas, each after the ones it captures)."""
    values, made, seen = [], [], set()

    def visit(lm):
        for s in lm.captures:
            if id(s) in seen:
                continue
            seen.add(id(s))
            inner = let_lambda(s)
            if inner is not None:
                visit(inner)
                made.append((s, inner))
            else:
                values.append(s)
    visit(lam)
    return values, made


class StaticFunctions:
    """Mixed into Transforms: which function a transform call names, when it is known
    before the program runs, and the derived function made for it."""

    def resolve(self, call: S.Call) -> None:
        """A checked `grad(f)` & co.: where f is known now (a named function, a lambda, a
        `let` bound to one, a derivative), the derived function the call names, made
        now; otherwise it is made when the call runs."""
        _, kind, info = call.target
        static = info["static"] = self.static_fn_of_expr(call.args[0])
        if static is None:
            return
        fn, caps = static
        if kind in ("grad", "value_and_grad"):
            shifted = tuple(i + len(caps) for i in info["wrt"])
            info["derived"] = self.derive(fn, "grad" if kind == "grad" else "vg", shifted, info["tuple_wrt"])
        elif kind == "jvp":
            info["derived"] = self.derive(fn, "jvp")
        elif kind == "vjp":
            info["derived"] = self.derive(fn, "rev")
        elif kind in ("pullback", "pushforward"):
            if any(c.ty is not None and c.ty.active for c in caps):
                # what it gives leaves the captures out; at run time such a closure is
                # refused (interpreter/transforms.py), and known now it is refused alike
                raise DPError(Diagnostic(
                    "differentiation error", "cannot differentiate through a function value that captured a "
                    "differentiable value and is known only when the program runs", call.span,
                    "pass the captured value as an argument instead, or call the lambda where it is made"))
            info["derived"] = self.derive_function_derivative(fn, kind, len(caps))
        else:
            info["derived"] = self.derive_jacobian(fn, kind, info["wrt"] + len(caps))

    # ------------------------------------------------------------ static functions
    def static_fn_of_expr(self, e):
        """(FnDef, capture expressions) when e is a function known now, else None."""
        if isinstance(e, S.Name):
            sym = e.sym
            if isinstance(sym, tuple) and sym[0] == "prim":
                return (self.prim_fn(sym[1]), [])
            if sym is not None and not isinstance(sym, tuple) and sym.kind == "fn":
                fn = sym.decl
                if isinstance(fn, S.FnDef) and fn.checked:
                    return (fn, [])
                return None
            # a `let` bound to a lambda: its captures are known here, so derivatives
            # flow into them too
            if sym is not None and not isinstance(sym, tuple) and sym.kind == "let" and \
                    isinstance(sym.decl, S.Let) and sym.decl.names is None:
                value = sym.decl.value
                if isinstance(value, S.Lambda):
                    return self.lambda_fn(value)
                if isinstance(value, S.Call) and value.target and value.target[0] == "transform":
                    return self.static_fn_of_expr(value)      # `let g = grad(lam)`: as grad(lam)
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
        """A lambda as a top-level function whose first parameters are its captures. A
        captured lambda bound with `let` is made again inside it, from its own captures,
        so derivatives follow what it captured too."""
        values, made = _captures_through(lam)
        fn = lam.as_fn
        if fn is None:
            params = [S.Param(s.name, B.type_expr(s.ty)) for s in values]
            params += [S.Param(p.name, B.param_type(p)) for p in lam.params]
            name = self.unique(f"lambda_line{lam.span.line}")
            body = [S.Let(s.name, None, S.copy(inner)) for s, inner in made] + [S.copy(s) for s in lam.body]
            fn = S.FnDef(name, params, B.type_expr(lam.ty.ret), body, span=lam.span)
            fn = self.check_fn(fn, register=True)
            self.compile_fn(fn, lam.span.file)
            lam.as_fn = fn
        caps = []
        for s in values:
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

