"""DP's grammar, shipped as package data so an installed `dp` finds it anywhere."""
from importlib.resources import files


def grammar_text() -> str:
    return files(__name__).joinpath("dp.lark").read_text(encoding="utf-8")
