"""Start-up (issue 13): what a run imports, and the caches under the user's cache
directory (dsl/cache.py): the parser's tables and the standard library's parsed
modules. A cache that is corrupt, stale or cannot be written is never fatal."""
import json
import os
import re
import pickle
import subprocess
import sys

import pytest

from dp.dsl import cache
from dp.dsl import syntax as S
from dp.dsl.parser import parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Runs `dp run FILE`, then prints (on stderr, after the program's output) which of the
# optional modules the process imported.
RUN_AND_REPORT = """
import json, sys
from dp.interpreter.cli import main
status = main(["run", sys.argv[1]])
names = ("numpy", "dp.dsl.ad", "lark", "regex", "logging", "matplotlib", "prompt_toolkit")
print(json.dumps({"status": status, "imported": [n for n in names if n in sys.modules]}), file=sys.stderr)
"""


def run(tmp_path, text, cache_home=None):
    """(stdout, the run's report, stderr before the report) of `dp run` on text."""
    prog = tmp_path / "prog.dp"
    prog.write_text(text)
    env = dict(os.environ, XDG_CACHE_HOME=str(cache_home or tmp_path / "cache"))
    out = subprocess.run([sys.executable, "-c", RUN_AND_REPORT, str(prog)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    *before, last = out.stderr.strip().split("\n")
    return out.stdout, json.loads(last), "\n".join(before)


# ---------------------------------------------------------------- what a run imports

def test_a_scalar_program_imports_neither_numpy_nor_the_transforms(tmp_path):
    out, report, err = run(tmp_path, "print(1 + 2)\n")
    assert (out, err, report["status"]) == ("3\n", "", 0)
    assert "numpy" not in report["imported"] and "dp.dsl.ad" not in report["imported"]
    out, report, err = run(tmp_path, "print(1 + 2)\n")
    assert (out, err, report["status"]) == ("3\n", "", 0)
    assert report["imported"] == []            # nor Lark, once its standalone parser is in the cache


def test_importing_standard_modules_imports_no_numpy(tmp_path):
    """optim, ode (and linalg, which it imports) and stats define tensor functions
    too: defining them needs no numpy, only running them does."""
    out, report, _ = run(tmp_path, "import optim\nimport ode\nimport stats\nprint(stats.mean([1.0, 2.0, 3.0]))\n")
    assert out == "2.0\n"
    assert "numpy" not in report["imported"] and "dp.dsl.ad" not in report["imported"]


def test_a_tensor_program_imports_numpy_and_prints_the_same(tmp_path):
    out, report, _ = run(tmp_path, "let t = zeros(3) + 1.0\nprint(t * 2.0, sum(t), 7 % 3)\n")
    assert out == "tensor([2.0, 2.0, 2.0]) 3.0 1\n"
    assert "numpy" in report["imported"] and "dp.dsl.ad" not in report["imported"]


def test_a_tensor_made_inside_a_function_called_later(tmp_path):
    """numpy is first needed deep inside a call: the program goes on with numpy's own
    functions in its namespace."""
    text = ("fn f(n: int) -> float {\n    var s = 0.0\n    for i in 0..n { s = s + sum(ones(i) * 2.0) }\n"
            "    return s\n}\nprint(f(4))\nprint(tanh(zeros(2)))\n")
    out, report, _ = run(tmp_path, text)
    assert out == "12.0\ntensor([0.0, 0.0])\n"
    assert "numpy" in report["imported"]


def test_differentiating_imports_the_transforms_not_numpy(tmp_path):
    out, report, _ = run(tmp_path, "fn f(x: float) -> float { return x * x * x }\nprint(grad(f)(2.0))\n")
    assert out == "12.0\n"
    assert "dp.dsl.ad" in report["imported"] and "numpy" not in report["imported"]


def test_a_runtime_error_in_a_scalar_program_needs_no_numpy(tmp_path):
    prog = tmp_path / "bad.dp"
    prog.write_text("let xs = [1.0]\nprint(xs[3])\n")
    out, report, err = run(tmp_path, prog.read_text())
    assert report["status"] == 1 and "index" in err and "Traceback" not in err
    assert "numpy" not in report["imported"]


def test_numpy_imported_by_a_host_after_dp_is_seen_by_dp():
    """A host that imports numpy after DP and hands a session an array: DP's checks for
    numpy's types see it (the stand-in looks at sys.modules)."""
    code = """
import sys
from dp.interpreter.session import Session
s = Session()
s.run("fn total(t: tensor) -> float { return sum(t * t) }", "a.dp")
before = "numpy" in sys.modules
import numpy
print(before, s.call("total", numpy.array([1.0, 2.0])), s.run("tensor([1.0]) + 1.0").value)
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.stdout == "False 5.0 [2.]\n", out.stderr


def test_the_embedding_api_imports_everything_before_any_limit_starts():
    """An Interpreter's limits (a timeout) never count an import: it makes the
    transforms and imports numpy as it is made."""
    code = """
import sys
from dp.interpreter.embed import Interpreter
dp = Interpreter(timeout=0.5)
made = ("numpy" in sys.modules, "dp.dsl.ad" in sys.modules)     # before anything runs under the limit
print(*made, dp.eval("sum(ones(3))"))
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.stdout == "True True 3.0\n", out.stderr


# ---------------------------------------------------------------- the caches

def entries(cache_home):
    d = cache_home / "dp"
    return sorted(p.name for p in d.iterdir()) if d.is_dir() else []


def test_a_run_fills_the_cache_and_the_next_run_reads_it(tmp_path):
    home = tmp_path / "cache"
    text = "import optim\nimport stats\nprint(stats.mean([2.0, 4.0]))\n"
    assert run(tmp_path, text, home)[0] == "3.0\n"
    names = entries(home)
    assert sum(n.startswith("parser-") for n in names) == 1          # dsl/standalone.py's parser
    assert sum(n.startswith("module-") for n in names) == 3            # optim, stats and math (which stats imports)
    assert sum(n.startswith("stdlib-code-") for n in names) == 3       # … their compiled code (module_code.py)
    assert not any(n.endswith(".tmp") for n in names)
    stamps = {n: (home / "dp" / n).stat().st_mtime_ns for n in names}
    assert run(tmp_path, text, home)[0] == "3.0\n"
    assert {n: (home / "dp" / n).stat().st_mtime_ns for n in entries(home)} == stamps   # read, not rewritten


def test_a_corrupt_cache_is_made_again(tmp_path):
    home = tmp_path / "cache"
    text = "import stats\nprint(stats.mean([2.0, 4.0]))\n"
    run(tmp_path, text, home)
    names = entries(home)
    for n in names:
        (home / "dp" / n).write_bytes(b"\x80\x05not a pickle at all")
    out, report, err = run(tmp_path, text, home)
    assert (out, err, report["status"]) == ("3.0\n", "", 0)
    for n in names:                                   # each written again, whole
        assert not (home / "dp" / n).read_bytes().startswith(b"\x80\x05not")
    assert run(tmp_path, text, home)[0] == "3.0\n"


def test_a_truncated_cache_is_made_again(tmp_path):
    home = tmp_path / "cache"
    text = "import stats\nprint(stats.mean([1.0]))\n"
    run(tmp_path, text, home)
    for n in entries(home):
        p = home / "dp" / n
        p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2])
    out, report, err = run(tmp_path, text, home)
    assert (out, err, report["status"]) == ("1.0\n", "", 0)


def test_an_entry_made_by_another_version_is_not_read(tmp_path, monkeypatch):
    """The key names the entry: another DP version (or grammar, or parser source)
    looks under another name, and never reads this one."""
    from dp import interpreter
    from dp.interpreter.modules import parse_module
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    text = "fn f(x: float) -> float { return x }\n"
    parse_module(text, "<stdlib>/m.dp")
    monkeypatch.setattr(interpreter, "VERSION", "0.0.0-other")
    parse_module(text, "<stdlib>/m.dp")
    assert sum(n.startswith("module-") for n in entries(tmp_path)) == 2


# Without the standalone parser (it cannot be made): Lark itself, its tables in the cache
WITH_LARK = """
import json, sys
from dp import dsl
import dp.dsl.standalone
dsl.standalone.load = lambda always_accept: None
from dp.interpreter.cli import main
status = main(["run", sys.argv[1]])
print(json.dumps({"status": status, "imported": [n for n in ("lark",) if n in sys.modules]}), file=sys.stderr)
"""


def run_with_lark(tmp_path, text, home):
    prog = tmp_path / "prog.dp"
    prog.write_text(text)
    out = subprocess.run([sys.executable, "-c", WITH_LARK, str(prog)], cwd=ROOT, capture_output=True, text=True,
                         env=dict(os.environ, XDG_CACHE_HOME=str(home)), timeout=120)
    *before, last = out.stderr.strip().split("\n")
    return out.stdout, json.loads(last), "\n".join(before)


def test_without_the_standalone_parser_lark_parses_and_keeps_its_tables(tmp_path):
    home = tmp_path / "cache"
    out, report, err = run_with_lark(tmp_path, "print(1 + 2)\nlet x = (1 +\n", home)
    assert out == "" and "syntax error" in err and report == {"status": 1, "imported": ["lark"]}
    assert sum(n.startswith("grammar-") for n in entries(home)) == 1
    out, report, err = run_with_lark(tmp_path, "print(1 + 2)\n", home)
    assert (out, err, report["status"]) == ("3\n", "", 0)


def test_a_grammar_table_with_a_stale_header_is_rebuilt(tmp_path):
    """Lark checks its own digest of the grammar, options and versions as it reads the
    tables: a file at the right name with another digest is built again."""
    home = tmp_path / "cache"
    run_with_lark(tmp_path, "print(1)\n", home)
    [name] = [n for n in entries(home) if n.startswith("grammar-")]
    p = home / "dp" / name
    rest = p.read_bytes().split(b"\n", 1)[1]
    p.write_bytes(b"0" * 64 + b"\n" + rest)
    out, report, err = run_with_lark(tmp_path, "print(2)\n", home)
    assert (out, err, report["status"]) == ("2\n", "", 0)
    assert not p.read_bytes().startswith(b"0" * 64)


def test_the_standalone_parser_reports_syntax_errors_as_lark_does(tmp_path):
    """The same diagnostic, whichever parser finds the error."""
    home = tmp_path / "cache"
    for text in ("let x = (1 +\n", "fn f( { }\n", "let 3 = x\n", "print(\"a\" $ 1)\n"):
        a = run(tmp_path, text, home)
        b = run_with_lark(tmp_path, text, home)
        assert a[0] == b[0] == "" and a[2] == b[2] and "syntax error" in a[2]


def test_an_entry_that_is_not_a_program_is_ignored(tmp_path, monkeypatch):
    import pickle
    from dp.interpreter.modules import parse_module
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    text = "fn f(x: float) -> float { return x }\n"
    parse_module(text, "<stdlib>/m.dp")
    [name] = [n for n in entries(tmp_path) if n.startswith("module-")]
    (tmp_path / "dp" / name).write_bytes(pickle.dumps({"not": "a program"}))
    prog = parse_module(text, "<stdlib>/m.dp")
    assert isinstance(prog, S.Program) and prog.body[0].name == "f"


@pytest.mark.parametrize("where", ["a file", "a file in the way of dp/"])
def test_a_cache_directory_that_cannot_be_made_is_no_error(tmp_path, where):
    if where == "a file":
        home = tmp_path / "plain-file"
        home.write_text("")
    else:
        home = tmp_path / "cache"
        home.mkdir()
        (home / "dp").write_text("")
    out, report, err = run(tmp_path, "import stats\nprint(stats.mean([5.0]))\n", home)
    assert (out, err, report["status"]) == ("5.0\n", "", 0)


def test_a_cache_directory_that_cannot_be_written_is_no_error(tmp_path):
    home = tmp_path / "cache"
    (home / "dp").mkdir(parents=True)
    os.chmod(home / "dp", 0o500)
    try:
        if os.access(home / "dp", os.W_OK):
            pytest.skip("this user can write a read-only directory (root)")
        out, report, err = run(tmp_path, "import stats\nprint(stats.mean([5.0]))\n", home)
        assert (out, err, report["status"]) == ("5.0\n", "", 0)
        assert entries(home) == []
    finally:
        os.chmod(home / "dp", 0o700)


def test_cache_write_is_whole_or_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache.write("x", b"abc") and cache.read("x") == b"abc"
    assert cache.read("missing") is None
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "dp" / "x"))      # a file where the directory would go
    assert cache.write("y", b"abc") is False and cache.read("y") is None


