"""What the editor says about a name: its type, and for a function which parameters
carry derivatives and which transforms apply to it. Hover, completion details and
the Jupyter kernel's inspection all read these."""
from __future__ import annotations

from dp.dsl import generics as G
from dp.dsl import primitives as P
from dp.dsl import syntax as S
from dp.dsl.printer import type_src
from dp.dsl.types import FLOAT, FnT, Type

# Primitives that derived code calls and users never need to see (`tie_share`,
# `unbroadcast`, …): kept out of completion and the builtin list.
HELPERS = {"tie_share", "trunc_div", "sqrt_deriv", "pow_dbase", "pow_dexp", "clip_inside", "heaviside",
           "mm_grad_a", "mm_grad_b", "mm_grad_b_wrt_a", "unbroadcast", "broadcast_like", "expand_like",
           "split_like", "max_mask", "min_mask", "shape_of", "to_list2"}

SPECIAL = {
    "print": ("print(a, b, …)", "write the values, separated by spaces, and a newline"),
    "len": ("len(x) -> int", "the length of a list, dict, string or tensor"),
    "range": ("range(n) -> list[int]  ·  range(a, b) -> list[int]", "the ints 0 … n-1 (or a … b-1)"),
    "float": ("float(n: int) -> float", "an int as a float (or a one-element tensor's value)"),
    "int": ("int(x: float) -> int", "a float truncated toward zero"),
    "str": ("str(x) -> string", "a value as text, as `print` shows it"),
    "stop_gradient": ("stop_gradient(x: T) -> T", "x, through which no derivative flows"),
    "zeros_like": ("zeros_like(x: T) -> T", "the zero of x's type and shape"),
    "accumulate": ("accumulate(a: T, b: T) -> T", "the sum of two values of one type (derived code adds cotangents so)"),
    "source": ("source(f) -> string", "a function's DP source; `source(grad(f))` prints a derivative"),
    "sublist": ("sublist(xs: list[T], lo: int, hi: int) -> list[T]", "a new list of xs[lo] … xs[hi - 1]"),
    "splice": ("splice(xs: list[T], lo: int, hi: int, ys: list[T]) -> list[T]",
               "a new list: xs with xs[lo] … xs[hi - 1] replaced by ys's elements"),
    "grad": ("grad(f: fn(P0, …) -> float, wrt: int = 0) -> fn(P0, …) -> P0",
             "the gradient of a float-valued function, a function of the same parameters"),
    "value_and_grad": ("value_and_grad(f: fn(P0, …) -> float, wrt: int = 0) -> fn(P0, …) -> (float, P0)",
                       "the value and the gradient, together"),
    "jvp": ("jvp(f: fn(P…) -> R, primals: (P…), tangents: (P…)) -> (R, R)",
            "forward mode: the value and its tangent"),
    "vjp": ("vjp(f: fn(P…) -> R, args: P…) -> (R, fn(R) -> (P…))",
            "reverse mode: the value and a pullback; pullback(y_bar) gives the cotangents"),
    "jacfwd": ("jacfwd(f: fn(X, …) -> Y, wrt: int = 0) -> fn(X, …) -> J", "the Jacobian, by forward mode"),
    "jacrev": ("jacrev(f: fn(X, …) -> Y, wrt: int = 0) -> fn(X, …) -> J", "the Jacobian, by reverse mode"),
    "hessian": ("hessian(f: fn(X, …) -> float, wrt: int = 0) -> fn(X, …) -> H", "the Hessian of a float-valued function"),
    "pullback": ("pullback(f: fn(P…) -> R) -> fn(P…, R) -> (P…)",
                 "f's pullback as a function of the arguments and the result's cotangent"),
    "pushforward": ("pushforward(f: fn(P…) -> R) -> fn(P…, P…) -> (R, R)",
                    "f's jvp as a function of the arguments and their tangents"),
    **G.DOCS,
}


def _helpers() -> set[str]:
    """HELPERS and what the primitive table marks as made for derivative rules."""
    return HELPERS | P.HELPERS


def user_builtins() -> list[str]:
    """The builtin functions a user calls, helpers left out."""
    names = (set(P.CALLABLE) | set(P.SPECIAL_BUILTINS) | set(SPECIAL)) - _helpers()
    return sorted(n for n in names if not n.startswith("_"))


def builtin_signatures(name: str) -> list[str]:
    """`sin(x: float) -> float`, one per overload, or the special form's."""
    if name in SPECIAL:
        return [SPECIAL[name][0]]
    out = []
    for p in P.BY_NAME.get(name, []):
        params = ", ".join(f"{n}: {t}" for n, t in zip(p.params, p.types))
        out.append(f"{name}({params}) -> {p.ret}")
    return out


def builtin_doc(name: str) -> str:
    if name in SPECIAL:
        return SPECIAL[name][1]
    prims = P.BY_NAME.get(name, [])
    docs = [p.doc for p in prims if getattr(p, "doc", "")]
    if docs:
        return docs[0]
    if any(getattr(p, "jvp", None) is not None for p in prims):
        return "differentiable (forward and reverse rules in the primitive table)"
    return ""


def fn_signature(name: str, fn: S.FnDef | None, ty: FnT) -> str:
    """`fn step(p: Particle, dt: float) -> Particle` from a definition, or from a type."""
    if fn is not None:
        params = ", ".join(f"{p.name}: {type_src(p.annot)}" for p in fn.params)
        ret = f" -> {type_src(fn.ret)}" if fn.ret is not None else ""
        return f"fn {name}({params}){ret}"
    params = ", ".join(str(t) for t in ty.params)
    return f"fn {name}({params}) -> {ty.ret}"


