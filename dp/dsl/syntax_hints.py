"""What a syntax error tells its reader: where it is, what DP expected there (the
likeliest first), the bracket that was left open, and, when the text follows another
language's habit (`def`, `elif`, `and`, `i++`, `if x:` …), the DP way to write it.

The habits are a table keyed on the words around the error, in the spirit of Lark's
`match_examples`: that matches an error by the parser's state and the token's type
alone, and `def f`, `a and b` and `elif x` all leave the parser in one state with a
name coming; the words tell them apart. Each habit has an example, and the tests run
every example through the parser (tests/test_syntax_hints.py)."""
from __future__ import annotations

import re
from dataclasses import dataclass


from .diagnostics import Diagnostic
from .span import Span

# ---------------------------------------------------------------------- the words of the text

# DP's tokens near enough for hints: strings and comments whole, so brackets in them
# are not counted; `++`, `--` and `===` kept whole, since they are what a habit is.
_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"?|#[^\n]*|[A-Za-z_][A-Za-z0-9_]*|[0-9]+(?:\.[0-9]+)?'
                    r"|===|!==|\+\+|--|\*\*|&&|\|\||->|=>|==|!=|<=|>=|\.\.|\+=|-=|\*=|/=|\S")


@dataclass(frozen=True)
class Word:
    text: str
    line: int
    col: int           # 1-based, in characters, as Lark counts
    first: bool        # the first word on its line
    indent: int        # the indentation of its line, in characters

    @property
    def end(self) -> int:
        return self.col + len(self.text)


def words(text: str) -> list[Word]:
    out = []
    for n, line in enumerate(text.split("\n"), 1):
        indent = len(line) - len(line.lstrip(" \t"))
        first = True
        for m in _TOKEN.finditer(line):
            if m.group().startswith("#"):
                break
            out.append(Word(m.group(), n, m.start() + 1, first, indent))
            first = False
    return out


_CLOSER = {"(": ")", "[": "]", "{": "}"}
_CLOSER_TERMS = {"(": "RPAR", "[": "RSQB", "{": "RBRACE"}


def open_brackets(ws: list[Word], upto: tuple[int, int] | None = None):
    """The brackets still open before position upto (line, col; the end if None), the
    outermost first, and the pairs closed before it as (opener, closer)."""
    stack: list[Word] = []
    pairs: list[tuple[Word, Word]] = []
    for w in ws:
        if upto is not None and (w.line, w.col) >= upto:
            break
        if w.text in _CLOSER:
            stack.append(w)
        elif w.text in (")", "]", "}") and stack and _CLOSER[stack[-1].text] == w.text:
            pairs.append((stack.pop(), w))
    return stack, pairs


def unclosed(ws: list[Word]) -> tuple[Word, int | None] | None:
    """The bracket left open at the end of the text, and for a `{` the line its `}` is
    missing before, if the indentation tells. A `}` indented less than the line of the
    `{` it closes is taken to close an outer block: the `{` it closes instead is then
    the one left open (the first `}` where the indentation goes wrong tells)."""
    stack, pairs = open_brackets(ws)
    if not stack:
        return None
    if stack[-1].text != "{":
        return stack[-1], None            # newlines inside ( and [ are ignored: no indentation to read
    wrong = [(o, c) for o, c in pairs if o.text == "{" and c.first and c.line > o.line and c.indent < o.indent]
    if wrong:
        o, c = min(wrong, key=lambda p: (p[1].line, p[1].col))
        return o, c.line
    return stack[-1], None


# ---------------------------------------------------------------------- what was expected

_EXPRESSION = {"NAME", "INT", "FLOAT", "STRING", "LPAR", "LSQB", "LBRACE", "MINUS", "BANG", "TRUE", "FALSE", "FN",
               "INF", "NAN", "IF_EXPR"}
_STATEMENT = {"LET", "VAR", "IF", "WHILE", "FOR", "RETURN", "BREAK", "CONTINUE", "IMPORT", "MATCH", "STRUCT",
              "ENUM", "DERIVATIVE"}
_OPERATOR = {"PLUS", "MINUS", "STAR", "SLASH", "PERCENT", "AT", "POW", "CMP_OP", "ANDAND", "OROR"}
_POSTFIX = {"LPAR", "LSQB", "DOT"}         # a call, an index, a field: after an expression, as operators are
_NAMES = {"NAME": "a name", "INT": "a number", "FLOAT": "a number", "STRING": "a string", "AUG_OP": "`+=`",
          "CMP_OP": "a comparison", "STRUCT_LBRACE": "`{`", "IF_EXPR": "`if`"}
