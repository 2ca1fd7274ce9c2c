"""The interactive prompt: `dp` or `dp repl`.

On a terminal it runs on prompt_toolkit (highlighting through DP's Pygments lexer,
completion, multi-line input, persistent history with Ctrl-R search, suggestions
from history). When stdin is not a terminal it reads plain lines, so pipes and
tests drive the same evaluator. Either way an input is run in one Session, so
definitions accumulate, and a failed input changes nothing.
"""
from __future__ import annotations

import os
import re
import sys
import time

from dp.dsl import primitives as P
from dp.dsl import syntax as S
from dp.dsl.checker import DICT_METHODS, LIST_METHODS, SET_METHODS
from dp.dsl.diagnostics import DPError, did_you_mean, use_colour
from dp.dsl.parser import parse
from dp.dsl.symbols import Symbol
from dp.dsl.types import UNIT, DictT, EnumT, FnT, ListT, SetT, StructT, TupleT

from .lexer import BUILTINS, KEYWORDS, TYPES, DPLexer
from .lsp.completion import expression_before   # the editor's own, so both complete alike
from .runtime import DPRuntimeError, Output
from .session import Session
from .values import format_value

PROMPT, CONTINUATION = "dp> ", "... "
TIME_BUDGET, TIME_REPEATS = 0.2, 5        # `:time`: seconds of calls a run, and runs

# Meta-commands in priority order: a prefix means the first command it begins
# (as in GHCi), so `:t` is `:type`, `:ti` is `:time`, `:r` is `:reload`.
COMMANDS = [
    ("help", "", "show this help"),
    ("type", "EXPR", "show the type of EXPR (or a builtin's signatures) without running it"),
    ("time", "EXPR", "run EXPR, repeated if quick; show how long a call takes, compiling apart"),
    ("doc", "NAME", "what the reference docs say of NAME (also `?NAME`)"),
    ("browse", "[MODULE]", "list what this session (or an imported module) defines"),
    ("grad", "NAME [N] [forward|vjp]", "show the derivative of function NAME as DP source"),
    ("load", "FILE", "run a .dp file in this session"),
    ("reload", "", "start afresh and load the loaded files again"),
    ("quit", "", "leave (Ctrl-D does too)"),
]


def history_path() -> str:
    return os.environ.get("DP_HISTORY") or os.path.join(os.path.expanduser("~"), ".dp_history")


def needs_more(text: str) -> bool:
    """Whether text is the unfinished start of an input: it fails to parse only
    because it ends too early (an open block, bracket, or a trailing operator)."""
    if not text.strip() or text.lstrip().startswith((":", "?")):
        return False
    try:
        parse(text, "<incomplete>")
    except DPError as e:
        d = e.first
        return d.kind == "syntax error" and "end of" in d.message and "input" in d.message
    return False


def enter_inserts_line(text: str, cursor: int) -> bool:
    """IPython's rule for Enter in an input of several lines (one recalled from the
    history, say): with text after the cursor, Enter inserts a line there; at the end
    (only blanks after the cursor) it runs the input once it is complete."""
    return "\n" in text and bool(text[cursor:].strip())


# The names the prompt offers: builtins without the helpers of derivative rules.
HIDDEN = P.HELPERS


def builtin_name(name: str, env) -> bool:
    """Whether name is a builtin function the session has not shadowed."""
    return (name not in env.values and name not in env.structs and name not in env.enums
            and name not in env.modules and (name in P.CALLABLE or name in P.BUILTIN))


def resolve_command(word: str) -> str | None:
    for name, _, _ in COMMANDS:
        if name.startswith(word):
            return name
    return None


