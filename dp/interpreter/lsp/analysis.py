"""A DP document analysed for an editor: parsed, its imports loaded, checked and its
derivatives made, as `dp check` and `dp run` would before running, but nothing of it
runs (not its top-level code, nor its modules').

Unlike `Session.check_text`, an analysis keeps what the checker found when it also
found errors: every expression it could type carries its type and every name its
symbol, so hover, completion and go-to-definition work on a file with mistakes in it.
A document that does not parse has no tree; the server then answers from the last
version that did."""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field

from dp.dsl import syntax as S
from dp.dsl.checker import Checker
from dp.dsl.diagnostics import Diagnostic, DPError
from dp.dsl.parser import parse
from dp.dsl.symbols import GlobalEnv

from .positions import Lines


@dataclass
class Analysis:
    file: str                               # the name diagnostics and spans use: the file's path
    text: str
    version: int | None = None
    prog: S.Program | None = None           # None when the text does not parse
    env: GlobalEnv | None = None            # the globals after checking (with errors too)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    checked: bool = False                   # checked without errors
    derived: bool = False                   # and its derivatives made without errors
    analyzer: "Analyzer | None" = None
    memo: dict = field(default_factory=dict)      # what hovers and lenses worked out, for this version

    @property
    def lines(self) -> Lines:
        return Lines(self.text)

    @property
    def ok(self) -> bool:
        return self.prog is not None


