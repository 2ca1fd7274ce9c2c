"""DP syntax tree → DP source text. Printing then re-parsing gives the same tree;
`dp grad` uses this to show derived functions."""
from __future__ import annotations

from . import syntax as S

_PREC = {"||": 1, "&&": 2, "==": 3, "!=": 3, "<": 3, "<=": 3, ">": 3, ">=": 3,
         "+": 4, "-": 4, "*": 5, "/": 5, "%": 5, "@": 5, "unary": 6, "**": 7, "postfix": 8}


def type_src(t: S.TypeExpr) -> str:
    if t.name == "unit":
        return "()"
    if t.name == "tuple":
        inner = ", ".join(type_src(a) for a in t.args)
        return f"({inner},)" if len(t.args) == 1 else f"({inner})"
    if t.name == "fn":
        return "fn(" + ", ".join(type_src(a) for a in t.args) + ") -> " + type_src(t.ret)
    if t.args:
        return t.name + "[" + ", ".join(type_src(a) for a in t.args) + "]"
    return t.name


def float_src(v: float) -> str:
    """A float as a DP literal that reads back as the same value: `inf` and `nan` are
    literals, and `-inf`, `-0.0` are the negation of one (docs/language.md)."""
    r = repr(float(v))
    if r in ("inf", "-inf", "nan"):
        return r
    if "e" in r and "." not in r.split("e")[0]:
        m, ex = r.split("e")
        r = f"{m}.0e{ex}"
    return r


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def str_src(v: str) -> str:
    """A string literal: quotes, backslashes and control characters escaped."""
    return '"' + "".join(_ESCAPES.get(c) or (f"\\x{ord(c):02x}" if ord(c) < 32 or ord(c) == 127 else c)
                         for c in v) + '"'


def expr_src(e: S.Expr, prec: int = 0, child=None) -> str:
    """e as DP source, in parentheses where prec (its context's precedence) needs them.
    child(x, prec), if given, prints e's subexpressions (the formatter's, which keeps
    the comments inside them); else they print as here."""
    sub = child or expr_src
    if isinstance(e, S.Num):
        s = float_src(e.value) if isinstance(e.value, float) else str(e.value)
        # a negative number reads back as the negation of one: parenthesised where that is
        return f"({s})" if s.startswith("-") and _PREC["unary"] < prec else s
    if isinstance(e, S.Str):
        return str_src(e.value)
    if isinstance(e, S.Bool):
        return "true" if e.value else "false"
    if isinstance(e, S.Name):
        return e.id
    if isinstance(e, S.Binary):
        p = _PREC[e.op]
        if e.op == "**":
            s = f"{sub(e.left, p + 1)} ** {sub(e.right, _PREC['unary'])}"
        elif p == 3:
            s = f"{sub(e.left, p + 1)} {e.op} {sub(e.right, p + 1)}"
        else:
            s = f"{sub(e.left, p)} {e.op} {sub(e.right, p + 1)}"
        return f"({s})" if p < prec else s
    if isinstance(e, S.Unary):
        s = f"{e.op}{sub(e.operand, _PREC['unary'])}"
        return f"({s})" if _PREC["unary"] < prec else s
    if isinstance(e, S.Call):
        return f"{sub(e.func, _PREC['postfix'])}({', '.join(sub(a) for a in e.args)})"
    if isinstance(e, S.Index):
        return f"{sub(e.obj, _PREC['postfix'])}[{sub(e.index)}]"
    if isinstance(e, S.Field):
        return f"{sub(e.obj, _PREC['postfix'])}.{e.name}"
    if isinstance(e, S.IfExpr):
        if isinstance(e.then, S.BlockExpr) or isinstance(e.orelse, S.BlockExpr):
            s = if_block_src(e, sub)
            return f"({s})" if prec > 0 else s
        # a branch opening with `if` would open a statement: an `if` expression there is in parentheses
        def branch(b):
            return f"{{ ({sub(b)}) }}" if isinstance(b, S.IfExpr) else f"{{ {sub(b)} }}"
        s = f"if {header_src(e.cond, 0, sub)} {branch(e.then)} else "
        s += sub(e.orelse) if isinstance(e.orelse, S.IfExpr) else branch(e.orelse)
        return f"({s})" if prec > 0 else s
    if isinstance(e, S.BlockExpr):
        raise TypeError("a BlockExpr prints as a branch of its `if` expression")
    if isinstance(e, S.Slice):
        return (sub(e.lo) if e.lo is not None else "") + ":" + (sub(e.hi) if e.hi is not None else "")
    if isinstance(e, S.Subscripts):
        return ", ".join(sub(p) for p in e.parts)
    if isinstance(e, S.TupleIndex):
        return f"{sub(e.obj, _PREC['postfix'])}.{e.index}"
    if isinstance(e, S.TupleLit):
        inner = ", ".join(sub(x) for x in e.items)
        return f"({inner},)" if len(e.items) == 1 else f"({inner})"
    if isinstance(e, S.ListLit):
        return "[" + ", ".join(sub(x) for x in e.items) + "]"
    if isinstance(e, S.DictLit):
        return "{" + ", ".join(f"{sub(k)}: {sub(v)}" for k, v in zip(e.keys, e.values)) + "}"
    if isinstance(e, S.StructLit):
        if not e.fields:
            return f"{e.name} {{}}"
        return f"{e.name} {{ " + ", ".join(f"{n}: {sub(v)}" for n, v in e.fields) + " }"
    if isinstance(e, S.Lambda):
        params = ", ".join(f"{p.name}: {type_src(p.annot)}" for p in e.params)
        body = block_src(e.body, 1).rstrip()
        return f"fn({params}) -> {type_src(e.ret)} {{\n{body}\n}}" if e.body else f"fn({params}) -> {type_src(e.ret)} {{}}"
    raise TypeError(f"cannot print {type(e).__name__}")