class Repl:
    """The evaluator behind both front ends: one input in, text out."""

    def __init__(self, session: Session | None = None, out=None, err=None):
        if session is None:
            printed = Output()
            if out is not None:                      # `print` goes where results go
                printed.write = out.write
            session = Session(printed)
        self.session = session
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.colour = use_colour(self.err)          # diagnostics in colour on a terminal
        self.loaded: list[str] = []
        self._ans: Symbol | None = None     # the `ans` this prompt defined
        self.failed = False                 # whether any input failed (line mode's exit status)

    # ------------------------------------------------------------------ output
    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def complain(self, text: str) -> None:
        self.failed = True
        self.out.flush()
        self.err.write(text + "\n")
        self.err.flush()

    # ------------------------------------------------------------------ inputs
    def handle(self, text: str) -> bool:
        """Run one complete input; False means leave."""
        stripped = text.strip()
        if not stripped:
            return True
        try:
            if stripped.startswith(":"):
                return self.meta(stripped)
            if stripped.startswith("?"):
                name = stripped[1:].strip()
                if not name:
                    self.complain("usage: ?NAME")
                else:
                    self.cmd_doc(name)
                return True
            self.evaluate(text)
        except RecursionError:
            self.complain("error: the input is nested too deeply for DP to handle\n"
                          "  hint: the session is intact; split the expression into smaller ones")
        except Exception as e:                       # noqa: BLE001 — a bug of DP's: the session goes on
            from .runtime import OutputFailed
            if isinstance(e, OutputFailed):
                raise
            self.complain(f"internal error: {type(e).__name__}: {e}\n"
                          "  hint: this is a bug in DP, please report it; the session and its definitions are intact")
        return True

    def evaluate(self, text: str, timing: dict | None = None):
        """Run text; print its value and type if it is an expression. The Result, or
        None when it failed (said). timing, if given, receives the compile and run times."""
        try:
            result = self.session.run(text, timing=timing)
        except DPError as e:
            self.complain(e.render(self.colour))
            return None
        except KeyboardInterrupt:                    # outside DP code (checking, compiling)
            self.complain("interrupted")
            return None
        if result.type is not None:
            self.set_ans(result)
            try:
                shown = format_value(result.value, top=False)
            except DPRuntimeError as e:             # an int too long to print
                self.complain(f"runtime error: {e.message}" + (f"\n  hint: {e.hint}" if e.hint else ""))
                return None
            self.say(f"{shown} : {result.type}")
        return result

    def set_ans(self, result) -> None:
        """`ans` is the value of the last expression, unless the session defines an
        `ans` of its own."""
        env = self.session.env
        mine = self._ans
        if "ans" in env.values and env.values["ans"] is not mine:
            return
        sym = Symbol("ans", result.type, "let", env.global_py("ans", result.type), is_global=True)
        self.session.runtime.ns[sym.py] = result.value
        env.values["ans"] = self._ans = sym

    # ------------------------------------------------------------------ meta-commands
    def meta(self, line: str) -> bool:
        word, _, rest = line[1:].partition(" ")
        rest = rest.strip()
        name = resolve_command(word) if word else "help"
        if name is None:
            hint = did_you_mean(word, [c for c, _, _ in COMMANDS])
            self.complain(f"unknown command `:{word}`" + (f"; {hint}" if hint else "; `:help` lists the commands"))
            return True
        if name == "quit":
            return False
        needs = dict((c, a) for c, a, _ in COMMANDS)[name]
        if needs and not needs.startswith("[") and not rest:
            self.complain(f"usage: :{name} {needs}")
            return True
        self.line = line                    # as typed: `:grad` quotes it in its diagnostics
        getattr(self, "cmd_" + name)(rest)
        return True

    def cmd_help(self, rest: str) -> None:
        lines = ["Type DP definitions, statements or expressions; an expression prints its value and type.",
                 "An input goes on over several lines while a block or bracket is open.", "",
                 "Commands (any unambiguous prefix works, e.g. :t, :q):"]
        for name, args, doc in COMMANDS:
            lines.append(f"  :{name} {args}".ljust(26) + doc)
        lines += ["", "Keys: Tab completes, Ctrl-R searches the history, → takes a suggestion,",
                  "Ctrl-C stops a running program or clears the input, Ctrl-D leaves."]
        self.say("\n".join(lines))

    def cmd_type(self, rest: str) -> None:
        if builtin_name(rest, self.session.env):
            from .lsp.describe import builtin_signatures
            sigs = builtin_signatures(rest)
            if sigs:
                self.say("\n".join(sigs) + ("\n(a helper derivative rules call, not meant for programs)"
                                             if rest in HIDDEN else ""))
                return
        try:
            prog, _ = self.session.check_text(rest, "<type>")
        except DPError as e:
            self.complain(e.render(self.colour))
            return
        body = prog.body
        if len(body) != 1 or not isinstance(body[0], S.ExprStmt):
            self.complain("`:type` takes an expression")
            return
        self.say(f"{rest} : {body[0].expr.ty}")

    def cmd_time(self, rest: str) -> None:
        """Run rest once (checked and compiled first, timed apart). An expression whose
        run is quick is run again, like Python's timeit: as many calls as take about
        TIME_BUDGET seconds, TIME_REPEATS times; what those calls print is not shown."""
        timing: dict = {}
        result = self.evaluate(rest, timing)
        if result is None:
            return
        compiled, first = timing["compile"], timing["run"]
        try:
            body = parse(rest, "<time>").body
        except DPError:
            body = []
        once = f"compile {_duration(compiled)}, run {_duration(first)}"
        if (result.type is None or len(body) != 1 or not isinstance(body[0], S.ExprStmt)
                or first * TIME_REPEATS > 1.0):
            self.say(f"time: {once}")
            return
        calls = max(1, min(1_000_000, int(TIME_BUDGET / max(first, 1e-7))))
        output = self.session.runtime.output
        write, output.write = output.write, lambda text: None
        runs = []
        try:
            for _ in range(TIME_REPEATS):
                start = time.perf_counter()
                for _ in range(calls):
                    self.session.execute(timing["code"])
                runs.append((time.perf_counter() - start) / calls)
        except DPError as e:
            self.complain(e.render())
            return
        finally:
            output.write = write
        mean = sum(runs) / len(runs)
        spread = (sum((r - mean) ** 2 for r in runs) / len(runs)) ** 0.5
        self.say(f"time: {_duration(mean)} ± {_duration(spread)} a call (mean ± std. dev. of {len(runs)} runs, "
                 f"{calls} call{'s' if calls > 1 else ''} each); compile {_duration(compiled)}, "
                 f"first run {_duration(first)}")

    def cmd_doc(self, rest: str) -> None:
        """`:doc NAME`, `?NAME`: a definition of the session (its signature, the comment
        above it, what is differentiable), or a builtin's signatures and what the
        reference docs (docs/*.md) say of it, or a module's or a keyword's entry."""
        from . import reference
        from .lsp import describe
        name, env = rest, self.session.env
        if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)?", name):
            self.complain(f"usage: :doc NAME (a name, not `{name}`)")
            return
        lines = []
        sym = env.values.get(name)
        mod, _, member = name.rpartition(".")
        if sym is None and mod in env.modules:
            sym = env.modules[mod].values.get(member)
        if sym is not None and sym is not self._ans:
            fn = sym.decl if isinstance(sym.decl, S.FnDef) else None
            if fn is not None and fn.comment:
                lines.append(fn.comment)
            if isinstance(sym.ty, FnT):
                lines.insert(0, describe.fn_signature(name, fn, sym.ty) if fn is not None else f"{name} : {sym.ty}")
                lines += describe.differentiability(name, sym.ty, fn, self._grad_status(name))
            else:
                lines.insert(0, f"{sym.kind} {name}: {sym.ty}")
            if mod:
                lines += [e.render() for e in reference.lookup(name)]
        elif name in env.structs:
            t = env.structs[name]
            lines.append(f"struct {name} {{ {', '.join(f'{n}: {ft}' for n, ft in t.fields.items())} }}")
            lines.append(f"its gradient is a `{name}`" if t.active else "carries no derivative")
        elif name in env.enums:
            t = env.enums[name]
            lines.append(f"enum {name} {{ " + ", ".join(v + (f"({', '.join(map(str, p))})" if p else "")
                                                        for v, p in t.variants.items()) + " }")
        elif builtin_name(name, env):
            lines += describe.builtin_signatures(name)
            if name in HIDDEN:
                lines.append("a helper that derivative rules (and the code derived from them) call; "
                             "not meant for programs")
            else:
                entries = reference.lookup(name)
                lines += [e.render() for e in entries]
                if not entries and describe.builtin_doc(name):
                    lines.append(describe.builtin_doc(name))
        else:
            entries = reference.lookup(name)
            if name in env.modules:
                lines.append(f"module {name}: " + ", ".join(sorted(n for n in env.modules[name].values)))
            lines += [e.render() for e in entries]
        if name == "ans" and sym is self._ans and sym is not None:
            lines = [f"ans: {sym.ty}", "the value of the last expression"]
        if not lines:
            known = set(env.values) | set(env.structs) | set(env.enums) | set(env.modules) \
                | set(LANGUAGE_WORDS)
            hint = did_you_mean(name, [n for n in known if "__" not in n])
            self.complain(f"nothing is documented for `{name}`" + (f"; {hint}" if hint else ""))
            return
        self.say("\n".join(lines))

    def _grad_status(self, name: str):
        try:
            prog, _ = self.session.check_text(f"grad({name})", "<doc>")
            return prog.body[0].expr.ty, []
        except DPError as e:
            return None, e.diagnostics

    def cmd_browse(self, rest: str) -> None:
        """`:browse`: the session's definitions, as they were declared (structs, enums,
        functions with their signatures, globals with their types, imports); `:browse M`:
        what module M defines."""
        from .lsp import describe
        env = self.session.env
        if rest:
            if rest not in env.modules:
                hint = did_you_mean(rest, env.modules)
                self.complain(f"no module `{rest}` is imported" +
                              (f"; {hint}" if hint else f"; `import {rest}` first"))
                return
            env, prefix = env.modules[rest], ""
        lines = []
        for n, t in env.structs.items():
            if "__" not in n and "." not in n:
                lines.append(f"struct {n} {{ {', '.join(f'{f}: {ft}' for f, ft in t.fields.items())} }}")
        for n, t in env.enums.items():
            if "__" not in n and "." not in n:
                lines.append(f"enum {n} {{ {', '.join(t.variants)} }}")
        for n, sym in env.values.items():
            if "__" in n or not n.isidentifier() or sym is self._ans:
                continue
            if sym.kind == "fn" and isinstance(sym.ty, FnT):
                fn = sym.decl if isinstance(sym.decl, S.FnDef) else None
                lines.append(describe.fn_signature(n, fn, sym.ty))
            else:
                lines.append(f"{'var' if sym.kind == 'var' else 'let'} {n}: {sym.ty}")
        if not rest:
            lines += [f"import {m}" for m in env.modules]
            if self._ans is not None and env.values.get("ans") is self._ans:
                lines.append(f"ans: {self._ans.ty}")
        self.say("\n".join(lines) if lines else "nothing is defined yet")

    def cmd_grad(self, rest: str) -> None:
        """`:grad NAME [N] [forward|vjp]`: checked as `grad(NAME, N)` (or `jvp`, `vjp`)
        would be in the session, so the errors are the same."""
        line = getattr(self, "line", ":grad " + rest)
        file = self.session.next_input_name()          # diagnostics quote the command as typed
        words = [(m.group(), m.start()) for m in re.finditer(r"\S+", line)][1:]
        (name, name_at), options = words[0], words[1:]

        def fail(message, word, at, hint=None):
            from dp.dsl.diagnostics import Diagnostic
            from dp.dsl.span import Span
            d = Diagnostic("usage error", message, Span(file, 1, at + 1, 1, at + 1 + len(word)), hint, source_line=line)
            self.complain(d.render(self.colour))
        mode, wrt, wrt_at = "reverse", None, None
        for word, at in options:
            if re.fullmatch(r"-?\d+", word) and wrt is None:
                wrt, wrt_at = int(word), at
            elif word in ("reverse", "forward", "vjp") and mode == "reverse":
                mode = word
            else:
                return fail(f"unknown mode `{word}`", word, at, "write `:grad NAME`, `:grad NAME 1` (with respect "
                            "to parameter 1), `:grad NAME forward` (the jvp) or `:grad NAME vjp` (the pullback)")
        if wrt is not None and mode != "reverse":
            return fail(f"a parameter number selects a gradient's parameter; `{mode}` differentiates with respect "
                        "to every parameter", str(wrt), wrt_at, "leave the number out, or the mode")
        env = self.session.env
        mod, _, member = name.rpartition(".")
        if (env.modules[mod].values.get(member) if mod in env.modules else env.values.get(name)) is None:
            fns = [n for n, s in env.values.items() if s.kind == "fn" and "__" not in n]
            hint = did_you_mean(name, fns) or (f"the functions are {', '.join(f'`{f}`' for f in fns[:8])}"
                                               + (", …" if len(fns) > 8 else "") if fns else "no functions are defined yet")
            return fail(f"`{name}` is not a function defined in this session", name, name_at, hint)
        try:
            text = self.session.derived_source(name, mode, wrt, (file, line), name_at, wrt_at)
        except DPError as e:
            self.complain(e.render(self.colour))
            return
        self.say(text.rstrip("\n"))

    def cmd_load(self, rest: str) -> None:
        path = os.path.expanduser(rest)
        if self.load(path):
            if path not in self.loaded:
                self.loaded.append(path)

    def load(self, path: str) -> bool:
        try:
            self.session.run_file(path)
        except OSError as e:
            self.complain(f"cannot read {path}: {e.strerror}")
            return False
        except DPError as e:
            self.complain(e.render(self.colour))
            return False
        except KeyboardInterrupt:
            self.complain("interrupted")
            return False
        self.say(f"loaded {path}")
        return True

    def cmd_reload(self, rest: str) -> None:
        old = self.session
        self.session = Session(old.runtime.output)
        self._ans = None
        self.session.script_args = old.script_args
        self.session.progress.sink = old.progress.sink
        if not self.loaded:
            self.say("no files loaded: the session starts afresh")
        for path in self.loaded:
            self.load(path)