def test_cache_keys_differ_with_any_part():
    assert cache.key("a", "b") != cache.key("ab")
    assert cache.key("a", b"b") == cache.key("a", "b")
    assert len({cache.key(), cache.key(""), cache.key("", "")}) == 3


# ---------------------------------------------------------------- a cached tree is the tree

def _shape(node):
    """Everything a parsed tree says: each node's kind, span and data, in order."""
    out = []
    for n in S.walk(node):
        kids, data, _ = S.LAYOUT[type(n)]
        out.append((type(n).__name__, n.span, tuple((d, repr(getattr(n, d))) for d in data)))
    return out


@pytest.mark.parametrize("name", ["optim", "ode", "linalg", "stats", "math", "roots"])
def test_a_standard_module_read_back_from_the_cache_is_what_the_parser_makes(tmp_path, monkeypatch, name):
    from dp.interpreter.modules import parse_module
    from dp.stdlib import module_path
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    text = module_path(name).read_text(encoding="utf-8")
    shown = f"<stdlib>/{name}.dp"
    fresh = parse(text, shown)
    first = parse_module(text, shown)            # parsed, and stored
    again = parse_module(text, shown)            # read back
    assert again is not first
    assert _shape(again) == _shape(first) == _shape(fresh)
    assert [type(c).__name__ for c in getattr(again, "comments", [])] == \
           [type(c).__name__ for c in getattr(fresh, "comments", [])]


