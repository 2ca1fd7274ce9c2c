"""`dp lsp`: DP's language server over stdio, on pygls. This module only translates
between LSP and the analyses of the modules beside it."""
from __future__ import annotations

import functools
import logging
import os
import re

from lsprotocol import types as T
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, lsp_method
from pygls.uris import from_fs_path, to_fs_path

from dp.dsl import syntax as S
from dp.dsl.diagnostics import DPError
from dp.dsl.types import FnT

from .. import VERSION
from . import derivative as D
from .activity import program_activity
from .analysis import Analysis, Analyzer
from .completion import complete, open_call, signatures
from .describe import hover_builtin, hover_definition, user_builtins
from .formatting import Refused, format_text
from .index import Index, Key, build_index
from .positions import Lines

REQUEST_FAILED = -32803
DERIVE_AFTER = 0.4          # seconds the text must be still before its derivatives are made
SHOW_DERIVATIVE = "dp.showDerivative"

COMPLETION_KINDS = {"variable": T.CompletionItemKind.Variable, "function": T.CompletionItemKind.Function,
                    "field": T.CompletionItemKind.Field, "method": T.CompletionItemKind.Method,
                    "module": T.CompletionItemKind.Module, "struct": T.CompletionItemKind.Struct,
                    "enum": T.CompletionItemKind.Enum, "variant": T.CompletionItemKind.EnumMember,
                    "keyword": T.CompletionItemKind.Keyword, "type": T.CompletionItemKind.TypeParameter}
KEYWORDS = {"let", "var", "fn", "struct", "enum", "if", "else", "while", "for", "in", "match", "return", "break",
            "continue", "true", "false", "inf", "nan", "import", "derivative"}


class DPProtocol(LanguageServerProtocol):
    @lsp_method(T.INITIALIZE)
    def lsp_initialize(self, params):
        result = yield from super().lsp_initialize(params)
        # derivative documents are served by `workspace/textDocumentContent` (LSP 3.18)
        self.server_capabilities.workspace.text_document_content = T.TextDocumentContentOptions(schemes=[D.SCHEME])
        return result


class Document:
    """What the server knows of one open document: its latest analysis, and the latest
    one that parsed (what positions are looked up in while the text has a syntax error)."""

    def __init__(self, uri: str):
        self.uri = uri
        self.latest: Analysis | None = None
        self.good: Analysis | None = None
        self._index: tuple[Analysis, Index] | None = None
        self._facts: tuple[Analysis, dict] | None = None

    def index(self) -> Index | None:
        a = self.good
        if a is None:
            return None
        if self._index is None or self._index[0] is not a:
            self._index = (a, build_index(a))
        return self._index[1]

    def facts(self) -> dict:
        a = self.good
        if a is None or not a.checked:
            return {}
        if self._facts is None or self._facts[0] is not a:
            with a.analyzer.isolated():
                self._facts = (a, program_activity(a.prog, a.analyzer.session.ad))
        return self._facts[1]