def _duration(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.3f} s"


# ---------------------------------------------------------------------- completion

LANGUAGE_WORDS = (set(KEYWORDS) | set(BUILTINS) | set(TYPES)) - HIDDEN
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
class Completions:
    """What may come next at the cursor: words in scope, or members after `.`, each
    with what it is (its type, a builtin's signature, `keyword`), which the prompt
    shows beside it."""

    def __init__(self, repl: Repl):
        self.repl = repl

    def words(self) -> dict[str, str]:
        """Every name that may be written here, with what it is."""
        env = self.repl.session.env
        out = {w: "keyword" for w in KEYWORDS}
        out.update({t: "type" for t in TYPES})
        for b in BUILTINS:
            if b in LANGUAGE_WORDS:
                out[b] = _builtin_meta(b)
        out.update({m: "module" for m in env.modules})
        out.update({n: "struct" for n in env.structs if "." not in n})
        out.update({n: "enum" for n in env.enums if "." not in n})
        out.update({n: str(sym.ty) for n, sym in env.values.items() if "__" not in n and n.isidentifier()})
        return out

    def members(self, obj: str) -> dict[str, str]:
        """What may follow `obj.`, with its type."""
        from .lsp.completion import dict_method_types, list_method_types
        env = self.repl.session.env
        if re.fullmatch(r"[A-Za-z_]\w*", obj) and obj not in env.values:
            if obj in env.enums:
                return {v: obj for v in env.enums[obj].variants}
            if obj in env.modules:
                menv = env.modules[obj]
                out = {n: str(s.ty) for n, s in sorted(menv.values.items()) if "__" not in n}
                out.update({n: "struct" for n in menv.structs if "." not in n})
                out.update({n: "enum" for n in menv.enums if "." not in n})
                return out
        try:
            prog, _ = self.repl.session.check_text(obj, "<completion>")
        except (DPError, RecursionError):
            return {}
        if len(prog.body) != 1 or not isinstance(prog.body[0], S.ExprStmt):
            return {}
        t = prog.body[0].expr.ty
        if isinstance(t, StructT):
            return {f: str(ft) for f, ft in t.fields.items()}
        if isinstance(t, ListT):
            types = list_method_types(t)
            return {m: types.get(m, "method") for m in sorted(LIST_METHODS)}
        if isinstance(t, DictT):
            types = dict_method_types(t)
            return {m: types.get(m, "method") for m in sorted(DICT_METHODS)}
        if isinstance(t, SetT):
            return {m: "method" for m in sorted(SET_METHODS)}
        if isinstance(t, TupleT):
            return {str(i): str(it) for i, it in enumerate(t.items)}
        return {}

    def complete(self, text: str) -> tuple[str, list[str]]:
        """(the word being completed, its candidates) for the text before the cursor."""
        word, cands = self.candidates(text)
        return word, list(cands)

    def candidates(self, text: str) -> tuple[str, dict[str, str]]:
        """(the word being completed, {candidate: what it is}) for the text before the cursor."""
        line = text.rsplit("\n", 1)[-1]
        m = re.match(r"\s*([:?])(\w*)(\s+)?(.*)$", line) if "\n" not in text else None
        if m and m.group(1) == "?":
            word = m.group(2) + (m.group(3) or "") + m.group(4)
            return self.candidates(word) if not m.group(3) else ("", {})
        if m:
            _, word, space, rest = m.groups()
            if not space:
                return word, {c: doc for c, _, doc in COMMANDS if c.startswith(word)}
            cmd = resolve_command(word)
            if cmd == "grad":
                w = _WORD.search(rest)
                w = w.group() if w else ""
                return w, {n: str(s.ty) for n, s in self.repl.session.env.values.items()
                           if s.kind == "fn" and n.startswith(w) and "__" not in n}
            if cmd in ("type", "time", "doc"):
                return self.candidates(rest)
            if cmd == "browse":
                return rest, {n: "module" for n in self.repl.session.env.modules if n.startswith(rest)}
            return "", {}
        w = _WORD.search(text)
        word = w.group() if w else ""
        before = text[:len(text) - len(word)]
        if before.endswith(".") and not before.endswith(".."):
            obj = expression_before(before[:-1])
            if not obj or obj[0].isdigit():
                return word, {}
            return word, {k: v for k, v in self.members(obj).items() if k.startswith(word)}
        if not word:
            return word, {}
        return word, {c: v for c, v in sorted(self.words().items()) if c.startswith(word) and c != word}