# ---------------------------------------------------------------- a standard module's code (module_code.py)

ALL_STANDARD = "import optim\nimport ode\nimport stats\nimport math\nimport linalg\nimport roots\n"


def _module_codes(text, before=None, metered=False):
    """{module name: the code object its import ran} for a session that runs before
    (if given), then text."""
    from dp.interpreter.session import Session
    s = Session()
    s.metered = metered
    got = {}
    run_pending = s.modules.run_pending

    def keep():
        got.update((m.name, c) for m, c in s.modules.pending)
        run_pending()
    s.modules.run_pending = keep
    if before:
        s.run(before, "<before>")
    s.run(text, "<t>")
    return got


def test_a_standard_module_s_code_read_back_is_the_code_compiling_makes(tmp_path, monkeypatch):
    """Read back in a session whose runtime named other objects first (so the kept
    code's names of copiers and struct classes are given again, as other names), the
    code is the code that session compiles."""
    from dp.interpreter import module_code
    before = ("struct P { x: list[float] }\nvar ps = [P { x: [1.0] }]\nvar qs = ps\nqs[0].x[0] = 3.0\n"
              "var d = {\"a\": [1.0]}\nvar e = d\ne[\"a\"][0] = 2.0\n")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "none"))
    (tmp_path / "none").write_text("")                 # no cache: compiled
    compiled = _module_codes(ALL_STANDARD, before)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    _module_codes(ALL_STANDARD)                        # compiled, and kept
    kept = sum(n.startswith("stdlib-code-") for n in entries(tmp_path / "cache"))
    assert kept >= 5                                   # every module without a lambda
    renamed = []
    monkeypatch.setattr(module_code, "_renamed", lambda code, names, f=module_code._renamed:
                        renamed.append(names) or f(code, names))
    read = _module_codes(ALL_STANDARD, before)
    assert renamed and any(old != new for old, new in renamed[0].items())
    assert read.keys() == compiled.keys()
    for name in compiled:
        assert read[name] == compiled[name], name


