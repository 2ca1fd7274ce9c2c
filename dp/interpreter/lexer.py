"""A Pygments lexer for DP: highlights the REPL's input and, registered as a Pygments
plugin (see pyproject.toml), lets `pygmentize -l dp FILE.dp` colour DP files.

The keywords come from grammar/dp.lark, the builtins from the checker, so the
highlighting follows the language without a second list to keep in step."""
from __future__ import annotations

import re

from pygments.lexer import RegexLexer, bygroups, words
from pygments.token import (Comment, Keyword, Name, Number, Operator, Punctuation, String,
                            Whitespace)

from dp.dsl.checker import BUILTIN_NAMES, PRIM_TYPES, TRANSFORMS
from dp.grammar import grammar_text

_LITERALS = set(re.findall(r'"([^"]+)"', grammar_text()))
#: Every word the grammar spells out as a literal: `let`, `fn`, `while`, …
KEYWORDS = sorted(w for w in _LITERALS if re.fullmatch(r"[a-z_]+", w))
_PUNCTUATION = set("{}()[],.:;")
#: Every operator the grammar spells out, longest first: `**`, `->`, `@`, …
OPERATORS = sorted((w for w in _LITERALS if re.fullmatch(r"[-+*/%<>=!&|@.:~]+", w)
                    and w not in _PUNCTUATION and w != "{{"), key=lambda w: (-len(w), w))
CONSTANTS = ["true", "false", "inf", "nan"]
DECLARATIONS = ["let", "var", "fn", "struct", "enum", "derivative", "import"]
TYPES = sorted(set(PRIM_TYPES) | {"list", "dict"})
BUILTINS = sorted((set(BUILTIN_NAMES) | TRANSFORMS) - set(TYPES))

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"


class DPLexer(RegexLexer):
    name = "DP"
    aliases = ["dp"]
    filenames = ["*.dp"]
    mimetypes = ["text/x-dp"]

    _other_keywords = [k for k in KEYWORDS if k not in CONSTANTS and k not in DECLARATIONS]

    tokens = {
        "root": [
            (r"\s+", Whitespace),
            (r"#.*?$", Comment.Single),
            (r'"', String, "string"),
            (rf"(fn)(\s+)({_NAME})", bygroups(Keyword.Declaration, Whitespace, Name.Function)),
            (rf"(struct|enum)(\s+)({_NAME})", bygroups(Keyword.Declaration, Whitespace, Name.Class)),
            (rf"(derivative)(\s+)({_NAME})", bygroups(Keyword.Declaration, Whitespace, Name.Function)),
            (words(CONSTANTS, suffix=r"\b"), Keyword.Constant),
            (words(DECLARATIONS, suffix=r"\b"), Keyword.Declaration),
            (words(_other_keywords, suffix=r"\b"), Keyword),
            (words(TYPES, suffix=r"\b"), Keyword.Type),
            (words(BUILTINS, suffix=r"\b"), Name.Builtin),
            (r"[A-Z][A-Za-z0-9_]*", Name.Class),
            (_NAME, Name),
            (r"[0-9]+\.[0-9]+([eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+", Number.Float),
            (r"[0-9]+", Number.Integer),
            ("|".join(re.escape(op) for op in OPERATORS), Operator),
            (r"[{}()\[\],.:;]", Punctuation),
            (r"\\", Punctuation),                          # line continuation
        ],
        "string": [
            (r'\\.', String.Escape),
            (r'[^"\\\n]+', String),
            (r'"', String, "#pop"),
            (r"\n", String, "#pop"),                        # an unclosed string ends at the line
        ],
    }
