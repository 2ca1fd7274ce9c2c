"""The generic list functions, written in DP: `map`, `filter`, `zip`, `enumerate`.

DP has no type parameters in user code, so each is a template of DP source over type
names `A` and `B`. The checker types a call (`map(f, xs)` with `f: fn(A) -> B` and
`xs: list[A]` is a `list[B]`) and binds the call to the template's instance at those
types, an ordinary DP function made once per session and program environment
(`map__float__float`), which the program then compiles like its own. Being DP, an
instance is differentiated like any user function: a lambda given to `map` is
specialised into a copy of it, so derivatives of every order reach through `map` and
`filter` to what the lambda captured, and through `zip` and `enumerate` to the
elements (docs/derivatives.md)."""
from __future__ import annotations

import re

from .types import FnT, ListT, TupleT, INT, BOOL, Type

# name -> (parameter names, DP source of the body's function, with A and B for the types)
TEMPLATES = {
    "map": """
fn NAME(f: fn(A) -> B, xs: list[A]) -> list[B] {
    var out: list[B] = []
    for x in xs {
        out.append(f(x))
    }
    return out
}
""",
    "filter": """
fn NAME(keep: fn(A) -> bool, xs: list[A]) -> list[A] {
    var out: list[A] = []
    for x in xs {
        if keep(x) {
            out.append(x)
        }
    }
    return out
}
""",
    "zip": """
fn NAME(xs: list[A], ys: list[B]) -> list[(A, B)] {
    var n = len(xs)
    if len(ys) < n {
        n = len(ys)
    }
    var out: list[(A, B)] = []
    for i in 0..n {
        out.append((xs[i], ys[i]))
    }
    return out
}
""",
    "enumerate": """
fn NAME(xs: list[A]) -> list[(int, A)] {
    var out: list[(int, A)] = []
    for i in 0..len(xs) {
        out.append((i, xs[i]))
    }
    return out
}
""",
}

NAMES = frozenset(TEMPLATES)

DOCS = {
    "map": ("map(f: fn(A) -> B, xs: list[A]) -> list[B]", "a new list of f(x) for each element x of xs"),
    "filter": ("filter(keep: fn(A) -> bool, xs: list[A]) -> list[A]", "a new list of the elements x of xs with keep(x)"),
    "zip": ("zip(xs: list[A], ys: list[B]) -> list[(A, B)]", "the pairs (xs[i], ys[i]), as many as the shorter list"),
    "enumerate": ("enumerate(xs: list[A]) -> list[(int, A)]", "the pairs (i, xs[i])"),
}


def instance_type(name: str, a: Type, b: Type | None) -> FnT:
    """The type of the instance of `name` at element types a (and b)."""
    if name == "map":
        return FnT((FnT((a,), b), ListT(a)), ListT(b))
    if name == "filter":
        return FnT((FnT((a,), BOOL), ListT(a)), ListT(a))
    if name == "zip":
        return FnT((ListT(a), ListT(b)), ListT(TupleT((a, b))))
    return FnT((ListT(a),), ListT(TupleT((INT, a))))


def instance_name(name: str, a: Type, b: Type | None) -> str:
    """`map__float__float`: the template's name and its types, as an identifier."""
    parts = [name] + [re.sub(r"[^A-Za-z0-9]+", "_", str(t)).strip("_") for t in (a, b) if t is not None]
    return "__".join(parts)


def instance_source(name: str, fn_name: str, a_src: str, b_src: str | None) -> str:
    text = TEMPLATES[name].replace("NAME", fn_name)
    text = re.sub(r"\bA\b", a_src, text)
    if b_src is not None:
        text = re.sub(r"\bB\b", b_src, text)
    return text.lstrip("\n")
