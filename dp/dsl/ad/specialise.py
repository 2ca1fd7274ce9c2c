"""Derivatives specialised to the shapes of their arguments.

Where the shape analysis (shapes.py) cannot tell whether an operation inside a loop
broadcast, the generic derivative keeps each operand on a tape and checks its shape
again on every trip of the reverse sweep. A call's tensor arguments have known
shapes, though: from them the analysis usually knows every shape in the function
(`len(x0)` is 64, `x[1:n]` is 63 long, `concat([s, zeros(1)])` is 64 again), and a
derivative made for those shapes has neither the tapes nor the checks.

So such a derivative's compiled name dispatches: it reads the shapes of the tensor
arguments (and tensor fields of struct arguments), and calls the derivative made
for them, made on first use and cached (at most LIMIT per function, like JAX's
retracing per shape but only ever as an optimisation: the generic derivative runs
whenever the shapes are not known or specialising fails). `source(grad(f))` shows
the generic derivative; a specialised one differs only in what it leaves out."""
from __future__ import annotations

from ..types import TENSOR, StructT

LIMIT = 8


def specialise(tx, derived, make):
    """Put a dispatcher under `derived`'s compiled name. make(seeds, name) gives the
    derived FnDef for seeds: path (`x0`, `p.w1`) → shape."""
    fn = derived.fn
    leaves = tensor_leaves(derived.source)
    if not leaves:
        return
    ns = tx.session.runtime.ns
    generic = ns[fn.sym.py]
    getters = [_getter(i, fields) for i, fields, _ in leaves]
    paths = [path for _, _, path in leaves]
    variants: dict = {}

    def variant(key):
        seeds = dict(zip(paths, key))
        name = f"{fn.name}_shaped{len(variants) + 1}"
        try:
            made = tx.check_fn(make(seeds, name), register=False)
            made.gradient_entry = fn.gradient_entry       # a nan checked as in the generic one
            tx.compile_fn(made, fn.span.file)
            return ns[made.sym.py]
        except Exception:                       # noqa: BLE001 — the generic one is always right
            return generic

    def dispatch(*args):
        if dispatch.retired:                    # a redefinition retired the variants (redefinitions.py)
            return generic(*args)
        try:
            key = tuple(get(args).shape for get in getters)
        except (AttributeError, IndexError):
            return generic(*args)
        f = variants.get(key)
        if f is None:
            if len(variants) >= LIMIT:
                return generic(*args)
            f = variants[key] = variant(key)
        return f(*args)

    dispatch.__name__ = dispatch.__qualname__ = fn.sym.py
    dispatch.generic = generic
    dispatch.variants = variants
    dispatch.retired = False
    ns[fn.sym.py] = dispatch


def tensor_leaves(fn) -> list[tuple[int, tuple, str]]:
    """(parameter index, field names, path) of each tensor a call's arguments hold
    directly or in struct fields."""
    out = []

    def walk(i, ty, fields, path, depth):
        if ty == TENSOR:
            out.append((i, fields, path))
        elif isinstance(ty, StructT) and depth < 3:
            for name, fty in ty.fields.items():
                walk(i, fty, fields + (name,), f"{path}.{name}", depth + 1)

    for i, p in enumerate(fn.params):
        walk(i, p.sym.ty, (), p.name, 0)
    return out


def _getter(i, fields):
    if not fields:
        return lambda args: args[i]
    if len(fields) == 1:
        f = fields[0]
        return lambda args: getattr(args[i], f)

    def get(args):
        v = args[i]
        for f in fields:
            v = getattr(v, f)
        return v
    return get
