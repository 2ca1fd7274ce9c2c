"""Formatting a whole DP document with DP's printer (dsl/printer.py), keeping the
comments and the blank lines between statements.

A comment on a line of its own stays there: above a statement, between statements, at
the end of a block, before an element of a list, tuple, dict or struct literal, an
argument of a call or a parameter of a function. A comment at the end of a line of
code stays at the end of the printed line it followed: a statement's, a block's header
line, a line that closes a block (`}`, `} else {`), a struct's field, an enum's
variant, a match arm, or an element (argument, parameter) of a list, tuple, dict,
struct literal or call. Such an expression with a comment inside is printed one
element to a line, each with its comma; what encloses it is then too.

A comment with no such place (inside an operation spanning lines, `a +  # why` or
between `=` and its value) is not moved: formatting refuses the file, saying where the
comment is (Refused.line, Refused.col). It also refuses a file that does not parse,
and checks that the text it makes parses to the program it was given."""
from __future__ import annotations

import bisect
from collections import Counter

from dp.dsl import syntax as S
from dp.dsl.diagnostics import DPError
from dp.dsl.parser import parse
from dp.dsl.printer import _PREC, expr_src, header_src, if_block_src, program_src, stmt_src, type_src


class Refused(Exception):
    """Why a document is not formatted; line and col (1-based, or None) say where:
    at the comment that would be lost."""

    def __init__(self, message: str, line: int | None = None, col: int | None = None):
        super().__init__(message)
        self.line, self.col = line, col


def _located(text: str) -> list[tuple[int, int, str, bool]]:
    """(line, column, text, own) of every comment: a `#` outside a string literal, to
    the end of its line (strings end on their line); own when it has its line to itself."""
    out = []
    for n, line in enumerate(text.split("\n"), 1):
        in_string, i = False, 0
        while i < len(line):
            c = line[i]
            if in_string:
                if c == "\\":
                    i += 1
                elif c == '"':
                    in_string = False
            elif c == '"':
                in_string = True
            elif c == "#":
                out.append((n, i + 1, line[i + 1:].strip(), not line[:i].strip()))
                break
            i += 1
    return out


def comments(text: str) -> list[tuple[int, str]]:
    """(line, text) of every comment."""
    return [(n, c) for n, _, c, _ in _located(text)]


def format_text(text: str, file: str = "<document>") -> str:
    """text formatted; raises Refused when it cannot be without loss."""
    try:
        prog = parse(text, file)
    except DPError as e:
        raise Refused(f"the file has a syntax error at line {e.line}: {e.message}", e.line) from None
    except RecursionError:
        raise Refused("the file is nested too deeply to format") from None
    fmt = _Format(text, prog)
    out = fmt.block(prog.body, 0, len(text.split("\n")) + 1)
    before, after = _located(text), comments(out)
    kept = Counter(c for _, c in after)
    lost = set(fmt.unplaced)
    for line, _, c, _ in before:
        if kept[c] > 0 and line not in lost:
            kept[c] -= 1
        else:
            lost.add(line)
    if lost:
        lines = sorted(lost)
        col = {n: c for n, c, _, _ in before}
        where = ", ".join(map(str, lines[:8])) + (", …" if len(lines) > 8 else "")
        raise Refused(f"formatting would drop the comment{'s' if len(lines) > 1 else ''} on line{'s' if len(lines) > 1 else ''} "
                      f"{where}: DP's layout has no place for a comment inside an operation or between a "
                      "statement's parts, only on a line of its own or after a statement, a block's `{` or `}`, or "
                      "an element of a list, tuple, dict, struct literal, call or parameter list", lines[0], col[lines[0]])
    try:
        same = program_src(parse(out, file)) == program_src(prog)
    except DPError:
        same = False
    if not same:
        raise Refused("DP's printer could not print this file back as the same program; please report it")
    return out


_BLOCKS = (S.FnDef, S.While, S.ForRange, S.ForEach, S.If, S.Match, S.StructDef, S.EnumDef, S.RuleDef)


