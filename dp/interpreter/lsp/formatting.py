"""Formatting a whole DP document with DP's printer (dsl/printer.py), keeping the
comments that stand on their own lines (above a statement, between statements, at the
end of a block) and the blank lines between statements.

A comment at the end of a line of code stays at the end of that statement's printed
line when the statement prints on one line, of its block's header line, of the line
that closes a block (`}`, `} else {`), or of a struct's field or an enum's variant.
One inside an expression that spans lines has no place the printer could put it back:
formatting refuses such a file, saying which lines hold the comments it would drop,
rather than lose them. It also refuses a file that does not
parse, and checks that the text it makes parses to the program it was given."""
from __future__ import annotations

from collections import Counter

from dp.dsl import syntax as S
from dp.dsl.diagnostics import DPError
from dp.dsl.parser import parse
from dp.dsl.printer import expr_src, program_src, stmt_src, type_src


class Refused(Exception):
    """Why a document is not formatted."""


def comments(text: str) -> list[tuple[int, str]]:
    """(line, text) of every comment: a `#` outside a string literal, to the end of
    its line (strings end on their line)."""
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
                out.append((n, line[i + 1:].strip()))
                break
            i += 1
    return out


def format_text(text: str, file: str = "<document>") -> str:
    """text formatted; raises Refused when it cannot be without loss."""
    try:
        prog = parse(text, file)
    except DPError as e:
        raise Refused(f"the file has a syntax error at line {e.line}: {e.message}") from None
    except RecursionError:
        raise Refused("the file is nested too deeply to format") from None
    out = _Format(text, prog).block(prog.body, 0, len(text.split("\n")) + 1)
    before, after = comments(text), comments(out)
    kept = Counter(c for _, c in after)
    lost = []
    for line, c in before:
        if kept[c] > 0:
            kept[c] -= 1
        else:
            lost.append(line)
    if lost:
        where = ", ".join(map(str, lost[:8])) + (", …" if len(lost) > 8 else "")
        raise Refused(f"formatting would drop the comment{'s' if len(lost) > 1 else ''} on line{'s' if len(lost) > 1 else ''} "
                      f"{where}: DP's printer keeps the comments on lines of their own and those at the end of a line, "
                      "not those inside an expression that spans lines; move them onto a line of their own")
    try:
        same = program_src(parse(out, file)) == program_src(prog)
    except DPError:
        same = False
    if not same:
        raise Refused("DP's printer could not print this file back as the same program; please report it")
    return out