class DPServer(LanguageServer):
    def __init__(self):
        super().__init__("dp", VERSION, protocol_cls=DPProtocol,
                         text_document_sync_kind=T.TextDocumentSyncKind.Incremental)
        self.analyzer = Analyzer()
        self.documents: dict[str, Document] = {}
        self.pending: dict = {}                          # uri -> the timer of its derive pass

    # ------------------------------------------------------------ documents
    def path_of(self, uri: str) -> str:
        p = to_fs_path(uri) if uri.startswith("file:") else None
        return os.path.realpath(p) if p else uri

    def uri_of(self, file: str) -> str:
        for uri, d in self.documents.items():
            if d.latest is not None and d.latest.file == file:
                return uri
        return from_fs_path(file) or file

    def canonical(self, file: str) -> str:
        return self.analyzer.module_file(file) or file

    def analyze(self, uri: str, derive: bool = True) -> Document:
        """Analyse the document and publish its diagnostics. derive False (while typing):
        check now, and make its derivatives (whose errors are rarer, and slower to find)
        once the text has been still for DERIVE_AFTER seconds."""
        doc = self.workspace.get_text_document(uri)
        d = self.documents.setdefault(uri, Document(uri))
        a = self.analyzer.analyze(self.path_of(uri), doc.source, doc.version, derive=derive)
        d.latest = a
        if a.ok:
            d.good = a
        self.publish(uri, a)
        if not derive and a.checked:
            self.derive_later(uri, a)
        return d

    def publish(self, uri: str, a: Analysis) -> None:
        self.text_document_publish_diagnostics(T.PublishDiagnosticsParams(
            uri=uri, version=a.version, diagnostics=self.lsp_diagnostics(a)))

    def derive_later(self, uri: str, a: Analysis) -> None:
        import asyncio
        old = self.pending.pop(uri, None)
        if old is not None:
            old.cancel()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return self.derive_now(uri, a)
        self.pending[uri] = loop.call_later(DERIVE_AFTER, self.derive_now, uri, a)

    def derive_now(self, uri: str, a: Analysis) -> None:
        self.pending.pop(uri, None)
        d = self.documents.get(uri)
        if d is None or d.latest is not a:               # edited again since: that analysis will do it
            return
        try:
            if self.analyzer.derive(a):
                self.publish(uri, a)
        except Exception as exc:                          # noqa: BLE001 — a bug in DP: say so, briefly
            self.window_log_message(T.LogMessageParams(T.MessageType.Error, f"dp: deriving failed: {exc}"))

    def document(self, uri: str) -> Document | None:
        d = self.documents.get(uri)
        if d is None and uri in self.workspace.text_documents:
            d = self.analyze(uri)
        return d

    def lines(self, file: str) -> Lines:
        """The text of any file DP has read, by its name in spans."""
        for d in self.documents.values():
            if d.good is not None and d.good.file == file:
                return d.good.lines
        texts = getattr(self.analyzer.session.sources, "_texts", {})
        if file in texts:
            return Lines("\n".join(texts[file]))
        try:
            with open(self.canonical(file), encoding="utf-8") as f:
                return Lines(f.read())
        except OSError:
            return Lines("")

    def range_of(self, span, lines: Lines | None = None) -> T.Range:
        if span is None or span.line < 1:
            return T.Range(T.Position(0, 0), T.Position(0, 0))
        lines = lines or self.lines(span.file)
        (l1, c1), (l2, c2) = lines.span_range(span)
        return T.Range(T.Position(l1, c1), T.Position(l2, c2))

    def location(self, span) -> T.Location:
        file = self.canonical(span.file)
        return T.Location(uri=self.uri_of(file), range=self.range_of(span))

    # ------------------------------------------------------------ diagnostics
    def lsp_diagnostics(self, a: Analysis) -> list[T.Diagnostic]:
        here, elsewhere = [], []
        for d in a.diagnostics:
            (here if d.span is None or d.span.file == a.file or d.span.line < 1 else elsewhere).append(d)
        out = []
        lines = a.lines
        for d in here:
            note = d.kind == "note"
            message = d.message + (f"\nhint: {d.hint}" if d.hint else "")
            related, kind = None, d.kind
            if note and elsewhere and "imported here" in d.message:
                first = elsewhere[0]
                message = f"{d.message}: {first.kind}: {first.message}" + (f"\nhint: {first.hint}" if first.hint else "")
                related = [T.DiagnosticRelatedInformation(self.location(e.span), f"{e.kind}: {e.message}")
                           for e in elsewhere]
                note, kind = False, first.kind
            out.append(T.Diagnostic(range=self.range_of(d.span, lines), message=message,
                                    severity=T.DiagnosticSeverity.Information if note else T.DiagnosticSeverity.Error,
                                    source="dp", code=kind, related_information=related))
        return out

    # ------------------------------------------------------------ positions
    def at(self, uri: str, position: T.Position):
        """(document, its analysis to answer from, DP line, DP column)."""
        d = self.document(uri)
        if d is None or d.good is None:
            return d, None, 0, 0
        line, col = d.good.lines.from_lsp(position.line, position.character)
        return d, d.good, line, col

    def text_before(self, uri: str, position: T.Position) -> str:
        doc = self.workspace.get_text_document(uri)
        lines = doc.source.split("\n")
        line = lines[position.line] if position.line < len(lines) else ""
        col = Lines(line).from_lsp(0, position.character)[1] - 1
        return "\n".join(lines[:position.line] + [line[:col]])

    def all_indexes(self, also: set[str] = frozenset()) -> list[tuple[str, Index]]:
        """(file, index) of every open document, and of the files also names that are
        not open (a module, read from disk)."""
        out, seen = [], set()
        for d in self.documents.values():
            ix = d.index()
            if ix is not None:
                out.append((d.good.file, ix))
                seen.add(d.good.file)
        for file in also - seen:
            try:
                with open(file, encoding="utf-8") as f:
                    text = f.read()
            except OSError:
                continue
            a = self.analyzer.analyze(file, text)
            if a.ok:
                out.append((file, build_index(a)))
        return out

    def canonical_key(self, k: Key) -> Key:
        return Key(self.canonical(k.file), k.line, k.col)

    def references(self, key: Key) -> list[tuple[str, object]]:
        """(file, occurrence) of every mention of the definition at key, in every open
        document and in the file that defines it."""
        want = self.canonical_key(key)
        out = []
        also = {want.file} if os.path.isabs(want.file) else set()
        for file, ix in self.all_indexes(also):
            for o in ix.occurrences:
                if self.canonical_key(o.definition.key) == want:
                    out.append((file, o))
        return out


