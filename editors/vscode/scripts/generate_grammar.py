"""Generate the extension's TextMate grammar (syntaxes/dp.tmLanguage.json) from DP's own
grammar, dp/grammar/dp.lark: its keywords are the words the grammar spells out, its
numbers, strings, names and comments are the grammar's terminals, and the builtins and
types are the checker's. A keyword the grammar gains and this script does not place in
a category stops it, so the highlighting cannot silently fall behind the language.

    python editors/vscode/scripts/generate_grammar.py           # write the file
    python editors/vscode/scripts/generate_grammar.py --check   # exit 1 if it is stale
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
OUT = Path(__file__).resolve().parents[1] / "syntaxes" / "dp.tmLanguage.json"

CONTROL = ["if", "else", "while", "for", "in", "match", "return", "break", "continue"]
DECLARATION = ["let", "var", "fn", "struct", "enum", "import", "derivative"]
CONSTANTS = ["true", "false", "inf", "nan"]


def _terminals() -> dict[str, str]:
    """The grammar's named terminals, as the regular expressions Lark compiled them to."""
    import lark
    from dp.grammar import grammar_text
    from lark.lexer import PatternRE, PatternStr
    parser = lark.Lark(grammar_text(), parser="lalr", lexer="basic")
    out = {}
    for t in parser.terminals:
        p = t.pattern
        out[t.name] = p.to_regexp() if isinstance(p, (PatternRE, PatternStr)) else str(p)
    return out


def _words(pattern: list[str]) -> str:
    return r"\b(?:" + "|".join(re.escape(w) for w in sorted(pattern, key=lambda w: (-len(w), w))) + r")\b"


def build() -> dict:
    sys.path.insert(0, str(ROOT))
    from dp.dsl.checker import PRIM_TYPES
    from dp.interpreter.lexer import KEYWORDS, OPERATORS
    from dp.interpreter.lsp.describe import user_builtins

    placed = set(CONTROL) | set(DECLARATION) | set(CONSTANTS)
    unplaced = sorted(set(KEYWORDS) - placed)
    if unplaced:
        raise SystemExit(f"grammar/dp.lark has keywords the TextMate grammar does not place: {unplaced}; "
                         "add them to CONTROL, DECLARATION or CONSTANTS in " + Path(__file__).name)
    terms = _terminals()
    name = terms["NAME"]
    types = sorted(set(PRIM_TYPES) | {"list", "dict"})
    builtins = sorted(set(user_builtins()) - set(types) - placed)
    number_float = terms["FLOAT"]
    number_int = terms["INT"]
    comment = terms["COMMENT"]
    ops = [o for o in OPERATORS if o not in ("..",)]
    return {
        "$schema": "https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json",
        "name": "DP",
        "scopeName": "source.dp",
        "fileTypes": ["dp"],
        "comment": "Generated from dp/grammar/dp.lark by editors/vscode/scripts/generate_grammar.py; do not edit.",
        "patterns": [{"include": f"#{k}"} for k in (
            "comment", "string", "function-declaration", "type-declaration", "rule-declaration", "constant",
            "control", "declaration", "type", "builtin", "function-call", "type-name", "number", "range",
            "operator", "punctuation", "name")],
        "repository": {
            "comment": {"name": "comment.line.number-sign.dp", "match": comment},
            "string": {"name": "string.quoted.double.dp", "begin": '"', "end": '"|$',
                       "patterns": [{"name": "constant.character.escape.dp",
                                     "match": r"\\(?:x[0-9A-Fa-f]{2}|.)"}]},
            "function-declaration": {"match": rf"\b(fn)\s+({name})",
                                     "captures": {"1": {"name": "storage.type.function.dp"},
                                                  "2": {"name": "entity.name.function.dp"}}},
            "type-declaration": {"match": rf"\b(struct|enum)\s+({name})",
                                 "captures": {"1": {"name": "storage.type.dp"},
                                              "2": {"name": "entity.name.type.dp"}}},
            "rule-declaration": {"match": rf"\b(derivative)\s+({name})",
                                 "captures": {"1": {"name": "storage.type.derivative.dp"},
                                              "2": {"name": "entity.name.function.dp"}}},
            "constant": {"name": "constant.language.dp", "match": _words(CONSTANTS)},
            "control": {"name": "keyword.control.dp", "match": _words(CONTROL)},
            "declaration": {"name": "storage.type.dp", "match": _words(DECLARATION)},
            "type": {"name": "support.type.primitive.dp", "match": _words(types)},
            "builtin": {"name": "support.function.builtin.dp", "match": _words(builtins) + r"(?=\s*\()"},
            "function-call": {"match": rf"({name})(?=\s*\()",
                              "captures": {"1": {"name": "entity.name.function.call.dp"}}},
            "type-name": {"name": "entity.name.type.dp", "match": r"\b[A-Z][A-Za-z0-9_]*\b"},
            "number": {"patterns": [
                {"name": "constant.numeric.float.dp", "match": rf"\b(?:{number_float})\b"},
                {"name": "constant.numeric.integer.dp", "match": rf"\b{number_int}\b"}]},
            "range": {"name": "keyword.operator.range.dp", "match": r"\.\."},
            "operator": {"name": "keyword.operator.dp", "match": "|".join(re.escape(o) for o in ops)},
            "punctuation": {"patterns": [
                {"name": "punctuation.separator.dp", "match": "[,;:]"},
                {"name": "punctuation.accessor.dp", "match": r"\."},
                {"name": "punctuation.bracket.dp", "match": r"[{}()\[\]]"}]},
            "name": {"name": "variable.other.dp", "match": rf"\b{name}\b"},
        },
    }


def text() -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    new = text()
    if "--check" in argv:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != new:
            print(f"{OUT} is stale: run python {Path(__file__).relative_to(ROOT)}", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(new, encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
