"""Formatting a whole DP document: DP's printer (dsl/printer.py) lays the program out,
and every comment of the source goes back where it was, with the blank lines between
statements (several become one).

The printer's text and the source are both read as tokens, and the two sequences are
matched (a top-level statement at a time), so each comment is known by the printed token
it came after (a comment after code) or before (a comment on a line of its own). The
printed tokens are then laid out again with the comments:

- A comment after code ends the line at the token it followed. Where fmt never breaks a
  line, it goes to the first place after that where fmt does: operators end lines (a
  newline after an operator continues the statement, as in Go), so a comment before `+`,
  `,`, `=`, `:`, `.`, a call's `(`, an index's `[` or a `{` goes after it; nor does a line
  end after a keyword, a `.` or a unary operator.
- A comment on a line of its own stays on a line of its own before the token it preceded
  (at the first place after it where a line may break, or, rather than move into a
  block, the last place before it).
- A bracket holding a comment — a list, tuple, dict or struct literal, a call, a
  parameter list, an index, a type's, a binder's or a pattern's brackets, the branches
  of an `if` expression — is broken: each element on a line of its own one level in, with
  its comma (and a trailing one where DP allows it), the closer back on the level of the
  line it opened; what encloses it is broken too. Parentheses that only group stay on
  their line.
- A line broken inside an element or a statement (a continuation) is one level deeper
  than the line where that element or statement begins, or where the grouping `(`
  holding the break is.
- A comment after a block that is on one line (`A => { return 1 }  # one`) goes after its
  `{`, since the block is printed over lines.

The text made is checked: it parses to the program it was given (comments aside) and
holds every comment. Formatting refuses (Refused) a file that does not parse, and, should
that check ever fail, says so rather than change the program."""
from __future__ import annotations

import bisect
import difflib
import re
import sys
from collections import Counter

from dp.dsl import syntax as S
from dp.dsl.diagnostics import DPError
from dp.dsl.parser import parse
from dp.dsl.printer import program_src, stmt_src

FRONT_LIMIT = 3000                # Python frames parsing, printing and laying out may take


class Refused(Exception):
    """Why a document is not formatted; line and col (1-based, or None) say where, and
    error is the parser's, for a document that does not parse."""

    def __init__(self, message: str, line: int | None = None, col: int | None = None, error: DPError | None = None):
        super().__init__(message)
        self.line, self.col, self.error = line, col, error


def format_text(text: str, file: str = "<document>") -> str:
    """text formatted; raises Refused when it does not parse."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(_depth() + FRONT_LIMIT)
    try:
        return _format(text, file)
    except RecursionError:
        raise Refused("the file is nested too deeply to format") from None
    finally:
        sys.setrecursionlimit(old)


def comments(text: str) -> list[tuple[int, str]]:
    """(line, text) of every comment: a `#` outside a string literal, to the end of its line."""
    return [(c.line, c.form[1:].strip()) for c in _lex(text)[1]]


def _format(text: str, file: str) -> str:
    try:
        prog = parse(text, file)
    except DPError as e:
        raise Refused(f"the file has a syntax error at line {e.line}: {e.message}", e.line, e.column, e) from None
    _else_ifs(prog, text)
    pieces = [stmt_src(s) for s in prog.body]          # the printer's layout, a top-level statement a piece
    printed = "".join(pieces)
    src, notes = _lex(text)
    out, _ = _lex(printed)
    offsets = [t.offset for t in out]
    out_cuts = [bisect.bisect_left(offsets, k) + 1 for k in _running(pieces)]
    out = [_Tok("", "bof", 0, 0, 0)] + out + [_Tok("", "eof", 0, 0, len(printed))]
    shape = _Shape(out, parse(printed, file))
    to_out = _align(src, out, _statement_starts(src, prog), out_cuts)
    blank_at = {k: src[i].blank for i, k in enumerate(to_out) if k is not None}
    result = _Layout(out, shape, _anchors(src, notes, to_out, shape), blank_at).text()
    try:                                                # the same program, with every comment
        same = _meaning(parse(result, file)) == _meaning(prog)
    except DPError:
        same = False
    if not same or Counter(c.form for c in notes) != Counter(c.form for c in _lex(result)[1]):
        raise Refused("DP's printer could not print this file back as the same program with its comments; "
                      "please report it")
    return result


def _else_ifs(prog: S.Program, text: str) -> None:
    """The printer writes `} else { if c {` as `} else if c {` unless the inner `if` has
    comment lines above it: the parser gives it those above its line, which, when it is
    `} else if c {`, close the block before. Those are not the `if`'s."""
    lines = text.split("\n")
    for node in S.walk(prog):
        if isinstance(node, S.If) and len(node.orelse) == 1 and isinstance(node.orelse[0], S.If):
            inner = node.orelse[0]
            if inner.comment and lines[inner.span.line - 1][:inner.span.col - 1].strip():
                inner.comment = None


