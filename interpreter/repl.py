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

from dsl import syntax as S
from dsl.checker import DICT_METHODS, LIST_METHODS, SET_METHODS
from dsl.diagnostics import DPError, did_you_mean, use_colour
from dsl.parser import parse
from dsl.types import DictT, ListT, SetT, StructT, TupleT

from .lexer import BUILTINS, KEYWORDS, TYPES, DPLexer
from .runtime import DPRuntimeError, Output
from .session import Session
from .values import format_value

PROMPT, CONTINUATION = "dp> ", "... "

# Meta-commands in priority order: a prefix means the first command it begins
# (as in GHCi), so `:t` is `:type`, `:ti` is `:time`, `:r` is `:reload`.
COMMANDS = [
    ("help", "", "show this help"),
    ("type", "EXPR", "show the type of EXPR without running it"),
    ("time", "EXPR", "run EXPR and show how long it took"),
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
    if not text.strip() or text.lstrip().startswith(":"):
        return False
    try:
        parse(text, "<incomplete>")
    except DPError as e:
        d = e.first
        return d.kind == "syntax error" and "end of" in d.message and "input" in d.message
    return False


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
        if stripped.startswith(":"):
            return self.meta(stripped)
        self.evaluate(text)
        return True

    def evaluate(self, text: str, timed: bool = False) -> None:
        start = time.perf_counter()
        try:
            result = self.session.run(text)
        except DPError as e:
            self.complain(e.render(self.colour))
            return
        except KeyboardInterrupt:                    # outside DP code (checking, compiling)
            self.complain("interrupted")
            return
        elapsed = time.perf_counter() - start
        if result.type is not None:
            try:
                shown = format_value(result.value, top=False)
            except DPRuntimeError as e:             # an int too long to print
                self.complain(f"runtime error: {e.message}" + (f"\n  hint: {e.hint}" if e.hint else ""))
                return
            self.say(f"{shown} : {result.type}")
        if timed:
            self.say(f"time: {_duration(elapsed)}")

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
        self.evaluate(rest, timed=True)

    def cmd_grad(self, rest: str) -> None:
        """`:grad NAME [N] [forward|vjp]`: checked as `grad(NAME, N)` (or `jvp`, `vjp`)
        would be in the session, so the errors are the same."""
        line = getattr(self, "line", ":grad " + rest)
        file = self.session.next_input_name()          # diagnostics quote the command as typed
        words = [(m.group(), m.start()) for m in re.finditer(r"\S+", line)][1:]
        (name, name_at), options = words[0], words[1:]

        def fail(message, word, at, hint=None):
            from dsl.diagnostics import Diagnostic
            from dsl.span import Span
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

LANGUAGE_WORDS = set(KEYWORDS) | set(BUILTINS) | set(TYPES)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
_CLOSERS = {")": "(", "]": "["}


def expression_before(text: str) -> str:
    """The postfix expression that ends text (`p.pos` in `print(p.pos`): names,
    dots, tuple indices and balanced calls or indexing."""
    i = len(text)
    while i > 0:
        c = text[i - 1]
        if c.isalnum() or c in "_.":
            i -= 1
        elif c in _CLOSERS:
            depth, j = 0, i - 1
            while j >= 0:
                if text[j] in _CLOSERS:
                    depth += 1
                elif text[j] in "([":
                    depth -= 1
                    if depth == 0:
                        break
                j -= 1
            if j < 0:
                break
            i = j
        else:
            break
    return text[i:].lstrip(".")


class Completions:
    """What may come next at the cursor: words in scope, or members after `.`."""

    def __init__(self, repl: Repl):
        self.repl = repl

    def words(self) -> list[str]:
        env = self.repl.session.env
        return sorted(LANGUAGE_WORDS | set(env.values) | set(env.structs) | set(env.enums) | set(env.modules))

    def members(self, obj: str) -> list[str]:
        env = self.repl.session.env
        if re.fullmatch(r"[A-Za-z_]\w*", obj) and obj not in env.values:
            if obj in env.enums:
                return list(env.enums[obj].variants)
            if obj in env.modules:
                return sorted(env.modules[obj].values)
        try:
            prog, _ = self.repl.session.check_text(obj, "<completion>")
        except (DPError, RecursionError):
            return []
        if len(prog.body) != 1 or not isinstance(prog.body[0], S.ExprStmt):
            return []
        t = prog.body[0].expr.ty
        if isinstance(t, StructT):
            return list(t.fields)
        if isinstance(t, ListT):
            return sorted(LIST_METHODS)
        if isinstance(t, DictT):
            return sorted(DICT_METHODS)
        if isinstance(t, SetT):
            return sorted(SET_METHODS)
        if isinstance(t, TupleT):
            return [str(i) for i in range(len(t.items))]
        return []

    def complete(self, text: str) -> tuple[str, list[str]]:
        """(the word being completed, its candidates) for the text before the cursor."""
        line = text.rsplit("\n", 1)[-1]
        m = re.match(r"\s*:(\w*)(\s+)?(.*)$", line) if "\n" not in text else None
        if m:
            word, space, rest = m.groups()
            if not space:
                return word, [c for c, _, _ in COMMANDS if c.startswith(word)]
            cmd = resolve_command(word)
            if cmd == "grad":
                w = _WORD.search(rest)
                w = w.group() if w else ""
                return w, [n for n, s in self.repl.session.env.values.items() if s.kind == "fn" and n.startswith(w)]
            if cmd in ("type", "time"):
                return self.complete(rest)
            return "", []
        w = _WORD.search(text)
        word = w.group() if w else ""
        before = text[:len(text) - len(word)]
        if before.endswith(".") and not before.endswith(".."):
            obj = expression_before(before[:-1])
            if not obj or obj[0].isdigit():
                return word, []
            return word, [m for m in self.members(obj) if m.startswith(word)]
        if not word:
            return word, []
        return word, [c for c in self.words() if c.startswith(word) and c != word]


# ---------------------------------------------------------------------- front ends

def run_repl(session: Session | None = None) -> int:
    """Start the prompt; the exit status is 0, or 1 when reading lines (not a
    terminal) and some input failed."""
    repl = Repl(session)
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
            word, cands = completions.complete(text)
            for c in cands:
                yield Completion(c, start_position=-len(word))

    kb = KeyBindings()
    editing = has_focus(DEFAULT_BUFFER)          # not while searching the history

    @kb.add("enter", filter=editing)
    @kb.add("c-j", filter=editing)
    def _(event):
        b = event.current_buffer
        if b.complete_state and b.complete_state.current_completion:
            b.apply_completion(b.complete_state.current_completion)
            return
        if not needs_more(b.text):
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
