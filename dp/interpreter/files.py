"""Reading a .dp file: `dp run`, `dp check`, `dp grad`, `import`, the REPL's `:load`
and `Interpreter.load_file` all read source this way. DP source is UTF-8; a byte-order
mark at the start is dropped (as editors on Windows write one). A file that is not
UTF-8 is a DP diagnostic at its first bad byte, with the line quoted."""
from __future__ import annotations

from dp.dsl.diagnostics import Diagnostic, DPError
from dp.dsl.span import Span

BOM = b"\xef\xbb\xbf"


def read_source(path: str, shown: str | None = None) -> str:
    """The text of the file at path; OSError if it cannot be read, DPError if it is not
    UTF-8 text. shown is how diagnostics name the file (default: path)."""
    with open(path, "rb") as f:
        data = f.read()
    return decode_source(data, shown if shown is not None else str(path))


def decode_source(data: bytes, file: str) -> str:
    if data.startswith(BOM):
        data = data[len(BOM):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        before = data[:e.start]
        line = before.count(b"\n") + 1
        start = before.rfind(b"\n") + 1
        col = len(before[start:].decode("utf-8", "replace")) + 1
        end = data.find(b"\n", e.start)
        text = data[start:end if end >= 0 else len(data)].decode("utf-8", "replace").rstrip("\r")
        d = Diagnostic("syntax error", f"this file is not UTF-8 text: byte 0x{data[e.start]:02x} cannot be read",
                       Span(file, line, col, line, col + 1), "save the file as UTF-8")
        d.source_line = text
        raise DPError(d) from None
