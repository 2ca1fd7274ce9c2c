"""Diagnostics as JSON, for tools (`dp check --json`, `dp run --json`, `dp fmt --json`,
`dp test --json`): one object per diagnostic, with the fields an editor or a CI
annotation needs. Lines and columns are 1-based, as in the text diagnostics; the end
column is exclusive."""
from __future__ import annotations

import json

from dp.dsl.diagnostics import Diagnostic, DPError


def diagnostic(d: Diagnostic) -> dict:
    s = d.span
    at = s is not None and s.line > 0
    return {
        "file": s.file if s is not None else None,
        "line": s.line if at else None,
        "column": s.col if at else None,
        "end_line": s.end_line if at else None,
        "end_column": s.end_col if at else None,
        "severity": "note" if d.kind == "note" else "error",
        "kind": d.kind,
        "message": d.message,
        "hint": d.hint,
        "stack": [{"function": name, "file": sp.file, "line": sp.line, "column": sp.col} for name, sp in d.stack],
    }


def error(e: DPError) -> list[dict]:
    return [diagnostic(d) for d in e.diagnostics]


def plain(kind: str, message: str, file: str | None = None, hint: str | None = None) -> dict:
    """A diagnostic that points at no place in a source: a file that cannot be read."""
    from dp.dsl.span import Span
    return diagnostic(Diagnostic(kind, message, Span(file, 0, 0, 0, 0) if file else None, hint))


def dumps(report: dict) -> str:
    return json.dumps(report, ensure_ascii=False, indent=None)
