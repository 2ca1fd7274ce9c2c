"""Diagnostics: every error a user can cause, with its span, a caret and a hint."""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from .span import Span


class SourceRegistry:
    """The text of every source a session has seen, so its diagnostics can quote their
    lines. Each session has its own (interpreter/session.py): two interpreters that
    both call an input `<input 1>` quote their own."""

    def __init__(self) -> None:
        self._texts: dict[str, list[str]] = {}

    def add(self, file: str, text: str) -> None:
        self._texts[file] = text.splitlines()

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


@dataclass
class Diagnostic:
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

    def render(self) -> str:
        head = f"{self.span}: {self.kind}: {self.message}" if self.span else f"{self.kind}: {self.message}"
        out = [head]
        if self.span:
            out += _quote(self.span, self.source_line)
        if self.hint:
            out.append(f"  hint: {self.hint}")
        if self.stack:
            out.append("  DP call stack (most recent call last):")
            for name, span in self.stack:
                out.append(f"    {span} in {name}")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.render()


def _quote(span: Span, text: str | None) -> list[str]:
    if text is None:
        return []
    width = (span.end_col - span.col) if span.end_line == span.line else len(text) - span.col + 1
    width = max(1, width)
    gutter = f"{span.line:>4} | "
    return [gutter + text, " " * (len(gutter) + span.col - 1) + "^" * width]


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

    def render(self) -> str:
        return "\n".join(d.render() for d in self.diagnostics)


def did_you_mean(name: str, candidates) -> str | None:
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None


class DPRuntimeError(Exception):
    """Raised by runtime helpers (the primitives' implementations among them); the
    session turns it into a diagnostic with the span of the DP expression that was
    running."""

    def __init__(self, message: str, hint: str | None = None, kind: str = "runtime error"):
        super().__init__(message)
        self.message, self.hint, self.kind = message, hint, kind
