""""Show derivative": a function's derived code (`grad`, the jvp, or the pullback) as a
read-only document the editor opens beside the source.

Such a document has a URI of its own scheme, `dp-derivative:`, which names the
source document, the function and the mode; the server makes its text when the
editor asks for it (`workspace/textDocumentContent`), from the current version of the
source, so it is never stale and never written to disk."""
from __future__ import annotations

from urllib.parse import parse_qs, quote, unquote, urlencode, urlparse

from dp.dsl import syntax as S
from dp.dsl.diagnostics import DPError
from dp.dsl.types import FnT

SCHEME = "dp-derivative"
MODES = {"reverse": "grad", "forward": "jvp", "vjp": "vjp"}


def derivative_uri(document_uri: str, name: str, mode: str = "reverse") -> str:
    query = urlencode({"source": document_uri, "mode": mode})
    return f"{SCHEME}:/{quote(name)}.{MODES[mode]}.dp?{query}"


def parse_derivative_uri(uri: str) -> tuple[str, str, str] | None:
    """(source document URI, function name, mode) of a derivative document's URI."""
    u = urlparse(uri)
    if u.scheme != SCHEME:
        return None
    q = parse_qs(u.query)
    path = unquote(u.path.lstrip("/"))
    name = path.rsplit(".", 2)[0] if path.count(".") >= 2 else path
    mode = q.get("mode", ["reverse"])[0]
    if "source" not in q or mode not in MODES or not name:
        return None
    return q["source"][0], name, mode


def derivative_text(analysis, name: str, mode: str = "reverse", wrt: int | None = None) -> str:
    """The derived source of function name, headed by a comment saying what it is;
    raises DPError (what `dp grad` would say) when there is none."""
    src = analysis.analyzer.derived_source(analysis, name, mode, wrt)
    what = {"reverse": f"grad({name}" + (f", {wrt}" if wrt is not None else "") + ")",
            "forward": f"jvp({name}, primals, tangents)", "vjp": f"vjp({name}, args…)"}[mode]
    base = analysis.file.rsplit("/", 1)[-1]
    return f"# {what}: the code DP derives from `{name}` in {base} (read-only)\n\n{src.rstrip()}\n"


def lenses(analysis) -> list[tuple[S.FnDef, str]]:
    """(function, mode) for each function of the document and each mode its derivative
    can be shown in: reverse when `grad(f)` checks, forward when `jvp` does."""
    out = []
    if analysis.prog is None or analysis.env is None:
        return out
    for s in analysis.prog.body:
        if not isinstance(s, S.FnDef) or not isinstance(s.ty, FnT) or not s.checked:
            continue
        if analysis.analyzer.check_expression(analysis, f"grad({s.name})") is not None:
            out.append((s, "reverse"))
        if s.ty.ret.active and any(t.active for t in s.ty.params):
            out.append((s, "forward"))
    return out


def error_text(e: DPError) -> str:
    return "\n".join(d.message + (f" ({d.hint})" if d.hint else "") for d in e.diagnostics if d.kind != "note")
