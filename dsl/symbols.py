"""Symbols, scopes and the global environment the checker works in."""
from __future__ import annotations

import keyword
from dataclasses import dataclass, field

from .types import Type


@dataclass(eq=False)
class Symbol:
    name: str                     # the DP name
    ty: Type
    kind: str                     # "let" | "var" | "param" | "fn" | "loop"
    py: str                       # the Python identifier the compiler uses
    is_global: bool = False
    decl: object = None           # the declaring node
    owner: object = None          # the FnDef / Lambda it is local to (None: top level)
    inplace: bool = False         # mutated in place somewhere (xs[i] = …, p.x = …, xs.append …)

    @property
    def mutable(self) -> bool:
        return self.kind == "var"


def py_name(name: str) -> str:
    """DP identifiers are ASCII; the runtime's names contain `·`, so they never meet."""
    return name + "·" if keyword.iskeyword(name) or keyword.issoftkeyword(name) else name


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


@dataclass
class GlobalEnv:
    """Everything defined at the top level, kept across REPL inputs and files."""
    structs: dict = field(default_factory=dict)      # name -> StructT
    enums: dict = field(default_factory=dict)        # name -> EnumT
    values: dict = field(default_factory=dict)       # name -> Symbol (globals and fns)
    rules: dict = field(default_factory=dict)        # fn name -> RuleDef
    modules: dict = field(default_factory=dict)      # name -> GlobalEnv

    def copy(self) -> "GlobalEnv":
        return GlobalEnv(dict(self.structs), dict(self.enums), dict(self.values),
                         dict(self.rules), dict(self.modules))