class _Format:
    """The printer's output, statement by statement, with the source's blank lines and
    the comment lines no statement keeps (those above a blank line, or at a block's end)."""

    def __init__(self, text: str, prog):
        own = {n: c for n, c in comments(text) if text.split("\n")[n - 1].lstrip().startswith("#")}
        for st in S.walk(prog):
            if isinstance(st, S.Stmt) and st.comment:
                for k in range(len(st.comment.split("\n"))):
                    own.pop(st.span.line - 1 - k, None)
        self.free = own                              # line -> text of the comments kept apart
        # line -> text of a comment after code: kept at the end of the statement's line
        # (a block's header line), when the statement prints on one line
        self.trailing = {n: c for n, c in comments(text) if n not in own
                         and not text.split("\n")[n - 1].lstrip().startswith("#")}
        self.braces = _Braces(text)

    def block(self, stmts, depth: int, end: int) -> str:
        """stmts printed at depth, with the free comments between them and before the
        line end (where the block closes)."""
        out, prev_end = [], None

        def put(start, stop, text):
            nonlocal prev_end
            if prev_end is not None and start - prev_end > 1:
                out.append("\n")
            out.append(text)
            prev_end = stop
        for s in stmts:                  # in order: a statement's own block takes its comments first
            start = s.span.line - (len(s.comment.split("\n")) if s.comment else 0)
            for item in self._comments_before(start, depth):
                put(*item)
            put(start, s.span.end_line, self._trailed(s, depth))
        for item in self._comments_before(end, depth):
            put(*item)
        return "".join(out)

    def _trailed(self, s, depth: int) -> str:
        """s printed, with the comment after its code on its source line put back at the
        end of its printed line: a block's header line, a line that closes one of its
        blocks (`}`, `} else {`), or a statement that prints on one line. One it cannot
        place stays unplaced (and the file is refused)."""
        block = isinstance(s, (S.FnDef, S.While, S.ForRange, S.ForEach, S.If, S.Match, S.StructDef, S.EnumDef))
        key = s.span.line if block else s.span.end_line
        note = self.trailing.pop(key, None)                 # before the block's own statements
        text = self.stmt(s, depth)
        lines = text.split("\n")
        if block:
            self._closers(s, lines, "    " * depth)
        if note is None:
            return "\n".join(lines)
        k = next((i for i, ln in enumerate(lines) if not ln.lstrip().startswith("#")), None)
        if k is None or (not block and any(ln.strip() for ln in lines[k + 1:])):
            self.trailing[key] = note
            return "\n".join(lines)
        lines[k] = _with_note(lines[k], note)
        return "\n".join(lines)

    def _closers(self, s, lines: list[str], ind: str) -> None:
        """Put the comments after the `}`s of s's blocks (in the source) at the end of
        the printed lines that close them: at s's own indentation, in order."""
        if isinstance(s, (S.StructDef, S.EnumDef)):
            where = [self.braces.end_of_block(s.span.line, s.span.col)[0]]
        else:
            where = self._block_ends(s)
        printed = [i for i, ln in enumerate(lines) if ln.startswith(ind + "}")]
        for i, line in zip(printed, where):
            note = self.trailing.pop(line, None)
            if note is not None:
                lines[i] = _with_note(lines[i], note)

    def _block_ends(self, s) -> list[int]:
        """The source lines of the `}`s that close s's blocks at its own level, in order
        (an if's, each else if's, its else's)."""
        first = self.braces.end_of_block(s.span.line, s.span.col)
        if not isinstance(s, S.If):
            return [first[0]]
        out, orelse, after = [first[0]], s.orelse, first
        while len(orelse) == 1 and isinstance(orelse[0], S.If) and not orelse[0].comment:
            after = self.braces.end_of_block(orelse[0].span.line, orelse[0].span.col)
            out.append(after[0])
            orelse = orelse[0].orelse
        if orelse:
            line, col = self.braces.position(after[1] + 1)
            out.append(self.braces.end_of_block(line, col)[0])
        return out

    def _comments_before(self, line: int, depth: int) -> list:
        lines = sorted(n for n in self.free if n < line)
        out = []
        for n in lines:
            text = self.free.pop(n)
            out.append((n, n, "    " * depth + ("# " + text if text else "#") + "\n"))
        return out

    def stmt(self, s, depth: int) -> str:
        ind = "    " * depth
        comment = "".join(f"{ind}# {ln}".rstrip(" ") + "\n" for ln in s.comment.split("\n")) if s.comment else ""

        first_end = self.braces.end_of_block(s.span.line, s.span.col)

        def body(stmts, d=depth + 1, end=first_end[0]):
            return self.block(stmts, d, end)
        if isinstance(s, S.FnDef):
            params = ", ".join(f"{p.name}: {type_src(p.annot)}" for p in s.params)
            ret = f" -> {type_src(s.ret)}" if s.ret is not None else ""
            return f"{comment}{ind}fn {s.name}({params}){ret} {{\n{body(s.body)}{ind}}}\n"
        if isinstance(s, S.While):
            return f"{comment}{ind}while {expr_src(s.cond)} {{\n{body(s.body)}{ind}}}\n"
        if isinstance(s, S.ForRange):
            return (f"{comment}{ind}for {s.var} in {expr_src(s.start)}..{expr_src(s.stop)} {{\n"
                    f"{body(s.body)}{ind}}}\n")
        if isinstance(s, S.ForEach):
            return f"{comment}{ind}for {s.var} in {expr_src(s.iterable)} {{\n{body(s.body)}{ind}}}\n"
        if isinstance(s, S.If):
            out = f"{comment}{ind}if {expr_src(s.cond)} {{\n{body(s.then)}{ind}}}"
            orelse, after = s.orelse, first_end
            while len(orelse) == 1 and isinstance(orelse[0], S.If) and not orelse[0].comment:
                o = orelse[0]
                after = self.braces.end_of_block(o.span.line, o.span.col)
                out += f" else if {expr_src(o.cond)} {{\n{body(o.then, end=after[0])}{ind}}}"
                orelse = o.orelse
            if orelse:
                line, col = self.braces.position(after[1] + 1)
                out += f" else {{\n{body(orelse, end=self.braces.end_of_block(line, col)[0])}{ind}}}"
            return out + "\n"
        if isinstance(s, S.Match):
            arms = ""
            for a in s.arms:
                pat = (f"{a.enum}." if a.enum else "") + a.variant + (f"({', '.join(a.binds)})" if a.binds else "")
                above = "".join(t for _, _, t in self._comments_before(a.span.line, depth + 1))
                head = self._noted(f"{ind}    {pat} => {{", a.span.line)
                arm_end = self.braces.end_of_block(a.span.line, a.span.col)[0]
                arms += f"{above}{head}\n{body(a.body, depth + 2, arm_end)}{self._noted(ind + '    }', arm_end)}\n"
            arms += self._closing_comments(first_end[0], depth + 1)
            return f"{comment}{ind}match {expr_src(s.subject)} {{\n{arms}{ind}}}\n"
        if isinstance(s, S.StructDef):
            lines = [f.span.line for f in s.fields]
            fields = "".join(self._member(f"{f.name}: {type_src(f.annot)}", f.span.line, depth + 1,
                                          last=k + 1 == len(lines) or lines[k + 1] != f.span.line)
                             for k, f in enumerate(s.fields))
            fields += self._closing_comments(first_end[0], depth + 1)
            return f"{comment}{ind}struct {s.name} {{\n{fields}{ind}}}\n"
        if isinstance(s, S.EnumDef):
            vs = [v.name + (f"({', '.join(type_src(t) for t in v.payload)})" if v.payload else "") for v in s.variants]
            lines = [v.span.line for v in s.variants]
            members = "".join(self._member(v + ("," if k < len(vs) - 1 else ""), lines[k], depth + 1,
                                           last=k + 1 == len(lines) or lines[k + 1] != lines[k])
                              for k, v in enumerate(vs))
            members += self._closing_comments(first_end[0], depth + 1)
            return f"{comment}{ind}enum {s.name} {{\n{members}{ind}}}\n"
        return stmt_src(s, depth)

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



