"""The printable text of a derivative: the one place `source(grad(f))`, `dp grad` and
the REPL's `:grad` get it from.

A derivative is a DP function that may call other functions DP made: the pullbacks
and jvps of its callees (`g_rev`, `g_jvp`), copies of higher-order functions
specialised to a closure (`apply_with_closure`), lambdas lifted to functions
(`lambda_line3`), wrappers that carry a user's rule (`f_ruled`) or a primitive
(`sin_fn`), and Jacobian helpers. The text holds every one of them, the derivative asked
for first, so it parses, checks and runs beside the program it came from
(tests/test_printed_derivatives.py).
The functions of the program itself (and of the modules it imports) are not
repeated: they are the program's."""
from __future__ import annotations

from .. import syntax as S
from ..printer import stmt_src
from ..span import NOWHERE, Span

# fields that hold what a pass found, not the tree itself
_ANNOTATIONS = frozenset({"span", "ty", "sym", "syms", "target", "captures"})


def derivative_source(ad, fn: S.FnDef) -> str:
    """fn and every generated function it reaches, as DP source."""
    fns = generated_closure(ad, fn)
    _refuse_hidden_primitives(ad, fns)
    return "\n\n".join(stmt_src(g).rstrip("\n") for g in fns)


def _refuse_hidden_primitives(ad, fns) -> None:
    """A derivative rule calls its primitives even where the program's own function has
    the name (`fn cos` beside `sin`'s rule, `cos(x)`); the text has no other spelling
    for them, and would call the program's. So it is an error, not a text that means
    something else."""
    from ..diagnostics import Diagnostic, DPError
    values = ad.session.env.values
    for g in fns:
        for n in S.walk(g):
            if isinstance(n, S.Call) and n.primitive and isinstance(n.func, S.Name):
                own = values.get(n.func.id)
                if own is not None and own.kind == "fn" and isinstance(own.decl, S.FnDef) \
                        and n.func.id not in ad.syms:
                    name = n.func.id
                    raise DPError(Diagnostic(
                        "error", f"this derivative calls the built-in `{name}`, which the program's own `fn {name}` "
                                 f"hides: printed, `{name}(…)` would call the program's function",
                        own.decl.span if own.decl.span is not NOWHERE else None,
                        f"give the program's `{name}` another name to print this derivative (as it runs, "
                        f"the derivative calls the built-in)"))


def generated_closure(ad, fn: S.FnDef) -> list[S.FnDef]:
    """fn and the generated functions it calls or names, transitively: fn first, then
    each function after the first one that uses it, depth first, so the text reads
    from what was asked for down to its helpers. (A program may call a function
    defined further down, so any order checks.)"""
    order: list[S.FnDef] = []
    seen: set[int] = {id(fn)}
    stack = [fn]                           # explicit: a chain of pullbacks may be long
    while stack:
        g = stack.pop()
        order.append(g)
        fresh = [h for h in _generated_callees(ad, g) if id(h) not in seen]
        seen.update(id(h) for h in fresh)
        stack.extend(reversed(fresh))
    return order


def _generated_callees(ad, fn: S.FnDef) -> list[S.FnDef]:
    """The generated functions fn's body names, in the order it names them."""
    out, ids = [], set()
    for name in _names(fn.body):
        g = _generated(ad, name)
        if g is not None and g is not fn and id(g) not in ids:
            ids.add(id(g))
            out.append(g)
    return out


def _generated(ad, name: S.Name) -> S.FnDef | None:
    """The FnDef a name refers to when DP made it (it is one of the session's derived
    symbols), else None: a local, a parameter, or the program's own function."""
    sym = name.sym
    if sym is None or isinstance(sym, tuple) or getattr(sym, "kind", None) != "fn":
        return None
    known = ad.syms.get(name.id)           # by name: a recursive derivative was checked
    if known is None:                      # against a placeholder symbol
        return None
    decl = known.decl
    return decl if isinstance(decl, S.FnDef) else None


def _names(node):
    """Every Name in a tree, in source order (statements, expressions, lambda bodies)."""
    todo = [node]
    while todo:
        n = todo.pop()
        if isinstance(n, list):
            todo.extend(reversed(n))
        elif isinstance(n, tuple):
            todo.extend(reversed([x for x in n if isinstance(x, (S.Node, list, tuple))]))
        elif isinstance(n, S.Node):
            if isinstance(n, S.Name):
                yield n
                continue
            kids = [getattr(n, f) for f in n.__record_fields__ if f not in _ANNOTATIONS]
            todo.extend(reversed([k for k in kids if isinstance(k, (S.Node, list, tuple))]))


# ---------------------------------------------------------------- `dp grad` and `:grad`

MODES = ("reverse", "forward", "vjp")


