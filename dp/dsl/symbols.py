"""Symbols, scopes and the global environment the checker works in."""
from __future__ import annotations

from .records import Record, define, field, record
from .types import Type


@record
class Symbol(Record):
    name: str                     # the DP name
    ty: Type
    kind: str                     # "let" | "var" | "param" | "fn" | "loop"
    py: str                       # the Python identifier the compiler uses
    is_global: bool = False
    decl: object = None           # the declaring node
    owner: object = None          # the FnDef / Lambda it is local to (None: top level)
    inplace: bool = False         # mutated in place somewhere (xs[i] = …, p.x = …, xs.append …)
    deep: bool = False            # a part of its value is (q.t += v, q.t[0] = v, xs[i][j] = v, xs[i].append …)

    @property
    def mutable(self) -> bool:
        return self.kind == "var"


# How DP names become Python names (docs/security.md). DP identifiers are ASCII, so
# a Python name that ends in `·` is never one Python gives a meaning (`__builtins__`,
# `__class__`, a keyword, a builtin) nor an attribute any Python object has:
#
#   X·        a DP global, function, parameter or local X; a struct field X (attribute)
#   X·vN      a later global X of another type than the first (see GlobalEnv.global_py)
#   X·t, X·N  a block's local at the top level, a shadowing local in a function
#   M.X·      global X of module M (interpreter/modules.py)
#   X·d       a derived function (dsl/ad), X·pyN a Python function registered as DP's
#   rt·…      the runtime's helpers, classes and constants (interpreter/runtime.py)
#
# Nothing of the runtime is spelled `rt·`, `rt·N`, `rt·t…` or `rt·v…`, so `rt` as a
# DP name meets none of its helpers either.

def py_name(name: str) -> str:
    """The Python identifier of DP identifier name."""
    return name + "·"


def field_attr(name: str) -> str:
    """The Python attribute a struct field is stored in: no Python object but a DP
    struct has it, so a field access can only ever read a DP field."""
    return name + "·"


class Scope:
    def __init__(self, parent: "Scope | None" = None, owner=None):
        self.parent = parent
        self.names: dict[str, Symbol] = {}
        self.owner = owner if owner is not None else (parent.owner if parent else None)

    def lookup(self, name: str) -> Symbol | None:
        s = self
        while s is not None:
            if name in s.names:
                return s.names[name]
            s = s.parent
        return None

    def visible_names(self):
        s, seen = self, set()
        while s is not None:
            seen.update(s.names)
            s = s.parent
        return seen


@record
class GlobalEnv(Record):
    """Everything defined at the top level, kept across REPL inputs and files."""
    structs: dict = field(default_factory=dict)      # name -> StructT
    enums: dict = field(default_factory=dict)        # name -> EnumT
    values: dict = field(default_factory=dict)       # name -> Symbol (globals and fns)
    rules: dict = field(default_factory=dict)        # fn name -> RuleDef
    modules: dict = field(default_factory=dict)      # name -> GlobalEnv
    # Python global name -> the DP type of every value it is ever bound to. Shared by
    # copies: one per session (modules are checked with their session's).
    py_types: dict = field(default_factory=dict)

    def copy(self) -> "GlobalEnv":
        return GlobalEnv(dict(self.structs), dict(self.enums), dict(self.values),
                         dict(self.rules), dict(self.modules), self.py_types)

    def global_py(self, name: str, ty: Type, prefix: str = "") -> str:
        """The Python name of a global `name` of type ty. A Python global holds values of
        one DP type for the whole session: redefining `x` (at the REPL, or by reloading a
        module) with another type binds another Python name, so code compiled against
        the old `x` keeps reading a value of the type it was checked for."""
        base = py = prefix + py_name(name)
        if "<error>" in str(ty):                 # a program that failed to check never runs
            return py
        k = 1
        while True:
            have = self.py_types.get(py)
            if have is None:
                self.py_types[py] = ty
                return py
            if have == ty:
                return py
            k += 1
            py = f"{base}v{k}"


define((Symbol, GlobalEnv), __file__ + ":symbols", by_value=(GlobalEnv,))      # their methods (dsl/records.py)
GlobalEnv.__hash__ = None                 # compared by value, and mutable: unhashable, as @dataclass makes it
