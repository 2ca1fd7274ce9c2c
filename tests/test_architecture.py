"""The shape of the code that DESIGN.md asks for, checked: the import graph of the
packages has no cycle and no edge from the language (dsl/) to running it
(interpreter/); every pass that dispatches on node kind has a case for every kind;
notes passes attach to nodes are declared fields; `dp check` derives nothing."""
from __future__ import annotations

import ast
import pathlib

import pytest

from dp.dsl import syntax as S

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ("dp",)


def _modules() -> dict[str, pathlib.Path]:
    out = {}
    for pkg in PACKAGES:
        for p in (ROOT / pkg).rglob("*.py"):
            parts = p.relative_to(ROOT).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    return out


def import_graph() -> dict[str, set[str]]:
    """module -> the project modules it imports, anywhere in it (a function's local
    import counts: it is a dependency all the same)."""
    mods = _modules()
    graph = {}
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        out = set()
        for n in ast.walk(ast.parse(path.read_text())):
            if isinstance(n, ast.Import):
                out.update(a.name for a in n.names)
            elif isinstance(n, ast.ImportFrom):
                if n.level:
                    base = package.split(".")[:len(package.split(".")) - n.level + 1]
                    m = ".".join(base + ([n.module] if n.module else []))
                else:
                    m = n.module
                subs = [f"{m}.{a.name}" for a in n.names if f"{m}.{a.name}" in mods]
                out.update(subs)
                if len(subs) < len(n.names):          # names from the module itself
                    out.add(m)
        graph[name] = {m for m in out if m in mods and m != name}
    return graph


def cycles(graph) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's, without
    recursion)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def test_the_import_graph_has_no_cycle():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_language_does_not_import_running_it():
    edges = [(m, d) for m, deps in import_graph().items() if m.startswith("dp.dsl")
             for d in deps if d.startswith("dp.interpreter")]
    assert edges == []


def test_every_node_class_has_a_layout():
    for cls in S.NODE_CLASSES.values():
        if cls in (S.Node, S.Expr, S.Stmt):
            continue
        kids, data, notes = S.LAYOUT[cls]
        assert {f for f, _ in kids} | set(data) | set(notes) == set(cls.__record_fields__) - {"span"}


def test_copy_keeps_children_and_data_and_drops_notes():
    from dp.dsl.parser import parse
    prog = parse("fn f(x: float) -> float {\n    let p = P { a: [x, 2.0], b: {\"k\": x} }\n    return p.a[0]\n}\n", "t.dp")
    fn = prog.body[0]
    fn.ty = "a note"
    twin = S.copy(fn)
    from dp.dsl.printer import stmt_src
    assert stmt_src(twin) == stmt_src(fn) and twin.ty is None
    assert [type(n).__name__ for n in S.walk(twin)] == [type(n).__name__ for n in S.walk(fn)]


def _passes():
    """Every Dispatch table in the project's modules, with the class it belongs to."""
    import importlib
    out = []
    for name in _modules():
        if name.endswith("__main__"):
            continue
        mod = importlib.import_module(name)
        for obj in vars(mod).values():
            if isinstance(obj, type) and obj.__module__ == name:
                for attr, d in vars(obj).items():
                    if isinstance(d, S.Dispatch):
                        out.append(pytest.param(obj, d, id=f"{name}.{obj.__name__}.{attr}"))
    return out


@pytest.mark.parametrize("cls,dispatch", _passes())
def test_every_pass_has_a_case_for_every_node_kind(cls, dispatch):
    dispatch.table(cls)            # raises UnhandledNode naming the kinds without a case


def test_a_pass_without_a_case_fails_loudly():
    class Partial:
        visit = S.Dispatch("v_", S.EXPRS)

        def v_Num(self, e):
            return e.value
    with pytest.raises(S.UnhandledNode, match="no case for Str"):
        Partial().visit(S.Num(1.0))


def test_dp_check_derives_and_compiles_nothing(tmp_path):
    from dp.interpreter.session import Session
    f = tmp_path / "p.dp"
    f.write_text("fn f(x: float) -> float { return x * x }\nprint(grad(f)(3.0))\n")
    s = Session()
    compiled = []
    s.ad.derive = lambda *a, **k: compiled.append(a)
    s.compiler.program = lambda *a, **k: compiled.append(a)
    prog, _ = s.check_text(f.read_text(), str(f))
    assert compiled == [] and not s.ad.syms


def test_dp_check_of_a_program_with_imports_derives_and_compiles_nothing(tmp_path):
    from dp.interpreter.session import Session
    src = "import optim\nimport roots\nfn f(x: float) -> float { return x * x }\nprint(grad(f)(3.0))\n"
    s = Session()
    s.modules.check_only = True
    made = []
    s.ad.derive = lambda *a, **k: made.append(a)
    s.ad.derive_jacobian = lambda *a, **k: made.append(a)
    s.compiler.program = lambda *a, **k: made.append(a)
    s.check_text(src, str(tmp_path / "p.dp"))
    assert made == [] and not s.modules.pending and not s.ad.syms


def test_one_namespace_and_pyproject_lists_every_package():
    """Everything installs under `dp` (`grammar` is also a PyPI project's name); the
    packages pyproject ships are exactly the directories under dp/ with an __init__.py."""
    import tomllib
    with open(ROOT / "pyproject.toml", "rb") as f:
        meta = tomllib.load(f)
    found = sorted(".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "dp").rglob("__init__.py"))
    assert sorted(meta["tool"]["setuptools"]["packages"]) == found
    assert not [p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file() and p.name not in ("dp", "tests")]
    assert meta["project"]["scripts"]["dp"] == "dp.interpreter.start:entry"      # which runs cli.entry


def test_the_top_level_package_gives_the_embedding_api_without_importing_numpy():
    import subprocess
    import sys
    code = ("import sys, dp\nassert 'numpy' not in sys.modules\n"
            "i = dp.Interpreter()\nprint(i.eval('grad(fn(x: float) -> float { return x * x })(3.0)'), dp.VERSION,"
            " issubclass(dp.DPError, Exception))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert (r.stdout, r.stderr) == ("6.0 0.1.0 True\n", "")
