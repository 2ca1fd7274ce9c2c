"""DP spans (1-based lines and columns, counted in characters, end exclusive) and LSP
positions (0-based lines, columns counted in UTF-16 code units)."""
from __future__ import annotations

from dp.dsl.span import Span


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class Lines:
    """A document's text by line, to convert columns both ways."""

    def __init__(self, text: str):
        self.text = text
        self.lines = text.split("\n")

    def line(self, n: int) -> str:
        """Line n, 1-based ('' past the end)."""
        return self.lines[n - 1].rstrip("\r") if 1 <= n <= len(self.lines) else ""

    def to_lsp(self, line: int, col: int) -> tuple[int, int]:
        """A DP (line, column) as an LSP (line, character)."""
        if line < 1:
            return 0, 0
        text = self.line(line)
        return line - 1, utf16_len(text[:max(0, col - 1)])

    def from_lsp(self, line: int, character: int) -> tuple[int, int]:
        """An LSP (line, character) as a DP (line, column)."""
        text = self.line(line + 1)
        units, col = 0, 0
        while col < len(text) and units < character:
            units += utf16_len(text[col])
            col += 1
        return line + 1, col + 1

    def offset(self, line: int, col: int) -> int:
        """The index in text of a DP (line, column)."""
        return sum(len(x) + 1 for x in self.lines[:line - 1]) + col - 1

    def span_range(self, span: Span) -> tuple[tuple[int, int], tuple[int, int]]:
        return self.to_lsp(span.line, span.col), self.to_lsp(span.end_line, span.end_col)


def contains(span: Span, line: int, col: int) -> bool:
    """Whether the DP position (line, col) is in span (its end included: a cursor just
    after a name is on it)."""
    if span is None or span.line < 1:
        return False
    if (line, col) < (span.line, span.col):
        return False
    return (line, col) <= (span.end_line, span.end_col)


def size(span: Span) -> tuple[int, int]:
    """A span's extent, to pick the innermost of several that contain a position."""
    return (span.end_line - span.line, span.end_col - span.col if span.end_line == span.line else 10 ** 6)
