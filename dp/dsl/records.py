"""Dataclasses whose methods are compiled together. `@dataclass` compiles each method
of each class on its own (an exec of a few lines each), which for the syntax tree's
node classes (syntax.py) and the types (types.py) took a good part of DP's start-up.

A class declared with `@record` (or `@record(frozen=True, slots=True)`) is a dataclass
— its fields, `dataclasses.fields`, `__dataclass_fields__`, `__match_args__` and the
rest are @dataclass's own — without the methods @dataclass would compile for it;
`define` then writes them, as @dataclass would have: `__init__` (its positional fields,
then its keyword-only ones, a default_factory called for each instance, a frozen class's
fields set through object.__setattr__) and, for a class compared by value, `__eq__` and
`__hash__` over its fields, for all the classes of a module in one compile, kept in the
user's cache directory (dsl/cache.py). `__repr__` is `Record.__repr__` (@dataclass's
format, recursion shown as `...`), for a base class to take. (So `__dataclass_params__`
says init, repr and eq are False: @dataclass did not write them.)"""
from __future__ import annotations

import reprlib
from dataclasses import MISSING, FrozenInstanceError, dataclass, fields

from . import cache


def record(cls=None, /, **options):
    """@dataclass(**options) without the methods `define` writes (see the top). A frozen
    class is made by @dataclass as a plain one (its __setattr__ and __delattr__ would be
    compiled one by one), then frozen by `define`: the same four methods for every class."""
    def wrap(cls):
        if cls.__doc__ is None:
            cls.__doc__ = cls.__name__          # else @dataclass makes one from the signature (slow)
        made = dataclass(cls, init=False, repr=False, eq=False, **{**options, "frozen": False})
        made._record_frozen = bool(options.get("frozen"))
        return made
    return wrap if cls is None else wrap(cls)


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
            cls.__dataclass_params__.frozen = True
