"""DP's standard library, written in DP (the .dp files beside this one)."""
from importlib.resources import files


def module_path(name: str):
    p = files(__name__).joinpath(f"{name}.dp")
    return p if p.is_file() else None
