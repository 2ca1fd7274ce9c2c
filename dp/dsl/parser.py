"""Text → DP syntax tree. Lark's LALR parser does the work; a post-lexer handles
newlines and struct-literal braces; a transformer builds `syntax` nodes with spans."""
from __future__ import annotations

import re
import sys
from functools import lru_cache

from dp.grammar import grammar_text

from . import cache, standalone
from . import syntax as S
from .diagnostics import Diagnostic, DPError, SourceRegistry
from .span import Span

_ALWAYS_ACCEPT = ("_NL",)          # the post-lexer's terminals (the tables depend on them)
# Lark's parser as a module of its own, kept compiled in the cache (dsl/standalone.py),
# or Lark itself: the same names either way
lark = standalone.load(_ALWAYS_ACCEPT)
if lark is None:
    import lark
Token, Transformer, v_args = lark.Token, lark.Transformer, lark.v_args

# Tokens after which a newline ends a statement (Go's rule).
_ENDS_STATEMENT = {"NAME", "INT", "FLOAT", "STRING", "RPAR", "RSQB", "RBRACE", "TRUE", "FALSE", "INF", "NAN",
                   "RETURN", "BREAK", "CONTINUE"}
_HEADER_KEYWORDS = {"if", "while", "for", "match"}
# Tokens after which an `if` is an expression (`let y = if c { a } else { b }`), not a statement
_BEFORE_VALUE = {"=", "+=", "-=", "*=", "/=", "(", "[", ",", ":", "return", "+", "-", "*", "/", "%", "@", "**", "!",
                 "||", "&&", "==", "!=", "<", "<=", ">", ">=", ".."}
# Tokens that may begin a statement right after a block's `}` on the same line
# (`if c { continue } print(x)`), as in Rust; no expression continues that way.
_STARTS_STATEMENT = {"NAME", "LET", "VAR", "IF", "WHILE", "FOR", "RETURN", "BREAK", "CONTINUE", "MATCH",
                     "STRUCT", "ENUM", "IMPORT"}
_OPENERS = {"(": ")", "[": "]", "{": "}"}


def _decrement(operand, first, second) -> bool:
    """`i--` at the end of a line: C's decrement, not `i - -` continued on the next line
    (the newline ends the statement there, and the parser's error says what to write)."""
    return (second.value == "-" and first is not None and first.value == "-" and operand is not None
            and operand.type in _ENDS_STATEMENT and first.end_pos == second.start_pos)


class _PostLexer:
    """Drops newlines that cannot end a statement and marks struct-literal braces.

    `Name {` opens a struct literal unless it follows `->`, `struct` or `enum`, or it
    closes the header of an `if`/`while`/`for`/`match` (as in Rust, a struct literal
    in a condition needs parentheses)."""

    always_accept = _ALWAYS_ACCEPT

    def process(self, stream):
        brackets: list[str] = []         # open ( [ {
        headers: list[int] = []          # bracket depth at each open if/while/for/match
        prev: Token | None = None
        prev2: Token | None = None
        prev3: Token | None = None
        prev4: Token | None = None        # `-> ode.State {`: the brace opens the function's body
        pending_nl: Token | None = None
        newline = True                   # a statement separator came after prev
        for tok in stream:
            if tok.type == "_NL":
                if brackets and brackets[-1] in "([":
                    continue
                if prev is not None and (prev.type in _ENDS_STATEMENT or _decrement(prev3, prev2, prev)) \
                        and pending_nl is None:
                    pending_nl = tok
                continue
            if pending_nl is not None:
                if tok.type != "ELSE" and tok.value != ".":
                    yield pending_nl
                    newline = True
                pending_nl = None
            elif (prev is not None and prev.type == "RBRACE" and tok.type in _STARTS_STATEMENT
                  and not (brackets and brackets[-1] in "([")):
                yield Token.new_borrow_pos("_NL", "\n", tok)
                newline = True
            value = tok.value
            if tok.type == "IF" and not newline and prev is not None and prev.value in _BEFORE_VALUE \
                    and prev.type not in ("STRING", "_NL"):
                tok = Token.new_borrow_pos("IF_EXPR", value, tok)
            if tok.type == "NAME" or tok.type in ("IF", "IF_EXPR", "WHILE", "FOR", "MATCH"):
                if value in _HEADER_KEYWORDS and tok.type != "NAME":
                    headers.append(len(brackets))
            if value == "{" and tok.type == "LBRACE":
                if headers and headers[-1] == len(brackets):
                    headers.pop()
                elif prev is not None and prev.type == "NAME" and not (
                        prev2 is not None and prev2.value in ("->", "struct", "enum")) and not (
                        prev2 is not None and prev2.value == "." and prev4 is not None and prev4.value == "->"):
                    tok = Token.new_borrow_pos("STRUCT_LBRACE", value, tok)
                brackets.append("{")
            elif value in ("(", "[") and tok.type in ("LPAR", "LSQB"):
                brackets.append(value)
            elif value in (")", "]", "}") and tok.type in ("RPAR", "RSQB", "RBRACE"):
                if brackets:
                    brackets.pop()
            prev4, prev3, prev2, prev = prev3, prev2, prev, tok
            newline = tok.type == "_NL" or value == ";"
            yield tok
        if pending_nl is not None:
            yield pending_nl