def _meaning(prog: S.Program) -> str:
    """The program as the printer prints it, without its comments."""
    for node in S.walk(prog):
        if isinstance(node, S.Stmt):
            node.comment = None
    return program_src(prog)


def _depth() -> int:
    depth, f = 0, sys._getframe(1)
    while f is not None:
        depth, f = depth + 1, f.f_back
    return depth


# ---------------------------------------------------------------- tokens

_TOKEN = re.compile(r"""
    (?P<nl>\n)
  | (?P<ws>[ \t\f\r]+|\\[ \t\f]*\r?\n)
  | (?P<comment>\#[^\n]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<num>[0-9]+\.[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+|[0-9]+)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>->|=>|\.\.|\*\*|==|!=|<=|>=|&&|\|\||\+=|-=|\*=|/=|.)
""", re.VERBOSE)
_KEYWORDS = frozenset("let var if else while for in fn struct enum import match derivative return break "
                      "continue".split())
_ENDS_STATEMENT = frozenset(("return", "break", "continue"))    # and every operand's end (parser.py)


class _Tok:
    """A token: its text, kind (string, num, word, op; bof and eof, the ends of the
    printed program), place, whether space came before it on its line, whether it is the
    first on its line, and whether a blank line came between it and the token or comment
    before it."""
    __slots__ = ("text", "kind", "line", "col", "offset", "space", "first", "blank")

    def __init__(self, text, kind, line, col, offset, space=False, first=False, blank=False):
        self.text, self.kind, self.line, self.col, self.offset = text, kind, line, col, offset
        self.space, self.first, self.blank = space, first, blank

    def ends_operand(self) -> bool:
        return self.kind in ("num", "string") or (self.kind == "word" and self.text not in _KEYWORDS) \
            or self.text in (")", "]", "}")


class _Note:
    """A comment: as it is printed (`# text`), where, whether it has its line to itself,
    the index of the token after it and whether a blank line came before it."""
    __slots__ = ("form", "line", "col", "own", "next", "blank")

    def __init__(self, form, line, col, own, next, blank):
        self.form, self.line, self.col, self.own, self.next, self.blank = form, line, col, own, next, blank


def _lex(text: str) -> tuple[list[_Tok], list[_Note]]:
    """The tokens and the comments of text (which parses)."""
    toks, notes = [], []
    line, line_start, last, space, pos = 1, 0, 0, False, 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        kind, s, end = m.lastgroup, m.group(), m.end()
        if kind == "nl" or (kind == "ws" and s.endswith("\n")):
            line, line_start, space = line + 1, end, kind == "ws"
        elif kind == "ws":
            space = True
        elif kind == "comment":
            own = not text[line_start:pos].strip()
            notes.append(_Note(_form(s, line == 1 and pos == 0), line, pos - line_start + 1, own, len(toks),
                               line - last > 1))
            last = line
        else:
            first = not toks or toks[-1].line != line
            toks.append(_Tok(s, kind, line, pos - line_start + 1, pos, space, first, line - last > 1))
            last, space = line, False
        pos = end
    return toks, notes