def _with_note(line: str, note: str) -> str:
    return line + ("  # " + note if note else "  #")


class _Braces:
    """Where each block's `}` is in the source (a statement's span ends with its last
    statement, not its brace): the comments before it belong inside the block."""

    def __init__(self, text: str):
        self.text = text
        self.starts = [0]
        for i, c in enumerate(text):
            if c == "\n":
                self.starts.append(i + 1)
        self.close: dict[int, int] = {}              # offset of `{` -> offset of its `}`
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
                stack.append((c, i))
            elif c in ")]}" and stack:
                o, at = stack.pop()
                if o == "{":
                    self.close[at] = i
            i += 1

    def position(self, offset: int) -> tuple[int, int]:
        import bisect
        k = bisect.bisect_right(self.starts, offset) - 1
        return k + 1, offset - self.starts[k] + 1

    def end_of_block(self, line: int, col: int) -> tuple[int, int]:
        """(line, offset) of the `}` closing the first block that opens at or after
        (line, col) outside parentheses and brackets."""
        i = self.starts[line - 1] + col - 1 if line - 1 < len(self.starts) else len(self.text)
        depth, text = 0, self.text
        while i < len(text):
            c = text[i]
            if c == '"':
                i += 1
                while i < len(text) and text[i] not in '"\n':
                    i += 2 if text[i] == "\\" else 1
            elif c == "#":
                while i < len(text) and text[i] != "\n":
                    i += 1
                continue
            elif c in "([":
                depth += 1
            elif c in ")]":
                depth -= 1
            elif c == "{" and depth <= 0 and i in self.close:
                end = self.close[i]
                return self.position(end)[0], end
            i += 1
        return len(self.starts) + 1, len(text)