def test_a_module_code_entry_that_does_not_fit_is_made_again(tmp_path, monkeypatch):
    """An entry that names a type the module does not have, or holds no code, is
    not used: the module is compiled (and its entry written) again."""
    import marshal
    from dp.interpreter import module_code
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = _module_codes("import optim\n")["optim"]
    [name] = [n for n in entries(tmp_path) if n.startswith("stdlib-code-")]
    code, made = marshal.loads((tmp_path / "dp" / name).read_bytes())
    assert made                                        # optim's structs and copiers
    for bad in [(code, (("rt·x·0", "struct", ("struct", "optim.Nope"), None),)),
                (code, (("rt·x·0", "copy", ("NotAType", ()), None),)), ("code", ()), (code,)]:
        (tmp_path / "dp" / name).write_bytes(marshal.dumps(bad))
        assert _module_codes("import optim\n")["optim"] == first
        assert marshal.loads((tmp_path / "dp" / name).read_bytes())[1] == made
    reads = []
    monkeypatch.setattr(module_code, "read", lambda *a, f=module_code.read: reads.append(f(*a)) or reads[-1])
    program = "import optim\nfn g(x: list[float]) -> list[float] { return x }\nprint(optim.adam(g, [1.0], 0.1, 3))\n"
    assert _module_codes(program)["optim"] == first
    assert reads and reads[0] is not None              # read back, and it runs


