"""Clean-up passes on a finished derived function, run once by `Reverse.run`:
drop the saving and restoring of values the reverse sweep never reads, turn an
adjoint's first `x_bar = accumulate(x_bar, v)` after a zero into `x_bar = v`,
build a struct's adjoint as one literal, and drop dead code, so the result reads
like an adjoint trace written by hand."""
from __future__ import annotations

from .. import primitives as P
from .. import syntax as S
from ..types import TENSOR
from . import build as B
from .trees import _walk, names_in, root_of


def _is_zero_of(e) -> bool:
    return B.is_zero(e) or (isinstance(e, S.Call) and isinstance(e.func, S.Name) and e.func.id == "zeros_like")


def _accumulates_into(s, target: str):
    """The added value if s is `target = target + v` or `target = accumulate(target, v)`."""
    if not (isinstance(s, S.Assign) and isinstance(s.target, S.Name) and s.target.id == target):
        return None
    v = s.value
    if isinstance(v, S.Binary) and v.op == "+" and isinstance(v.left, S.Name) and v.left.id == target:
        return v.right
    if isinstance(v, S.Call) and isinstance(v.func, S.Name) and v.func.id == "accumulate" and \
            isinstance(v.args[0], S.Name) and v.args[0].id == target:
        return v.args[1]
    return None


def _fresh_parts(stmts, structs=None):
    """After `var p_bar = zeros_like(p)`, the first `p_bar.w = accumulate(p_bar.w, v)`
    of each part is `p_bar.w = v`: adding to a zero is a copy of work. When every
    field of a struct is written so, one after another, the struct is built at once:
    `q_bar = Particle { x: g.x, v: …, m: g.m }`."""
    structs = structs or {}
    fresh: dict[str, set] = {}                 # root -> parts already written
    out = []
    for s in stmts:
        S.replace_blocks(s, lambda b: _fresh_parts(b, structs))
        target = s.name if isinstance(s, S.Let) else (s.target.id if isinstance(s, S.Assign) and isinstance(s.target, S.Name) else None)
        if target is not None and _is_zero_of(s.value):
            fresh[target] = set()
            out.append(s)
            continue
        if isinstance(s, S.Assign) and isinstance(s.target, S.Field) and isinstance(s.target.obj, S.Name) \
                and s.target.obj.id in fresh and s.target.name not in fresh[s.target.obj.id]:
            root, part = s.target.obj.id, s.target.name
            added = _part_accumulates(s, root, part)
            if added is not None and root not in names_in(added, set()):
                fresh[root].add(part)
                new = S.Assign(s.target, added, span=s.span)
                new.comment = s.comment
                out.append(new)
                _build_whole(out, root, structs.get(root))
                continue
        for root in [r for r in fresh if r in names_in(s, set()) or r == target]:
            del fresh[root]
        out.append(s)
    return out


def _build_whole(out, root, st):
    """If out ends with `root = zeros_like(…)` followed only by writes of every field
    of root (values not reading what is written in between), make it one literal."""
    if st is None:
        return
    writes, j = {}, len(out) - 1
    while j >= 0 and isinstance(out[j], S.Assign) and isinstance(out[j].target, S.Field) \
            and isinstance(out[j].target.obj, S.Name) and out[j].target.obj.id == root:
        writes.setdefault(out[j].target.name, out[j].value)
        j -= 1
    if j < 0 or set(writes) != set(st.fields) or len(writes) != len(out) - 1 - j:
        return
    zero = out[j]
    target = zero.name if isinstance(zero, S.Let) else (zero.target.id if isinstance(zero, S.Assign) and isinstance(zero.target, S.Name) else None)
    if target != root or not _is_zero_of(zero.value):
        return
    lit = S.StructLit(st.name, [(f, writes[f]) for f in st.fields])
    if isinstance(zero, S.Let):
        new = S.Let(zero.name, zero.annot, lit, True, span=zero.span)
    else:
        new = S.Assign(zero.target, lit, span=zero.span)
    new.comment = zero.comment
    del out[j:]
    out.append(new)


def _part_accumulates(s, root, part):
    v = s.value

    def is_part(e):
        return isinstance(e, S.Field) and e.name == part and isinstance(e.obj, S.Name) and e.obj.id == root
    if isinstance(v, S.Binary) and v.op == "+" and is_part(v.left):
        return v.right
    if isinstance(v, S.Call) and isinstance(v.func, S.Name) and v.func.id == "accumulate" and is_part(v.args[0]):
        return v.args[1]
    return None