# the likeliest first: a bracket's closer, then the separators, then what begins something
_FIRST = ["RPAR", "RSQB", "RBRACE", "COMMA", "COLON", "LBRACE", "STRUCT_LBRACE", "EQUAL", "IN", "NAME", "INT"]


def expected(accepts, literals: dict[str, str]) -> list[str]:
    """What the parser would take next, as a reader names it, the likeliest first:
    the closer of an open bracket, a separator, then the groups (an expression, an
    operator, a statement), and a new line last. Nothing is left out: groups keep the
    list short."""
    acc = {t for t in accepts if t not in ("COMMENT",)}
    groups_after: list[str] = []
    if {"LET", "IF", "NAME"} <= acc:
        acc -= _STATEMENT | _EXPRESSION
        groups_after.append("a statement")
    elif {"NAME", "INT", "LPAR"} <= acc:
        acc -= _EXPRESSION
        groups_after.append("an expression")
    if len(acc & _OPERATOR) >= 4:
        acc -= _OPERATOR | _POSTFIX | {"RANGE"}
        groups_after.append("an operator")
    if "_NL" in acc:
        acc -= {"SEMICOLON", "$END"}
    ends = [x for x, t in (("a new line", "_NL"), ("the end of the input", "$END")) if t in acc]
    acc -= {"_NL", "$END"}
    order = {t: k for k, t in enumerate(_FIRST)}
    rest = sorted(acc, key=lambda t: (order.get(t, len(order)), describe(t, literals)))
    named = []
    for t in rest:
        d = describe(t, literals)
        if d not in named:
            named.append(d)
    return named + groups_after + ends


def describe(term: str, literals: dict[str, str]) -> str:
    if term in _NAMES:
        return _NAMES[term]
    if term in literals:
        return f"`{literals[term]}`"
    return term.lower()


