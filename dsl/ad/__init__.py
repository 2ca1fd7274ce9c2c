"""Differentiation as DP-to-DP transformations."""
from __future__ import annotations


class Transforms:
    """The session's entry to the transforms: types `grad(...)` & co. in the checker
    and compiles them in the compiler. Filled in by the grad issue."""

    def __init__(self, session):
        self.session = session
        self.typer = None

    def compile_call(self, compiler, e):
        raise NotImplementedError
