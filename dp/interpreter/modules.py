"""`import name`: DP modules.

`import optim` at the top of a file loads `optim.dp` from the importing file's
directory (`dp run`, the REPL; an embedder grants directories of its own, or none:
see ModuleLoader.__init__ and docs/security.md) or, failing that, from the standard
library (stdlib/*.dp), whose files diagnostics name `<stdlib>/optim.dp`. The module is
parsed, checked against an environment of its own (it sees only what it imports
itself), compiled into the session's runtime namespace, and bound in the importer
under its name, so `optim.adam(...)` reaches its functions. A module is loaded once
per session, whoever imports it. A standard module's parsed tree and compiled code are
kept in the user's cache directory (parse_module, module_code.py): it is checked on
every load, parsed and compiled once.

Names. Inside a module its globals have their plain names. Once it is checked they
are renamed apart from everything else:

- functions and global values become `optim__adam` in DP (an identifier, because
  derived code refers to functions by name, and is sometimes built as text) and
  `optim.adam` in Python (what a runtime error's call stack shows);
- struct and enum types become `ode.State`, which is how their values print.

The importer's environment holds the renamed names of the module and of everything
it imports in turn, so code derived from a module's function (`grad` of a user
function that calls `ode.rk4`) is checked and compiled in the importer like any
other code. Users cannot spell these names (`ode.State` is not an identifier, and
`optim__adam` is refused as a definition while `optim` is imported).

A module's top-level statements run once, before the first program that imports it
runs (`dp check` does not run them)."""
from __future__ import annotations

import os

from dp.dsl import syntax as S
from dp.dsl.checker import Checker
from dp.dsl.diagnostics import Diagnostic, DPError, did_you_mean
from dp.dsl.symbols import GlobalEnv, Symbol

from . import module_code

KIND = "import error"


class Module:
    def __init__(self, name: str, prefix: str, path: str):
        self.name = name                # as first imported
        self.prefix = prefix            # unique in the session: `name`, or `name2`… for another file of that name
        self.path = path
        self.exports = GlobalEnv()      # plain names: what `name.f` finds
        self.qualified = GlobalEnv()    # renamed names of this module and of all it imports
        self.mtime: float | None = None
        self.code_key: str | None = None    # a standard module's: its compiled code's in the cache (module_code.py)