@lru_cache(maxsize=1)
def _parser() -> lark.Lark:
    """The Lark parser: the standalone module's (dsl/standalone.py), or else Lark's,
    whose LALR tables take a while to build, so they too are kept in the user's cache
    directory (dsl/cache.py), under a name made from the grammar and the versions of
    Lark and Python; Lark checks the same again as it reads the file, and a file it
    cannot read (corrupt, stale, half-written) it builds anew and rewrites."""
    if lark.__name__ == standalone.NAME:
        return lark.Lark_StandAlone(postlex=_PostLexer(), propagate_positions=True)
    text, options = grammar_text(), standalone.OPTIONS
    where = cache.path(f"grammar-{cache.key(text, lark.__version__, repr(sorted(options.items())))}.lark")
    return lark.Lark(text, postlex=_PostLexer(), cache=where or False, **options)


def build_parser() -> None:
    """Build (or load) the parser now, once per process: a session does, so that it
    never happens inside a program's timeout."""
    _parser()


# How deeply syntax may nest (`- - - x`, `[[[1]]]`, `f(f(f(x)))`, `a + b + c + …`, which
# nests to the left): counted by DP itself on the parse tree, which the LALR parser
# builds without recursion. Every later stage recurses on the tree, a few Python
# frames a level (session.FRONT_LIMIT gives them room), and some on the C stack, so
# nothing nested deeper goes on: it is a syntax error at the place it gets too deep,
# never a RecursionError or a crash, whatever recursion limit the host has set.
MAX_NESTING = 256


def parse(text: str, file: str = "<input>") -> S.Program:
    """Parse DP source text into a Program; syntax errors raise DPError (quoting
    text: the caller's session keeps the text for the diagnostics that come later)."""
    here = SourceRegistry()
    here.add(file, text)
    try:
        tree = _parser().parse(text if text.endswith("\n") else text + "\n")
    except lark.exceptions.UnexpectedInput as e:
        raise here.quote(DPError(_syntax_diagnostic(e, text, file))) from None
    deep = _too_deep(tree)
    if deep is not None:
        line, col = deep
        raise here.quote(DPError(Diagnostic("syntax error", "this program is nested too deeply",
                                            Span(file, line, col, line, col + 1),
                                            f"it nests more than {MAX_NESTING} levels here; split it into "
                                            "several statements")))
    try:
        prog = _Build(file).transform(tree)
        _attach_comments(prog, text)
        return prog
    except (RecursionError, lark.exceptions.VisitError) as e:
        inner = getattr(e, "orig_exc", e)
        if isinstance(inner, DPError):
            raise here.quote(inner) from None
        if not isinstance(inner, RecursionError):
            raise
        raise here.quote(DPError(Diagnostic("syntax error", "this program is nested too deeply",
                                            Span(file, 1, 1, 1, 2), "split long expressions into several statements"))) from None


