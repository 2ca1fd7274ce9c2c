"""Source positions. Every AST node carries one; every diagnostic points at one."""
from __future__ import annotations

from .records import Record, define, record


@record(frozen=True, slots=True)
class Span(Record):
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

    def __reduce__(self):
        # pickled as the arguments it is made from: a cached syntax tree (dsl/cache.py)
        # holds thousands, read back faster so than through a __setstate__
        return Span, (self.file, self.line, self.col, self.end_line, self.end_col)


define((Span,), __file__ + ":span", by_value=(Span,))      # its methods (dsl/records.py)
NOWHERE = Span("<generated>", 0, 0, 0, 0)