def test_metered_code_is_compiled_not_kept(tmp_path, monkeypatch):
    """A session with a limit compiles a standard module metered, whatever is kept."""
    from dp.interpreter import module_code
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    _module_codes("import stats\n")                   # plain code, kept
    before = entries(tmp_path)
    monkeypatch.setattr(module_code, "read", lambda *a: pytest.fail("read for metered code"))
    metered = _module_codes("import stats\n", metered=True)
    assert entries(tmp_path) == before
    monkeypatch.undo()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert metered["stats"] != _module_codes("import stats\n")["stats"]


# ---------------------------------------------------------------- records (dsl/records.py)

def test_a_record_behaves_as_the_dataclass_it_stands_for(tmp_path, monkeypatch):
    """@record + define against @dataclass: the same fields in the same order (a base's
    first), defaults, factory, keyword-only fields, __match_args__, __post_init__, repr,
    value equality and hash, frozenness and slots; records.py never imports dataclasses."""
    import dataclasses
    from dp.dsl import records
    from dp.dsl.records import Record, define, record
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))

    def declare(deco, field, **options):
        @deco(**options)
        class Base(Record):
            z: float = field(default=0.5, kw_only=True)

        @deco(**options)
        class P(Base):
            a: int
            b: list = field(default_factory=list)
            c: str = field(default="c", kw_only=True)
            d: int = 4
            e: str = field(default="e", compare=False)

            def __post_init__(self):
                object.__setattr__(self, "seen", True) if not options.get("slots") else None
        return P
    for where in ("first", "again"):                 # made, then read back from the cache
        R, D = declare(record, records.field, frozen=True), declare(dataclasses.dataclass, dataclasses.field, frozen=True)
        define([R.__mro__[1], R], "test", by_value=[R])
        assert repr(R(1, c="x")) == repr(D(1, c="x"))
        assert [f.name for f in records.fields(R)] == [f.name for f in dataclasses.fields(D)] == ["z", "a", "b", "c", "d", "e"]
        assert R.__match_args__ == D.__match_args__ == ("a", "b", "d", "e")
        assert R(1) == R(1, [], c="c") and R(1) != R(2) and hash(R(1, ())) == hash(D(1, ())) and R(1).b is not R(1).b
        assert R(1, e="x") == R(1, e="y") and R(1).seen and R.d == D.d == 4 and not hasattr(R, "b")
        with pytest.raises(records.FrozenInstanceError):
            R(1).a = 2
        with pytest.raises(AttributeError):          # as dataclasses.FrozenInstanceError is one
            del R(1).a
        with pytest.raises(TypeError):
            R(1, [], "x", 5, "e", "extra")           # c and z are keyword-only
    for slots in (False, True):                      # pickled and read back, as the types are in the cache
        S1 = declare(record, records.field, frozen=True, slots=slots)
        define([S1.__mro__[1], S1], f"test-slots-{slots}", by_value=[S1])
        assert hasattr(S1(1), "__dict__") != slots
        globals()["S1"] = S1                         # pickle finds a class by its module's name for it
        S1.__qualname__ = "S1"
        try:
            back = pickle.loads(pickle.dumps(S1(1, (2,), c="z")))
            assert back == S1(1, (2,), c="z") and hash(back) == hash(S1(1, (2,), c="z"))
            with pytest.raises(records.FrozenInstanceError):
                back.a = 3
        finally:
            del globals()["S1"]
    N = declare(record, records.field)               # compared by identity, as a syntax node
    define([N.__mro__[1], N], "test-nodes")
    n = N(1)
    n.a = 2
    assert n != N(2) and n == n and (n.a, n.b, n.c, n.z) == (2, [], "c", 0.5)
    assert not re.search(r"^\s*(import|from) dataclasses", open(records.__file__).read(), re.M)


