"""An interpreter session: the global environment, the runtime namespace, and the
pipeline text → parse → check → compile → run. The CLI, the REPL and the Python
embedding API all drive one of these."""
from __future__ import annotations

import ast as py
import sys
from dataclasses import dataclass

from dsl import primitives as P
from dsl import syntax as S
from dsl.checker import check
from dsl.diagnostics import DPError, SourceRegistry
from dsl.parser import parse
from dsl.symbols import GlobalEnv
from dsl.types import UNIT, Type

from .compiler import Compiler
from .transforms import TransformRuntime
from .errors import runtime_diagnostic
from .runtime import Output, Runtime, prim_py_name

RECURSION_LIMIT = 8000


@dataclass
class Result:
    value: object
    type: Type | None           # None when the input was not an expression


class Session:
    def __init__(self, output: Output | None = None):
        self.sources = SourceRegistry()          # the text of every input and module, for diagnostics
        self.env = GlobalEnv()
        self.runtime = Runtime(output)
        self.max_depth: int | None = None       # DP call depth limit an embedder may set
        self.script_args: list[str] = []        # what `args()` returns (`dp run FILE ARGS…`)
        self.runtime.ns[prim_py_name(P.BY_NAME["args"][0])] = lambda: list(self.script_args)
        self._counter = 0
        from dsl import ad
        self.ad = ad.Transforms(self)
        self.transforms = TransformRuntime(self)        # grad(f) & co. compiled and at run time
        self.compiler = Compiler(self.runtime, self.transforms)
        from .modules import ModuleLoader
        self.modules = ModuleLoader(self)       # `import name` (interpreter/modules.py)
        from .plots import Plots
        from .progress import Progress
        self.plots, self.progress = Plots(self), Progress(self)    # `plot`, `savefig`, `progress`: granted effects

    # -------------------------------------------------------------- front half
    def check_text(self, text: str, file: str = "<input>") -> tuple[S.Program, GlobalEnv]:
        """Parse and check: nothing is derived, compiled or run."""
        self.sources.add(file, text)
        try:
            prog = parse(text, file)
            env = check(prog, self.modules.load_imports(prog, self.env, file), self.ad.typer)
        except DPError as e:
            raise self.sources.quote(e) from None
        return prog, env

    def next_input_name(self) -> str:
        """`<input 1>`, `<input 2>`, …: the file name of the next unnamed input."""
        self._counter += 1
        return f"<input {self._counter}>"

    def derived_source(self, name: str, mode: str = "reverse", wrt: int | None = None,
                       command: tuple[str, str] | None = None, name_at: int | None = None,
                       wrt_at: int | None = None) -> str:
        """Function `name`'s derivative as DP source (`dp grad`, `:grad`), checked as
        `grad(name, wrt)` (or `jvp`, `vjp`) in the session's globals. command is the
        (file, text) the user typed, and name_at, wrt_at the 0-based columns of the
        name and the parameter number in it: diagnostics point there."""
        from dsl.span import NOWHERE, Span
        name_span, wrt_span = NOWHERE, None
        if command is not None:
            file, text = command
            self.sources.add(file, text)
            if name_at is not None:
                name_span = Span(file, 1, name_at + 1, 1, name_at + 1 + len(name))
            if wrt_at is not None and wrt is not None:
                wrt_span = Span(file, 1, wrt_at + 1, 1, wrt_at + 1 + len(str(wrt)))
        try:
            return self.ad.derived_source(name, mode, wrt, name_span, wrt_span)
        except DPError as e:
            raise self.sources.quote(e) from None

    # -------------------------------------------------------------- running
    def run(self, text: str, file: str | None = None) -> Result:
        """Parse, check, compile and run text. On any error raise DPError and leave
        the session exactly as it was before."""
        if file is None:
            file = self.next_input_name()
        prog, env = self.check_text(text, file)
        try:
            self.ad.derive_program(prog.body, env)
        except DPError as e:
            raise self.sources.quote(e) from None
        result_type = None
        body = prog.body
        if body and isinstance(body[-1], S.ExprStmt) and body[-1].expr.ty not in (UNIT, None):
            result_type = body[-1].expr.ty
        module = self.compiler.program(prog)
        if result_type is not None:
            last = module.body[-1]
            target = py.copy_location(py.Name("rt·result", py.Store()), last)
            module.body[-1] = py.copy_location(py.Assign(targets=[target], value=last.value), last)
        code = compile(module, file, "exec")
        try:
            self.modules.run_pending()      # imported modules' top-level code, once
        except DPError as e:
            raise self.sources.quote(e) from None
        old_env, self.env = self.env, env   # definitions land only once they compile
        ns = self.runtime.ns
        saved = {s.py: ns[s.py] for s in env.values.values() if s.py in ns}
        try:
            value = self.execute(code)
        except DPError as e:                # a failed input leaves no half-made globals
            self.sources.quote(e)
            self.env = old_env
            for s in env.values.values():
                if s.py in saved:
                    ns[s.py] = saved[s.py]
                else:
                    ns.pop(s.py, None)
            raise
        return Result(value if result_type is not None else None, result_type)

    def execute(self, code):
        ns = self.runtime.ns
        ns.pop("rt·result", None)
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(self._recursion_limit(old))
        try:
            exec(code, ns)
            error = None
        except DPError as e:
            error = self.sources.quote(e)
        except (Exception, KeyboardInterrupt) as exc:            # noqa: BLE001 — every error becomes a diagnostic
            error = self.sources.quote(DPError(runtime_diagnostic(exc, self.sources)))
        finally:
            sys.setrecursionlimit(old)
        if error is not None:
            raise _bare(error)
        return ns.get("rt·result")

    def call(self, name: str, *args):
        """Call a DP global function by name with Python values."""
        return self.call_value(self.runtime.ns.get(self.env.values[name].py), *args)

    def call_value(self, fn, *args):
        """Call a DP function value with Python values; errors become DPError."""
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(self._recursion_limit(old))
        try:
            return fn(*args)
        except DPError as e:
            error = self.sources.quote(e)
        except (Exception, KeyboardInterrupt) as exc:            # noqa: BLE001
            error = self.sources.quote(DPError(runtime_diagnostic(exc, self.sources)))
        finally:
            sys.setrecursionlimit(old)
        raise _bare(error)

    def _recursion_limit(self, old: int) -> int:
        """Python's recursion limit while DP runs: raised to RECURSION_LIMIT, or, when
        an embedder set `max_depth`, this many calls deeper than the caller."""
        if self.max_depth is None:
            return max(old, RECURSION_LIMIT)
        depth, f = 0, sys._getframe()
        while f is not None:
            depth, f = depth + 1, f.f_back
        return depth + self.max_depth + 8

    def run_file(self, path: str) -> Result:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        return self.run(text, path)


def _bare(error: DPError) -> DPError:
    """error, raised outside the handler that caught the Python exception: it carries no
    Python exception, traceback or frame of DP's code (whose globals are the runtime
    namespace), only its diagnostics."""
    error.__cause__ = error.__context__ = None
    error.__suppress_context__ = True
    error.__traceback__ = None
    return error