def _form(comment: str, shebang: bool) -> str:
    """`#` and a space before the comment's text (kept as it is written after that: `#!`
    on the first line, a comment's own indentation), no space after it."""
    body = comment[1:].rstrip()
    if body and body[0] not in " \t" and not (shebang and body.startswith("!")):
        body = " " + body
    return "#" + body


def _running(pieces: list[str]) -> list[int]:
    """The offset where each piece starts in their concatenation."""
    out, k = [], 0
    for p in pieces:
        out.append(k)
        k += len(p)
    return out


def _statement_starts(src: list[_Tok], prog: S.Program) -> list[int]:
    """The index of the first token of each top-level statement (with the `(` before a
    statement that opens with a parenthesised expression, which its span leaves out)."""
    where = {(t.line, t.col): i for i, t in enumerate(src)}
    out = []
    for s in prog.body:
        i = where.get((s.span.line, s.span.col), out[-1] if out else 0)
        while i > (out[-1] if out else 0) and src[i - 1].text == "(":
            i -= 1
        out.append(i)
    if out:
        out[0] = 0
    return out


def _align(src: list[_Tok], out: list[_Tok], src_cuts: list[int], out_cuts: list[int]) -> list[int | None]:
    """For each source token, the printed token it is (an index in out), or None: the two
    sequences matched a top-level statement at a time."""
    to = [None] * len(src)
    bounds = zip(src_cuts, src_cuts[1:] + [len(src)], out_cuts, out_cuts[1:] + [len(out) - 1])
    for a0, a1, b0, b1 in bounds:
        m = difflib.SequenceMatcher(None, [t.text for t in src[a0:a1]], [t.text for t in out[b0:b1]], autojunk=False)
        for op, i0, i1, j0, j1 in m.get_opcodes():
            if op == "equal" or (op == "replace" and i1 - i0 == j1 - j0):    # a literal written anew
                for k in range(i1 - i0):
                    to[a0 + i0 + k] = b0 + j0 + k
    return to


# ---------------------------------------------------------------- the printed program's shape