class _Format:
    """The printer's output, statement by statement, with the source's blank lines and
    comments. A comment is taken (popped from free or trailing) as it is placed; one
    inside a statement that nothing took is unplaced, and the file is refused."""

    def __init__(self, text: str, prog):
        located = _located(text)
        own = {n: c for n, _, c, o in located if o}
        for st in S.walk(prog):
            if isinstance(st, S.Stmt) and st.comment:
                for k in range(len(st.comment.split("\n"))):
                    own.pop(st.span.line - 1 - k, None)
        self.free = own                              # line -> text of the comment lines kept apart
        self.trailing = {n: c for n, _, c, o in located if not o}   # line -> text of a comment after code
        self.col = {n: c for n, c, _, _ in located}  # line -> column of its comment's `#`
        self.lines = sorted(self.col)
        self.unplaced: list[int] = []                # lines of comments nothing could take
        self.braces = _Braces(text)

    # ------------------------------------------------------------ statements

    def block(self, stmts, depth: int, end: int, after: int = 0) -> str:
        """stmts printed at depth, with the free comments between them and before the
        line end (where the block closes), none before line after."""
        out, prev_end = [], None

        def put(start, stop, text):
            nonlocal prev_end
            if prev_end is not None and start - prev_end > 1:
                out.append("\n")
            out.append(text)
            prev_end = stop
        for s in stmts:                  # in order: a statement's own block takes its comments first
            start = s.span.line - (len(s.comment.split("\n")) if s.comment else 0)
            for item in self._comments_before(start, depth, after):
                put(*item)
            put(start, s.span.end_line, self._trailed(s, depth))
        for item in self._comments_before(end, depth, after):
            put(*item)
        return "".join(out)

    def _trailed(self, s, depth: int) -> str:
        """s printed, with the comment after its code on its source line put back at the
        end of its printed line: a block's header line (the one that opens its block), a
        line that closes one of its blocks (`}`, `} else {`), or the statement's last line."""
        if isinstance(s, _BLOCKS):
            note = self.trailing.pop(self._open(s)[0], None)      # before the block's own statements
            lines = self.stmt(s, depth, note).split("\n")
            self._closers(s, lines, "    " * depth)
            return "\n".join(lines)
        note = self._after(s)                            # before a lambda's statements inside s
        text = self.stmt(s, depth)
        self._settle((s.span.line, s.span.col), (s.span.end_line, s.span.end_col))
        if note is None:
            return text
        lines = text.split("\n")                         # the last is "" (after the final newline)
        lines[-2] = _with_note(lines[-2], note)
        return "\n".join(lines)

    def _after(self, s) -> str | None:
        """The comment right after s's code on its last line, taken: not one after a
        `}` that closes what holds s (`A => { return 1 } B => { … }  # about B`)."""
        line = s.span.end_line
        if line not in self.trailing:
            return None
        between = self.braces.text[self.braces.offset(line, s.span.end_col):self.braces.offset(line, self.col[line])]
        return self.trailing.pop(line) if between.strip() in ("", ";") else None

    def _open(self, s) -> tuple[int, int]:
        """(line, offset) of the `{` that opens s's (first) block: the first after its
        header's expression, which may hold braces of its own (`if d == {"a": 1.0} {`)."""
        if isinstance(s, (S.If, S.While)):
            e = s.cond
        elif isinstance(s, S.ForRange):
            e = s.stop
        elif isinstance(s, S.ForEach):
            e = s.iterable
        elif isinstance(s, S.Match):
            e = s.subject
        else:
            return self.braces.open_of_block(s.span.line, s.span.col)
        return self.braces.open_of_block(e.span.end_line, e.span.end_col)

    def _closers(self, s, lines: list[str], ind: str) -> None:
        """Put the comments after the `}`s of s's blocks (in the source) at the end of
        the printed lines that close them: at s's own indentation, in order."""
        printed = [i for i, ln in enumerate(lines) if ln == ind + "}" or ln.startswith(ind + "} else ")]
        for i, line in zip(printed, self._block_ends(s)):
            note = self.trailing.pop(line, None)
            if note is not None:
                lines[i] = _with_note(lines[i], note)

    def _block_ends(self, s) -> list[int]:
        """The source lines of the `}`s that close s's blocks at its own level, in order
        (an if's, each else if's, its else's)."""
        first = self.braces.close_of(self._open(s)[1])
        if not isinstance(s, S.If):
            return [first[0]]
        out, orelse, after = [first[0]], s.orelse, first
        while len(orelse) == 1 and isinstance(orelse[0], S.If) and not orelse[0].comment:
            after = self.braces.close_of(self._open(orelse[0])[1])
            out.append(after[0])
            orelse = orelse[0].orelse
        if orelse:
            line, col = self.braces.position(after[1] + 1)
            out.append(self.braces.close_of(self.braces.open_of_block(line, col)[1])[0])
        return out

    def _comments_before(self, line: int, depth: int, after: int = 0) -> list:
        lines = sorted(n for n in self.free if after < n < line)
        out = []
        for n in lines:
            text = self.free.pop(n)
            out.append((n, n, "    " * depth + ("# " + text if text else "#") + "\n"))
        return out

    def stmt(self, s, depth: int, note: str | None = None) -> str:
        """s printed at depth; note, for a statement with a block, goes at the end of the
        line that opens it."""
        if not isinstance(s, _BLOCKS):
            return stmt_src(s, depth, value=self.expr)
        ind = "    " * depth
        comment = "".join(f"{ind}# {ln}".rstrip(" ") + "\n" for ln in s.comment.split("\n")) if s.comment else ""
        opened = self._open(s)
        first_end = self.braces.close_of(opened[1])

        def head(text):
            """The header, through its `{`: the comments inside it are placed or unplaced
            before its block's statements take theirs."""
            self._settle((s.span.line, s.span.col), self.braces.position(opened[1]))
            return text if note is None else _with_note(text, note)

        def body(stmts, d=depth + 1, end=first_end[0]):
            return self.block(stmts, d, end)
        if isinstance(s, S.FnDef):
            ret = f" -> {type_src(s.ret)}" if s.ret is not None else ""
            params = self._params(s.params, self.braces.find("(", s.span.line, s.span.col), depth)
            return f"{comment}{head(f'{ind}fn {s.name}{params}{ret} {{')}\n{body(s.body)}{ind}}}\n"
        if isinstance(s, S.While):
            return f"{comment}{head(f'{ind}while {self.header(s.cond, depth)} {{')}\n{body(s.body)}{ind}}}\n"
        if isinstance(s, S.ForRange):
            h = f"{ind}for {s.var} in {self.header(s.start, depth)}..{self.header(s.stop, depth)} {{"
            return f"{comment}{head(h)}\n{body(s.body)}{ind}}}\n"
        if isinstance(s, S.ForEach):
            return f"{comment}{head(f'{ind}for {s.var} in {self.header(s.iterable, depth)} {{')}\n{body(s.body)}{ind}}}\n"
        if isinstance(s, S.If):
            out = f"{comment}{head(f'{ind}if {self.header(s.cond, depth)} {{')}\n{body(s.then)}{ind}}}"
            orelse, after = s.orelse, first_end
            while len(orelse) == 1 and isinstance(orelse[0], S.If) and not orelse[0].comment:
                o = orelse[0]
                o_open = self._open(o)
                after = self.braces.close_of(o_open[1])
                cond = self.header(o.cond, depth)
                self._settle((o.span.line, o.span.col), self.braces.position(o_open[1]))
                out += f" else if {cond} {{\n{body(o.then, end=after[0])}{ind}}}"
                orelse = o.orelse
            if orelse:
                line, col = self.braces.position(after[1] + 1)
                end = self.braces.close_of(self.braces.open_of_block(line, col)[1])[0]
                out += f" else {{\n{body(orelse, end=end)}{ind}}}"
            return out + "\n"
        if isinstance(s, S.Match):
            top = f"{comment}{head(f'{ind}match {self.header(s.subject, depth)} {{')}\n"
            arms = ""
            for k, a in enumerate(s.arms):
                pat = (f"{a.enum}." if a.enum else "") + a.variant + (f"({', '.join(a.binds)})" if a.binds else "")
                above = "".join(t for _, _, t in self._comments_before(a.span.line, depth + 1))
                # a comment after two arms on one line is about the last
                alone = k + 1 == len(s.arms) or s.arms[k + 1].span.line != a.span.line
                h = f"{ind}    {pat} => {{"
                head_line = self._noted(h, a.span.line) if alone else h
                arm_end = self.braces.close_of(self.braces.open_of_block(a.span.line, a.span.col)[1])[0]
                closer = ind + "    }"
                if k + 1 == len(s.arms) or s.arms[k + 1].span.line != arm_end:   # else the next arm's
                    closer = self._noted(closer, arm_end)
                arms += f"{above}{head_line}\n{body(a.body, depth + 2, arm_end)}{closer}\n"
            arms += self._closing_comments(first_end[0], depth + 1)
            return f"{top}{arms}{ind}}}\n"
        if isinstance(s, S.StructDef):
            lines = [f.span.line for f in s.fields]
            fields = "".join(self._member(f"{f.name}: {type_src(f.annot)}", f.span.line, depth + 1,
                                          last=k + 1 == len(lines) or lines[k + 1] != f.span.line)
                             for k, f in enumerate(s.fields))
            fields += self._closing_comments(first_end[0], depth + 1)
            return f"{comment}{head(f'{ind}struct {s.name} {{')}\n{fields}{ind}}}\n"
        if isinstance(s, S.EnumDef):
            vs = [v.name + (f"({', '.join(type_src(t) for t in v.payload)})" if v.payload else "") for v in s.variants]
            lines = [v.span.line for v in s.variants]
            members = "".join(self._member(v + ("," if k < len(vs) - 1 else ""), lines[k], depth + 1,
                                           last=k + 1 == len(lines) or lines[k + 1] != lines[k])
                              for k, v in enumerate(vs))
            members += self._closing_comments(first_end[0], depth + 1)
            return f"{comment}{head(f'{ind}enum {s.name} {{')}\n{members}{ind}}}\n"
        if isinstance(s, S.RuleDef):
            h = head(f"{ind}derivative {s.fn}({', '.join(s.params)}) -> {s.result} {{")
            clauses = ""
            for k, c in enumerate(s.clauses):
                above = "".join(t for _, _, t in self._comments_before(c.span.line, depth + 1))
                alone = k + 1 == len(s.clauses) or s.clauses[k + 1].span.line != c.span.end_line
                note_c = self.trailing.pop(c.span.end_line, None) if alone else None
                text = f"{ind}    {c.target} = {self.expr(c.value, depth + 1)}"
                self._settle((c.span.line, c.span.col), (c.span.end_line, c.span.end_col))
                clauses += above + (text if note_c is None else _with_note(text, note_c)) + "\n"
            clauses += self._closing_comments(first_end[0], depth + 1)
            return f"{comment}{h}\n{clauses}{ind}}}\n"
        raise TypeError(f"cannot format {type(s).__name__}")

    def _closing_comments(self, end: int, depth: int) -> str:
        """The comment lines at the end of a struct's, enum's or match's body, before its `}`."""
        return "".join(t for _, _, t in self._comments_before(end, depth))

    def _noted(self, line_text: str, line: int) -> str:
        """line_text with the comment after the code of source line `line`, if any."""
        note = self.trailing.pop(line, None)
        return line_text if note is None else _with_note(line_text, note)

    def _member(self, text: str, line: int, depth: int, last: bool = True) -> str:
        """A struct's field or an enum's variant on its own line: the comment lines above
        it in the source, then it, with the comment after it (of the last member on its
        source line: `y: float, z: float  # …` is about z)."""
        above = "".join(t for _, _, t in self._comments_before(line, depth))
        return above + (self._noted("    " * depth + text, line) if last else "    " * depth + text) + "\n"

    # ------------------------------------------------------------ expressions

    def _pending(self, lo: tuple[int, int], hi: tuple[int, int]) -> list[int]:
        """The lines of the comments between positions lo and hi that nothing has taken."""
        a, b = bisect.bisect_left(self.lines, lo[0]), bisect.bisect_right(self.lines, hi[0])
        return [n for n in self.lines[a:b] if lo <= (n, self.col[n]) < hi and (n in self.free or n in self.trailing)]

    def _settle(self, lo: tuple[int, int], hi: tuple[int, int]) -> None:
        """The comments between lo and hi that nothing took have no place: unplaced."""
        for n in self._pending(lo, hi):
            self.free.pop(n, None)
            self.trailing.pop(n, None)
            self.unplaced.append(n)

    def expr(self, e, depth: int, prec: int = 0) -> str:
        """e printed, its first line at the end of a line at depth and its others
        indented from depth: on one line as the printer prints it when it holds no
        comment; else each list, tuple, dict, struct literal or call that holds one is
        broken, an element to a line, and a function literal's body keeps its comments."""
        sp = e.span
        if not self._pending((sp.line, sp.col), (sp.end_line, sp.end_col)):
            return _pad(expr_src(e, prec), depth)
        if isinstance(e, S.Lambda):
            return self._lambda(e, depth)
        if isinstance(e, S.IfExpr) and (isinstance(e.then, S.BlockExpr) or isinstance(e.orelse, S.BlockExpr)):
            return self._if_block(e, depth, prec)
        lo, hi = (sp.line, sp.col), (sp.end_line, sp.end_col - 1)      # its brackets
        if isinstance(e, S.ListLit):
            return self._broken("[", [self._item(x) for x in e.items], "]", lo, hi, depth)
        if isinstance(e, S.TupleLit):
            return self._broken("(", [self._item(x) for x in e.items], ")", lo, hi, depth)
        if isinstance(e, S.DictLit):
            items = [((k.span.line, k.span.col), (v.span.end_line, v.span.end_col),
                      lambda d, k=k, v=v: f"{self.expr(k, d)}: {self.expr(v, d)}") for k, v in zip(e.keys, e.values)]
            return self._broken("{", items, "}", lo, hi, depth)
        if isinstance(e, S.StructLit):
            items = [((v.span.line, v.span.col), (v.span.end_line, v.span.end_col),
                      lambda d, n=n, v=v: f"{n}: {self.expr(v, d)}") for n, v in e.fields]
            return self._broken(f"{e.name} {{", items, "}", lo, hi, depth)
        if isinstance(e, S.Call):
            func = self.expr(e.func, depth, _PREC["postfix"])
            f = e.func.span
            return self._broken(func + "(", [self._item(x) for x in e.args], ")", (f.end_line, f.end_col), hi, depth)
        return expr_src(e, prec, lambda x, p=0: self.expr(x, depth, p))

    def header(self, e, depth: int) -> str:
        """e in a statement's header, a struct literal there in parentheses."""
        return header_src(e, 0, lambda x, p=0: self.expr(x, depth, p))

    def _item(self, x):
        return (x.span.line, x.span.col), (x.span.end_line, x.span.end_col), lambda d: self.expr(x, d)

    def _broken(self, opener: str, items: list, closer: str, lo, hi, depth: int) -> str:
        """opener, then each item on a line of its own at depth + 1 with its comma, then
        closer at depth. items are (start, end, print(depth)); lo and hi are where the
        brackets are. A comment line goes before the item after it (or the closer); a
        comment after code, after the last item that ends before it (or the opener)."""
        before: dict[int, list[int]] = {}
        after: dict[int, int] = {}
        for n in self._pending(lo, hi):
            at = (n, self.col[n])
            if any(a <= at < b for a, b, _ in items):
                continue                                  # the item's own
            if n in self.free:
                k = next((k for k, (a, _, _) in enumerate(items) if at < a), len(items))
                before.setdefault(k, []).append(n)
            else:
                k = max((k for k, (_, b, _) in enumerate(items) if b <= at), default=-1)
                after.setdefault(k, n)                    # a second one after the same item is unplaced

        def noted(text, k):
            return text if k not in after else _with_note(text, self.trailing.pop(after[k]))
        ind = "    " * (depth + 1)
        out = [noted(opener, -1)]
        for k, (_, _, text) in enumerate(items + [(None, None, None)]):
            out += [ind + ("# " + c if c else "#") for c in (self.free.pop(n) for n in before.get(k, []))]
            if text is not None:
                out.append(noted(ind + text(depth + 1) + ",", k))
        out.append("    " * depth + closer)
        return "\n".join(out)

    def _params(self, params, paren: int, depth: int) -> str:
        """`(a: float, b: float)`, or broken as a call is when a comment is inside;
        paren is the offset of the `(`."""
        lo, hi = self.braces.position(paren), self.braces.position(self.braces.close[paren])
        if not self._pending(lo, hi):
            return "(" + ", ".join(f"{p.name}: {type_src(p.annot)}" for p in params) + ")"
        items = [((p.span.line, p.span.col), (p.span.end_line, p.span.end_col),
                  lambda d, p=p: f"{p.name}: {type_src(p.annot)}") for p in params]
        return self._broken("(", items, ")", lo, hi, depth)

    def _lambda(self, e, depth: int) -> str:
        """A function literal holding comments: its parameters as a function's, its body
        as a block's, the comment after its `{` on that line."""
        sp = e.span
        paren = self.braces.find("(", sp.line, sp.col)
        params = self._params(e.params, paren, depth)
        opened = self.braces.open_of_block(*self.braces.position(self.braces.close[paren]))
        line = opened[0]
        note = None
        if not any(st.span.line == line for st in e.body) and line in self.trailing \
                and self.col[line] - 1 + self.braces.starts[line - 1] > opened[1]:
            note = self.trailing.pop(line)
        h = f"fn{params} -> {type_src(e.ret)} {{"
        h = h if note is None else _with_note(h, note)
        body = self.block(e.body, depth + 1, sp.end_line, after=line)
        return f"{h}\n{body}{'    ' * depth}}}"


    def _if_block(self, e, depth: int, prec: int) -> str:
        """An `if` expression whose branches hold statements, comments inside: each branch
        as a block, the comment after a branch's `{` on that line."""
        opens = [self.braces.open_of_block(e.cond.span.end_line, e.cond.span.end_col)]
        closes = [self.braces.close_of(opens[0][1])]
        if not isinstance(e.orelse, S.IfExpr):
            opens.append(self.braces.open_of_block(*self.braces.position(closes[0][1] + 1)))
            closes.append(self.braces.close_of(opens[1][1]))
        cond = self.header(e.cond, depth)
        self._settle((e.span.line, e.span.col), self.braces.position(opens[0][1]))

        def body(k, stmts):
            line = opens[k][0]
            note = None
            if not any(st.span.line == line for st in stmts) and line in self.trailing \
                    and self.col[line] - 1 + self.braces.starts[line - 1] > opens[k][1]:
                note = self.trailing.pop(line)
            head = "" if note is None else _with_note("", note)
            return head + "\n" + self.block(stmts, depth + 1, closes[k][0], after=line)
        s = if_block_src(e, lambda x, p=0: cond if x is e.cond else self.expr(x, depth, p), body, "    " * depth)
        return f"({s})" if prec > 0 else s


