"""DP's types. Types are immutable values compared by structure."""
from __future__ import annotations

from .records import Record, define, record


# Each type is a frozen record (dsl/records.py), compared by value (StructT and EnumT by identity),
# its methods written with all the others' after the last of them (records.define).
class Type(Record):
    __slots__ = ()

    @property
    def active(self) -> bool:
        """Whether values of this type carry derivatives (hold a float somewhere)."""
        return False


@record(frozen=True, slots=True)
class Prim(Type):
    name: str                      # float, int, bool, string, tensor, unit

    def __str__(self) -> str:
        return "()" if self.name == "unit" else self.name

    @property
    def active(self) -> bool:
        return self.name in ("float", "tensor")


@record(frozen=True, slots=True)
class IntLit(Type):
    """The type of an integer literal: an int that may also stand where a float is expected."""

    def __str__(self) -> str:
        return "int"


@record(frozen=True, slots=True)
class ListT(Type):
    elem: Type

    def __str__(self) -> str:
        return f"list[{self.elem}]"

    @property
    def active(self) -> bool:
        return self.elem.active


@record(frozen=True, slots=True)
class DictT(Type):
    key: Type
    value: Type

    def __str__(self) -> str:
        return f"dict[{self.key}, {self.value}]"

    @property
    def active(self) -> bool:
        return self.value.active


@record(frozen=True, slots=True)
class DefaultDictT(DictT):
    """defaultdict[K, V]: a dict whose read of a missing key gives its default (a
    constant, made afresh for each read) without adding the key; writing through a
    missing key (`d[k].append(v)`, `d[k] += v`) adds it first. Everything else is a dict's."""

    def __str__(self) -> str:
        return f"defaultdict[{self.key}, {self.value}]"


@record(frozen=True, slots=True)
class SetT(Type):
    """set[T]: distinct hashable values (int, string, bool, enums, tuples of them), in
    insertion order. Never differentiable: its elements cannot be floats."""
    elem: Type

    def __str__(self) -> str:
        return f"set[{self.elem}]"


@record(frozen=True, slots=True)
class TupleT(Type):
    items: tuple[Type, ...]

    def __str__(self) -> str:
        inner = ", ".join(map(str, self.items))
        return f"({inner},)" if len(self.items) == 1 else f"({inner})"

    @property
    def active(self) -> bool:
        return any(t.active for t in self.items)


@record(frozen=True, slots=True)
class FnT(Type):
    params: tuple[Type, ...]
    ret: Type

    def __str__(self) -> str:
        return "fn(" + ", ".join(map(str, self.params)) + f") -> {self.ret}"


@record(frozen=True, slots=True)
class StructT(Type):
    """A struct type; identity is the declaration (two structs named alike differ)."""
    name: str
    fields: dict            # name -> Type, in declaration order (filled in after creation)
    decl: object = None

    def __str__(self) -> str:
        return self.name

    @property
    def active(self) -> bool:
        # a struct may hold itself through a list (a tree); it is active if any field
        # that is not itself again holds a float
        return _holds_float(self, frozenset())

    def __hash__(self) -> int:
        return id(self)


@record(frozen=True, slots=True)
class EnumT(Type):
    name: str
    variants: dict          # name -> tuple of payload types
    decl: object = None

    def __str__(self) -> str:
        return self.name

    @property
    def active(self) -> bool:
        """A float in a payload carries derivatives: the cotangent of an enum value is
        the same variant with the payload's cotangents (its tag is inactive)."""
        return _holds_float(self, frozenset())

    def __hash__(self) -> int:
        return id(self)


def _holds_float(t: Type, inside: frozenset) -> bool:
    """Whether values of t hold a float, not counting the structs and enums it is inside
    of (a struct may hold itself through a list: a tree). The walk carries what it is
    inside, so it keeps no state between calls or threads."""
    if isinstance(t, (StructT, EnumT)):
        if id(t) in inside:
            return False
        inside = inside | {id(t)}
        parts = t.fields.values() if isinstance(t, StructT) else [x for p in t.variants.values() for x in p]
        return any(_holds_float(x, inside) for x in parts)
    if isinstance(t, ListT):
        return _holds_float(t.elem, inside)
    if isinstance(t, DictT):
        return _holds_float(t.value, inside)
    if isinstance(t, TupleT):
        return any(_holds_float(x, inside) for x in t.items)
    return t.active


@record(frozen=True, slots=True)
class ModuleT(Type):
    name: str

    def __str__(self) -> str:
        return f"module {self.name}"


@record(frozen=True, slots=True)
class ErrorT(Type):
    """Stands for the type of an expression that already failed to check, so one
    mistake gives one diagnostic and not a cascade."""

    def __str__(self) -> str:
        return "<error>"


define((Prim, IntLit, ListT, DictT, DefaultDictT, SetT, TupleT, FnT, StructT, EnumT, ModuleT, ErrorT),
       __file__ + ":types", by_value=(Prim, IntLit, ListT, DictT, DefaultDictT, SetT, TupleT, FnT, ModuleT, ErrorT))

FLOAT = Prim("float")
INT = Prim("int")
BOOL = Prim("bool")
STRING = Prim("string")
TENSOR = Prim("tensor")
UNIT = Prim("unit")
INT_LIT = IntLit()
ERROR = ErrorT()


def is_numeric(t: Type) -> bool:
    return t in (FLOAT, INT) or isinstance(t, IntLit)


def assignable(src: Type, dst: Type) -> bool:
    """Whether a value of type src may stand where dst is expected."""
    if src == dst or isinstance(src, ErrorT) or isinstance(dst, ErrorT):
        return True
    if isinstance(src, IntLit):
        return dst in (INT, FLOAT)
    if isinstance(src, ListT) and isinstance(dst, ListT):
        return src.elem is None or assignable(src.elem, dst.elem) and _same_shape(src.elem, dst.elem)
    if isinstance(src, DictT) and isinstance(dst, DictT):
        if type(src) is not type(dst):
            return False
        return (src.key is None) or (src.key == dst.key and assignable(src.value, dst.value) and _same_shape(src.value, dst.value))
    if isinstance(src, TupleT) and isinstance(dst, TupleT):
        return len(src.items) == len(dst.items) and all(assignable(a, b) for a, b in zip(src.items, dst.items))
    if isinstance(src, SetT) and isinstance(dst, SetT):
        return src.elem is None or src.elem == dst.elem
    return False


def _same_shape(a: Type, b: Type) -> bool:
    # A list of int literals may become a list of floats only when it is itself a literal;
    # the checker handles that by retyping literals, so here only exact or literal matches pass.
    return a == b or isinstance(a, IntLit) or isinstance(a, ErrorT) or isinstance(b, ErrorT) or a is None


def concrete(t: Type) -> Type:
    """The type a variable gets from a value: int literals become int."""
    if isinstance(t, IntLit):
        return INT
    if isinstance(t, ListT):
        return ListT(concrete(t.elem))
    if isinstance(t, TupleT):
        return TupleT(tuple(concrete(x) for x in t.items))
    if isinstance(t, DictT):
        return type(t)(concrete(t.key), concrete(t.value))
    if isinstance(t, SetT):
        return SetT(concrete(t.elem))
    return t
