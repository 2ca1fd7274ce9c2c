"""The Pygments lexer for DP, and its registration as a Pygments plugin."""
import glob
import os
import shutil
import subprocess
import sys
import tomllib

import pytest
from pygments.token import Comment, Error, Keyword, Name, Number, Operator, String

from dp.interpreter.lexer import OPERATORS, DPLexer, KEYWORDS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SAMPLE = '''# a comment
struct Particle { x: float, v: float }
fn step(p: Particle, dt: float) -> Particle {
    let a = -p.x
    return Particle { x: p.x + dt * p.v, v: p.v + dt * a }
}
var xs: list[float] = [1.0, 2e3]
while true && !false { break }
let g = grad(fn(x: float) -> float { return sin(x) ** 2 })
print("say \\"hi\\"", len(xs), 42)
'''


def tokens(src):
    return [(t, v) for t, v in DPLexer().get_tokens(src) if v.strip()]


def test_sample_tokens_have_the_right_kinds():
    toks = tokens(SAMPLE)
    kinds = dict((v, t) for t, v in toks)
    assert (Comment.Single, "# a comment") in toks
    assert kinds["struct"] is Keyword.Declaration
    assert kinds["Particle"] is Name.Class
    assert kinds["fn"] is Keyword.Declaration
    assert kinds["step"] is Name.Function
    assert kinds["return"] is Keyword
    assert kinds["while"] is Keyword
    assert kinds["true"] is Keyword.Constant and kinds["false"] is Keyword.Constant
    assert kinds["float"] is Keyword.Type and kinds["list"] is Keyword.Type
    assert kinds["grad"] is Name.Builtin and kinds["sin"] is Name.Builtin and kinds["print"] is Name.Builtin
    assert kinds["1.0"] is Number.Float and kinds["2e3"] is Number.Float and kinds["42"] is Number.Integer
    assert kinds["->"] is Operator and kinds["**"] is Operator and kinds["&&"] is Operator
    assert (String.Escape, '\\"') in toks
    assert kinds["dt"] is Name
    assert not [t for t, _ in toks if t is Error]


def test_lexing_loses_no_text():
    assert "".join(v for _, v in DPLexer().get_tokens(SAMPLE)) == SAMPLE


def test_keywords_come_from_the_grammar():
    for kw in ["let", "var", "fn", "struct", "enum", "if", "else", "while", "for", "in", "return",
               "break", "continue", "match", "import", "derivative", "true", "false"]:
        assert kw in KEYWORDS
    assert "float" not in KEYWORDS                 # a type, not a keyword


def test_every_operator_of_the_grammar_is_one_operator_token():
    assert {"**", "->", "=>", "..", "+=", "&&", "||", "==", "<="} <= set(OPERATORS)
    for op in OPERATORS:
        assert tokens(f"a {op} b") == [(Name, "a"), (Operator, op), (Name, "b")], op


def test_an_identifier_that_starts_like_a_keyword_is_a_name():
    toks = tokens("let format = int_value + lettuce")
    assert (Name, "format") in toks and (Name, "int_value") in toks and (Name, "lettuce") in toks


def test_every_dp_file_in_the_repository_lexes_without_errors():
    files = glob.glob(os.path.join(ROOT, "examples", "*.dp")) + glob.glob(os.path.join(ROOT, "dp", "stdlib", "*.dp"))
    assert files
    for path in files:
        with open(path, encoding="utf-8") as f:
            src = f.read()
        bad = [(t, v) for t, v in DPLexer().get_tokens(src) if t is Error]
        assert not bad, (path, bad[:5])


def test_pyproject_registers_the_lexer_as_a_pygments_plugin():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        meta = tomllib.load(f)
    assert meta["project"]["entry-points"]["pygments.lexers"]["dp"] == "dp.interpreter.lexer:DPLexer"
    assert any(d.startswith("pygments") for d in meta["project"]["dependencies"])


def test_pygmentize_finds_the_lexer_after_pip_install(tmp_path):
    """`pip install .` then `pygmentize -l dp FILE.dp`, in a scratch copy and target."""
    src, target = tmp_path / "src", tmp_path / "site"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", "build", "*.egg-info", "__pycache__", ".pytest_cache"))
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(src)],
                         capture_output=True, text=True, timeout=300)
    if pip.returncode != 0 and ("No matching distribution" in pip.stderr or "Could not find a version" in pip.stderr):
        pytest.skip("pip cannot fetch the build backend here (offline)")
    assert pip.returncode == 0, pip.stderr
    dp_file = tmp_path / "f.dp"
    dp_file.write_text("fn f(x: float) -> float { return x * 2.0 }  # doubled\n")
    env = dict(os.environ, PYTHONPATH=str(target))
    out = subprocess.run([sys.executable, "-m", "pygments", "-l", "dp", "-f", "raw", str(dp_file)],
                         capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=60)
    assert out.returncode == 0, out.stderr
    assert "Token.Name.Function\t'f'" in out.stdout
    assert "Token.Comment.Single\t'# doubled'" in out.stdout
    guess = subprocess.run([sys.executable, "-m", "pygments", "-N", str(dp_file)],
                           capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=60)
    assert guess.stdout.strip() == "dp"