def _unrelated(s, name) -> bool:
    """A simple statement that neither reads nor writes `name`."""
    if isinstance(s, S.Let):
        return s.name != name and name not in names_in(s, set())
    if isinstance(s, S.Assign):
        root = root_of(s.target)
        return root is not None and root.id != name and name not in names_in(s, set())
    return False


def _peephole(stmts):
    """`x_bar = 0` then `x_bar = x_bar + v` (only lets between) becomes `x_bar = v`;
    `x_bar = x_bar` goes."""
    out = []
    for s in stmts:
        S.replace_blocks(s, lambda b: _peephole(b))
        if isinstance(s, S.Assign) and isinstance(s.target, S.Name) and isinstance(s.value, S.Name) and s.value.id == s.target.id:
            continue
        merged = False
        for j in range(len(out) - 1, -1, -1):
            prev = out[j]
            if isinstance(prev, S.Let) and prev.mutable and isinstance(s, S.Assign) and isinstance(s.target, S.Name) \
                    and prev.name == s.target.id and _is_zero_of(prev.value):
                # `var x_bar = zeros_like(x)` … `x_bar = accumulate(x_bar, v)`: declare it as v
                added = _accumulates_into(s, prev.name)
                if added is not None and prev.name not in names_in(added, set()):
                    new = S.Let(prev.name, prev.annot, added, True, span=prev.span)
                    new.comment = prev.comment or s.comment
                    del out[j]
                    out.append(new)
                    merged = True
                break
            if isinstance(s, S.Assign) and isinstance(s.target, S.Name) and _unrelated(prev, s.target.id):
                continue
            if isinstance(prev, S.Assign) and isinstance(prev.target, S.Name) and _is_zero_of(prev.value):
                added = _accumulates_into(s, prev.target.id)
                if added is not None and prev.target.id not in names_in(added, set()):
                    new = S.Assign(prev.target, added, span=s.span)
                    new.comment = prev.comment or s.comment
                    del out[j]
                    out.append(new)
                    merged = True
            break
        if not merged:
            out.append(s)
    return out


def _zero_at_loop_heads(stmts, returned: set):
    """An adjoint that is zero on entering a loop and reset to zero at the end of
    each trip (its variable is overwritten in the loop) is zero at the head of every
    trip: its first `v_bar = accumulate(v_bar, x)` in the body becomes `v_bar = x`
    and the reset goes, when nothing after the loop reads it (`returned` are read at
    the end). Top-level loops only."""
    out = list(stmts)
    for i, loop in enumerate(out):
        if not isinstance(loop, (S.ForRange, S.While)):
            continue
        body = loop.body
        for v in _zeroed_at_end(body):
            first = next(j for j, s in enumerate(body) if _touches(s, v))
            added = _accumulates_into(body[first], v)
            if added is None or v in names_in(added, set()) or not _zero_before(out[:i], v) \
                    or _read_later(out[i + 1:], v, returned):
                continue
            last = max(j for j, s in enumerate(body) if _touches(s, v))
            body[first] = S.Assign(S.Name(v), added, span=body[first].span)
            del body[last]
    return out


def _read_later(stmts, v, returned) -> bool:
    """Whether v's value is read by stmts before they overwrite it. `let g = v` with g
    never read does not count: dead code removal takes it later."""
    for j, s in enumerate(stmts):
        if isinstance(s, S.Let) and isinstance(s.value, S.Name) and s.value.id == v and s.names is None \
                and not any(_touches(t, s.name) for t in stmts[j + 1:]) and s.name not in returned:
            continue
        if isinstance(s, S.Assign) and isinstance(s.target, S.Name) and s.target.id == v \
                and v not in names_in(s.value, set()):
            return False
        if _touches(s, v):
            return True
    return v in returned


def _zeroed_at_end(body) -> list[str]:
    """Variables whose last mention in body is a top-level `v = zeros_like(…)`."""
    out = []
    for j, s in enumerate(body):
        if isinstance(s, S.Assign) and isinstance(s.target, S.Name) and _is_zero_of(s.value):
            v = s.target.id
            if v not in out and not any(_touches(t, v) for t in body[j + 1:]):
                out.append(v)
    return out


def _zero_before(stmts, v) -> bool:
    """Whether the last of stmts that mentions v sets it to zero."""
    for s in reversed(stmts):
        if not _touches(s, v):
            continue
        if isinstance(s, S.Let) and s.name == v and s.names is None:
            return _is_zero_of(s.value)
        return isinstance(s, S.Assign) and isinstance(s.target, S.Name) and s.target.id == v and _is_zero_of(s.value)
    return False


