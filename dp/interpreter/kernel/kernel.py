"""The DP kernel: an ipykernel wrapper kernel whose cells run in one DP session, so what
one cell defines the next can use. A cell's last expression is its result (`value :
type`); `print` streams to the cell's output; an error is shown as the DP diagnostic it
is (with the cell's line and a caret), never as a Python traceback; a figure drawn by
`plot` appears under the cell; a loop over `progress(…)` shows a bar as text.

Completion (Tab) offers the names in scope, fields, methods and module members with
their types. Inspection (Shift-Tab) shows a name's type and, for a function, which
parameters carry derivatives and the source of its derivative. `%time` before a line,
or `%%time` heading a cell, reports how long it took; the REPL's commands (`:type`,
`:grad`, `:time`, …) work in a cell of their own."""
from __future__ import annotations

import base64
import os
import re
import sys
import time

_limit = sys.getrecursionlimit()
from ipykernel.kernelbase import Kernel  # noqa: E402
sys.setrecursionlimit(_limit)       # jedi, which ipykernel's IPython imports, sets it to 3000 for the process

from dp.dsl.diagnostics import DPError  # noqa: E402

from .. import VERSION  # noqa: E402
from ..runtime import Output  # noqa: E402
from ..session import Session  # noqa: E402
from ..values import format_value  # noqa: E402
from . import cells  # noqa: E402


class _Stream:
    """Text for one of the cell's output streams, sent in pieces at most FLUSH_EVERY
    seconds apart (a loop that prints every step sends a message a tenth of a second)."""
    FLUSH_EVERY = 0.1

    def __init__(self, kernel: "DPKernel", name: str):
        self.kernel, self.name = kernel, name
        self.parts: list[str] = []
        self.last = time.monotonic()

    def write(self, text: str) -> None:
        self.parts.append(text)
        if time.monotonic() - self.last >= self.FLUSH_EVERY or "\r" in text:
            self.flush()

    def flush(self) -> None:
        self.last = time.monotonic()
        if self.parts:
            text, self.parts = "".join(self.parts), []
            self.kernel.send_response(self.kernel.iopub_socket, "stream", {"name": self.name, "text": text})


class _Printed(Output):
    def __init__(self, stream: _Stream):
        self.write = stream.write