def _pad(src: str, depth: int) -> str:
    """src with its lines after the first indented to depth."""
    if "\n" not in src:
        return src
    first, *rest = src.split("\n")
    return first + "\n" + "\n".join("    " * depth + ln for ln in rest)


def _with_note(line: str, note: str) -> str:
    return line + ("  # " + note if note else "  #")


class _Braces:
    """Where the brackets are in the source (a statement's span ends with its last
    statement, not its brace): the comments before a block's `}` belong inside it."""

    def __init__(self, text: str):
        self.text = text
        self.starts = [0]
        for i, c in enumerate(text):
            if c == "\n":
                self.starts.append(i + 1)
        self.close: dict[int, int] = {}              # offset of `(`, `[` or `{` -> offset of its closer
        stack, i, n = [], 0, len(text)
        while i < n:
            c = text[i]
            if c == '"':
                i += 1
                while i < n and text[i] not in '"\n':
                    i += 2 if text[i] == "\\" else 1
            elif c == "#":
                while i < n and text[i] != "\n":
                    i += 1
                continue
            elif c in "([{":
                stack.append(i)
            elif c in ")]}" and stack:
                self.close[stack.pop()] = i
            i += 1

    def position(self, offset: int) -> tuple[int, int]:
        """(line, column) of offset."""
        k = bisect.bisect_right(self.starts, offset) - 1
        return k + 1, offset - self.starts[k] + 1

    def offset(self, line: int, col: int) -> int:
        return self.starts[line - 1] + col - 1 if line - 1 < len(self.starts) else len(self.text)

    def find(self, char: str, line: int, col: int) -> int:
        """The offset of the first bracket char at or after (line, col)."""
        i = self.offset(line, col)
        while i < len(self.text) and not (self.text[i] == char and i in self.close):
            i += 1
        return i

    def open_of_block(self, line: int, col: int) -> tuple[int, int]:
        """(line, offset) of the first `{` at or after (line, col) outside parentheses
        and brackets: where a header ends (the caller starts after its expression)."""
        i = self.offset(line, col)
        while i < len(self.text):
            c = self.text[i]
            if c in "([" and i in self.close:
                i = self.close[i]
            elif c == "{" and i in self.close:
                return self.position(i)[0], i
            i += 1
        return len(self.starts) + 1, len(self.text)

    def close_of(self, opened: int) -> tuple[int, int]:
        """(line, offset) of the `}` closing the `{` at offset opened."""
        if opened not in self.close:
            return len(self.starts) + 1, len(self.text)
        end = self.close[opened]
        return self.position(end)[0], end
