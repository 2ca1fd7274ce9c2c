"""DP, a small statically typed differentiable language: `from dp import Interpreter`.

The packages under this one: dp.grammar (the Lark grammar), dp.dsl (the language:
parse, check, derive), dp.interpreter (running it: compile, sessions, the CLI and the
tools) and dp.stdlib (the standard library, in DP). Nothing is imported until it is
asked for, so `dp run` of a program without tensors never imports numpy."""

__all__ = ["Interpreter", "DPError", "DPFunction", "VERSION"]


def __getattr__(name: str):
    if name == "VERSION":
        from dp.interpreter import VERSION
        return VERSION
    if name in ("Interpreter", "DPError", "DPFunction"):
        from dp.interpreter import embed
        return getattr(embed, name)
    raise AttributeError(f"module 'dp' has no attribute {name!r}")