class DPKernel(Kernel):
    implementation = "dp"
    implementation_version = VERSION
    language = "dp"
    language_version = VERSION
    language_info = {"name": "dp", "version": VERSION, "mimetype": "text/x-dp", "file_extension": ".dp",
                     "pygments_lexer": "dp", "codemirror_mode": "rust"}
    banner = f"DP {VERSION}: cells share one DP session; Shift-Tab shows a function's type and derivative"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.out, self.err = _Stream(self, "stdout"), _Stream(self, "stderr")
        self.dp = Session(_Printed(self.out))
        from ..plots import FileGrant
        self.dp.plots.grant = FileGrant(os.getcwd())        # the notebook's directory, as `dp run` grants
        self.dp.progress.sink = self.err.write
        from ..repl import Repl
        self.repl = Repl(self.dp, out=self.out, err=self.err)

    # ------------------------------------------------------------ running a cell
    async def do_execute(self, code, silent, store_history=True, user_expressions=None, allow_stdin=False,
                         **kwargs):
        cell = cells.read(code)
        start = time.perf_counter()
        try:
            if cell.command is not None:
                return self._command(cell.command)
            try:
                result = self.dp.run(cell.code, f"<cell {self.execution_count}>")
            except DPError as e:
                return self._error(e)
            except KeyboardInterrupt:                   # while checking or compiling
                return self._failed("interrupted", "interrupted", ["interrupted"])
            if result.type is not None and not silent:
                self.out.flush()
                self.send_response(self.iopub_socket, "execute_result", {
                    "execution_count": self.execution_count, "metadata": {},
                    "data": {"text/plain": f"{format_value(result.value, top=False)} : {result.type}"}})
            if cell.timed:
                self.out.write(f"time: {cells.duration(time.perf_counter() - start)}\n")
            return {"status": "ok", "execution_count": self.execution_count, "payload": [], "user_expressions": {}}
        finally:
            self.out.flush()
            self.err.flush()
            self._show_figure()

    def _command(self, line: str) -> dict:
        self.repl.failed = False
        self.repl.handle(line)
        if self.repl.failed:
            return {"status": "error", "execution_count": self.execution_count, "ename": "usage error",
                    "evalue": line, "traceback": []}
        return {"status": "ok", "execution_count": self.execution_count, "payload": [], "user_expressions": {}}

    def _error(self, e: DPError) -> dict:
        # coloured as on a terminal: Jupyter shows a traceback's ANSI colours (unless NO_COLOR)
        d = e.first
        return self._failed(d.kind, d.message, e.render(colour=not os.environ.get("NO_COLOR")).split("\n"))

    def _failed(self, ename: str, evalue: str, traceback: list[str]) -> dict:
        self.out.flush()
        content = {"ename": ename, "evalue": evalue, "traceback": traceback}
        self.send_response(self.iopub_socket, "error", content)
        return {"status": "error", "execution_count": self.execution_count, **content}

    def _show_figure(self) -> None:
        try:
            png = self.dp.plots.take("png")
        except Exception as exc:                         # noqa: BLE001 — matplotlib missing or failing
            self.send_response(self.iopub_socket, "stream", {"name": "stderr", "text": f"the figure was not drawn: "
                                                             f"{getattr(exc, 'message', exc)}\n"})
            return
        if png is not None:
            self.send_response(self.iopub_socket, "display_data", {
                "data": {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": "<DP figure>"},
                "metadata": {}})

    # ------------------------------------------------------------ completion and inspection
    async def do_complete(self, code, cursor_pos):
        from dp.interpreter.lsp.completion import complete
        before = code[:cursor_pos]
        line = before.count("\n") + 1
        col = len(before.rsplit("\n", 1)[-1]) + 1
        try:
            word, items = complete(_View(self.dp), line, col, before)
        except Exception:                                # noqa: BLE001 — completion never breaks a cell
            word, items = "", []
        start = cursor_pos - len(word)
        return {"status": "ok", "matches": [i.label for i in items], "cursor_start": start, "cursor_end": cursor_pos,
                "metadata": {"_jupyter_types_experimental": [
                    {"start": start, "end": cursor_pos, "text": i.label, "type": i.kind, "signature": i.detail}
                    for i in items]}}

    async def do_inspect(self, code, cursor_pos, detail_level=0, omit_sections=()):
        name = _name_at(code, cursor_pos)
        text = describe(self.dp, name, detail_level) if name else None
        if text is None:
            return {"status": "ok", "found": False, "data": {}, "metadata": {}}
        return {"status": "ok", "found": True, "data": {"text/plain": text, "text/markdown": text}, "metadata": {}}

    async def do_is_complete(self, code):
        from ..repl import needs_more
        if needs_more(code):
            return {"status": "incomplete", "indent": "    "}
        return {"status": "complete"}


class _View:
    """A session seen as the language server's completion sees a document."""

    def __init__(self, session: Session):
        self.session, self.env, self.prog, self.analyzer = session, session.env, None, self

    def check_expression(self, _analysis, text, scope=None):
        try:
            prog, _ = self.session.check_text(text, "<completion>")
        except (DPError, RecursionError):
            return None
        body = prog.body
        return body[0].expr.ty if len(body) == 1 and hasattr(body[0], "expr") else None


def _name_at(code: str, pos: int) -> str:
    """The (dotted) name the cursor is on or just after: `ode.rk4`, `f`."""
    left = re.search(r"[A-Za-z_][A-Za-z0-9_.]*$", code[:pos])
    right = re.match(r"[A-Za-z0-9_]*", code[pos:])
    name = (left.group() if left else "") + (right.group() if right else "")
    return name.strip(".")


def describe(session: Session, name: str, detail_level: int = 0) -> str | None:
    """What Shift-Tab shows for name: its type; for a function, its signature, which
    parameters carry derivatives, whether `grad` applies, and its derivative's source
    (detail level 1 adds the forward-mode derivative)."""
    from dp.dsl import syntax as S
    from dp.dsl.types import FnT
    from dp.interpreter.lsp.describe import differentiability, fn_signature, hover_builtin, user_builtins
    env = session.env
    mod, _, member = name.rpartition(".")
    sym = env.modules[mod].values.get(member) if mod in env.modules else env.values.get(name) if not mod else None
    if sym is None:
        if not mod and name in user_builtins():
            return hover_builtin(name)
        try:
            prog, _ = session.check_text(name, "<inspect>")
        except (DPError, RecursionError):
            return None
        body = prog.body
        return f"```dp\n{name} : {body[0].expr.ty}\n```" if len(body) == 1 and hasattr(body[0], "expr") else None
    if not isinstance(sym.ty, FnT):
        return f"```dp\n{name} : {sym.ty}\n```"
    fn = sym.decl if isinstance(sym.decl, S.FnDef) else None
    try:
        prog, _ = session.check_text(f"grad({name})", "<inspect>")
        status = (prog.body[0].expr.ty, [])
    except DPError as e:
        status = (None, e.diagnostics)
    parts = [f"```dp\n{fn_signature(member or name, fn, sym.ty)}\n```"] + differentiability(member or name, sym.ty,
                                                                                             fn, status)
    modes = (["reverse"] if status[0] is not None else []) + (
        ["forward"] if sym.ty.ret.active and any(t.active for t in sym.ty.params) else [])
    if detail_level == 0:
        modes = modes[:1]
    for mode in modes:
        try:
            src = session.derived_source(name, mode)
        except DPError:
            continue
        title = f"grad({name})" if mode == "reverse" else f"jvp({name}, primals, tangents)"
        parts.append(f"{title}, as DP derives it:\n\n```dp\n{src.rstrip()}\n```")
    return "\n\n".join(parts)


def launch(connection_file: str | None) -> int:
    from ipykernel.kernelapp import IPKernelApp
    IPKernelApp.launch_instance(argv=["-f", connection_file] if connection_file else None, kernel_class=DPKernel)
    return 0