def derived_source(ad, name: str, mode: str = "reverse", wrt: int | None = None,
                   name_span: Span = NOWHERE, wrt_span: Span | None = None) -> str:
    """The derivative of the function `name` (`f`, `optim.adam`) as DP source, checked
    as the expression a program would write, so its errors are that expression's:
    `grad(name)` or `grad(name, wrt)` (reverse), `jvp(name, primals, tangents)`
    (forward), `vjp(name, args…)` (vjp: the pullback). name_span and wrt_span are
    where the user spelled the name and the parameter number (a command line, a REPL
    input): the diagnostics point there."""
    from ..checker import Checker
    from ..diagnostics import Diagnostic, DPError
    from ..symbols import Symbol
    from ..types import FnT

    def at(node, span):
        node.span = span
        return node

    env = ad.session.env.copy()
    mod, _, member = name.rpartition(".")
    sym = (env.modules[mod].values.get(member) if mod in env.modules else None) if mod else env.values.get(name)
    # a module's function, `optim.adam`, by the name the importer knows it by (`optim__adam`):
    # `grad(optim.adam)` would be derived only at run time
    ref: S.Expr = at(S.Name(sym.name if sym is not None else name), name_span)
    if sym is None:
        from ..diagnostics import did_you_mean
        known = [n for n, s in env.values.items() if s.kind == "fn" and "__" not in n]
        known += [f"{m}.{n}" for m, e in env.modules.items() for n, s in e.values.items() if s.kind == "fn"]
        hint = did_you_mean(name, known) or (f"the functions are {', '.join(f'`{k}`' for k in known[:8])}"
                                             + (", …" if len(known) > 8 else "") if known else "no functions are defined")
        raise DPError(Diagnostic("type error", f"no function named `{name}`", name_span if name_span is not NOWHERE
                                 else None, hint))
    if mode == "reverse":
        args = [ref] + ([at(S.Num(wrt), wrt_span or name_span)] if wrt is not None else [])
        call = at(S.Call(at(S.Name("grad"), name_span), args), name_span)
    else:
        if wrt is not None:
            raise DPError(Diagnostic("usage error", f"a parameter number selects a gradient; `{mode}` mode "
                                     "differentiates with respect to every parameter", wrt_span or name_span,
                                     "leave the number out, or use reverse mode"))
        ft = _function_type(ad, env, ref)
        if ft is None:                            # not a function: let the transform say so
            ft = FnT((), None)
        names = [f"__p{i}" for i in range(len(ft.params))]
        for i, t in enumerate(ft.params):
            for n in (f"__p{i}", f"__t{i}"):
                env.values[n] = Symbol(n, t, "let", n, is_global=True)

        def tup(prefix):
            items = [at(S.Name(f"{prefix}{i}"), name_span) for i in range(len(ft.params))]
            return items[0] if len(items) == 1 else at(S.TupleLit(items), name_span)
        if mode == "forward":
            call = at(S.Call(at(S.Name("jvp"), name_span), [ref, tup("__p"), tup("__t")]), name_span)
        else:
            call = at(S.Call(at(S.Name("vjp"), name_span), [ref] + [at(S.Name(n), name_span) for n in names]),
                      name_span)
    stmt = at(S.ExprStmt(call), name_span)
    try:
        Checker(env, ad.typer).check_program(S.Program([stmt], span=name_span))
    except DPError as e:
        decl = _declaration(env, ref)
        if decl is not None and name_span is not NOWHERE and decl.span is not NOWHERE:
            sp = decl.span
            e.diagnostics.append(Diagnostic("note", f"`{name}` is defined here",
                                            Span(sp.file, sp.line, sp.col, sp.line, sp.col + 3 + len(member or name))))
        raise
    ad.derive_program([stmt], env)
    target = call.target
    d = target[2].get("derived") if target and target[0] == "transform" else None
    if d is None or d.fn is None:
        raise DPError(Diagnostic("error", f"`{name}` is a function value known only when the program runs",
                                 name_span if name_span is not NOWHERE else None,
                                 "derivatives are printed for functions the program defines, or lambdas bound "
                                 "with `let`; print one from the program with `print(source(grad(f)))`"))
    return derivative_source(ad, d.fn)


def _symbol(env, ref):
    return env.values.get(ref.id)


def _function_type(ad, env, ref):
    """The type of the function a name refers to, or None."""
    from ..types import FnT
    sym = _symbol(env, ref)
    return sym.ty if sym is not None and isinstance(sym.ty, FnT) else None


def _declaration(env, ref) -> S.FnDef | None:
    """The program's definition of the function a name refers to, if it has one."""
    sym = _symbol(env, ref)
    decl = getattr(sym, "decl", None)
    return decl if isinstance(decl, S.FnDef) else None
