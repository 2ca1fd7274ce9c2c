"""numpy, imported when something first needs it: a program that uses no tensor starts
without it (importing numpy takes longer than the rest of DP's start-up).

A module that uses numpy binds `np = lazy_numpy.module(globals())` instead of
`import numpy as np`. Until numpy is imported, `np` is a stand-in: its numpy types
(`np.ndarray`, `np.generic`, …) are a class nothing is an instance of, since no numpy
value can exist yet, and any other attribute imports numpy. Once numpy is imported
(by DP, or by an embedder: any attribute then looks), every module's `np` is numpy
itself, so code that runs after pays nothing for this.

The table of primitives names numpy's functions before numpy is imported:
`lazy_numpy.functions.sin` is a callable that imports numpy when called. When numpy is
imported, the hooks given to `when_loaded` run (the table and each runtime namespace put
numpy's own functions in their place; runtime sets numpy's error handling)."""
from __future__ import annotations

import sys


class NotLoaded:
    """A numpy type before numpy is imported: nothing is an instance of it."""


_TYPES = frozenset({"ndarray", "generic", "bool_", "integer", "floating", "number", "signedinteger"})
_homes: list[dict] = []          # the globals of modules whose `np` is the stand-in
_hooks: list = []                # called with numpy once it is imported


class _StandIn:
    def __getattr__(self, name: str):
        if name in _TYPES and "numpy" not in sys.modules:
            return NotLoaded
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(load(), name)

    def __repr__(self) -> str:
        return "<numpy, not imported yet>"


STAND_IN = _StandIn()


def loaded() -> bool:
    return "numpy" in sys.modules


def module(home: dict):
    """What a module binds as `np` (home is its globals()): numpy if it is imported
    already, else the stand-in, replaced by numpy when it is."""
    if loaded():
        return load()
    _homes.append(home)
    return STAND_IN


def when_loaded(hook) -> None:
    """hook(numpy) now if numpy is imported, else as soon as it is."""
    if loaded():
        hook(load())
    else:
        _hooks.append(hook)


def load():
    """Import numpy (if it is not yet) and put it wherever it was waited for."""
    import numpy
    while _homes or _hooks:
        homes, _homes[:] = list(_homes), []
        for home in homes:
            if home.get("np") is STAND_IN:
                home["np"] = numpy
        hooks, _hooks[:] = list(_hooks), []
        for hook in hooks:
            hook(numpy)
    return numpy


class Function:
    """numpy.<name>, named before numpy is imported: calling it imports numpy, and puts
    numpy's own functions in place of the Functions in the caller's globals (compiled DP
    code runs in its runtime's namespace: the rest of the program calls numpy directly).
    The table of primitives does the same for itself once numpy is imported."""
    __slots__ = ("name", "fn")

    def __init__(self, name: str):
        self.name = name
        self.fn = None

    def __call__(self, *args, **kwargs):
        if self.fn is None:
            self.fn = getattr(load(), self.name)
            resolve_all(sys._getframe(1).f_globals)
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<numpy.{self.name}, not imported yet>"


class _Functions:
    def __getattr__(self, name: str) -> Function:
        if name.startswith("__"):
            raise AttributeError(name)
        return Function(name)


functions = _Functions()


def resolve(value):
    """value, or numpy's own function if value is a Function (numpy is imported)."""
    return getattr(load(), value.name) if type(value) is Function else value


def resolve_all(table: dict) -> None:
    """Put numpy's own functions in place of the Functions among table's values."""
    for k, v in list(table.items()):
        if type(v) is Function:
            table[k] = resolve(v)
