"""Source positions. Every AST node carries one; every diagnostic points at one."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    file: str
    line: int
    col: int          # 1-based
    end_line: int
    end_col: int      # 1-based, exclusive

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    def to(self, other: "Span") -> "Span":
        """The span from the start of self to the end of other."""
        return Span(self.file, self.line, self.col, other.end_line, other.end_col)


NOWHERE = Span("<generated>", 0, 0, 0, 0)