def _builtin_meta(name: str) -> str:
    """A builtin's type as completion shows it: `fn(float) -> float`, `+2` more overloads."""
    prims = [p for p in P.BY_NAME.get(name, []) if not p.helper]
    if prims:
        first = prims[0]
        more = f"  (+{len(prims) - 1})" if len(prims) > 1 else ""
        return f"fn({', '.join(map(str, first.types))}) -> {first.ret}{more}"
    from .lsp.describe import SPECIAL
    if name in SPECIAL:
        return SPECIAL[name][0]
    return "builtin"


# ---------------------------------------------------------------------- front ends

def run_repl(session: Session | None = None, files: list[str] = ()) -> int:
    """Start the prompt, once files are loaded (`dp repl FILE…`: their definitions are
    the session's, and `:reload` loads them again); the exit status is 0, or 1 when
    reading lines (not a terminal) and some input failed."""
    repl = Repl(session)
    for path in files:
        repl.cmd_load(path)
    if sys.stdin.isatty() and sys.stdout.isatty():
        from .progress import terminal_sink
        repl.session.progress.sink = terminal_sink()          # `for i in progress(0..n)` draws a bar
        return _interactive(repl)
    return _lines(repl, sys.stdin)


def _lines(repl: Repl, stream) -> int:
    """Line mode: no prompt_toolkit, inputs end where they parse."""
    buf: list[str] = []
    for line in stream:
        buf.append(line)
        text = "".join(buf)
        if needs_more(text):
            continue
        buf = []
        if not repl.handle(text):
            return 1 if repl.failed else 0
    if "".join(buf).strip():
        repl.handle("".join(buf))
    return 1 if repl.failed else 0


