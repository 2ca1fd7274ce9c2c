"""Formatting a whole DP document with DP's printer (dsl/printer.py), keeping the
comment lines above statements and the blank lines between statements.

The printer keeps only the comments that stand on their own lines right above a
statement; a comment at the end of a line, inside an expression or before a blank line
would be lost. Formatting refuses such a file, saying which lines hold the comments
it would drop, rather than lose them. It also refuses a file that does not parse, and
checks that the text it makes parses to the program it was given."""
from __future__ import annotations

from collections import Counter

from dsl import syntax as S
from dsl.diagnostics import DPError
from dsl.parser import parse
from dsl.printer import expr_src, program_src, stmt_src, type_src


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
    out = _Format().block(prog.body, 0)
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
                      f"{where}: DP's printer keeps only comments on their own lines right above a statement "
                      "(not at the end of a line, inside an expression, or above a blank line)")
    try:
        same = program_src(parse(out, file)) == program_src(prog)
    except DPError:
        same = False
    if not same:
        raise Refused("DP's printer could not print this file back as the same program; please report it")
    return out


class _Format:
    """The printer's output, statement by statement, with the source's blank lines."""

    def block(self, stmts, depth: int) -> str:
        out, prev_end = [], None
        for s in stmts:
            start = s.span.line - (len(s.comment.split("\n")) if s.comment else 0)
            if prev_end is not None and start - prev_end > 1:
                out.append("\n")
            out.append(self.stmt(s, depth))
            prev_end = s.span.end_line
        return "".join(out)

    def stmt(self, s, depth: int) -> str:
        ind = "    " * depth
        comment = "".join(f"{ind}# {ln}".rstrip(" ") + "\n" for ln in s.comment.split("\n")) if s.comment else ""

        def body(stmts, d=depth + 1):
            return self.block(stmts, d)
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
            orelse = s.orelse
            while len(orelse) == 1 and isinstance(orelse[0], S.If) and not orelse[0].comment:
                o = orelse[0]
                out += f" else if {expr_src(o.cond)} {{\n{body(o.then)}{ind}}}"
                orelse = o.orelse
            if orelse:
                out += f" else {{\n{body(orelse)}{ind}}}"
            return out + "\n"
        if isinstance(s, S.Match):
            arms = ""
            for a in s.arms:
                pat = (f"{a.enum}." if a.enum else "") + a.variant + (f"({', '.join(a.binds)})" if a.binds else "")
                arms += f"{ind}    {pat} => {{\n{body(a.body, depth + 2)}{ind}    }}\n"
            return f"{comment}{ind}match {expr_src(s.subject)} {{\n{arms}{ind}}}\n"
        return stmt_src(s, depth)
