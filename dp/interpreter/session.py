"""An interpreter session: the global environment, the runtime namespace, and the
pipeline text → parse → check → compile → run. The CLI, the REPL and the Python
embedding API all drive one of these."""
from __future__ import annotations

import ast as py
import sys
import time

from dp.dsl import primitives as P
from dp.dsl import syntax as S
from dp.dsl.checker import check
from dp.dsl.diagnostics import Diagnostic, DPError, SourceRegistry
from dp.dsl.records import Record, define, record
from dp.dsl.symbols import GlobalEnv
from dp.dsl.types import UNIT, Type

from .compiler import Compiler
from .transforms import TransformRuntime
from .errors import runtime_diagnostic
from .limits import NO_GUARD
from .meter import Meter, priced_namespace
from .runtime import DPStop, Output, Runtime, prim_py_name

RECURSION_LIMIT = 8000          # DP calls a run may nest, unless an embedder sets max_depth
FRONT_LIMIT = 3000              # Python frames parsing, checking and compiling may take (dsl/parser.py's MAX_NESTING)


def parse(text: str, file: str) -> S.Program:
    from dp.dsl.parser import parse as parse_text   # loads the parser: not at start-up, nor for a cached tree
    return parse_text(text, file)


def parse_program(text: str, file: str) -> S.Program:
    from .modules import parse_program_file
    return parse_program_file(text, file)


@record
class Result(Record):
    value: object
    type: Type | None           # None when the input was not an expression


define((Result,), __file__ + ":result", by_value=(Result,))      # its methods (dsl/records.py)
Result.__hash__ = None                    # compared by value, and mutable: unhashable


