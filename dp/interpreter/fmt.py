"""`dp fmt FILE…`: DP files printed in DP's one layout, by the printer the language
server formats with (interpreter/lsp/formatting.py), which keeps the comments.

A file is rewritten only when its text changes; `--check` rewrites nothing and exits 1
if some file would change (for CI). Every comment is kept where it was. A file that does
not parse is left as it is, with the parser's diagnostic, and the exit status is 1.
`-` formats standard input to standard output."""
from __future__ import annotations

import sys

from dp.dsl.diagnostics import Diagnostic, DPError
from dp.dsl.span import Span


def format_files(paths: list[str], check: bool, report) -> int:
    """Format paths (or check them); report receives what is said. The exit status:
    0, 1 (a file would change under --check, or could not be formatted), 2 (a file
    cannot be read)."""
    from .files import read_source
    status = 0
    for path in paths:
        try:
            text = sys.stdin.read() if path == "-" else read_source(path)
        except OSError as e:
            report.unreadable(path, e.strerror or str(e))
            status = 2
            continue
        except DPError as e:                      # not UTF-8
            report.error(e)
            status = max(status, 1)
            continue
        shown = "<stdin>" if path == "-" else path
        try:
            out = format_source(text, shown)
        except DPError as e:
            report.error(e, text)
            status = max(status, 1)
            continue
        if path == "-":
            report.output(out)
        elif out != text:
            if check:
                report.note(f"would reformat {path}")
                report.changed.append(path)
                status = max(status, 1)
            else:
                try:
                    with open(path, "w", encoding="utf-8") as f:
                        f.write(out)
                except OSError as e:
                    report.unreadable(path, e.strerror or str(e), "cannot write")
                    status = 2
                    continue
                report.note(f"reformatted {path}")
                report.changed.append(path)
    return status


def format_source(text: str, file: str) -> str:
    """text formatted; DPError when it does not parse (the parser's diagnostic)."""
    from .lsp.formatting import Refused, format_text
    try:
        return format_text(text, file)
    except Refused as e:
        if e.error is not None:
            raise e.error from None                # a syntax error: the parser's own diagnostic
        lines = text.split("\n")
        line = e.line if e.line is not None and e.line <= len(lines) else 1
        span = Span(file, line, 1, line, max(2, 1 + len(lines[line - 1].rstrip())))
        raise DPError(Diagnostic("format error", f"not formatted: {e}", span, "the file is left as it is",
                                 source_line=lines[line - 1])) from None