class ModuleLoader:
    def __init__(self, session):
        self.session = session
        self.by_path: dict[str, Module] = {}
        self.loading: list[tuple[str, str]] = []     # (path, name) of modules being loaded: cycles
        self.pending: list[tuple[Module, object]] = []   # compiled, top-level code not run yet
        self.prefixes: set[str] = set()
        self.check_only = False                      # `dp check`: modules are checked, not derived or compiled
        # Which files `import` may read (docs/security.md). allow_files False: none, only
        # the standard library (an embedder's default). directories None: `name.dp`
        # beside the importing file (the working directory for REPL input), as `dp run`
        # and the REPL do; a list: only in those directories (what an embedder granted).
        self.allow_files = True
        self.directories: list[str] | None = None

    # ------------------------------------------------------------ importing
    def load_imports(self, prog: S.Program, env: GlobalEnv, file: str, loaded: list | None = None) -> GlobalEnv:
        """env extended with the modules prog's top-level `import`s name (env itself
        when there are none), each Module appended to loaded if given. Raises DPError
        at the import line on failure."""
        imports = [s for s in prog.body if isinstance(s, S.Import)]
        if not imports:
            return env
        env, taken = env.copy(), set()
        for s in imports:
            mod = self.load(s, file)
            if loaded is not None:
                loaded.append(mod)
            taken |= set(mod.qualified.values)
            env.modules[s.module] = mod.exports
            env.values.update(mod.qualified.values)
            env.structs.update(mod.qualified.structs)
            env.enums.update(mod.qualified.enums)
            env.rules.update(mod.qualified.rules)
        self._refuse_reserved(prog, taken)
        return env

    def load(self, imp: S.Import, file: str) -> Module:
        name = imp.module
        path = self.find(name, file)
        if path is None:
            raise DPError(Diagnostic(KIND, f"no module named `{name}`", imp.span, self._missing_hint(name, file)))
        for i, (p, _) in enumerate(self.loading):
            if p == path:
                chain = [n for _, n in self.loading[i:]] + [name]
                said = ", which imports ".join(f"`{n}`" for n in chain)
                raise DPError(Diagnostic(KIND, f"import cycle: {said}", imp.span,
                                         "modules cannot import each other; move what both need into a third module"))
        mod = self.by_path.get(path)
        if mod is not None and (mod.mtime is None or mod.mtime == _mtime(path)):
            return mod
        self.loading.append((path, name))
        try:
            mod = self._load(name, path, mod.prefix if mod is not None else None)
        except DPError as e:
            note = Diagnostic("note", f"in module `{name}` ({_shown(path)}), imported here", imp.span)
            raise DPError(e.diagnostics + [note]) from None
        finally:
            self.loading.pop()
        self.by_path[path] = mod
        return mod

    def find(self, name: str, file: str) -> str | None:
        """`name.dp` where files may be read (see __init__), else the standard
        library's. A standard module imports only standard modules."""
        if self.allow_files and not (file or "").startswith(STDLIB):
            for d in self._search(file):
                here = os.path.join(d, name + ".dp")
                if os.path.isfile(here):
                    return os.path.realpath(here)
        from dp.stdlib import module_path
        p = module_path(name)
        return str(p) if p is not None else None

    def _search(self, file: str) -> list[str]:
        return [self._directory(file)] if self.directories is None else list(self.directories)

    @staticmethod
    def _directory(file: str) -> str:
        if not file or file.startswith("<"):
            return os.getcwd()
        return os.path.dirname(os.path.abspath(file))

    def _missing_hint(self, name: str, file: str) -> str:
        known = stdlib_names()
        close = did_you_mean(name, known)
        if not self.allow_files or (file or "").startswith(STDLIB) or self.directories == []:
            where = "only the standard library can be imported here"
        elif self.directories is None:
            where = f"looked for `{name}.dp` in {self._directory(file)}, then in the standard library"
        else:                         # an embedder's directories: not named to the program
            where = f"looked for `{name}.dp` in the module path, then in the standard library"
        return (close + " " if close else "") + where + (f" ({', '.join(known)})" if known else "")

    @staticmethod
    def _refuse_reserved(prog, taken):
        """A program may not define `optim__adam` while it imports `optim`: derived
        code would find the program's definition instead of the module's."""
        errors = []
        for d in prog.body:
            names = [d.name] if isinstance(d, (S.FnDef, S.Let)) and d.name else []
            if isinstance(d, S.Let) and d.names:
                names = list(d.names)
            for n in names:
                if n in taken:
                    errors.append(Diagnostic("type error", f"`{n}` is the name DP gives module `{n.split('__', 1)[0]}`'s "
                                             f"`{n.split('__', 1)[1]}`", d.span, "choose another name"))
        if errors:
            raise DPError(errors)

    # ------------------------------------------------------------ loading one module
    def _load(self, name: str, path: str, prefix: str | None) -> Module:
        from .files import read_source
        shown = _shown(path)                 # the standard library's files are `<stdlib>/name.dp`
        try:
            text = read_source(path, shown)
        except OSError as e:
            raise DPError(Diagnostic(KIND, f"cannot read module `{name}`: {e.strerror}", None)) from None
        self.session.sources.add(shown, text)
        prog = parse_module(text, shown) if _in_stdlib(path) else _parse(text, shown)
        if prefix is None:
            prefix, k = name, 2
            while prefix in self.prefixes:
                prefix, k = f"{name}{k}", k + 1
            self.prefixes.add(prefix)
        mod = Module(name, prefix, path)
        mod.mtime = _mtime(path) if not _in_stdlib(path) else None
        imported: list[Module] = []
        base = self.load_imports(prog, GlobalEnv(py_types=self.session.env.py_types), shown, imported)
        work = base.copy()
        session = self.session                 # session.ad is made when a transform is first checked
        saved_env, syms_before = (session.ad.current_env, set(session.ad.syms)) if session.differentiates else (None, set())
        checker = Checker(work, session.typer)
        checker.py_prefix = prefix + "."
        try:
            checker.check_program(prog)
            if not self.check_only and session.differentiates:
                session.ad.derive_program(prog.body, work)
        except RecursionError:
            raise DPError(Diagnostic("syntax error", "this program is nested too deeply", prog.span,
                                     "split long expressions into several statements")) from None
        finally:
            if session.differentiates:
                session.ad.current_env = saved_env       # the transforms check derived code in the importer's env
        syms = session.ad.syms if session.differentiates else {}
        derived = [syms[n].decl for n in set(syms) - syms_before
                   if syms[n] is not None and isinstance(syms[n].decl, S.FnDef)]
        self._rename(mod, prog, base, work, derived)
        if not self.check_only:
            if _in_stdlib(path) and all(m.code_key is not None for m in imported):
                mod.code_key = module_code.key(text, shown, prefix, [m.code_key for m in imported],
                                               [s.py for s in mod.exports.values.values()])
            self.pending.append((mod, self._compiled(mod, prog, shown)))
        return mod

    def _compiled(self, mod: Module, prog: S.Program, shown: str):
        """The code object of a checked module: a standard module's kept in the cache
        when it is compiled plain (see module_code.py), read back from there."""
        session, compiler = self.session, self.session.compiler
        plain = mod.code_key is not None and not compiler.metered and not session.differentiates
        if plain:
            code = module_code.read(mod.code_key, session.runtime, mod.qualified)
            if code is not None:
                compiler.compiled_unmetered = True         # as compiling it would have noted
                return code
        lambdas = len(compiler.code_nodes)              # a lambda's node goes there (kept code has none)
        session.runtime.made = [] if plain else None     # what the code names, to be named again when read
        try:
            code = compile(compiler.program(prog), shown, "exec")
            made = session.runtime.made
        finally:
            session.runtime.made = None
        if plain and len(compiler.code_nodes) == lambdas:
            module_code.write(mod.code_key, code, made)
        return code

    def _rename(self, mod: Module, prog, base: GlobalEnv, work: GlobalEnv, derived):
        """Give the module's globals names apart from everyone else's (see the top)."""
        values = {n: s for n, s in work.values.items() if n not in base.values}
        structs = {n: t for n, t in work.structs.items() if n not in base.structs}
        enums = {n: t for n, t in work.enums.items() if n not in base.enums}
        new_name = {}
        for n, sym in values.items():
            new_name[id(sym)] = sym.name = f"{mod.prefix}__{n}"
        type_name = {}
        for n, t in list(structs.items()) + list(enums.items()):
            type_name[n] = f"{mod.prefix}.{n}"
            object.__setattr__(t, "name", type_name[n])
        _Renamer(new_name, type_name).program(prog.body + list(derived))
        mod.exports = GlobalEnv(structs=dict(structs), enums=dict(enums), values=dict(values))
        q = GlobalEnv(structs=dict(base.structs), enums=dict(base.enums), values=dict(base.values), rules=dict(base.rules))
        q.values.update({s.name: s for s in values.values()})
        q.structs.update({t.name: t for t in structs.values()})
        q.enums.update({t.name: t for t in enums.values()})
        for n, rule in work.rules.items():
            if n not in base.rules and n in values:
                rule.fn = values[n].name
                q.rules[rule.fn] = rule
        mod.qualified = q

    # ------------------------------------------------------------ running
    def run_pending(self):
        """Run the top-level code of the modules loaded since the last run, in the
        order they were loaded (a module before those that import it)."""
        ns = self.session.runtime.ns
        while self.pending:
            mod, code = self.pending.pop(0)
            try:
                self.session.execute(code)
            except DPError:
                self.by_path.pop(mod.path, None)          # imported again, it is loaded afresh
                self.pending = [(m, c) for m, c in self.pending if m is not mod]
                raise
            for sym in mod.exports.values.values():
                if sym.kind == "fn" and sym.py in ns:
                    self.session.register_function(ns[sym.py], sym.decl)


