"""Diagnostics: every error a user can cause, with its span, a caret and a hint."""
from __future__ import annotations

import os

from .records import Record, define, field, record
from .span import Span

TAB_STOP = 4        # a tab in a quoted line is shown as spaces to the next multiple of 4, as rustc does


class SourceRegistry:
    """The text of every source a session has seen, so its diagnostics can quote their
    lines. Each session has its own (interpreter/session.py): two interpreters that
    both call an input `<input 1>` quote their own."""

    def __init__(self) -> None:
        self._texts: dict[str, list[str]] = {}

    def add(self, file: str, text: str) -> None:
        # lines end at "\n" only, as the lexer counts them (splitlines would also end
        # one at a form feed or a lone "\r", and quote the wrong line after it)
        self._texts[file] = [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]

    def __contains__(self, file: str) -> bool:
        return file in self._texts

    def line(self, file: str, line: int) -> str | None:
        lines = self._texts.get(file)
        if lines is None or not (1 <= line <= len(lines)):
            return None
        return lines[line - 1]

    def quote(self, error: "DPError") -> "DPError":
        """Give each of error's diagnostics the source line it points at, from here,
        unless it has one already; returns error."""
        for d in error.diagnostics:
            if d.source_line is None and d.span is not None:
                d.source_line = self.line(d.span.file, d.span.line)
        return error


@record
class Diagnostic(Record):
    kind: str                      # "syntax error", "type error", "runtime error", ...
    message: str
    span: Span | None
    hint: str | None = None
    stack: list[tuple[str, Span]] = field(default_factory=list)   # (function, call site)
    source_line: str | None = None  # the text of the span's line, quoted under the message

    @property
    def file(self) -> str | None:
        return self.span.file if self.span else None

    @property
    def line(self) -> int | None:
        return self.span.line if self.span else None

    @property
    def column(self) -> int | None:
        return self.span.col if self.span else None

    def render(self, colour: bool = False) -> str:
        """The diagnostic as text: `file:line:col: kind: message`, the source line with a
        caret under the span, the hint and the DP call stack. colour adds ANSI colours
        (see use_colour)."""
        paint = _paint if colour else _plain
        where = f"{paint(str(self.span), BOLD)}: " if self.span else ""
        head = f"{where}{paint(self.kind + ':', _KIND_COLOUR.get(self.kind, RED))} {paint(self.message, BOLD)}"
        out = [head]
        if self.span:
            quoted = _quote(self.span, self.source_line)
            if quoted:
                gutter, text, pad, carets = quoted
                out += [paint(gutter, BLUE) + text, " " * len(gutter) + pad + paint(carets, RED)]
        if self.hint:
            out.append(f"  {paint('hint:', CYAN)} {self.hint}")
        if self.stack:
            out.append("  DP call stack (most recent call last):")
            for name, span in self.stack:
                out.append(f"    {span} in {name}")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.render()


define((Diagnostic,), __file__ + ":diagnostics", by_value=(Diagnostic,))     # its methods (dsl/records.py)
Diagnostic.__hash__ = None                # compared by value, and mutable: unhashable


# ANSI colours (SGR codes), as compilers use them: the kind red, the caret red, the hint cyan
BOLD, RED, YELLOW, BLUE, CYAN = "1", "1;31", "1;33", "1;34", "1;36"
_KIND_COLOUR = {"warning": YELLOW}


def _paint(text: str, code: str) -> str:
    return f"\x1b[{code}m{text}\x1b[0m"


def _plain(text: str, code: str) -> str:
    return text


def use_colour(stream) -> bool:
    """Whether diagnostics written to stream are coloured: only on a terminal, never
    when the NO_COLOR environment variable is set to anything (no-color.org) or the
    terminal is `dumb`."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):   # no isatty, or a closed stream
        return False


def _width(ch: str) -> int:
    """The columns a character takes on a terminal: 2 for a wide (East Asian, emoji)
    character, 0 for a combining one; a control character is shown as 1. (ASCII needs
    no table: wcwidth is imported only for a line that has other characters, so a
    program that runs without an error never pays for importing it.)"""
    if " " <= ch <= "~":
        return 1
    import wcwidth
    w = wcwidth.wcwidth(ch)
    return 1 if w < 0 else w


def _expand(text: str) -> tuple[str, list[int]]:
    """text with its tabs as spaces (to the next multiple of TAB_STOP), and the display
    column (0-based) at which each character of text starts, one more entry for its end."""
    shown, starts, at = [], [], 0
    for ch in text:
        starts.append(at)
        if ch == "\t":
            n = TAB_STOP - at % TAB_STOP
            shown.append(" " * n)
            at += n
        else:
            shown.append(ch)
            at += _width(ch)
    starts.append(at)
    return "".join(shown), starts


def _quote(span: Span, text: str | None) -> tuple[str, str, str, str] | None:
    """(gutter, the source line as shown, the spaces before the caret, the carets):
    the caret stands under the span's characters however wide they show (tabs, wide
    characters), since columns count characters."""
    if text is None:
        return None
    shown, starts = _expand(text)
    # a column past the end of the line (an end of input) is shown as past it
    starts += [starts[-1] + k for k in range(1, max(span.col, span.end_col) - len(text))]
    first = max(span.col - 1, 0)
    last = span.end_col - 1 if span.end_line == span.line else len(text)
    last = min(max(last, first), len(starts) - 1)
    width = max(1, starts[last] - starts[first])
    return f"{span.line:>4} | ", shown, " " * starts[first], "^" * width


class DPError(Exception):
    """The one exception DP raises to its users: one or more diagnostics."""

    def __init__(self, diagnostics: list[Diagnostic] | Diagnostic):
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics = diagnostics
        super().__init__(diagnostics)

    def __str__(self) -> str:
        return self.render()

    @property
    def first(self) -> Diagnostic:
        return self.diagnostics[0]

    @property
    def message(self) -> str:
        return self.first.message

    @property
    def file(self):
        return self.first.file

    @property
    def line(self):
        return self.first.line

    @property
    def column(self):
        return self.first.column

    def render(self, colour: bool = False) -> str:
        return "\n".join(d.render(colour) for d in self.diagnostics)


def did_you_mean(name: str, candidates) -> str | None:
    import difflib
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None


class DPRuntimeError(Exception):
    """Raised by runtime helpers (the primitives' implementations among them); the
    session turns it into a diagnostic with the span of the DP expression that was
    running."""

    def __init__(self, message: str, hint: str | None = None, kind: str = "runtime error"):
        super().__init__(message)
        self.message, self.hint, self.kind = message, hint, kind