def _interactive(repl: Repl) -> int:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
    from prompt_toolkit.completion import Completer, Completion, PathCompleter
    from prompt_toolkit.document import Document
    from prompt_toolkit.enums import DEFAULT_BUFFER
    from prompt_toolkit.filters import has_focus
    from prompt_toolkit.history import FileHistory, InMemoryHistory
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.lexers import PygmentsLexer

    from . import VERSION

    completions = Completions(repl)
    paths = PathCompleter(expanduser=True)

    class DPCompleter(Completer):
        def get_completions(self, document, complete_event):
            text = document.text_before_cursor
            m = re.match(r"\s*:(\w+)\s+(.*)$", text)
            if m and resolve_command(m.group(1)) == "load":
                yield from paths.get_completions(Document(m.group(2)), complete_event)
                return
            try:
                word, cands = completions.candidates(text)
            except Exception:                  # noqa: BLE001 — a completion never costs the session
                return
            for c, meta in cands.items():
                yield Completion(c, start_position=-len(word), display_meta=meta)

    kb = KeyBindings()
    editing = has_focus(DEFAULT_BUFFER)          # not while searching the history

    @kb.add("enter", filter=editing)
    @kb.add("c-j", filter=editing)
    def _(event):
        b = event.current_buffer
        if b.complete_state and b.complete_state.current_completion:
            b.apply_completion(b.complete_state.current_completion)
            return
        if not enter_inserts_line(b.text, b.cursor_position) and not needs_more(b.text):
            b.validate_and_handle()
            return
        line = b.document.current_line_before_cursor         # a new line, indented like this one
        indent = line[:len(line) - len(line.lstrip())]
        if line.rstrip().endswith(("{", "(", "[")):
            indent += "    "
        b.insert_text("\n" + indent)

    @kb.add("}", filter=editing)
    def _(event):
        b = event.current_buffer
        line = b.document.current_line_before_cursor
        if line and not line.strip():
            b.delete_before_cursor(min(4, len(line)))
        b.insert_text("}")

    try:
        open(history_path(), "a", encoding="utf-8").close()      # writable? else keep it in memory
        history = FileHistory(history_path())
    except OSError:
        history = InMemoryHistory()

    prompt = PromptSession(
        message=[("class:prompt", PROMPT)],
        prompt_continuation=lambda width, line, soft: [("class:prompt.continuation", CONTINUATION.rjust(width))],
        multiline=True, key_bindings=kb, lexer=PygmentsLexer(DPLexer), completer=DPCompleter(),
        complete_while_typing=True, auto_suggest=AutoSuggestFromHistory(), history=history,
        enable_history_search=False, include_default_pygments_style=True)
    print(f"DP {VERSION}: type :help for help, Ctrl-D to leave.")
    while True:
        try:
            text = prompt.prompt()
        except KeyboardInterrupt:
            continue                                   # Ctrl-C at the prompt clears the input
        except EOFError:
            return 0
        if not repl.handle(text):
            return 0
