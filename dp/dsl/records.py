"""Records: DP's own dataclasses, made without the `dataclasses` module (whose import
brings `inspect`, and whose class processing took a good part of DP's start-up).

A class declared with `@record` (or `@record(frozen=True, slots=True)`) gets its
fields from its annotations, as @dataclass's are found: a base record's first, each
with its default (`x: int = 0`, or `field(default=…, default_factory=…, kw_only=…,
compare=…, metadata=…)`); `fields(cls)` lists them and `__match_args__` names the
positional ones. `define` then writes, for all the classes of a module in one compile
kept in the user's cache directory (dsl/cache.py), the methods @dataclass would have:
`__init__` (its positional fields, then its keyword-only ones, a default_factory called
for each instance, a frozen class's fields set through object.__setattr__, then
`__post_init__` if the class has one) and, for a class compared by value, `__eq__` and
`__hash__` over its fields. `__repr__` is `Record.__repr__` (@dataclass's format,
recursion shown as `...`), for a base class to take."""
from __future__ import annotations

import reprlib

from . import cache


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()                         # no default


class FrozenInstanceError(AttributeError):
    """An assignment to a field of a frozen record."""


class Field:
    __slots__ = ("name", "type", "default", "default_factory", "kw_only", "compare", "metadata")

    def __init__(self, default=MISSING, default_factory=MISSING, kw_only=False, compare=True, metadata=None):
        self.name, self.type = None, None
        self.default, self.default_factory = default, default_factory
        self.kw_only, self.compare, self.metadata = kw_only, compare, metadata or {}

    def __repr__(self) -> str:
        return f"Field(name={self.name!r}, type={self.type!r}, default={self.default!r})"


def field(*, default=MISSING, default_factory=MISSING, kw_only=False, compare=True, metadata=None) -> Field:
    """A field's declaration beyond its default, as dataclasses.field."""
    return Field(default, default_factory, kw_only, compare, metadata)


def fields(obj_or_cls) -> tuple[Field, ...]:
    """A record's fields, in order (a base record's first)."""
    cls = obj_or_cls if isinstance(obj_or_cls, type) else type(obj_or_cls)
    return cls.__record_field_list__


def is_record(obj) -> bool:
    """Whether obj is a record or a record class, as dataclasses.is_dataclass."""
    return hasattr(obj if isinstance(obj, type) else type(obj), "__record_field_list__")


def record(cls=None, /, *, frozen: bool = False, slots: bool = False):
    """Make cls a record (see the top); `define` writes its methods."""
    def wrap(cls):
        found = {}
        for base in reversed(cls.__mro__[1:]):
            found.update(base.__dict__.get("__record_fields__", {}))
        for name, annotation in cls.__dict__.get("__annotations__", {}).items():
            if isinstance(annotation, str) and annotation.startswith(("ClassVar", "typing.ClassVar")):
                continue
            value = cls.__dict__.get(name, MISSING)
            f = value if isinstance(value, Field) else Field(default=value)
            f.name, f.type = name, annotation
            if isinstance(value, Field):         # the class keeps a plain default, as @dataclass leaves it
                if f.default is MISSING:
                    delattr(cls, name)
                else:
                    setattr(cls, name, f.default)
            found[name] = f
        if slots:
            cls = _with_slots(cls, found)
        cls.__record_fields__ = found
        cls.__record_field_list__ = tuple(found.values())
        cls.__match_args__ = tuple(n for n, f in found.items() if not f.kw_only)
        cls._record_frozen = frozen
        return cls
    return wrap if cls is None else wrap(cls)


def _with_slots(cls, found: dict):
    """cls made again with a slot for each field it declares (its bases' have theirs)."""
    inherited = set()
    for base in cls.__mro__[1:-1]:
        own = base.__dict__.get("__slots__", ())
        inherited.update((own,) if isinstance(own, str) else own)
    body = dict(cls.__dict__)
    for name in found:
        body.pop(name, None)
    body.pop("__dict__", None)
    body.pop("__weakref__", None)
    body["__slots__"] = tuple(n for n in found if n not in inherited)
    made = type(cls)(cls.__name__, cls.__bases__, body)
    made.__qualname__ = cls.__qualname__
    return made


# A frozen record's methods, as @dataclass(frozen=True)'s (with slots, the state is a
# list of the fields' values, set again without __setattr__: pickling works)
def _frozen_setattr(self, name, value):
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self, name):
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _getstate(self):
    return [getattr(self, f.name) for f in fields(self)]


def _setstate(self, state):
    for f, value in zip(fields(self), state):
        object.__setattr__(self, f.name, value)


class Record:
    __slots__ = ()

    @reprlib.recursive_repr()
    def __repr__(self) -> str:                  # as @dataclass's: Num(span=…, ty=None, value=1.0)
        return f"{type(self).__qualname__}({', '.join(f'{f.name}={getattr(self, f.name)!r}' for f in fields(self))})"


def define(classes, where: str, by_value=()) -> None:
    """Give each of classes (made by @record) its `__init__`, and those of by_value
    `__eq__` and `__hash__` too, compiled at once (where names the code, in tracebacks
    and in the cache)."""
    src, env = [], {"_FACTORY": object(), "_setattr": object.__setattr__}
    for cls in classes:
        c = cls.__name__
        frozen = cls._record_frozen
        params, kw_only, body = [], [], []
        for f in fields(cls):
            if f.default is not MISSING:
                env[f"_{c}_{f.name}"] = f.default
                param, value = f"{f.name}=_{c}_{f.name}", f.name
            elif f.default_factory is not MISSING:
                env[f"_{c}_{f.name}"] = f.default_factory
                param, value = f"{f.name}=_FACTORY", f"_{c}_{f.name}() if {f.name} is _FACTORY else {f.name}"
            else:
                param, value = f.name, f.name
            (kw_only if f.kw_only else params).append(param)
            body.append(f"    _setattr(self, {f.name!r}, {value})" if frozen else f"    self.{f.name} = {value}")
        if hasattr(cls, "__post_init__"):
            body.append("    self.__post_init__()")
        signature = ", ".join(["self", *params, *(["*", *kw_only] if kw_only else [])])
        src += [f"def _{c}__init__({signature}):", *(body or ["    pass"]), ""]
        if cls in by_value:
            mine = "".join(f"self.{f.name}," for f in fields(cls) if f.compare)
            theirs = "".join(f"other.{f.name}," for f in fields(cls) if f.compare)
            src += [f"def _{c}__eq__(self, other):", "    if other.__class__ is self.__class__:",
                    f"        return ({mine}) == ({theirs})", "    return NotImplemented", "",
                    f"def _{c}__hash__(self):", f"    return hash(({mine}))", ""]
    exec(cache.compiled("\n".join(src), where, "records"), env)
    for cls in classes:
        for method in ("__init__", "__eq__", "__hash__"):
            fn = env.get(f"_{cls.__name__}{method}")
            if fn is not None:
                fn.__name__, fn.__qualname__ = method, f"{cls.__qualname__}.{method}"
                setattr(cls, method, fn)
        if cls._record_frozen:
            cls.__setattr__, cls.__delattr__ = _frozen_setattr, _frozen_delattr
            if "__slots__" in cls.__dict__:
                cls.__getstate__, cls.__setstate__ = _getstate, _setstate