server = DPServer()


def guarded(default=None):
    """A handler that never lets a Python exception reach the client: a failure is
    logged in one line (window/logMessage) and answered with default."""
    def wrap(f):
        @functools.wraps(f)
        def run(ls, params):
            try:
                return f(ls, params)
            except JsonRpcException:
                raise
            except Exception as exc:                  # noqa: BLE001 — a bug in DP: say so, briefly
                ls.window_log_message(T.LogMessageParams(T.MessageType.Error,
                                                         f"dp: {f.__name__} failed: {type(exc).__name__}: {exc}"))
                return default
        return run
    return wrap


# ---------------------------------------------------------------- synchronisation

@server.feature(T.TEXT_DOCUMENT_DID_OPEN)
@guarded()
def did_open(ls: DPServer, params: T.DidOpenTextDocumentParams):
    ls.analyze(params.text_document.uri)


@server.feature(T.TEXT_DOCUMENT_DID_CHANGE)
@guarded()
def did_change(ls: DPServer, params: T.DidChangeTextDocumentParams):
    ls.analyze(params.text_document.uri, derive=False)


@server.feature(T.TEXT_DOCUMENT_DID_SAVE)
@guarded()
def did_save(ls: DPServer, params: T.DidSaveTextDocumentParams):
    ls.analyze(params.text_document.uri)
    for uri in list(ls.documents):          # a module may have changed under its importers
        if uri != params.text_document.uri and uri in ls.workspace.text_documents:
            ls.analyze(uri)


@server.feature(T.TEXT_DOCUMENT_DID_CLOSE)
@guarded()
def did_close(ls: DPServer, params: T.DidCloseTextDocumentParams):
    ls.documents.pop(params.text_document.uri, None)
    ls.text_document_publish_diagnostics(T.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[]))


# ---------------------------------------------------------------- hover, definition, references

@server.feature(T.TEXT_DOCUMENT_HOVER)
@guarded()
def hover(ls: DPServer, params: T.HoverParams):
    d, a, line, col = ls.at(params.text_document.uri, params.position)
    if a is None:
        return None
    ix = d.index()
    occ = ix.at(line, col)
    if occ is not None:
        return T.Hover(T.MarkupContent(T.MarkupKind.Markdown, hover_definition(occ.definition, a, d.facts())),
                       range=ls.range_of(occ.span, a.lines))
    word = _word_at(a.lines.line(line), col)
    if word in user_builtins() and (a.env is None or word not in a.env.values):
        return T.Hover(T.MarkupContent(T.MarkupKind.Markdown, hover_builtin(word)))
    e = ix.expression_at(line, col)
    if e is not None and e.ty is not None:
        from dp.dsl.printer import expr_src
        try:
            src = expr_src(e)
        except TypeError:
            src = "…"
        if len(src) > 80:
            src = src[:77] + "…"
        return T.Hover(T.MarkupContent(T.MarkupKind.Markdown, f"```dp\n{src} : {e.ty}\n```"),
                       range=ls.range_of(e.span, a.lines))
    return None


