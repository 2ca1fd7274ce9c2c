"""Activity: which values carry derivatives.

A value is active when it varies with what is being differentiated: it reads an
active variable, or calls a function that may have captured one. `depends` answers
for an expression and handles every kind of expression (a kind it skipped would be
a derivative silently dropped); where it cannot tell, it says yes, and the
transforms then differentiate the value or stop with a differentiation error.
`varied` is the flow-insensitive set of variables that depend on the seeds."""
from __future__ import annotations

from .. import syntax as S
from .trees import _walk, names_in, root_of

# builtins whose value carries no derivative whatever their argument
_CONSTANT_BUILTINS = {"stop_gradient", "zeros_like", "len", "int", "str", "range", "source", "print"}
# dict and list methods: their results' dependence on the container and the arguments
_METHOD_READS_OBJECT = {"get", "values", "items", "pop"}


class Activity:
    """Mixed into the sweeps, which give `root_active(path)` (a variable's part that is
    active) and `tx.static_callee(call)` (a function known now, and its captures)."""

    def depends(self, e) -> bool:
        """Whether e's value may vary with what is differentiated."""
        if e.ty is None or not e.ty.active:
            return False
        return self._depends(e)

    _depends = S.Dispatch("d_", S.EXPRS)

    def d_Num(self, e):
        return False

    d_Str = d_Bool = d_Slice = d_Subscripts = d_Num

    def d_IfExpr(self, e):
        return self.depends(e.then) or self.depends(e.orelse)      # the condition is control flow

    def d_BlockExpr(self, e):
        return True                           # lowered before the sweeps (dsl/blocks.py): where unsure, yes

    def d_Lambda(self, e):
        return False                          # a function value: its captures count where it is called

    def d_Name(self, e):
        return self.root_active(e)

    def _path_or(self, e):
        from .normalize import is_path
        if is_path(e):
            return self.root_active(e)
        return any(self.depends(c) for c in S.subexpressions(e))

    d_Field = d_Index = d_TupleIndex = _path_or

    def d_Binary(self, e):
        if e.op in ("==", "!=", "<", "<=", ">", ">=", "&&", "||"):
            return False                       # a bool (or a 0/1 tensor): no derivative
        return self.depends(e.left) or self.depends(e.right)

    def d_Unary(self, e):
        return e.op != "!" and self.depends(e.operand)

    def _items(self, e):
        return any(self.depends(c) for c in S.subexpressions(e))

    d_TupleLit = d_ListLit = d_DictLit = d_StructLit = _items

    def d_Call(self, e):
        kind = e.target[0] if e.target else "value"
        args = any(self.depends(a) for a in e.args)
        if kind == "prim":
            prim = e.target[1]
            return args and not (prim.vjp is None and prim.jvp is None)   # constructors and shapes: constant
        if kind == "builtin":
            return args and e.target[1] not in _CONSTANT_BUILTINS
        if kind == "method":
            obj = self.depends(e.func.obj) if e.func.name in _METHOD_READS_OBJECT else False
            return obj or (e.func.name == "get" and self.depends(e.args[1]))
        if kind == "variant":
            return args
        if kind == "fn":
            return args
        # a function value: through its arguments, and through what it captured
        st = self.tx.static_callee(e)
        if st is None:
            return True                       # not known until it runs: it may have captured one
        return args or any(self.depends(c) for c in st[1])


def varied(stmts, seeds: set[str]) -> set[str]:
    """The variables that depend on the seeds (flow-insensitive): forwards from them."""
    out = set(seeds)
    flows = _flows(stmts)
    changed = True
    while changed:
        changed = False
        for written, reads in flows:
            if written not in out and reads & out:
                out.add(written)
                changed = True
    return out


def useful(stmts, results: set[str]) -> set[str]:
    """The variables the results depend on (flow-insensitive): backwards from them."""
    out = set(results)
    flows = _flows(stmts)
    changed = True
    while changed:
        changed = False
        for written, reads in flows:
            if written in out and not reads <= out:
                out |= reads
                changed = True
    return out


def _flows(stmts) -> list[tuple[str, set]]:
    """(variable written, variables its new value reads) for every statement of a
    normal-form body that writes a variable or a part of one."""
    subject_of = {}                            # a match arm's payload copy -> what the match reads
    for s in _walk(stmts):
        if isinstance(s, S.Match):
            for a in s.arms:
                for c in a.body:
                    if isinstance(c, S.Assign) and c.payload is not None:
                        subject_of[id(c)] = names_in(s.subject, set())
    out = []
    for s in _walk(stmts):
        if isinstance(s, S.Assign):
            r, reads = root_of(s.target), names_in(s.value, set()) | subject_of.get(id(s), set())
            if r is not None and not isinstance(s.target, S.Name):
                reads |= names_in(s.target, set()) - {r.id}         # `xs[i] = v`: the part written
        elif isinstance(s, S.ExprStmt) and isinstance(s.expr, S.Call) and isinstance(s.expr.func, S.Field):
            r, reads = root_of(s.expr.func.obj), names_in(s.expr.args, set())
        elif isinstance(s, S.Let):              # a function value (the only `let` in normal form)
            r, reads = S.Name(s.name), names_in(s.value, set())
        else:
            continue
        if r is not None:
            out.append((r.id, reads))
    return out
