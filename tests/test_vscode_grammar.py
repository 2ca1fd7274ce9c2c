"""The VS Code extension's TextMate grammar: generated from grammar/dp.lark, and, run
through VS Code's own tokenizer (vscode-textmate on Oniguruma, from npm), it agrees
with DP's Pygments lexer about every comment, string, number, keyword and operator of
the examples and the standard library. The tokenizer test needs
`npm install` in editors/vscode (`.ci/run` does it); without it, it is skipped."""
from __future__ import annotations

import glob
import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXT = ROOT / "editors" / "vscode"
FILES = sorted(glob.glob(str(ROOT / "examples" / "*.dp"))) + sorted(glob.glob(str(ROOT / "dp" / "stdlib" / "*.dp")))


def _generator():
    spec = importlib.util.spec_from_file_location("generate_grammar", EXT / "scripts" / "generate_grammar.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_committed_grammar_is_the_generated_one():
    assert (EXT / "syntaxes" / "dp.tmLanguage.json").read_text(encoding="utf-8") == _generator().text()


def test_every_keyword_of_the_grammar_is_highlighted():
    from dp.interpreter.lexer import KEYWORDS
    g = _generator().build()["repository"]
    words = " ".join(g[k]["match"] for k in ("constant", "control", "declaration"))
    for k in KEYWORDS:
        assert f"{k}|" in words or f"{k})" in words or f":{k}" in words, k


@pytest.fixture(scope="module")
def tokens():
    if shutil.which("node") is None or not (EXT / "node_modules" / "vscode-textmate").is_dir():
        pytest.skip("needs node and `npm install` in editors/vscode")
    out = subprocess.run(["node", str(EXT / "test" / "tokenize.js"), *FILES], capture_output=True, text=True,
                         timeout=120, check=True)
    return json.loads(out.stdout)


def _textmate_kind(scope: str) -> str | None:
    if scope.startswith("comment."):
        return "comment"
    if scope.startswith(("string.", "constant.character.escape")):
        return "string"
    if scope.startswith("constant.numeric"):
        return "number"
    if scope.startswith(("keyword.control", "storage.type", "constant.language", "support.type")):
        return "keyword"
    if scope.startswith("keyword.operator"):
        return "operator"
    return None


def _pygments_kind(tokentype) -> str | None:
    from pygments.token import Comment, Keyword, Number, Operator, String
    for t, kind in ((Comment, "comment"), (String, "string"), (Number, "number"), (Keyword, "keyword"),
                    (Operator, "operator")):
        if tokentype in t:
            return kind
    return None


def test_textmate_and_pygments_agree_on_the_examples(tokens):
    from dp.interpreter.lexer import DPLexer
    lexer = DPLexer()
    checked = 0
    for f in FILES:
        text = Path(f).read_text(encoding="utf-8")
        tm = []
        for line in tokens[f]:
            for piece, scope in line:
                tm += [_textmate_kind(scope)] * len(piece)
            tm.append(None)                                   # the newline
        pg = [None] * len(text)
        for i, tt, v in lexer.get_tokens_unprocessed(text):
            pg[i:i + len(v)] = [_pygments_kind(tt) if c != "\n" else None for c in v]
        bad = [(text.count("\n", 0, i) + 1, text[i], tm[i], pg[i]) for i in range(len(text))
               if not text[i].isspace() and (tm[i] or pg[i]) and tm[i] != pg[i]]
        assert bad == [], f
        checked += sum(1 for k in tm if k)
    assert checked > 10000


def test_tokens_of_a_line(tokens):
    f = str(ROOT / "examples" / "particles.dp")
    lines = Path(f).read_text().split("\n")
    n = next(i for i, ln in enumerate(lines) if ln.startswith("fn step("))
    got = [(t, s) for t, s in tokens[f][n] if t.strip()]
    assert got[:6] == [("fn", "storage.type.function.dp"), ("step", "entity.name.function.dp"),
                       ("(", "punctuation.bracket.dp"), ("p", "variable.other.dp"),
                       (":", "punctuation.separator.dp"), ("Particle", "entity.name.type.dp")]


def test_the_extensions_own_tests(tokens):
    """`npm test`: the extension activates against a stand-in for VS Code's API and starts
    `dp lsp`; the grammar's own checks."""
    out = subprocess.run(["node", "--test", "test/grammar.test.js", "test/extension.test.js"], cwd=EXT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "# pass 2" in out.stdout and "# fail 0" in out.stdout