class Analyzer:
    """Analyses documents in one DP session, which keeps the modules they import loaded
    (a module is read again when its file changes). What one analysis derives is
    forgotten before the next, so derived functions keep their names (`f_grad`)."""

    RENEW_EVERY = 200            # analyses; what compiling derived code leaves in a session is then let go

    def __init__(self):
        self.analyses = 0
        self.session = self._fresh()

    @staticmethod
    def _fresh():
        from dp.interpreter.session import Session
        session = Session()
        session.runtime.output.write = lambda text: None       # nothing runs, nothing prints
        return session

    def analyze(self, file: str, text: str, version: int | None = None, derive: bool = True) -> Analysis:
        """The analysis of text, named file; derive: also make its derivatives (their
        errors are diagnostics too), which `derive` can do later instead."""
        self.analyses += 1
        if self.analyses % self.RENEW_EVERY == 0:
            self.session = self._fresh()
        a = Analysis(file, text, version, analyzer=self)
        sources = self.session.sources
        sources.add(file, text)
        try:
            a.prog = parse(text, file)
        except DPError as e:
            a.diagnostics = sources.quote(e).diagnostics
            return a
        except RecursionError:
            a.diagnostics = [Diagnostic("syntax error", "this program is nested too deeply", None,
                                        "split long expressions into several statements")]
            return a
        env, import_errors, failed = self._imports(a.prog, file)
        work = env.copy()
        checker = Checker(work, self.session.ad.typer)
        errors: list[Diagnostic] = []
        with self.isolated():
            try:
                checker.check_program(a.prog)
                a.checked = not import_errors
            except DPError as e:
                errors = e.diagnostics
            except RecursionError:
                errors = [Diagnostic("syntax error", "this program is nested too deeply", a.prog.span,
                                     "split long expressions into several statements")]
            a.env = work
            # the checker's "no module named" for an import the loader has explained
            errors = [d for d in errors if not (d.span in failed and d.message.startswith("no module named"))]
        a.diagnostics = [sources.quote(DPError(d)).diagnostics[0] for d in import_errors + errors]
        if derive:
            self.derive(a)
        return a

    def derive(self, a: Analysis) -> bool:
        """Make a checked analysis's derivatives, as running it would (and forget them);
        their errors join its diagnostics. Returns whether there were any."""
        if not a.checked or a.derived:
            return False
        errors: list[Diagnostic] = []
        with self.isolated():
            try:
                self.session.ad.derive_program(a.prog.body, a.env)
            except DPError as e:
                errors = e.diagnostics
            except RecursionError:
                errors = [Diagnostic("differentiation error", "this function is nested too deeply to differentiate",
                                     None, "split it into smaller functions")]
        a.derived = not errors
        sources = self.session.sources
        sources.add(a.file, a.text)
        a.diagnostics = a.diagnostics + [sources.quote(DPError(d)).diagnostics[0] for d in errors]
        return bool(errors)

    def _imports(self, prog: S.Program, file: str) -> tuple[GlobalEnv, list[Diagnostic], set]:
        """The session's globals with the modules prog imports, the diagnostics of those
        that failed to load, and their import statements' spans: each import is tried
        on its own, so one bad import leaves the others (and what uses them) checked."""
        loader, base = self.session.modules, self.session.env
        try:
            with self.isolated(keep=True):
                return loader.load_imports(prog, base, file), [], set()
        except DPError as e:
            first = e.diagnostics
        env, errors, failed = base, [], set()
        for s in prog.body:
            if isinstance(s, S.Import):
                try:
                    with self.isolated(keep=True):
                        env = loader.load_imports(S.Program([s], span=s.span), env, file)
                except DPError as e:
                    errors += e.diagnostics
                    failed.add(s.span)
        return env, errors or first, failed

    @contextlib.contextmanager
    def isolated(self, keep: bool = False):
        """Run the transforms without leaving what they made behind (unless keep: what
        loading a module derives stays, as the module does)."""
        ad, ns = self.session.ad, self.session.runtime.ns
        saved = {k: dict(getattr(ad, k)) for k in ("cache", "syms", "by_name", "by_code", "wrappers", "specialized")}
        current, names = ad.current_env, set(ns)

        def restore():
            for k, v in saved.items():
                setattr(ad, k, v)
            for n in set(ns) - names:            # the functions compiled meanwhile
                del ns[n]
        try:
            yield
        except BaseException:
            restore()
            ad.current_env = current
            raise
        if not keep:
            restore()
        ad.current_env = current

    def derived_source(self, a: Analysis, name: str, mode: str = "reverse", wrt: int | None = None) -> str:
        """Function name's derivative as DP source, made in the analysis's globals;
        raises DPError as `dp grad` would."""
        session = self.session
        old = session.env
        session.env = a.env if a.env is not None else old
        try:
            with self.isolated():
                return session.derived_source(name, mode, wrt)
        except RecursionError:
            raise DPError(Diagnostic("differentiation error", f"`{name}` is nested too deeply to differentiate", None,
                                     "split it into smaller functions")) from None
        finally:
            session.env = old

    def check_expression(self, a: Analysis, text: str, scope: dict | None = None):
        """The type of the expression text in the analysis's globals and the given
        local symbols (name -> Symbol), or None if it does not check."""
        return self.try_expression(a, text, scope)[0]

    def try_expression(self, a: Analysis, text: str, scope: dict | None = None):
        """(type or None, diagnostics) of the expression text checked in the analysis's
        globals and the given local symbols (name -> Symbol)."""
        from dp.dsl.symbols import Symbol
        if a.env is None:
            return None, []
        env = a.env.copy()
        for name, sym in (scope or {}).items():
            env.values[name] = Symbol(name, sym.ty, "let", name + "·", is_global=True, decl=sym.decl)
        try:
            prog = parse(text, "<expression>")
        except DPError as e:
            return None, e.diagnostics
        except RecursionError:
            return None, []
        if len(prog.body) != 1 or not isinstance(prog.body[0], S.ExprStmt):
            return None, []
        with self.isolated():
            try:
                Checker(env, self.session.ad.typer).check_program(prog)
            except DPError as e:
                return None, e.diagnostics
            except RecursionError:
                return None, []
        return prog.body[0].expr.ty, []

    def derivable(self, a: Analysis, name: str, mode: str = "reverse") -> str | None:
        """None if DP makes function name's derivative in this mode, else why not (the
        transforms' first diagnostic); remembered for the analysis."""
        key = ("derivable", name, mode)
        if key not in a.memo:
            try:
                self.derived_source(a, name, mode)
                a.memo[key] = None
            except DPError as e:
                d = e.first
                a.memo[key] = d.message + (f" ({d.hint})" if d.hint else "")
        return a.memo[key]

    def module_file(self, name: str) -> str | None:
        """The file a loaded module was read from, by the name diagnostics give it
        (`<stdlib>/ode.dp` is the standard library's ode.dp)."""
        from dp.interpreter.modules import STDLIB
        if name.startswith(STDLIB):
            from dp.stdlib import module_path
            p = module_path(name[len(STDLIB):-3])
            return os.path.realpath(str(p)) if p is not None else None
        return name if os.path.isabs(name) else None

    def module_path(self, module: str, importer: str) -> str | None:
        """The file `import module` reads from a file at path importer."""
        p = self.session.modules.find(module, importer)
        return os.path.realpath(p) if p is not None else None