def _word_at(text: str, col: int) -> str:
    for m in re.finditer(r"[A-Za-z_][A-Za-z0-9_]*", text):
        if m.start() + 1 <= col <= m.end() + 1:
            return m.group()
    return ""


@server.feature(T.TEXT_DOCUMENT_DEFINITION)
@guarded()
def definition(ls: DPServer, params: T.DefinitionParams):
    d, a, line, col = ls.at(params.text_document.uri, params.position)
    if a is None:
        return None
    occ = d.index().at(line, col)
    if occ is None:
        return None
    return [ls.location(occ.definition.span)]


@server.feature(T.TEXT_DOCUMENT_REFERENCES)
@guarded()
def references(ls: DPServer, params: T.ReferenceParams):
    d, a, line, col = ls.at(params.text_document.uri, params.position)
    if a is None:
        return None
    occ = d.index().at(line, col)
    if occ is None:
        return None
    out = []
    for file, o in ls.references(occ.definition.key):
        if o.is_definition and not params.context.include_declaration:
            continue
        out.append(T.Location(uri=ls.uri_of(ls.canonical(file)), range=ls.range_of(o.span)))
    return out


# ---------------------------------------------------------------- completion and signatures

@server.feature(T.TEXT_DOCUMENT_COMPLETION, T.CompletionOptions(trigger_characters=["."]))
@guarded()
def completion(ls: DPServer, params: T.CompletionParams):
    d, a, line, col = ls.at(params.text_document.uri, params.position)
    if a is None:
        return None
    before = ls.text_before(params.text_document.uri, params.position)
    word, items = complete(a, line, col, before)
    return T.CompletionList(is_incomplete=False, items=[
        T.CompletionItem(label=i.label, kind=COMPLETION_KINDS.get(i.kind), detail=i.detail or None,
                         documentation=i.doc or None, sort_text=f"{_rank(i.kind)}{i.label}")
        for i in items])


def _rank(kind: str) -> int:
    return {"variable": 0, "field": 0, "method": 0, "variant": 0, "function": 1, "struct": 2, "enum": 2,
            "module": 2, "type": 3, "keyword": 4}.get(kind, 5)


@server.feature(T.TEXT_DOCUMENT_SIGNATURE_HELP, T.SignatureHelpOptions(trigger_characters=["(", ","]))
@guarded()
def signature_help(ls: DPServer, params: T.SignatureHelpParams):
    d, a, line, col = ls.at(params.text_document.uri, params.position)
    if a is None:
        return None
    call = open_call(ls.text_before(params.text_document.uri, params.position))
    if call is None:
        return None
    callee, arg = call
    sigs = signatures(a, callee, line, col)
    if not sigs:
        return None
    return T.SignatureHelp(signatures=[
        T.SignatureInformation(label=s.label, documentation=s.doc or None,
                               parameters=[T.ParameterInformation(label=p) for p in s.params]) for s in sigs],
        active_signature=0, active_parameter=arg)


# ---------------------------------------------------------------- symbols, rename, formatting