class _Shape:
    """The brackets of the printed tokens (between a start and an end token, which pair as
    the program's block): which open blocks (a `{` that ends its printed line) and what
    the statements in each are, which are groups, and, from the printed program's syntax
    tree, which take a trailing comma, which parentheses only group, which braces are one
    `if` expression's branches, and where the expression owning a block inside an
    expression begins (a function literal's `fn`, an `if` expression's `if`)."""

    def __init__(self, toks: list[_Tok], prog: S.Program):
        self.toks = toks
        n = len(toks)
        self.pair = {0: n - 1, n - 1: 0}
        self.parent = [0] * n                   # the innermost bracket around each token (and pair)
        stack = [0]
        for i in range(1, n - 1):
            t = toks[i]
            self.parent[i] = stack[-1]
            if t.kind == "op" and t.text in "([{":
                stack.append(i)
            elif t.kind == "op" and t.text in ")]}":
                o = stack.pop()
                self.pair[o], self.pair[i] = i, o
                self.parent[i] = self.parent[o]
        self.blocks = {0} | {i for i in self.pair if toks[i].text == "{" and i < self.pair[i] and toks[i + 1].first}
        self.closers = {self.pair[i] for i in self.blocks}
        self.items: dict[int, list[tuple[int, int]]] = {}
        self.item_of = [0] * n                  # the first token of the innermost statement holding each
        for o in sorted(self.blocks):
            c = self.pair[o]
            starts = [k for k in range(o + 1, c) if self.parent[k] == o and toks[k].first and k not in self.closers]
            self.items[o] = list(zip(starts, starts[1:] + [c]))
            for s, e in self.items[o]:
                self.item_of[s:e] = [s] * (e - s)
        self.item_starts = {s for spans in self.items.values() for s, _ in spans}
        self.comma_ok: set[int] = set()
        self.grouping: set[int] = set()
        self.linked: dict[int, list[int]] = {}
        self.owner: dict[int, int] = {}
        self._from_tree(prog)

    def _from_tree(self, prog: S.Program) -> None:
        toks = self.toks
        pos = [(t.line, t.col) for t in toks]
        starts = {p: i for i, p in enumerate(pos)}
        ends = {(t.line, t.col + len(t.text)): i for i, t in enumerate(toks) if t.kind not in ("bof", "eof")}

        def first(text, line, col):
            """The first token text at or after (line, col)."""
            i = bisect.bisect_left(pos, (line, col), 1, len(toks) - 1)
            while i < len(toks) - 1 and toks[i].text != text:
                i += 1
            return i if i < len(toks) - 1 else None

        def end_of(node):
            return node.span.end_line, node.span.end_col
        exprs = []
        for node in S.walk(prog):
            sp = node.span
            opener = None
            if isinstance(node, S.Call):
                opener = first("(", *end_of(node.func))
            elif isinstance(node, (S.ListLit, S.TupleLit, S.DictLit)):
                opener = starts.get((sp.line, sp.col))
            elif isinstance(node, S.StructLit):
                opener = first("{", sp.line, sp.col)
            elif isinstance(node, (S.FnDef, S.Lambda)):
                opener = first("(", sp.line, sp.col)
            if opener is not None and opener in self.pair:
                self.comma_ok.add(opener)
            if isinstance(node, S.Lambda) and isinstance(node.ret, S.TypeExpr):
                body = first("{", *end_of(node.ret))
                if body in self.blocks and (sp.line, sp.col) in starts:
                    self.owner[body] = starts[(sp.line, sp.col)]
            if isinstance(node, S.IfExpr) and (sp.line, sp.col) in starts:
                self._branches(node, starts[(sp.line, sp.col)], first, end_of)
            if isinstance(node, S.Expr):
                exprs.append(node)
        for e in exprs:                          # parentheses around an expression, not a call's or a tuple's
            k0, k1 = starts.get((e.span.line, e.span.col)), ends.get(end_of(e))
            if k0 is not None and k1 is not None and toks[k0 - 1].text == "(" and self.pair.get(k0 - 1) == k1 + 1 \
                    and k0 - 1 not in self.comma_ok:
                self.grouping.add(k0 - 1)

    def _branches(self, e: S.IfExpr, start: int, first, end_of) -> None:
        """Link the braces of an `if` expression's branches (else-ifs too), which break
        together; one that opens a block is owned by the `if` at start."""
        opens = []
        while isinstance(e, S.IfExpr) and isinstance(e.cond, S.Expr):
            k = first("{", *end_of(e.cond))
            if k is None or k not in self.pair:
                return
            opens.append(k)
            after = self.pair[k] + 1
            if self.toks[after].text != "else":
                break
            if not isinstance(e.orelse, S.IfExpr):
                if self.toks[after + 1].text == "{":
                    opens.append(after + 1)
                break
            e = e.orelse
        for k in opens:
            self.linked.setdefault(k, []).extend(o for o in opens if o != k)
            if k in self.blocks:
                self.owner.setdefault(k, start)

    def enclosing(self, b: int) -> int:
        """The innermost bracket open between token b and the next."""
        t = self.toks[b]
        return b if t.kind == "op" and t.text in "([{" or b == 0 else self.parent[b]

    def group(self, o: int) -> bool:
        """Whether the bracket at o is one whose elements go a line each when it is broken."""
        return o not in self.blocks and o not in self.grouping

    def elements(self, o: int) -> list[tuple[int, int, int | None]]:
        """(first, end, comma) of each element between the bracket at o and its closer."""
        out, s = [], o + 1
        for k in range(o + 1, self.pair[o]):
            if self.toks[k].text == "," and self.parent[k] == o:
                out.append((s, k, k))
                s = k + 1
        if s < self.pair[o]:
            out.append((s, self.pair[o], None))
        return out

    def unary(self, i: int) -> bool:
        t = self.toks[i]
        return t.kind == "op" and (t.text == "!" or (t.text == "-" and not self.toks[i - 1].ends_operand()))

    def breakable(self, b: int) -> bool:
        """Whether fmt may end a line (for a comment) between token b and the next."""
        toks, n = self.toks, len(self.toks)
        if b <= 0 or b + 1 >= n - 1:
            return True
        if b in self.blocks or b + 1 in self.closers or b + 1 in self.item_starts:
            return True                          # between a block's statements
        g = self.enclosing(b)
        if self.group(g) and (b == g or b + 1 == self.pair[g] or toks[b].text == ","):
            return True                          # between a group's elements
        t, u = toks[b], toks[b + 1]
        if u.text == "else":
            return False
        if u.kind == "op" and not self.unary(b + 1):
            if u.text not in "([{" or t.ends_operand() or b + 1 in self.blocks:
                return False                     # an operator, comma, `.`, closer, postfix bracket, brace
        if (t.kind == "word" and t.text in _KEYWORDS) or t.text == "." or self.unary(b):
            return False
        if toks[g].text not in ("(", "[") and (t.ends_operand() or t.text in _ENDS_STATEMENT):
            return False                         # a newline there would end the statement
        return True