def if_block_src(e: S.IfExpr, sub=None, body=None, ind: str = "") -> str:
    """An `if` expression with statements in a branch, as Rust lays it out: each branch
    on lines of its own, its value last. body(k, stmts), if given, gives what follows
    branch k's `{`: the rest of that line and its statements' lines (the formatter's,
    which keeps their comments, with ind before each `}`); else block_src prints them,
    at depth 1."""
    sub = sub or expr_src
    body = body or (lambda k, stmts: "\n" + block_src(stmts, 1))
    s = f"if {header_src(e.cond, 0, sub)} {{{body(0, branch_stmts(e.then))}{ind}}} else "
    if isinstance(e.orelse, S.IfExpr):
        return s + sub(e.orelse)
    return s + f"{{{body(1, branch_stmts(e.orelse))}{ind}}}"


def branch_stmts(b: S.Expr) -> list:
    """A branch as the statements it is written as: its value last, an expression statement."""
    value = S.ExprStmt(b.value if isinstance(b, S.BlockExpr) else b, span=(b.value if isinstance(b, S.BlockExpr)
                                                                        else b).span)
    return (list(b.body) if isinstance(b, S.BlockExpr) else []) + [value]


def header_src(e: S.Expr, prec: int = 0, sub=None) -> str:
    """e in the header of an `if`, `while`, `for` or `match`, where `Name {` would open
    the block (as in Rust): a struct literal outside brackets is in parentheses. sub
    prints the rest (expr_src's child)."""
    sub = sub or expr_src
    if isinstance(e, (S.StructLit, S.IfExpr)):      # `if (if c { a } else { b }) {`
        return f"({sub(e, 0)})"
    if isinstance(e, (S.Binary, S.Unary, S.Field, S.TupleIndex, S.Index)):
        return expr_src(e, prec, lambda x, p=0: header_src(x, p, sub))
    return sub(e, prec)


def block_src(body, depth: int) -> str:
    return "".join(stmt_src(s, depth) for s in body)