@server.feature(T.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
@guarded()
def document_symbols(ls: DPServer, params: T.DocumentSymbolParams):
    d = ls.document(params.text_document.uri)
    if d is None or d.good is None:
        return []
    a, ix = d.good, d.index()
    by_node = {id(x.node): x for x in ix.definitions.values() if x.node is not None}
    out = []

    def sym(name, kind, node, detail=None, children=None, name_span=None):
        rng = ls.range_of(node.span, a.lines)
        sel = ls.range_of(name_span, a.lines) if name_span is not None else rng
        return T.DocumentSymbol(name=name, kind=kind, range=rng, selection_range=sel, detail=detail,
                                children=children)
    for s in a.prog.body:
        dn = by_node.get(id(s))
        if isinstance(s, S.FnDef):
            out.append(sym(s.name, T.SymbolKind.Function, s, str(s.ty) if s.ty else None,
                           name_span=dn.span if dn else None))
        elif isinstance(s, S.StructDef):
            kids = [sym(f.name, T.SymbolKind.Field, f, str(by_node[id(f)].ty) if id(f) in by_node else None,
                        name_span=by_node[id(f)].span if id(f) in by_node else None) for f in s.fields]
            out.append(sym(s.name, T.SymbolKind.Struct, s, children=kids, name_span=dn.span if dn else None))
        elif isinstance(s, S.EnumDef):
            kids = [sym(v.name, T.SymbolKind.EnumMember, v) for v in s.variants]
            out.append(sym(s.name, T.SymbolKind.Enum, s, children=kids, name_span=dn.span if dn else None))
        elif isinstance(s, S.Let):
            for name, sm in ([(s.name, s.sym)] if not s.names else list(zip(s.names, s.syms or []))):
                kind = T.SymbolKind.Variable if s.mutable else T.SymbolKind.Constant
                out.append(sym(name, kind, s, str(sm.ty) if sm is not None else None))
        elif isinstance(s, S.Import):
            out.append(sym(s.module, T.SymbolKind.Module, s))
        elif isinstance(s, S.RuleDef):
            out.append(sym(f"derivative {s.fn}", T.SymbolKind.Event, s))
    return out


def _rename_target(ls: DPServer, uri: str, position: T.Position):
    d, a, line, col = ls.at(uri, position)
    if a is None:
        return None, None
    occ = d.index().at(line, col)
    return a, occ


@server.feature(T.TEXT_DOCUMENT_PREPARE_RENAME)
@guarded()
def prepare_rename(ls: DPServer, params: T.PrepareRenameParams):
    a, occ = _rename_target(ls, params.text_document.uri, params.position)
    if occ is None:
        return None
    _check_renamable(ls, occ.definition)
    return T.PrepareRenamePlaceholder(range=ls.range_of(occ.span, a.lines), placeholder=occ.definition.name)


def _check_renamable(ls, d):
    from dp.interpreter.modules import STDLIB
    if d.kind == "module":
        raise JsonRpcException(f"`{d.name}` names a module's file; rename the file instead", REQUEST_FAILED)
    if d.span.file.startswith(STDLIB):
        raise JsonRpcException(f"`{d.name}` is defined in the standard library, which cannot be renamed",
                               REQUEST_FAILED)


@server.feature(T.TEXT_DOCUMENT_RENAME)
@guarded()
def rename(ls: DPServer, params: T.RenameParams):
    a, occ = _rename_target(ls, params.text_document.uri, params.position)
    if occ is None:
        return None
    _check_renamable(ls, occ.definition)
    new = params.new_name
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", new) or new in KEYWORDS or "__" in new:
        raise JsonRpcException(f"`{new}` is not a name DP allows here", REQUEST_FAILED)
    from dp.dsl.checker import RESERVED_NAMES
    if new in RESERVED_NAMES:
        raise JsonRpcException(f"`{new}` is a built-in function", REQUEST_FAILED)
    changes: dict[str, list[T.TextEdit]] = {}
    for file, o in ls.references(occ.definition.key):
        uri = ls.uri_of(ls.canonical(file))
        edit = T.TextEdit(range=ls.range_of(o.span), new_text=new)
        if edit not in changes.setdefault(uri, []):
            changes[uri].append(edit)
    return T.WorkspaceEdit(changes=changes)


@server.feature(T.TEXT_DOCUMENT_FORMATTING)
@guarded()
def formatting(ls: DPServer, params: T.DocumentFormattingParams):
    doc = ls.workspace.get_text_document(params.text_document.uri)
    text = doc.source
    try:
        new = format_text(text, ls.path_of(params.text_document.uri))
    except Refused as e:
        ls.window_show_message(T.ShowMessageParams(T.MessageType.Warning, f"DP did not format the file: {e}"))
        raise JsonRpcException(f"DP did not format the file: {e}", REQUEST_FAILED) from None
    if new == text:
        return []
    lines = text.split("\n")
    end = T.Position(len(lines) - 1, len(lines[-1].encode("utf-16-le")) // 2)
    return [T.TextEdit(range=T.Range(T.Position(0, 0), end), new_text=new)]


# ---------------------------------------------------------------- derivatives

@server.feature(T.TEXT_DOCUMENT_CODE_LENS)
@guarded(default=[])
def code_lens(ls: DPServer, params: T.CodeLensParams):
    d = ls.document(params.text_document.uri)
    if d is None or d.latest is None or not d.latest.checked:
        return []
    a = d.latest
    out = []
    for fn, mode in D.lenses(a):
        pos = ls.range_of(fn.span, a.lines).start
        title = "Show derivative" if mode == "reverse" else "Show forward derivative"
        out.append(T.CodeLens(range=T.Range(pos, pos), command=T.Command(
            title=title, command=SHOW_DERIVATIVE, arguments=[params.text_document.uri, fn.name, mode])))
    return out


@server.command(SHOW_DERIVATIVE)
def show_derivative(ls: DPServer, *args):
    """Arguments: the document's URI, the function's name, and the mode (reverse,
    forward or vjp). Opens the derivative as a read-only document and returns
    {uri, text}; a function without one is a request error saying why."""
    if len(args) < 2 or not all(isinstance(x, str) for x in args[:3]):
        raise JsonRpcException("dp.showDerivative takes the document's URI, a function's name and a mode",
                               REQUEST_FAILED)
    uri, name = args[0], args[1]
    mode = args[2] if len(args) > 2 else "reverse"
    if mode not in D.MODES:
        raise JsonRpcException(f"unknown mode `{mode}`: reverse, forward or vjp", REQUEST_FAILED)
    text = _derivative(ls, uri, name, mode)
    target = D.derivative_uri(uri, name, mode)
    try:
        ls.window_show_document(T.ShowDocumentParams(uri=target, take_focus=False))
    except Exception:                                   # noqa: BLE001 — a client without showDocument
        pass
    return {"uri": target, "text": text}


def _derivative(ls: DPServer, uri: str, name: str, mode: str) -> str:
    d = ls.document(uri)
    if d is None or d.latest is None:
        raise JsonRpcException(f"{uri} is not open", REQUEST_FAILED)
    a = d.latest
    if not a.checked:
        raise JsonRpcException("the file has errors: fix them to see its derivatives", REQUEST_FAILED)
    try:
        return D.derivative_text(a, name, mode)
    except DPError as e:
        raise JsonRpcException(f"no derivative of `{name}`: {D.error_text(e)}", REQUEST_FAILED) from None
    except Exception as exc:                            # noqa: BLE001
        raise JsonRpcException(f"no derivative of `{name}`: {type(exc).__name__}", REQUEST_FAILED) from None


@server.feature(T.WORKSPACE_TEXT_DOCUMENT_CONTENT)
def derivative_content(ls: DPServer, params: T.TextDocumentContentParams):
    parsed = D.parse_derivative_uri(params.uri)
    if parsed is None:
        raise JsonRpcException(f"not a DP derivative: {params.uri}", REQUEST_FAILED)
    source, name, mode = parsed
    return T.TextDocumentContentResult(text=_derivative(ls, source, name, mode))


# ---------------------------------------------------------------- inlay hints: activity

@server.feature(T.TEXT_DOCUMENT_INLAY_HINT)
@guarded(default=[])
def inlay_hints(ls: DPServer, params: T.InlayHintParams):
    d = ls.document(params.text_document.uri)
    if d is None or d.good is None or not d.good.checked:
        return []
    a, facts, ix = d.good, d.facts(), d.index()
    lo, hi = params.range.start.line + 1, params.range.end.line + 1
    out = []
    for o in ix.occurrences:
        if not o.is_definition or o.definition.sym is None or not (lo <= o.span.line <= hi):
            continue
        fact = facts.get(id(o.definition.sym))
        if fact is None:
            continue
        node = o.definition.node
        annotated = isinstance(node, S.Param) or (isinstance(node, S.Let) and node.annot is not None)
        label = ("" if annotated or isinstance(o.definition.ty, FnT) else f": {o.definition.ty}") + \
            (" ∂" if fact.active else "")
        if not label:
            continue
        pos = ls.range_of(o.span, a.lines).end
        out.append(T.InlayHint(position=pos, label=label, kind=T.InlayHintKind.Type, tooltip=fact.why,
                               padding_left=label.startswith(" ")))
    return out


def main() -> int:
    for name in ("pygls", "lsprotocol"):           # errors go to the client, never as tracebacks on stderr
        log = logging.getLogger(name)
        log.addHandler(logging.NullHandler())
        log.propagate = False
    server.start_io()
    return 0