def _anchors(src: list[_Tok], notes: list[_Note], to_out: list[int | None], shape: _Shape) -> dict[int, list[_Note]]:
    """Where each comment goes: the index b of the printed token it comes after (a line
    break between token b and b + 1), in the source's order at each."""
    n = len(shape.toks)
    before, after = [0] * (len(src) + 1), [n - 1] * (len(src) + 1)
    last = 0
    for i, k in enumerate(to_out):               # the printed token at or before each source token
        last = k if k is not None else last
        before[i] = last
    nxt = n - 1
    for i in range(len(src) - 1, -1, -1):        # … at or after it
        nxt = to_out[i] if to_out[i] is not None else nxt
        after[i] = nxt
    back = {k: i for i, k in enumerate(to_out) if k is not None}
    at: dict[int, list[_Note]] = {}
    for c in notes:
        if c.own:
            b = after[c.next] - 1
            f = b
            while not shape.breakable(f) and f + 1 not in shape.blocks:
                f += 1
            if not shape.breakable(f):          # not into the block: before it
                f = b
                while not shape.breakable(f):
                    f -= 1
        else:
            f = before[c.next - 1] if c.next > 0 else 0
            f = _one_line_block(f, src[c.next - 1] if c.next > 0 else None, back, src, shape)
            while not shape.breakable(f):
                f += 1
        at.setdefault(f, []).append(c)
    return at


def _one_line_block(p: int, tok: _Tok | None, back: dict[int, int], src: list[_Tok], shape: _Shape) -> int:
    """A comment after the `}` of a block opened on its line goes after the first block
    `{` on that line in the same statement (or match arm): the block prints over lines."""
    if tok is None or p not in shape.closers or shape.toks[p].text != "}":
        return p
    o = shape.pair[p]
    if o not in back or src[back[o]].line != tok.line:
        return p
    for q in range(shape.item_of[p], p):
        if q in shape.blocks and q in back and src[back[q]].line == tok.line:
            return q
    return p


# ---------------------------------------------------------------- laying the tokens out