class _Renamer:
    """Rewrite a checked module's syntax to its globals' new names: names that refer
    to them, their declarations, type names, and `other.f` references to imported
    modules (which become the plain name `other__f`, so code derived from them checks
    wherever the module is imported, even where `other` itself is not)."""
    SKIP = {"span", "ty", "sym", "syms", "captures"}

    def __init__(self, new_name: dict, type_name: dict):
        self.new_name = new_name
        self.type_name = type_name

    def program(self, nodes):
        for n in nodes:
            self.node(n)

    def node(self, n):
        if isinstance(n, S.Name):
            if isinstance(n.sym, Symbol) and id(n.sym) in self.new_name:
                n.id = self.new_name[id(n.sym)]
            elif n.sym is None and n.id in self.type_name:          # `Color` in `Color.Red`
                n.id = self.type_name[n.id]
            return n
        if isinstance(n, S.Field) and n.target and n.target[0] == "module":
            sym = n.target[2]
            out = S.Name(sym.name, span=n.span, ty=n.ty, sym=sym)
            return out
        if isinstance(n, (S.FnDef, S.Let)) and isinstance(n.sym, Symbol) and id(n.sym) in self.new_name:
            n.name = self.new_name[id(n.sym)]
        if isinstance(n, S.Let) and n.syms:
            n.names = [self.new_name.get(id(s), x) for s, x in zip(n.syms, n.names)]
        if isinstance(n, (S.TypeExpr, S.StructLit, S.StructDef, S.EnumDef)) and n.name in self.type_name:
            n.name = self.type_name[n.name]
        if isinstance(n, S.MatchArm) and n.enum in self.type_name:
            n.enum = self.type_name[n.enum]
        for f in n.__record_fields__:
            if f in self.SKIP or (f == "target" and isinstance(n, (S.Call, S.Field))):
                continue
            v = getattr(n, f)
            if isinstance(v, S.Node):
                setattr(n, f, self.node(v))
            elif isinstance(v, list):
                setattr(n, f, [self.item(x) for x in v])
        return n

    def item(self, x):
        if isinstance(x, S.Node):
            return self.node(x)
        if isinstance(x, tuple):
            return tuple(self.item(y) for y in x)
        return x


