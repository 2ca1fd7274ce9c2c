"""A standard module's compiled code, kept in the user's cache directory (dsl/cache.py).

Importing a standard module parses it (its tree is kept: modules.parse_module), checks
and renames it, then compiles it to Python. The compiled code is kept too, as a
marshalled code object: checking still runs on every import (it makes the symbols and
types the importer checks against, each its own objects in each process), compiling
does not.

Compiled code refers to runtime objects by name: the copier of a type, a struct's
class, an enum's variants (Runtime.named). Those are this process's objects, so the
entry keeps how each was asked for (its kind and type, a struct or enum type by its
renamed name, `ode.State`) and asks again: the session's runtime makes them, or has
them already, and each name the code used becomes the name the session gives it.

The key is made from everything the code is made from: the module's text, file name
and prefix, the keys of the modules it imports (so their texts too), the Python names
its globals were given, DP's own source (the checker and the compiler among it), DP's
version and Python's. Nothing of the importing program goes in. Code is kept only when
it was compiled plain: not metered (a limit set), with nothing differentiated in the
session yet (derived code would go in the module), and with no lambda (the transforms
find a lambda by its node). Any entry that cannot be read back whole is made again."""
from __future__ import annotations

import functools
import marshal
import os
import types

from dp.dsl import cache
from dp.dsl import types as T
from dp.dsl.records import fields


def key(text: str, file: str, prefix: str, imported: list[str], py_names: list[str]) -> str:
    from . import VERSION
    return cache.key("module code", VERSION, _dp_source(), file, prefix, text, *imported, "\0", *py_names)


def read(name: str, runtime, env):
    """The code kept under key `name`, its runtime names made again in runtime (types
    found by name in env, a GlobalEnv), or None."""
    data = cache.read(f"stdlib-code-{name}.marshal")
    if data is None:
        return None
    try:
        code, made = marshal.loads(data)
        renamed = {old: runtime.named(kind, _decoded(t, env), member) for old, kind, t, member in made}
    except Exception:                           # noqa: BLE001 — a corrupt or stale entry is made again
        return None
    if not isinstance(code, types.CodeType) or None in renamed.values():
        return None
    return code if all(old == new for old, new in renamed.items()) else _renamed(code, renamed)


def write(name: str, code, made: list) -> None:
    """Keep code under key `name`, with what Runtime.named made for it."""
    try:
        data = marshal.dumps((code, tuple((n, kind, _encoded(t), member) for n, kind, t, member in made)))
    except (ValueError, TypeError):
        return
    cache.write(f"stdlib-code-{name}.marshal", data)


def _encoded(t):
    """Type t as nested tuples of strings (marshal keeps those): a struct or enum by its name."""
    if isinstance(t, T.StructT):
        return ("struct", t.name)
    if isinstance(t, T.EnumT):
        return ("enum", t.name)
    if isinstance(t, T.Type):
        return (type(t).__name__, tuple(_encoded(getattr(t, f.name)) for f in fields(t)))
    if isinstance(t, tuple):
        return ("tuple", tuple(_encoded(x) for x in t))
    if isinstance(t, str):
        return ("str", t)
    raise TypeError(f"cannot keep {t!r}")


def _decoded(e, env):
    kind, arg = e
    if kind == "struct":
        return env.structs[arg]
    if kind == "enum":
        return env.enums[arg]
    if kind == "tuple":
        return tuple(_decoded(x, env) for x in arg)
    if kind == "str":
        return str(arg)
    cls = getattr(T, kind)
    if not (isinstance(cls, type) and issubclass(cls, T.Type)):
        raise TypeError(kind)
    return cls(*(_decoded(x, env) for x in arg))


def _renamed(code: types.CodeType, names: dict) -> types.CodeType:
    """code (and the functions' code inside it) with the global names in names replaced."""
    consts = tuple(_renamed(c, names) if isinstance(c, types.CodeType) else c for c in code.co_consts)
    return code.replace(co_names=tuple(names.get(n, n) for n in code.co_names), co_consts=consts)


@functools.lru_cache(maxsize=None)
def _dp_source() -> bytes:
    """A digest of DP's own source (the language and its interpreter) and grammar."""
    from dp.dsl.cache import digest
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    h = digest()
    for sub, deep in (("dsl", True), ("interpreter", False), ("grammar", False)):
        top = os.path.join(root, sub)
        for where, dirs, files in os.walk(top):
            dirs[:] = sorted(dirs) if deep else []
            for f in sorted(files):
                if f.endswith((".py", ".lark")):
                    path = os.path.join(where, f)
                    try:
                        with open(path, "rb") as fh:
                            data = fh.read()
                    except OSError:
                        data = b"?"
                    h.update(os.path.relpath(path, root).encode() + b"\0" + len(data).to_bytes(8, "little") + data)
    return h.digest()