class _Layout:
    """The printed tokens on lines, with the comments: blocks a statement a line, a group
    holding a comment an element a line, a continuation one level in."""

    def __init__(self, toks: list[_Tok], shape: _Shape, at: dict[int, list[_Note]], blank_at: dict[int, bool]):
        self.toks, self.shape, self.at = toks, shape, at
        self.blank_at = blank_at                 # printed token -> whether a blank line is above it in the source
        self.started = False                     # something is printed in the block being laid out
        self.lines: list[str] = []
        self.cur: list[str] = []
        self.ind = 0
        self.tok_ind = [0] * len(toks)           # the level of the line each token went on
        self.units: list[int] = [0]              # the first tokens of the statements and elements being laid out
        self.broken = self._broken()

    def _broken(self) -> set[int]:
        """The groups holding a comment, and what encloses them up to a block."""
        sh, out = self.shape, set()
        todo = [sh.enclosing(b) for b in self.at]
        while todo:
            g = todo.pop()
            while g not in sh.blocks:
                if sh.group(g) and g not in out:
                    out.add(g)
                    todo.extend(sh.linked.get(g, ()))
                g = sh.parent[g]
        return out

    def text(self) -> str:
        self.block(0)
        self.flush()
        return "\n".join(self.lines) + "\n" if self.lines else ""

    def flush(self) -> None:
        if self.cur:
            self.lines.append("    " * self.ind + "".join(self.cur))
            self.cur = []

    def newline(self, ind: int) -> None:
        self.flush()
        self.ind = ind

    def put(self, i: int) -> None:
        t = self.toks[i]
        if self.cur and t.space:
            self.cur.append(" ")
        self.cur.append(t.text)
        self.tok_ind[i] = self.ind

    def notes(self, b: int, ind: int, in_block: bool = False) -> bool:
        """The comments after token b: the first, if it came after code, at the end of the
        line; the others on lines of their own at level ind (in a block, after a blank line
        where the source has one and something is above them). Whether there were any."""
        cs = self.at.get(b)
        if not cs:
            return False
        for k, c in enumerate(cs):
            if k == 0 and not c.own and self.cur:
                self.cur.append("  " + c.form)
                continue
            self.flush()
            if in_block:
                if self.started and c.blank:
                    self.lines.append("")
                self.started = True
            self.lines.append("    " * ind + c.form)
        return True

    def block(self, o: int) -> None:
        """A block: its statements a line each, one level in from the line its owner (the
        statement, match arm or function literal) begins on, its `}` on that level."""
        sh = self.shape
        level = -1 if o == 0 else self.tok_ind[sh.owner.get(o, self.units[-1])]
        if o:
            self.put(o)
        outer, self.started = self.started, False
        prev = o
        for s, e in sh.items[o]:
            self.notes(prev, level + 1, True)
            self.newline(level + 1)
            if self.started and self._blank(s, e):
                self.lines.append("")
            self.started = True
            self.units.append(s)
            self.seq(s, e, level + 2)
            self.units.pop()
            prev = e - 1
        self.notes(prev, level + 1, True)
        self.newline(level)
        self.started = outer
        if o:
            self.put(sh.pair[o])

    def _blank(self, s: int, e: int) -> bool:
        """Whether a blank line is above the statement s … e - 1 in the source."""
        k = next((k for k in range(s, e) if k in self.blank_at), None)
        return k is not None and self.blank_at[k]

    def group(self, o: int) -> None:
        """A broken group: its elements a line each, one level in; its closer on the level
        of the line it opened on."""
        sh, level = self.shape, self.ind
        self.put(o)
        prev = o
        for s, e, comma in sh.elements(o):
            self.notes(prev, level + 1)
            self.newline(level + 1)
            self.units.append(s)
            self.seq(s, e, level + 2)
            self.units.pop()
            if comma is not None:
                self.put(comma)
                prev = comma
            else:
                if o in sh.comma_ok:
                    self.cur.append(",")
                prev = e - 1
        self.notes(prev, level + 1)
        self.newline(level)
        self.put(sh.pair[o])

    def seq(self, lo: int, hi: int, cont: int) -> None:
        """Tokens lo … hi - 1 on the current line, a line broken after a comment going on at level cont."""
        i = lo
        while i < hi:
            j = self.part(i, cont)
            if j + 1 < hi and self.notes(j, cont):
                self.newline(cont)
            i = j + 1

    def part(self, i: int, cont: int) -> int:
        """Token i, or the bracket it opens through its closer; the index of the last token put."""
        sh = self.shape
        t = self.toks[i]
        if not (t.kind == "op" and t.text in "([{") or i not in sh.pair:
            self.put(i)
            return i
        j = sh.pair[i]
        if i in sh.blocks:
            self.block(i)
        elif i in self.broken:
            self.group(i)
        else:                                    # on the line (parentheses that group: their breaks one level in)
            inner = self.ind + 1 if i in sh.grouping else cont
            self.put(i)
            if self.notes(i, inner):
                self.newline(inner)
            if j > i + 1:
                self.seq(i + 1, j, inner)
                if self.notes(j - 1, inner):
                    self.newline(inner)
            self.put(j)
        return j