def stmt_src(s: S.Stmt, depth: int = 0, value=None) -> str:
    """s as DP source at depth. value(e, depth), if given, prints the expression a
    `let`, assignment, expression statement or `return` holds (the formatter's)."""
    ind = "    " * depth
    val = value or _indent_expr
    comment = ""
    if getattr(s, "comment", None):
        comment = "".join(f"{ind}# {line}".rstrip(" ") + "\n" for line in s.comment.split("\n"))
    if isinstance(s, S.Let):
        kw = "var" if s.mutable else "let"
        name = f"({', '.join(s.names)})" if s.names else s.name
        annot = f": {type_src(s.annot)}" if s.annot is not None else ""
        return f"{comment}{ind}{kw} {name}{annot} = {val(s.value, depth)}\n"
    if isinstance(s, S.Assign):
        return f"{comment}{ind}{expr_src(s.target)} = {val(s.value, depth)}\n"
    if isinstance(s, S.AugAssign):
        return f"{comment}{ind}{expr_src(s.target)} {s.op}= {val(s.value, depth)}\n"
    if isinstance(s, S.ExprStmt):
        if isinstance(s.expr, S.IfExpr):      # at a statement's start `if` opens a statement
            return f"{comment}{ind}({val(s.expr, depth)})\n"
        return f"{comment}{ind}{val(s.expr, depth)}\n"
    if isinstance(s, S.If):
        out = f"{comment}{ind}if {_pad(header_src(s.cond), depth)} {{\n{block_src(s.then, depth + 1)}{ind}}}"
        orelse = s.orelse
        while len(orelse) == 1 and isinstance(orelse[0], S.If) and not getattr(orelse[0], "comment", None):
            o = orelse[0]
            out += f" else if {_pad(header_src(o.cond), depth)} {{\n{block_src(o.then, depth + 1)}{ind}}}"
            orelse = o.orelse
        if orelse:
            out += f" else {{\n{block_src(orelse, depth + 1)}{ind}}}"
        return out + "\n"
    if isinstance(s, S.While):
        return f"{comment}{ind}while {_pad(header_src(s.cond), depth)} {{\n{block_src(s.body, depth + 1)}{ind}}}\n"
    if isinstance(s, S.ForRange):
        return f"{comment}{ind}for {s.var} in {_pad(header_src(s.start), depth)}..{_pad(header_src(s.stop), depth)} {{\n{block_src(s.body, depth + 1)}{ind}}}\n"
    if isinstance(s, S.ForEach):
        return f"{comment}{ind}for {s.var} in {_pad(header_src(s.iterable), depth)} {{\n{block_src(s.body, depth + 1)}{ind}}}\n"
    if isinstance(s, S.Return):
        # `()` is a type, not an expression: an empty tuple returned (a pullback of a function
        # without differentiable parameters, typed `-> ()`) is the `return` of no value
        v = s.value if not (isinstance(s.value, S.TupleLit) and not s.value.items) else None
        return f"{comment}{ind}return" + (f" {val(v, depth)}" if v is not None else "") + "\n"
    if isinstance(s, S.Break):
        return f"{comment}{ind}break\n"
    if isinstance(s, S.Continue):
        return f"{comment}{ind}continue\n"
    if isinstance(s, S.FnDef):
        params = ", ".join(f"{p.name}: {type_src(p.annot)}" for p in s.params)
        ret = f" -> {type_src(s.ret)}" if s.ret is not None else ""
        return f"{comment}{ind}fn {s.name}({params}){ret} {{\n{block_src(s.body, depth + 1)}{ind}}}\n"
    if isinstance(s, S.StructDef):
        fields = "".join(f"{ind}    {f.name}: {type_src(f.annot)}\n" for f in s.fields)
        return f"{comment}{ind}struct {s.name} {{\n{fields}{ind}}}\n"
    if isinstance(s, S.EnumDef):
        vs = []
        for v in s.variants:
            vs.append(v.name + (f"({', '.join(type_src(t) for t in v.payload)})" if v.payload else ""))
        return f"{comment}{ind}enum {s.name} {{\n" + ",\n".join(f"{ind}    {v}" for v in vs) + f"\n{ind}}}\n"
    if isinstance(s, S.Match):
        arms = ""
        for a in s.arms:
            pat = (f"{a.enum}." if a.enum else "") + a.variant + (f"({', '.join(a.binds)})" if a.binds else "")
            arms += f"{ind}    {pat} => {{\n{block_src(a.body, depth + 2)}{ind}    }}\n"
        return f"{comment}{ind}match {_pad(header_src(s.subject), depth)} {{\n{arms}{ind}}}\n"
    if isinstance(s, S.Import):
        return f"{comment}{ind}import {s.module}\n"
    if isinstance(s, S.RuleDef):
        clauses = "".join(f"{ind}    {c.target} = {expr_src(c.value)}\n" for c in s.clauses)
        return f"{comment}{ind}derivative {s.fn}({', '.join(s.params)}) -> {s.result} {{\n{clauses}{ind}}}\n"
    raise TypeError(f"cannot print {type(s).__name__}")


def _indent_expr(e, depth):
    return _pad(expr_src(e), depth)


def _pad(src: str, depth: int) -> str:
    """src with its lines after the first indented to depth (an expression printed on
    lines of its own: a lambda, an `if` expression's branches)."""
    if "\n" in src:
        pad = "    " * depth
        lines = src.split("\n")
        src = lines[0] + "\n" + "\n".join(pad + ln for ln in lines[1:])
    return src


def program_src(prog: S.Program) -> str:
    return "".join(stmt_src(s) for s in prog.body)