def either(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


# ---------------------------------------------------------------------- other languages' habits

_FN_EXAMPLE = "`fn {name}(x: float) -> float { … }`"
_BLOCKS = {"if": "if x > 0 { … }", "while": "while x > 0 { … }", "for": "for x in xs { … }",
           "else": "} else { … }", "elif": "} else if x < 0 { … }", "match": "match v { … }"}

# A word another language has where DP has something else, found just before the
# token the parser could not take: (message, hint). `{next}` is the word after it.
_BEFORE = {
    "def": ("`def` is not a DP keyword", "a function is declared with `fn`: " + _FN_EXAMPLE),
    "function": ("`function` is not a DP keyword", "a function is declared with `fn`: " + _FN_EXAMPLE),
    "func": ("`func` is not a DP keyword", "a function is declared with `fn`: " + _FN_EXAMPLE),
    "fun": ("`fun` is not a DP keyword", "a function is declared with `fn`: " + _FN_EXAMPLE),
    "elif": ("`elif` is not a DP keyword", "write `else if`: `} else if x < 0 { … }`"),
    "elsif": ("`elsif` is not a DP keyword", "write `else if`: `} else if x < 0 { … }`"),
    "elseif": ("`elseif` is not a DP keyword", "write `else if`: `} else if x < 0 { … }`"),
    "not": ("`not` is not a DP operator", "DP writes `!`: `!{next}`"),
    "const": ("`const` is not a DP keyword", "a constant is declared with `let`: `let {next} = …`"),
    "mut": ("`mut` is not a DP keyword", "a variable that changes is declared with `var`: `var {next} = …`"),
    "lambda": ("`lambda` is not a DP keyword", "a function value is written `fn(x: float) -> float { return … }`"),
    "from": ("DP has no `from … import`", "import the module and name what it defines: `import linalg`, then "
                                          "`linalg.solve(a, b)`"),
    "switch": ("`switch` is not a DP keyword", "DP matches an enum's variants with `match v { Red => { … } }`"),
}
# A word another language has, itself the token the parser could not take.
_AT = {
    "and": ("`and` is not a DP operator", "DP writes `&&` for and (`||` for or, `!` for not)"),
    "or": ("`or` is not a DP operator", "DP writes `||` for or (`&&` for and, `!` for not)"),
    "then": ("DP's `if` has no `then`", "the branch is a block in braces: `if x > 0 { … }`"),
    "is": ("`is` is not a DP operator", "compare with `==`"),
    "as": ("DP's `import` has no `as`", "a module is used by its own name: `import linalg`, then `linalg.solve`"),
}
_CHARACTERS = {
    "^": ("`^` is not a DP operator", "a power is written `x ** 2`"),
    "'": ("a string is in double quotes", 'write "…"'),
    "&": ("`&` is not a DP operator", "DP writes `&&` for and"),
    "|": ("`|` is not a DP operator", "DP writes `||` for or"),
    "?": ("DP has no `? :`", "write an `if` statement: `if c { … } else { … }`"),
}


def habit(ws: list[Word], at: int, token: str, accepts: set[str]) -> tuple[str, str, Word] | None:
    """(message, hint, the word to point at) when the error at ws[at] (the first word
    at or after the error; len(ws) at the end) follows another language's habit."""
    here = ws[at] if at < len(ws) else None
    before = ws[at - 1] if at > 0 else None
    line = here.line if here is not None else before.line if before is not None else 0
    start = next((w for w in ws if w.line == line and w.text != "}"), None)
    # `i++`, `i--`: the word holds the `+` the parser stopped at, or ends the text
    w = here if here is not None and not (before is not None and before.text == "--" and (
        here.line > before.line or here.text in (";", ")", "]", "}", ","))) else before
    if w is not None and w.text in ("++", "--"):
        k = ws.index(w)
        name = ws[k - 1].text if k > 0 and re.fullmatch(r"[A-Za-z_]\w*", ws[k - 1].text) else "i"
        return (f"DP has no `{w.text}` operator", f"write `{name} {w.text[0]}= 1`", w)
    if here is not None and here.text in ("===", "!=="):
        return (f"DP has no `{here.text}`", f"compare with `{here.text[:2]}`", here)
    if here is not None and here.text in _AT and token == "NAME":
        message, hint = _AT[here.text]
        return message, hint, here
    if before is not None and before.text in _BEFORE and (here is None or here.line == before.line):
        message, hint = _BEFORE[before.text]
        nxt = here.text if here is not None and re.fullmatch(r"[A-Za-z_]\w*", here.text) else "x"
        return message, hint.replace("{next}", nxt).replace("{name}", nxt), before
    if here is not None and here.text == ":" and token == "COLON" and start is not None:
        if start.text in _BLOCKS and accepts & {"LBRACE", "IF"}:
            return ("a block is in braces, with no `:` before it",
                    f"write `{_BLOCKS[start.text]}`", here)
        if start.text == "fn":
            return ("a function's result type follows `->`", "write " + _FN_EXAMPLE.replace("{name}", "f"), here)
    if here is not None and here.text == ":" and token == "COLON" and _second_colon(ws, at):
        return ("DP's slices have no step", "a slice is `xs[lo:hi]`, of consecutive elements; for every k-th one, "
                "loop: `for i in 0..n { ys.append(xs[lo + i * k]) }`", here)
    if before is not None and before.text == "for" and here is not None and (here.text == "(" or ";" in [
            w.text for w in ws if w.line == here.line]):
        return ("DP has no C-style `for` loop", "count with a range: `for i in 0..n { … }`", here)
    # `for (` opens a tuple of names now (`for (i, x) in …`): `for (var i = 0; …` stops inside it
    if before is not None and before.text == "(" and at >= 2 and ws[at - 2].text == "for" and here is not None \
            and (here.text in ("var", "let", "int") or ";" in [w.text for w in ws if w.line == here.line]):
        return ("DP has no C-style `for` loop", "count with a range: `for i in 0..n { … }`", before)
    if (here is not None and here.text in (")", ",") and accepts == {"COLON"} and before is not None
            and re.fullmatch(r"[A-Za-z_]\w*", before.text)):
        return (f"parameter `{before.text}` has no type",
                f"a parameter is declared with its type: `{before.text}: float`", before)
    return None


def _second_colon(ws: list[Word], at: int) -> bool:
    """Whether ws[at], a `:`, follows another `:` in the same `[ … ]`: `xs[1:5:2]`, `xs[::2]`."""
    depth = 0
    for w in reversed(ws[:at]):
        if w.text in (")", "]", "}"):
            depth += 1
        elif w.text in ("(", "[", "{"):
            if depth == 0:
                return False
            depth -= 1
        elif w.text == ":" and depth == 0:
            return True
    return False


# ---------------------------------------------------------------------- the diagnostic


def syntax_diagnostic(e, text: str, file: str, literals: dict[str, str]) -> Diagnostic:
    """The diagnostic for Lark's error e in text; literals names the grammar's
    terminals that stand for one string (`RPAR` → `)`), as the parser has them."""
    # by name: the classes are the standalone parser's or Lark's own (dsl/parser.py)
    unexpected_token, unexpected_char = _is(e, "UnexpectedToken"), _is(e, "UnexpectedCharacters")
    line, col = getattr(e, "line", 1), getattr(e, "column", 1)
    if line is None or line < 1:
        lines = text.split("\n") or [""]
        line, col = len(lines), len(lines[-1]) + 1
    ws = words(text)
    if unexpected_token and e.token.type == "$END" and ws:
        line, col = ws[-1].line, ws[-1].end          # the caret just after the last word
    at_end = unexpected_token and e.token.type == "$END" or not (unexpected_token or unexpected_char)
    at = len(ws) if at_end else next((k for k, w in enumerate(ws) if (w.line, w.end) > (line, col)), len(ws))

    def span(w: Word) -> Span:
        return Span(file, w.line, w.col, w.line, w.end)

    if unexpected_char:
        char = getattr(e, "char", None) or "?"
        if char in _CHARACTERS:
            message, hint = _CHARACTERS[char]
            return Diagnostic("syntax error", message, Span(file, line, col, line, col + 1), hint)
        shown = char if char.isprintable() and not char.isspace() else f"\\x{ord(char):02x}" if ord(char) < 256 \
            else f"\\u{ord(char):04x}"
        return Diagnostic("syntax error", f"unexpected character `{shown}`", Span(file, line, col, line, col + 1))

    if not unexpected_token:
        left = unclosed(ws)
        if left is not None:
            return _unclosed(left, span)
        return Diagnostic("syntax error", "unexpected end of input", Span(file, line, col, line, col + 1),
                          "a block or bracket is not closed")

    tok = e.token
    try:
        accepts = set(e.interactive_parser.accepts())
    except Exception:                      # noqa: BLE001 — a parser without one: its own guess
        accepts = set(e.expected)

    found = habit(ws, at, tok.type, accepts)
    if found is not None:
        message, hint, w = found
        return Diagnostic("syntax error", message, span(w), hint)

    if tok.type == "$END":
        left = unclosed(ws)
        if left is not None and _CLOSER_TERMS[left[0].text] in accepts:   # not `{ return x *`: that wants an operand
            return _unclosed(left, span)
        what, width = "end of input", 1
    elif tok.type == "_NL":
        what, width = "end of line", 1
    else:
        what, width = f"`{tok.value}`", max(1, len(str(tok.value)))
    wanted = expected(accepts, literals)
    hint = f"expected {either(wanted)}" if wanted else None
    stack, _ = open_brackets(ws, (line, col))
    if stack and stack[-1].text in "([" and stack[-1].line < line:
        o = stack[-1]
        hint = f"the `{o.text}` on line {o.line} (column {o.col}) is not closed" + (f"; {hint}" if hint else "")
    return Diagnostic("syntax error", f"unexpected {what}", Span(file, line, col, line, col + width), hint)


def _unclosed(left: tuple[Word, int | None], span) -> Diagnostic:
    w, before_line = left
    hint = f"add the `{_CLOSER[w.text]}` that closes it"
    if before_line is not None:
        hint += f"; by the indentation, its block ends before line {before_line}"
    # "end of the input": the REPL reads on while an input ends inside a block
    return Diagnostic("syntax error", f"this `{w.text}` is not closed by the end of the input", span(w), hint)


# ---------------------------------------------------------------------- names DP does not have

_NO_NULL = "DP has no null value: an enum can say that a value may be missing (`enum Found { Yes(float), No }`)"
_NAMES_ELSEWHERE = {
    "True": "DP writes `true`", "TRUE": "DP writes `true`",
    "False": "DP writes `false`", "FALSE": "DP writes `false`",
    "None": _NO_NULL, "null": _NO_NULL, "nil": _NO_NULL,
    "elif": "write `else if`",
    "def": "a function is declared with `fn`: " + _FN_EXAMPLE.replace("{name}", "f"),
    "function": "a function is declared with `fn`: " + _FN_EXAMPLE.replace("{name}", "f"),
}


def stdlib_modules() -> list[str]:
    """The modules of DP's standard library (stdlib/*.dp)."""
    from importlib.resources import files
    try:
        return sorted(p.name[:-3] for p in files("dp.stdlib").iterdir() if p.name.endswith(".dp"))
    except (ModuleNotFoundError, OSError):
        return []


def unknown_name_hint(name: str) -> str | None:
    """The hint for a name that is not defined, when it is another language's word
    or a standard-library module that was not imported."""
    if name in _NAMES_ELSEWHERE:
        return _NAMES_ELSEWHERE[name]
    if name in stdlib_modules():
        return f"`{name}` is a module of the standard library: add `import {name}` above its first use"
    return None


def undeclared_hint(name: str, value, updated: bool) -> str:
    """The hint for an assignment to a name never declared: `x = 5` (value is the
    assigned expression), `n += 1` (updated)."""
    if updated:
        return f"declare it first, with its starting value: `var {name} = 0`"
    from .printer import expr_src
    shown = expr_src(value) if value is not None else "…"
    if len(shown) > 30:
        shown = "…"
    return f"declare it: `let {name} = {shown}` (or `var {name} = {shown}` if it changes later)"


def _is(e, name: str) -> bool:
    return any(c.__name__ == name for c in type(e).__mro__)