def test_a_run_imports_no_dataclasses_inspect_or_dis(tmp_path):
    """What the run of a program already parsed needs: not `dataclasses` (which imports
    `inspect`), nor `dis` (errors.py reads bytecode only when a program fails)."""
    run_report = RUN_AND_REPORT.replace('"prompt_toolkit")', '"prompt_toolkit", "dataclasses", "inspect", "dis")')
    prog, env = tmp_path / "prog.dp", dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
    prog.write_text("print(1 + 2)\n")
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", run_report, str(prog)], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
    assert out.stdout == "3\n" and json.loads(out.stderr.strip().split("\n")[-1])["imported"] == []


# ---------------------------------------------------------------- a program file's tree

def test_a_file_run_again_as_it_was_needs_no_parser(tmp_path):
    """`dp run FILE` keeps FILE's tree in one entry named by its path: the next run of the
    same text reads it and never loads the parser; an edit is parsed (and replaces the
    entry, so editing leaves no trail); a syntax error is the parser's, every time."""
    run_parser = RUN_AND_REPORT.replace('"prompt_toolkit")', '"prompt_toolkit", "dp.dsl.parser")')
    prog, home = tmp_path / "prog.dp", tmp_path / "cache"
    env = dict(os.environ, XDG_CACHE_HOME=str(home))

    def go(text):
        prog.write_text(text)
        out = subprocess.run([sys.executable, "-c", run_parser, str(prog)], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
        *before, last = out.stderr.strip().split("\n")
        return out.stdout, json.loads(last)["imported"], "\n".join(before)

    out, imported, err = go("print(1 + 2)\n")              # the first run makes the parser too (Lark)
    assert (out, err) == ("3\n", "") and "dp.dsl.parser" in imported
    assert go("print(1 + 2)\n") == ("3\n", [], "")
    assert go("print(1 + 2)  # the comment changes the text\n") == ("3\n", ["dp.dsl.parser"], "")
    assert go("print(1 + 2)  # the comment changes the text\n") == ("3\n", [], "")
    assert len([f for f in os.listdir(home / "dp") if f.startswith("program-")]) == 1
    out, imported, err = go("print(1 +)\n")
    assert out == "" and "syntax error" in err and "dp.dsl.parser" in imported
    out, imported, err = go("let x = 1\nprint(x + undefined_name)\n")
    assert "undefined_name" in err and "2:" in err     # a type error quotes the file's line, as ever
    assert go("let x = 1\nprint(x + undefined_name)\n")[2] == err


def test_a_program_tree_entry_for_another_text_or_corrupt_is_not_read(tmp_path, monkeypatch):
    from dp.interpreter import modules
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    file = str(tmp_path / "p.dp")
    first = modules.parse_program_file("let a = 1.0\n", file)
    again = modules.parse_program_file("let a = 1.0\n", file)          # read back
    assert again is not first and _shape(again) == _shape(first) == _shape(parse("let a = 1.0\n", file))
    (entry,) = [f for f in os.listdir(tmp_path / "cache" / "dp") if f.startswith("program-")]
    assert _shape(modules.parse_program_file("let b = 2.0\n", file)) == _shape(parse("let b = 2.0\n", file))
    (tmp_path / "cache" / "dp" / entry).write_bytes(b"not a pickle")
    assert _shape(modules.parse_program_file("let c = 3.0\n", file)) == _shape(parse("let c = 3.0\n", file))


def test_the_command_loads_without_the_cycle_collector_and_runs_with_it(monkeypatch):
    """dp's entry (dp/interpreter/start.py) turns the collector off while DP's modules
    load and on again, what they made frozen, before the command runs."""
    import gc
    from dp.interpreter import cli, start
    seen = {}
    monkeypatch.setattr(cli, "entry", lambda: seen.update(enabled=gc.isenabled(), frozen=gc.get_freeze_count()))
    try:
        start.entry()
    finally:
        gc.unfreeze()
        gc.enable()
    assert seen["enabled"] and seen["frozen"] > 0