class Session:
    def __init__(self, output: Output | None = None):
        self.sources = SourceRegistry()          # the text of every input and module, for diagnostics
        self.env = GlobalEnv()
        self.runtime = Runtime(output)
        # steps and prices of metered code (meter.py); its priced primitives are put
        # beside the plain ones when code is first metered (`metered`)
        self.runtime.meter = Meter()
        self.max_depth: int | None = None       # DP call depth limit an embedder may set
        self.script_args: list[str] = []        # what `args()` returns (`dp run FILE ARGS…`)
        self.runtime.ns[prim_py_name(P.BY_NAME["args"][0])] = lambda: list(self.script_args)
        self._counter = 0
        # The source of each function defined at the top level, by name (file, text padded
        # to its place): what a redefinition re-checks a function from (see _dependents).
        self.fn_sources: dict[str, tuple[str, str]] = {}
        # The session's derivatives (dsl/ad), made when the first transform is checked
        # (see `ad`): a program that differentiates nothing never imports dsl.ad.
        self._ad = None
        self._functions: list = []              # (Python function, its node) registered before there was one
        self.transforms = TransformRuntime(self)        # grad(f) & co. compiled and at run time
        self.compiler = Compiler(self.runtime, self.transforms)
        from .modules import ModuleLoader
        self.modules = ModuleLoader(self)       # `import name` (interpreter/modules.py)
        # Where a stop (timeout, cancel) may land: an embedder's Guard (limits.py). By
        # default none does: the REPL and `dp run` are stopped by Ctrl-C alone.
        self.guard = NO_GUARD
        # Ctrl-C while DP code runs: a DP error "interrupted" at the line that was running
        # (the REPL, `dp run`), or, for an embedder, Python's own KeyboardInterrupt.
        self.interrupts_as_errors = True
        # `dp run FILE` keeps the file's parsed tree in the cache: a file run again needs
        # no parser (building it is most of a small program's start-up)
        self.program_trees = False
        from .plots import Plots
        from .progress import Progress
        self.plots, self.progress = Plots(self), Progress(self)    # `plot`, `savefig`, `progress`: granted effects

    @property
    def ad(self):
        """The session's registry of derived functions (dsl/ad), made on first use."""
        if self._ad is None:
            from dp.dsl import ad
            self._ad = ad.Transforms(self)
            for pyfn, node in self._functions:
                self._ad.register_function(pyfn, node)
            self._functions = []
        return self._ad

    def preload(self) -> None:
        """Import now what programs import when they first need it (the parser, dsl.ad,
        numpy): an embedder's limits (a timeout) then never count an import."""
        from dp.dsl.parser import build_parser
        build_parser()
        _ = self.ad
        from dp.dsl import lazy_numpy
        lazy_numpy.load()
        self.runtime.ready_numpy()

    @property
    def differentiates(self) -> bool:
        """Whether anything was differentiated yet: the checker types every transform
        (`grad(f)`, …) through `typer`, which makes `ad`; before that there is nothing to derive."""
        return self._ad is not None

    def typer(self, checker, call, expected):
        """How the checker types `grad(f)` & co. (dsl/ad/typing.py)."""
        return self.ad.typer(checker, call, expected)

    def register_function(self, pyfn, node) -> None:
        """pyfn (a compiled DP function) is node's: for `grad` of a function value."""
        if self._ad is None:
            self._functions.append((pyfn, node))
        else:
            self._ad.register_function(pyfn, node)

    @property
    def metered(self) -> bool:
        """Whether code compiled from now on counts its steps and prices its big calls
        (interpreter/meter.py): set once a limit is."""
        return self.compiler.metered

    @metered.setter
    def metered(self, on: bool) -> None:
        if on and not self.compiler.metered and "rt·g·equal" not in self.runtime.ns:
            self.runtime.ns.update(priced_namespace(self.runtime.meter, [
                (prim_py_name(p), p) for prims in P.BY_NAME.values() for p in prims if p.impl is not None]))
        self.compiler.metered = bool(on)

    # -------------------------------------------------------------- front half
    def check_text(self, text: str, file: str = "<input>") -> tuple[S.Program, GlobalEnv]:
        """Parse and check: nothing is derived, compiled or run."""
        self.sources.add(file, text)
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(_depth() + FRONT_LIMIT)
        try:
            prog = parse_program(text, file) if self.program_trees else parse(text, file)
            env = check(prog, self.modules.load_imports(prog, self.env, file), self.typer)
            env = self._dependents(prog, env, text)
        except DPError as e:
            raise self.sources.quote(e) from None
        finally:
            sys.setrecursionlimit(old)
        return prog, env

    # -------------------------------------------------------------- redefinitions
    def _dependents(self, prog: S.Program, env: GlobalEnv, text: str) -> GlobalEnv:
        """Redefining a global, function, struct or enum with another type re-checks the
        functions defined before that use it (as if the session were one file): each is
        checked again against the new definitions and, if it checks, compiled again with
        this input, so every function sees the latest definition of each name. If one
        no longer checks, the input is refused: nothing of it is defined. (Values made
        before, a closure in a global among them, keep what they were made with.) A
        redefinition with the same type needs none of this: it replaces the old one."""
        for d in prog.body:
            if isinstance(d, S.FnDef) and d.name in env.values and env.values[d.name].decl is d \
                    and d.instance_of is None:          # a generic's instance has no text of the user's
                self._remember_source(d, text)
        old = self.env
        changed = {n for n, sym in env.values.items() if n in old.values and sym is not old.values[n]
                   and sym.ty != old.values[n].ty}
        changed |= {n for n, t in env.structs.items() if n in old.structs and t is not old.structs[n]}
        changed |= {n for n, t in env.enums.items() if n in old.enums and t is not old.enums[n]}
        done = {d.name for d in prog.body if isinstance(d, S.FnDef)}
        while changed:
            deps = sorted(n for n, (_, src) in self.fn_sources.items()
                          if n not in done and n in env.values and env.values[n] is old.values.get(n)
                          and changed & _words(src))
            if not deps:
                break
            fns = []
            for n in deps:
                file, src = self.fn_sources[n]
                fns += [d for d in parse(src, file).body if isinstance(d, S.FnDef)]
            try:
                env = check(S.Program(fns, span=prog.span), env, self.typer)
            except DPError as e:
                raise self._breaks(prog, changed, deps, e) from None
            prog.body.extend(fns)
            done |= set(deps)
            changed = {n for n in deps if env.values[n].ty != old.values[n].ty}
        return env

    def _remember_source(self, fn: S.FnDef, text: str) -> None:
        lines = text.split("\n")[fn.span.line - 1:fn.span.end_line]
        if not lines:
            return
        if len(lines) == 1:
            lines[0] = lines[0][:fn.span.end_col - 1]
        else:
            lines[-1] = lines[-1][:fn.span.end_col - 1]
        lines[0] = " " * (fn.span.col - 1) + lines[0][fn.span.col - 1:]
        self.fn_sources[fn.name] = (fn.span.file, "\n" * (fn.span.line - 1) + "\n".join(lines) + "\n")

    def _breaks(self, prog, changed, deps, error: DPError) -> DPError:
        names = ", ".join(f"`{n}`" for n in sorted(changed))
        which = ", ".join(f"`{n}`" for n in deps)
        at = next((d.span for d in prog.body if getattr(d, "name", None) in changed), prog.span)
        first = [n for n in sorted(changed) if n in self.env.values]
        keep = f"; or keep `{first[0]}` as `{self.env.values[first[0]].ty}`" if first else ""
        head = Diagnostic("type error", f"redefining {names} breaks {which}, defined before and using it", at,
                          f"redefine {which} in the same input{keep}")
        for d in error.diagnostics:
            if d.source_line is None and d.span is not None and d.span.file in self.fn_sources_files():
                d.source_line = self._snippet_line(d.span)
        return DPError([head] + error.diagnostics)

    def fn_sources_files(self) -> set:
        return {f for f, _ in self.fn_sources.values()}

    def _snippet_line(self, span) -> str | None:
        for file, src in self.fn_sources.values():
            if file == span.file:
                lines = src.split("\n")
                if 0 < span.line <= len(lines) and lines[span.line - 1].strip():
                    return lines[span.line - 1]
        return None

    def next_input_name(self) -> str:
        """`<input 1>`, `<input 2>`, …: the file name of the next unnamed input."""
        self._counter += 1
        return f"<input {self._counter}>"

    def derive_definitions(self, prog, name: str) -> None:
        """Derive what the transform calls in prog's function definitions name, as a
        run derives them (`dp grad FILE name` checks a file without running it). A
        function's error is reported only for `name` itself: another's may be one a
        run would never reach (`dp check` accepts the file), and if `name` needs it,
        deriving `name` reports it."""
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(_depth() + FRONT_LIMIT)
        try:
            for fn in (s for s in prog.body if isinstance(s, S.FnDef)):
                try:
                    self.ad.derive_program([fn], self.env)
                except DPError as e:
                    if fn.name == name:
                        raise self.sources.quote(e) from None
        finally:
            sys.setrecursionlimit(old)

    def derived_source(self, name: str, mode: str = "reverse", wrt: int | None = None,
                       command: tuple[str, str] | None = None, name_at: int | None = None,
                       wrt_at: int | None = None) -> str:
        """Function `name`'s derivative as DP source (`dp grad`, `:grad`), checked as
        `grad(name, wrt)` (or `jvp`, `vjp`) in the session's globals. command is the
        (file, text) the user typed, and name_at, wrt_at the 0-based columns of the
        name and the parameter number in it: diagnostics point there."""
        from dp.dsl.span import NOWHERE, Span
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
    def run(self, text: str, file: str | None = None, timing: dict | None = None) -> Result:
        """Parse, check, compile and run text. On any error raise DPError and leave
        the session exactly as it was before. timing, if given, receives the seconds
        spent making the code ("compile") and running it ("run"), and the code."""
        if file is None:
            file = self.next_input_name()
        # A stop (a timeout, a cancel) lands only while the program is made or runs, never
        # in the bookkeeping between, which it would leave half-done (limits.py).
        with self.guard.shield():
            start = time.perf_counter()
            with self.guard.region():
                code, env, result_type = self._make(text, file)
            if timing is not None:
                timing["compile"], timing["code"] = time.perf_counter() - start, code
            try:
                self.modules.run_pending()      # imported modules' top-level code, once
            except DPError as e:
                raise self.sources.quote(e) from None
            old_env, self.env = self.env, env   # definitions land only once they compile
            if self.differentiates:
                self.ad.redefined(old_env, env) # derivatives made before are made again on use
            ns = self.runtime.ns
            saved = {s.py: ns[s.py] for s in env.values.values() if s.py in ns}
            try:
                start = time.perf_counter()
                value = self.execute(code)
                if timing is not None:
                    timing["run"] = time.perf_counter() - start
            except BaseException as e:          # a failed input leaves no half-made globals
                if isinstance(e, DPError):
                    self.sources.quote(e)
                self.env = old_env
                for s in env.values.values():
                    if s.py in saved:
                        ns[s.py] = saved[s.py]
                    else:
                        ns.pop(s.py, None)
                raise
        return Result(value if result_type is not None else None, result_type)

    def _make(self, text: str, file: str):
        """Parse, check, derive and compile: the code object, the env it defines and the
        type of its value (None unless it ends in an expression)."""
        prog, env = self.check_text(text, file)
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(_depth() + FRONT_LIMIT)
        try:
            if self.differentiates:
                from dp.dsl.ad.redefinitions import changes_derivatives
                if changes_derivatives(self.env, env):
                    self.ad.forget()            # this input's derivatives are made from its definitions
                self.ad.derive_program(prog.body, env)
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
        except DPError as e:
            raise self.sources.quote(e) from None
        finally:
            sys.setrecursionlimit(old)
        return code, env, result_type

    def execute(self, code):
        ns = self.runtime.ns
        if not self.runtime.numpy_ready:
            self.runtime.ready_numpy()              # numpy's own functions, once it is imported (dsl/lazy_numpy.py)
        ns.pop("rt·result", None)
        old = sys.getrecursionlimit()
        self._set_recursion_limit(old)
        guard, meter = self.guard, self.runtime.meter
        token = guard.open()
        try:
            meter.running += 1
            try:
                exec(code, ns)
            except BaseException:
                guard.close(token, failed=True)
                raise
            finally:
                meter.running -= 1
            guard.close(token)
            error = None
        except DPError as e:
            error = self.sources.quote(e)
        except KeyboardInterrupt as exc:
            error = self._interrupted(exc)
        except (Exception, DPStop) as exc:            # noqa: BLE001 — every error becomes a diagnostic
            error = self.sources.quote(DPError(runtime_diagnostic(exc, self.sources)))
        finally:
            sys.setrecursionlimit(old)
        if error is not None:
            raise _bare(error)
        return ns.get("rt·result")

    def _interrupted(self, exc: KeyboardInterrupt) -> DPError:
        if not self.interrupts_as_errors:
            raise KeyboardInterrupt() from None          # no frame of DP code goes with it
        return self.sources.quote(DPError(runtime_diagnostic(exc, self.sources)))

    def call(self, name: str, *args):
        """Call a DP global function by name with Python values."""
        return self.call_value(self.runtime.ns.get(self.env.values[name].py), *args)

    def call_value(self, fn, *args):
        """Call a DP function value with Python values; errors become DPError."""
        if not self.runtime.numpy_ready:
            self.runtime.ready_numpy()
        old = sys.getrecursionlimit()
        self._set_recursion_limit(old)
        guard, meter = self.guard, self.runtime.meter
        token = guard.open()
        try:
            meter.running += 1
            try:
                value = fn(*args)
            except BaseException:
                guard.close(token, failed=True)
                raise
            finally:
                meter.running -= 1
            guard.close(token)                      # a stop that came while it ran ends it here
            return value
        except DPError as e:
            error = self.sources.quote(e)
        except KeyboardInterrupt as exc:
            error = self._interrupted(exc)
        except (Exception, DPStop) as exc:            # noqa: BLE001
            error = self.sources.quote(DPError(runtime_diagnostic(exc, self.sources)))
        finally:
            sys.setrecursionlimit(old)
        raise _bare(error)

    def _set_recursion_limit(self, old: int) -> None:
        """Python's recursion limit while DP runs: RECURSION_LIMIT, or an embedder's
        `max_depth` calls deeper than the caller, whatever the host set. (Never the
        host's own, higher limit: values nested that deep are compared and freed by C
        code that recurses on the C stack.)"""
        if self.max_depth is not None:
            sys.setrecursionlimit(_depth() + self.max_depth + 8)
        elif old != RECURSION_LIMIT:
            try:
                sys.setrecursionlimit(RECURSION_LIMIT)
            except RecursionError:                  # called from deeper than that already
                sys.setrecursionlimit(_depth() + RECURSION_LIMIT)

    def run_file(self, path: str) -> Result:
        from .files import read_source
        return self.run(read_source(path), path)


def _words(text: str) -> set:
    import re
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))


def _depth() -> int:
    depth, f = 0, sys._getframe(1)
    while f is not None:
        depth, f = depth + 1, f.f_back
    return depth


def _bare(error: DPError) -> DPError:
    """error, raised outside the handler that caught the Python exception: it carries no
    Python exception, traceback or frame of DP's code (whose globals are the runtime
    namespace), only its diagnostics."""
    error.__cause__ = error.__context__ = None
    error.__suppress_context__ = True
    error.__traceback__ = None
    return error