def _parse(text: str, file: str) -> S.Program:
    from dp.dsl.parser import parse             # the parser is loaded when a text needs it
    return parse(text, file)


def parse_module(text: str, file: str) -> S.Program:
    """parse(text, file), kept in the user's cache directory (dsl/cache.py) under a key
    made from the text, the file's name (every span carries it) and the parser's
    fingerprint: parsing a standard module takes longer than reading it back. A tree
    that cannot be read back is parsed again. Only trees that parse are kept, so every
    syntax error is found by the parser, as it is for any other file."""
    return _cached_parse(text, file, f"module-{_tree_key(text, file)}.pickle", None)


def parse_program_file(text: str, file: str) -> S.Program:
    """parse(text, file) of the program `dp run FILE` runs, kept in the cache as a
    standard module's tree is, but in one entry per file (named by its absolute path
    and holding the key of the text it was parsed from), replaced when the text
    changes: a file run again, as it was, starts without loading the parser, and
    editing a file leaves no trail of old entries."""
    from dp.dsl import cache
    from . import VERSION
    slot = f"program-{cache.key(VERSION, os.path.abspath(file))}.pickle"
    return _cached_parse(text, file, slot, _tree_key(text, file))


def _tree_key(text: str, file: str) -> str:
    from dp.dsl import cache
    from dp.dsl.standalone import tree_fingerprint
    from . import VERSION
    return cache.key(VERSION, tree_fingerprint(), file, text)


def _cached_parse(text: str, file: str, name: str, made_from: str | None) -> S.Program:
    """The tree in entry `name` (with made_from, the key it must have been made
    under, when the entry's name does not carry it), else parse(text, file), kept."""
    import pickle                               # only a program that reads a tree needs it
    from dp.dsl import cache
    data = cache.read(name)
    if data is not None:
        try:
            kept = pickle.loads(data)
            if made_from is not None:
                kept = kept[1] if isinstance(kept, tuple) and len(kept) == 2 and kept[0] == made_from else None
            if isinstance(kept, S.Program):
                return kept
        except Exception:                       # noqa: BLE001 — a corrupt entry is made again
            pass
    prog = _parse(text, file)
    try:
        data = pickle.dumps(prog if made_from is None else (made_from, prog), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:                           # noqa: BLE001 — then it is parsed every time
        return prog
    cache.write(name, data)
    return prog


def stdlib_names() -> list[str]:
    from importlib.resources import files
    return sorted(p.name[:-3] for p in files("dp.stdlib").iterdir() if p.name.endswith(".dp"))


def _mtime(path: str) -> float | None:
    try:
        return os.path.getmtime(path)
    except OSError:
        return None


def _in_stdlib(path: str) -> bool:
    from dp import stdlib
    return os.path.dirname(os.path.realpath(path)) == os.path.dirname(os.path.realpath(stdlib.__file__))


STDLIB = "<stdlib>/"


def _shown(path: str) -> str:
    """How a module's file is named in diagnostics and call stacks: a standard module
    as `<stdlib>/optim.dp`, so no error tells where the host installed DP."""
    return STDLIB + os.path.basename(path) if _in_stdlib(path) else path