def _too_deep(tree) -> tuple[int, int] | None:
    """(line, column) of the first node nested deeper than MAX_NESTING, if any."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            return _where(node)
        for child in node.children:
            if isinstance(child, lark.Tree):
                stack.append((child, depth + 1))
    return None


def _where(node) -> tuple[int, int]:
    meta = node.meta
    if not meta.empty:
        return meta.line, meta.column
    for tok in node.scan_values(lambda v: isinstance(v, Token)):
        return tok.line, tok.column
    return 1, 1


def _own_line_comments(text: str) -> dict[int, str]:
    """The comments that have a line to themselves, by line number, without the `#`
    and one space after it. (A `#` inside a string literal is not a comment; strings
    end on their line.)"""
    out = {}
    for n, line in enumerate(text.split("\n"), 1):
        stripped = line.lstrip(" \t")
        if stripped.startswith("#"):
            body = stripped[1:].rstrip("\r")
            out[n] = body[1:] if body.startswith(" ") else body
    return out


def _attach_comments(prog: S.Program, text: str) -> None:
    """A statement keeps the comment lines right above it as its `comment` (what the
    printer writes above it, and what derived code explains itself with), so printing
    then parsing keeps them. Other comments (at the end of a line, inside an
    expression, before a blank line) are dropped."""
    if "#" not in text:
        return
    comments = _own_line_comments(text)
    if not comments:
        return
    todo: list = [prog]
    while todo:
        node = todo.pop()
        if isinstance(node, list):
            todo.extend(reversed(node))
            continue
        if isinstance(node, tuple):
            todo.extend(reversed([x for x in node if isinstance(x, (S.Node, list, tuple))]))
            continue
        if not isinstance(node, S.Node):
            continue
        if isinstance(node, S.Stmt) and node.span.line - 1 in comments:
            first = node.span.line - 1
            while first - 1 in comments:
                first -= 1
            node.comment = "\n".join(comments.pop(k) for k in range(first, node.span.line))
        kids = [getattr(node, f) for f in node.__record_fields__ if f not in ("span", "ty", "sym", "syms", "target")]
        todo.extend(reversed([k for k in kids if isinstance(k, (S.Node, list, tuple))]))


def _syntax_diagnostic(e, text: str, file: str) -> Diagnostic:
    from .syntax_hints import syntax_diagnostic        # the error path only: not at start-up
    return syntax_diagnostic(e, text, file, _literals())


def _literals() -> dict[str, str]:
    """The grammar's terminals that stand for one string, by name (`RPAR` → `)`), for
    the hints of syntax errors."""
    return {t.name: t.pattern.value for t in _parser().terminals if t.pattern.type == "str"}


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"'}
_HEX = set("0123456789abcdefABCDEF")
ESCAPE_HINT = 'a string may use the escapes \\n \\t \\r \\0 \\" \\\\ and \\xHH (two hex digits, as in \\x07)'


def unescape(literal: str, file: str, line: int, col: int) -> str:
    """The text of a string literal (with its quotes, as the lexer found it at line,
    col): DP's escapes, and any other backslash a syntax error at its place."""
    body = literal[1:-1]
    if "\\" not in body:
        return body
    out, i = [], 0
    while True:
        j = body.find("\\", i)
        if j < 0:
            out.append(body[i:])
            return "".join(out)
        out.append(body[i:j])
        c = body[j + 1]                       # the lexer only takes a backslash with a character after it
        at = col + 1 + j
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
            i = j + 2
        elif c == "x":
            digits = body[j + 2:j + 4]
            if len(digits) < 2 or not set(digits) <= _HEX:
                raise DPError(Diagnostic("syntax error", "`\\x` takes two hex digits", Span(file, line, at, line, at + 2),
                                         ESCAPE_HINT))
            out.append(chr(int(digits, 16)))
            i = j + 4
        else:
            shown = c if c.isprintable() else f"\\x{ord(c):02x}"
            raise DPError(Diagnostic("syntax error", f"unknown escape `\\{shown}` in a string",
                                     Span(file, line, at, line, at + 2), ESCAPE_HINT + "; write `\\\\` for a backslash"))


