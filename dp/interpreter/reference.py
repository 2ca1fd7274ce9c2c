"""What the reference documentation (docs/*.md) says about a name: the REPL's `:doc
NAME` and `?NAME`.

The docs describe builtins in tables whose first column spells the calls
(`` `zeros(n)`, `zeros([2, 3])` ``) and in paragraphs that name them in backticks. An
entry for a name is the table row whose first cell calls or names it, else the first
paragraph that does; a module's member (`optim.adam`) is looked up in that module's
section of stdlib.md only, and a module itself (`optim`) gives its section's opening
paragraph. The docs sit beside the source tree in a checkout (`docs/`); an installed
copy has them under `sys.prefix/share/dp/docs` (pyproject's data-files). Without
either, lookups find nothing and the callers fall back to the primitive table's own
one-line docs."""
from __future__ import annotations

import functools
import os
import re
import sys
from dataclasses import dataclass


def docs_dir(module_file: str = __file__, prefix: str = sys.prefix) -> str:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(module_file))))
    if os.path.isfile(os.path.join(root, "pyproject.toml")):         # a checkout
        return os.path.join(root, "docs")
    return os.path.join(prefix, "share", "dp", "docs")


DOCS_DIR = docs_dir()
# Reference pages first: where a name is described, not where it is mentioned in passing.
ORDER = ["language.md", "tensors.md", "derivatives.md", "stdlib.md", "repl.md"]


@dataclass(frozen=True)
class Entry:
    file: str           # docs/tensors.md
    section: str        # the heading above it, "Making tensors"
    text: str           # the row as `call — description`, or the paragraph, backticks kept
    is_row: bool

    def render(self, width: int = 88, most: int = 600) -> str:
        import textwrap
        text = self.text if len(self.text) <= most else self.text[:most].rsplit(" ", 1)[0] + " …"
        return textwrap.fill(text, width) + f"\n  ({self.file}, “{self.section}”)"


@functools.lru_cache(maxsize=1)
def _entries(docs_dir: str = DOCS_DIR) -> tuple[Entry, ...]:
    try:
        names = os.listdir(docs_dir)
    except OSError:
        return ()
    pages = [n for n in ORDER if n in names] + sorted(n for n in names if n.endswith(".md") and n not in ORDER)
    out = []
    for name in pages:
        try:
            with open(os.path.join(docs_dir, name), encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError):
            continue
        out += _page_entries(f"docs/{name}", text)
    return tuple(out)


def _page_entries(file: str, text: str) -> list[Entry]:
    out, section, para, fenced = [], "", [], False

    def flush():
        if para:
            out.append(Entry(file, section, " ".join(line.strip() for line in para), False))
            para.clear()
    for line in text.split("\n"):
        if line.startswith("```"):
            flush()
            fenced = not fenced
            continue
        if fenced:
            continue
        if line.startswith("#"):
            flush()
            section = line.lstrip("#").strip()
        elif line.startswith("|"):
            flush()
            cells = [c.strip() for c in _cells(line)]
            if cells and not set("".join(cells)) <= set("-: ") and cells[0] not in ("function", "call", "operator",
                                                                                    "command", "on", "method"):
                rest = [c for c in cells[1:] if c]
                out.append(Entry(file, section, cells[0] + (" — " + " — ".join(rest) if rest else ""), True))
        elif not line.strip():
            flush()
        else:
            if line.lstrip().startswith(("- ", "* ")):       # each item of a list on its own
                flush()
                line = line.lstrip()[2:]
            para.append(line)
    flush()
    return out


def _cells(line: str) -> list[str]:
    """The cells of a table row, `|` inside backticks kept (`` `:grad NAME [N] [forward\\|vjp]` ``)."""
    cells, cur, tick = [], "", False
    body = line.strip().strip("|")
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body) and body[i + 1] == "|":
            cur += "|"
            i += 2
            continue
        if c == "`":
            tick = not tick
        if c == "|" and not tick:
            cells.append(cur)
            cur = ""
        else:
            cur += c
        i += 1
    cells.append(cur)
    return cells


def _names_in(cell: str) -> set[str]:
    """The names a table's first cell calls or names: `zeros` in `` `zeros(n)` ``, each
    of `` `sqrt`, `exp` `` and of a bare list in one pair of backticks."""
    names = set()
    for code in re.findall(r"`([^`]*)`", cell):
        m = re.match(r"\s*([A-Za-z_][\w.]*)\s*\(", code)
        if m:
            names.add(m.group(1))
        elif re.fullmatch(r"[A-Za-z_][\w.]*(\s+[A-Za-z_][\w.]*)*", code.strip()):
            names.update(code.split())
        names.update(re.findall(r"(?:^|[^\w.])([A-Za-z_]\w*)\(", code))
    return names


def _mentions(text: str, name: str) -> bool:
    """Whether a paragraph names `name` in backticks: `` `name` ``, `` `name(…)` `` or in a list `` `exp log` ``."""
    pat = re.compile(rf"(?<![\w.]){re.escape(name)}(?![\w])")
    return any(pat.search(code) and (code.strip() == name or re.search(rf"(?<![\w.]){re.escape(name)}\s*\(", code)
                                     or re.fullmatch(r"[\w ]+", code.strip()))
               for code in re.findall(r"`([^`]+)`", text))


def lookup(name: str, docs_dir: str = DOCS_DIR, limit: int = 2) -> list[Entry]:
    """What the docs say about name (a builtin, a keyword, a module or a module's
    member): table rows first, else paragraphs, at most limit of them."""
    entries = _entries(docs_dir)
    module, _, member = name.rpartition(".")
    if module:
        entries = tuple(e for e in entries if e.file.endswith("stdlib.md") and e.section == f"`{module}`")
        name = member
    elif any(e.section == f"`{name}`" for e in entries):          # a standard module
        return [next(e for e in entries if e.section == f"`{name}`" and not e.is_row)][:limit]
    else:               # a builtin: not a standard module's member of the same name
        entries = tuple(e for e in entries if not (e.file.endswith("stdlib.md") and e.section.startswith("`")))
    call = re.compile(rf"`{re.escape(name)}\s*\(")
    # rows that only send the reader elsewhere (`see [derivatives.md](…)`) say nothing here
    rows = [e for e in entries if e.is_row and name in _names_in(e.text.split(" — ")[0])
            and not re.fullmatch(r".* — see \[[^]]*\]\([^)]*\)", e.text)]
    if rows:            # page order kept; on a page, a row that spells the call first
        return sorted(rows, key=lambda e: (ORDER.index(e.file[5:]) if e.file[5:] in ORDER else len(ORDER),
                                           not call.search(e.text.split(" — ")[0])))[:limit]
    paras = [e for e in entries if not e.is_row and _mentions(e.text, name)]

    def rank(e: Entry) -> int:    # a paragraph that opens with the name, then one that calls it
        first = re.match(r"`([^`]+)`", e.text)
        return 0 if first and _mentions(first.group(0), name) else 1 if call.search(e.text) else 2
    return sorted(paras, key=rank)[:limit]