def _touches(s, v) -> bool:
    """Whether statement s reads or writes variable v anywhere inside it."""
    if v in names_in(s, set()):
        return True
    for x in _walk([s]):
        if isinstance(x, S.Assign) and isinstance(x.target, S.Name) and x.target.id == v:
            return True
        if isinstance(x, S.Let) and x.name == v:
            return True
    return False


_PURE_CALLS = P.CALLABLE | {"zeros_like", "accumulate", "float", "int", "len", "str", "stop_gradient"}


def _pure(e) -> bool:
    """No effects: only primitives and pure builtins are called (user functions may not
    be named like them, so the name decides, typed or not)."""
    if isinstance(e, S.Call) and not (isinstance(e.func, S.Name) and e.func.id in _PURE_CALLS):
        return False
    return all(_pure(c) for c in B.children(e))


def _dead_code(body, ret_val):
    """Drop top-level assignments whose value nobody reads afterwards (the primal's
    result in a gradient, an adjoint zeroed after its last use), then declarations
    of names nothing mentions. Of a dropped primal step, the parts that may fail
    (`log(x)`, `a / b`, an index) are still evaluated: a derivative fails where its
    function does."""
    live = names_in(ret_val, set())
    kept = []
    for s in reversed(body):
        if isinstance(s, S.Assign) and isinstance(s.target, S.Name) and s.target.id not in live and _pure(s.value):
            if s.primal:
                checks = [S.ExprStmt(e, span=s.span) for e in _failing_parts(s.value)]
                if checks:
                    checks[0].comment = "evaluated for its errors only: the derivative fails where the function does"
                for c in reversed(checks):
                    names_in(c, live)
                    kept.append(c)
            continue
        names_in(s, live)
        if isinstance(s, S.Assign):
            names_in(s.target, live)
        kept.append(s)
    kept.reverse()
    mentioned: dict = {n: 1 for n in names_in(ret_val, set())}
    for s in kept:
        targets = {x.target.id for x in _walk([s]) if isinstance(x, S.Assign) and isinstance(x.target, S.Name)}
        for n in names_in(s, set()) | targets:
            mentioned[n] = mentioned.get(n, 0) + 1
    return [s for s in kept if not (isinstance(s, S.Let) and s.names is None and s.name not in mentioned and _pure(s.value))]




# defined everywhere, or (sin, cos) failing only at ±inf, where their derivatives fail too
_TOTAL_CALLS = {"zeros_like", "stop_gradient", "len", "tanh", "sigmoid", "abs", "relu", "max", "min", "sin", "cos",
                "atan", "clip"}
# on one tensor these follow IEEE arithmetic (nan, inf) and cannot raise
_TOTAL_ON_A_TENSOR = {"sum", "mean", "exp", "log", "sqrt", "tan", "sign", "floor", "size", "shape", "log1p", "expm1",
                      "sinh", "cosh", "asin", "acos", "softmax", "logsumexp"}


def _failing_parts(e) -> list:
    """The largest parts of e that may fail, left to right."""
    if _may_fail_here(e):
        return [B.copy_expr(e)]
    return [p for c in B.children(e) for p in _failing_parts(c)]


def _may_fail_here(e) -> bool:
    """Whether e itself may raise (a domain error, division by zero, an index out of
    range, overflow)."""
    return (isinstance(e, S.Binary) and e.op in ("/", "%", "**", "@")) or isinstance(e, S.Index) \
        or (isinstance(e, S.Call) and not _total_call(e))


def _total_call(e: S.Call) -> bool:
    if not isinstance(e.func, S.Name):
        return False
    if e.func.id in _TOTAL_CALLS:
        return True
    return e.func.id in _TOTAL_ON_A_TENSOR and len(e.args) == 1 and e.args[0].ty == TENSOR


def _restored_values_read(rev) -> set[str]:
    """The variables whose values popped off a tape the reverse sweep reads. A read
    before the first statement that restores the variable reads its final value,
    which needs no tape; inside a loop that restores it, every read counts."""
    needed, restored = set(), set()
    for s in rev:
        here = {x.tape_var for x in _walk([s]) if x.tape_var is not None}
        reads = names_in([x for x in _walk([s]) if x.tape_var is None], set())
        needed |= reads & (restored | here)
        restored |= here
    return needed


def _drop_tapes(stmts, needed):
    out = []
    for s in stmts:
        tv = s.tape_var
        if tv is not None and tv not in needed:
            continue
        S.replace_blocks(s, lambda b: _drop_tapes(b, needed))
        out.append(s)
    return out