def _span(file, meta_or_tok) -> Span:
    m = meta_or_tok
    return Span(file, m.line, m.column, m.end_line, m.end_column)


def _type_name(t: S.TypeExpr) -> S.TypeExpr:
    return t


@v_args(meta=True)
class _Build(Transformer):
    """Lark parse tree → syntax nodes."""

    def __init__(self, file: str):
        super().__init__()
        self.file = file

    def sp(self, meta) -> Span:
        return _span(self.file, meta)

    # -- program and blocks
    def start(self, meta, items):
        return S.Program([i for i in items if i is not None], span=self.sp(meta) if not meta.empty else Span(self.file, 1, 1, 1, 1))

    def block(self, meta, items):
        return [i for i in items if i is not None]

    # -- statements
    def let_stmt(self, meta, c):
        binder, annot, value = c
        if isinstance(binder, list):
            return S.Let(binder[0], annot, value, False, names=binder, span=self.sp(meta))
        return S.Let(str(binder), annot, value, False, span=self.sp(meta))

    def tuple_binder(self, meta, c):
        return [str(t) for t in c]

    def var_stmt(self, meta, c):
        name, annot, value = c
        return S.Let(str(name), annot, value, True, span=self.sp(meta))

    def assign(self, meta, c):
        return S.Assign(c[0], c[1], span=self.sp(meta))

    def aug_assign(self, meta, c):
        return S.AugAssign(c[0], str(c[1])[0], c[2], span=self.sp(meta))

    def expr_stmt(self, meta, c):
        return S.ExprStmt(c[0], span=self.sp(meta))

    def if_stmt(self, meta, c):
        cond, then, orelse = c
        if orelse is None:
            orelse = []
        elif isinstance(orelse, S.If):
            orelse = [orelse]
        return S.If(cond, then, orelse, span=self.sp(meta))

    def while_stmt(self, meta, c):
        return S.While(c[0], c[1], span=self.sp(meta))

    def for_stmt(self, meta, c):
        name, first, rng, second, body = c
        if isinstance(name, list):
            if rng is not None:
                raise DPError(Diagnostic("syntax error", "a range loop binds one int, not a tuple", self.sp(meta),
                                         f"write `for {name[0]} in a..b`"))
            return S.ForEach(f"({', '.join(name)})", first, body, names=name, span=self.sp(meta))
        if rng is None:
            return S.ForEach(str(name), first, body, span=self.sp(meta))
        return S.ForRange(str(name), first, second, body, span=self.sp(meta))

    def return_stmt(self, meta, c):
        return S.Return(c[0], span=self.sp(meta))

    def break_stmt(self, meta, c):
        return S.Break(span=self.sp(meta))

    def continue_stmt(self, meta, c):
        return S.Continue(span=self.sp(meta))

    def import_stmt(self, meta, c):
        return S.Import(str(c[0]), span=self.sp(meta))

    def fn_def(self, meta, c):
        name, params, ret, body = c
        return S.FnDef(str(name), params or [], ret, body, span=self.sp(meta))

    def params(self, meta, c):
        return list(c)

    def param(self, meta, c):
        return S.Param(str(c[0]), c[1], span=self.sp(meta))

    def struct_def(self, meta, c):
        return S.StructDef(str(c[0]), [f for f in c[1:] if f is not None], span=self.sp(meta))

    def field_decl(self, meta, c):
        return S.FieldDecl(str(c[0]), c[1], span=self.sp(meta))

    def enum_def(self, meta, c):
        return S.EnumDef(str(c[0]), [v for v in c[1:] if v is not None], span=self.sp(meta))

    def variant_decl(self, meta, c):
        return S.VariantDecl(str(c[0]), [t for t in c[1:] if t is not None], span=self.sp(meta))

    def match_stmt(self, meta, c):
        return S.Match(c[0], [a for a in c[1:] if a is not None], span=self.sp(meta))

    def match_arm(self, meta, c):
        enum, variant, binds = c[0]
        return S.MatchArm(enum, variant, binds, c[1], span=self.sp(meta))

    def pattern(self, meta, c):
        first, second, third, *binds = c
        binds = [str(b) for b in binds if b is not None]
        if second is None:
            return (None, str(first), binds)
        if third is not None:                        # a module's enum: geom.Color.Red
            return (f"{first}.{second}", str(third), binds)
        return (str(first), str(second), binds)

    def rule_def(self, meta, c):
        name, *rest = c
        clauses = [x for x in rest if isinstance(x, S.RuleClause)]
        names = [str(x) for x in rest if isinstance(x, Token)]
        return S.RuleDef(str(name), names[:-1], names[-1], clauses, span=self.sp(meta))

    def rule_clause(self, meta, c):
        return S.RuleClause(str(c[0]), c[1], span=self.sp(meta))

    # -- types
    def named_type(self, meta, c):
        return S.TypeExpr(str(c[0]), span=self.sp(meta))

    def generic_type(self, meta, c):
        return S.TypeExpr(str(c[0]), list(c[1:]), span=self.sp(meta))

    def tuple_type(self, meta, c):
        return S.TypeExpr("tuple", list(c), span=self.sp(meta))

    def qualified_type(self, meta, c):
        return S.TypeExpr(f"{c[0]}.{c[1]}", span=self.sp(meta))

    def unit_type(self, meta, c):
        return S.TypeExpr("unit", span=self.sp(meta))

    def dim_type(self, meta, c):
        return S.TypeExpr(str(c[0]), span=self.sp(meta))

    def fn_type(self, meta, c):
        *params, ret = c
        return S.TypeExpr("fn", [p for p in params if p is not None], ret, span=self.sp(meta))

    # -- expressions
    def binary(self, meta, c):
        return S.Binary(str(c[1]), c[0], c[2], span=self.sp(meta))

    def unary(self, meta, c):
        return S.Unary(str(c[0]), c[1], span=self.sp(meta))

    def call(self, meta, c):
        return S.Call(c[0], c[1] or [], span=self.sp(meta))

    def args(self, meta, c):
        return list(c)

    def range_arg(self, meta, c):
        """`progress(0..n)`: an argument `a..b` is the list `range(a, b)`."""
        span = self.sp(meta)
        return S.Call(S.Name("range", span=span), [c[0], c[2]], span=span)

    def index(self, meta, c):
        return S.Index(c[0], c[1], span=self.sp(meta))

    def multi_index(self, meta, c):
        return S.Index(c[0], c[1], span=self.sp(meta))

    def subscripts(self, meta, c):
        parts = [x for x in c]
        if len(parts) == 1:
            return parts[0]
        return S.Subscripts(parts, span=self.sp(meta))

    def slice(self, meta, c):
        lo, hi = c
        return S.Slice(lo, hi, span=self.sp(meta))

    def field(self, meta, c):
        return S.Field(c[0], str(c[1]), span=self.sp(meta))

    def tuple_field(self, meta, c):
        return S.TupleIndex(c[0], int(c[1]), span=self.sp(meta))

    def tuple_field2(self, meta, c):
        # `t.0.1` lexes its indices as the float 0.1; `t.1e3` is no tuple field
        tok = c[1]
        m = re.fullmatch(r"(\d+)\.(\d+)", str(tok))
        if m is None:
            raise DPError(Diagnostic("syntax error", f"`{tok}` is not a tuple field", _span(self.file, tok),
                                     "a tuple's fields are numbered: `t.0`, `t.1`, `t.0.1`"))
        first, second = m.groups()
        inner = S.TupleIndex(c[0], int(first), span=self.sp(meta))
        return S.TupleIndex(inner, int(second), span=self.sp(meta))

    def int_lit(self, meta, c):
        try:
            return S.Num(int(c[0]), span=self.sp(meta))
        except ValueError:                      # past Python's limit on int conversions
            raise DPError(Diagnostic("syntax error", f"this integer literal has {len(c[0])} digits, more than "
                                     f"the {sys.get_int_max_str_digits()} an integer literal may have",
                                     self.sp(meta), "write it as a power or a product: `10 ** 5000`")) from None

    def float_lit(self, meta, c):
        return S.Num(float(c[0]), span=self.sp(meta))

    def string_lit(self, meta, c):
        return S.Str(unescape(str(c[0]), self.file, meta.line, meta.column), span=self.sp(meta))

    def true_lit(self, meta, c):
        return S.Bool(True, span=self.sp(meta))

    def false_lit(self, meta, c):
        return S.Bool(False, span=self.sp(meta))

    def inf_lit(self, meta, c):
        return S.Num(float("inf"), span=self.sp(meta))

    def nan_lit(self, meta, c):
        return S.Num(float("nan"), span=self.sp(meta))

    def name(self, meta, c):
        return S.Name(str(c[0]), span=self.sp(meta))

    def tuple_lit(self, meta, c):
        return S.TupleLit(list(c), span=self.sp(meta))

    def list_lit(self, meta, c):
        return S.ListLit([x for x in c if x is not None], span=self.sp(meta))

    def dict_lit(self, meta, c):
        entries = [x for x in c if x is not None]
        return S.DictLit([k for k, _ in entries], [v for _, v in entries], span=self.sp(meta))

    def dict_entry(self, meta, c):
        return (c[0], c[1])

    def struct_lit(self, meta, c):
        name, _brace, *fields = c
        return S.StructLit(str(name), [f for f in fields if f is not None], span=self.sp(meta))

    def qualified_struct_lit(self, meta, c):
        """`optim.Adam { … }`: a struct a module declares, named as its values print."""
        module, name, _brace, *fields = c
        if not isinstance(module, S.Name):
            raise DPError(Diagnostic("syntax error", "a struct literal is named by a struct or `module.Struct`",
                                     module.span, "write `optim.Adam { … }`"))
        return S.StructLit(f"{module.id}.{name}", [f for f in fields if f is not None], span=self.sp(meta))

    def field_init(self, meta, c):
        return (str(c[0]), c[1])

    def if_expr(self, meta, c):
        return self.if_expr_more(meta, c[1:])

    def if_expr_more(self, meta, c):
        cond, then, orelse = c
        span = self.sp(meta)
        return S.IfExpr(cond, self._branch(then, span), orelse if isinstance(orelse, S.IfExpr)
                        else self._branch(orelse, span), span=span)

    def _branch(self, stmts, span):
        """An `if` expression's branch: one expression, or statements then the expression
        that is the branch's value (a BlockExpr). An `if … else …` ending it is that
        expression, as in Rust (its branches then end in values in turn)."""
        if stmts and isinstance(stmts[-1], S.If) and stmts[-1].orelse:
            stmts = stmts[:-1] + [S.ExprStmt(self._if_value(stmts[-1]), span=stmts[-1].span)]
        if not stmts or not isinstance(stmts[-1], S.ExprStmt):
            at = stmts[-1].span if stmts else span
            what = "is empty" if not stmts else "does not end in an expression"
            raise DPError(Diagnostic("syntax error", f"this branch of an `if` expression {what}", at,
                                     "a branch's last line is the expression that is its value: "
                                     "`if c { let t = x * x; t + 1.0 } else { 0.0 }`"))
        if len(stmts) == 1:
            return stmts[0].expr
        value = stmts[-1].expr
        first = stmts[0].span
        return S.BlockExpr(stmts[:-1], value, span=Span(self.file, first.line, first.col, value.span.end_line,
                                                         value.span.end_col))

    def _if_value(self, s: S.If) -> S.IfExpr:
        o = s.orelse
        orelse = self._if_value(o[0]) if len(o) == 1 and isinstance(o[0], S.If) and o[0].orelse else \
            self._branch(o, s.span)
        return S.IfExpr(s.cond, self._branch(s.then, s.span), orelse, span=s.span)

    def lambda_expr(self, meta, c):
        params, ret, body = c
        return S.Lambda(params or [], ret, body, span=self.sp(meta))