def differentiability(name: str, ty: FnT, fn: S.FnDef | None, grad_status: tuple[Type | None, list],
                      forward_why: str | None = None, reverse_why: str | None = None) -> list[str]:
    """Lines saying which parameters carry derivatives, and whether `grad(name)` (and
    jvp/vjp) are defined; grad_status is the checker's answer to `grad(name)`, and
    forward_why, reverse_why why the transforms could not make the jvp or the pullback."""
    names = [p.name for p in fn.params] if fn is not None else [f"#{i}" for i in range(len(ty.params))]
    active = [f"`{n}`" for n, t in zip(names, ty.params) if t.active]
    inactive = [f"`{n}` (`{t}`)" for n, t in zip(names, ty.params) if not t.active]
    out = []
    if active:
        out.append("differentiable in " + ", ".join(active) + (f"; not in {', '.join(inactive)}" if inactive else ""))
    elif ty.params:
        out.append("no parameter carries a derivative: " + ", ".join(inactive))
    gt, diags = grad_status
    if gt is not None:
        out.append(f"`grad({name})` : `{gt}`")
    elif diags:
        d = diags[0]
        out.append(f"`grad({name})` is not defined: {d.message}" + (f" ({d.hint})" if d.hint else ""))
    if ty.ret.active and ty.params and any(t.active for t in ty.params):
        ok = ([] if forward_why else ["`jvp`"]) + ([] if reverse_why else
                                                    ["`vjp`"] + (["`value_and_grad`"] if ty.ret == FLOAT else []))
        if ok:
            what = ok[0] if len(ok) == 1 else ", ".join(ok[:-1]) + " and " + ok[-1]
            out.append(what + (" applies" if len(ok) == 1 else " apply") +
                       f" (the result `{ty.ret}` carries derivatives)")
        if forward_why:
            out.append(f"forward mode (`jvp`) is not made: {forward_why}")
        if reverse_why and (gt is not None or not diags or diags[0].message not in reverse_why):
            out.append(f"reverse mode (`vjp`) is not made: {reverse_why}")
    elif not ty.ret.active:
        out.append(f"no transform applies: the result `{ty.ret}` carries no derivative")
    return out


def code(text: str) -> str:
    return f"```dp\n{text}\n```"


def hover_definition(d, analysis, facts: dict) -> str:
    """Markdown for the definition d (index.Definition) reached from analysis."""
    from .index import Definition
    assert isinstance(d, Definition)
    az = analysis.analyzer
    if d.kind == "function" and isinstance(d.ty, FnT):
        fn = d.node if isinstance(d.node, S.FnDef) else None
        shown = d.name
        target = d.sym.name.replace("__", ".", 1) if d.sym is not None else d.name   # `ode.rk4` for a module's
        status = az.try_expression(analysis, f"grad({target})")
        forward = reverse = None
        if analysis.checked and d.ty.ret.active and any(t.active for t in d.ty.params):
            forward, reverse = az.derivable(analysis, target, "forward"), az.derivable(analysis, target, "vjp")
            if status[0] is not None and reverse is not None:     # it type-checks, but the transforms refuse it
                from dp.dsl.diagnostics import Diagnostic
                status = (None, [Diagnostic("differentiation error", reverse, None)])
        lines = [code(fn_signature(shown, fn, d.ty))] + differentiability(shown, d.ty, fn, status, forward, reverse)
        if fn is not None and fn.span.file != analysis.file:
            lines.append(f"defined in `{fn.span.file}`")
        return "\n\n".join(lines)
    if d.kind in ("parameter", "constant", "variable", "loop variable", "size"):
        kw = {"variable": "var ", "constant": "let "}.get(d.kind, "")
        lines = [code(f"{kw}{d.name}: {d.ty}")]
        where = f"{d.kind} of `{d.owner}`" if d.owner else f"global {d.kind}"
        fact = facts.get(id(d.sym)) if d.sym is not None else None
        if isinstance(d.ty, FnT):
            lines += differentiability(d.name, d.ty, None, az.try_expression(analysis, f"grad({d.name})")
                                       if d.owner is None else (None, []))
        lines.append(where + (f" · {fact.why}" if fact is not None else ""))
        return "\n\n".join(lines)
    if d.kind == "struct":
        fields = ", ".join(f"{n}: {t}" for n, t in d.ty.fields.items())
        active = "its gradient is a `%s`" % d.name if d.ty.active else "carries no derivative"
        return "\n\n".join([code(f"struct {d.name} {{ {fields} }}"), active])
    if d.kind == "enum":
        vs = ", ".join(v + (f"({', '.join(map(str, p))})" if p else "") for v, p in d.ty.variants.items())
        return code(f"enum {d.name} {{ {vs} }}")
    if d.kind == "field":
        return "\n\n".join([code(f"{d.owner}.{d.name}: {d.ty}"), f"field of struct `{d.owner}`"])
    if d.kind == "variant":
        payload = d.ty.variants.get(d.name, ()) if d.ty is not None else ()
        return code(f"{d.owner}.{d.name}" + (f"({', '.join(map(str, payload))})" if payload else ""))
    if d.kind == "module":
        env = analysis.env.modules.get(d.name) if analysis.env is not None else None
        names = sorted(n for n in env.values) if env is not None else []
        return "\n\n".join([code(f"import {d.name}"), f"module `{d.name}`: " + ", ".join(f"`{n}`" for n in names)])
    return code(f"{d.name}: {d.ty}")


def hover_builtin(name: str) -> str:
    sigs = builtin_signatures(name)
    doc = builtin_doc(name)
    return "\n\n".join([code("\n".join(sigs))] + ([doc] if doc else []))
