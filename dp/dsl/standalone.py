"""DP's parser without importing Lark. Lark's standalone generator writes the LALR
parser for DP's grammar as one Python module: Lark's own lexer, parser, tree and
exception code, with the tables as data. It is made on the first run, compiled, and
kept in the user's cache directory (dsl/cache.py) under a key made from the grammar,
the options, Lark's version (its __init__.py, read without importing it) and Python's;
later runs read it back, which takes a fraction of importing Lark and loading its tables.

`lark` below is that module, or Lark itself when the module cannot be made or read
(the parser then loads its tables from the cache as Lark does): both have the names
dsl/parser.py uses (`lark.exceptions.UnexpectedToken`, `lark.Tree`, `Token`,
`Transformer`, `v_args`, and `parser(postlex)`)."""
from __future__ import annotations

import functools
import importlib.util
import marshal
import os
import sys
import types

from dp.grammar import grammar_text

from . import cache

OPTIONS = dict(parser="lalr", lexer="basic", propagate_positions=True, maybe_placeholders=True)
NAME = "dp.dsl._lark_standalone"


def _lark_version() -> bytes:
    try:
        with open(importlib.util.find_spec("lark").origin, "rb") as f:
            return f.read()
    except (OSError, AttributeError, ImportError, ValueError):
        return b"?"


@functools.lru_cache(maxsize=1)
def tree_fingerprint() -> str:
    """What a parsed syntax tree depends on: the grammar, Lark's version and the code
    that builds trees (parser.py, syntax.py, span.py, read, not imported: a tree read
    back from the cache needs no parser), a key for trees kept in the cache."""
    here = os.path.dirname(os.path.abspath(__file__))
    sources = cache.source_of_files(*(os.path.join(here, f) for f in ("parser.py", "syntax.py", "span.py")))
    return cache.key(grammar_text(), _lark_version(), sources)


def _generate(text: str, always_accept: tuple) -> str:
    import io

    import lark
    from lark.tools.standalone import gen_standalone

    class Tables:                 # what the tables depend on of the post-lexer: the terminals it needs
        def __init__(self):
            self.always_accept = always_accept

        def process(self, stream):
            return stream
    parser = lark.Lark(text, postlex=Tables(), **OPTIONS)
    parser.options.postlex = None              # the post-lexer is DP's, given when the parser is made
    out = io.StringIO()
    gen_standalone(parser, out=out)
    return _trimmed(out.getvalue())


# Imports of Lark's that DP's parser does without, each slower to import than the
# parser itself is to load: `regex`, which Lark uses (when installed) only for grammars
# with Unicode categories or for `regex=True`; `logging`, for a logger Lark sets to
# CRITICAL (it says nothing); and `pickle`, `zlib`, `base64`, which only Lark's own
# cache and its save and load from a file use (the standalone parser loads from its
# tables). Each is replaced only if all its lines are found.
_TRIMS = [
    [("\n    import regex\n", "\n    raise ImportError\n")],
    [("\nimport logging\n", "\n"),
     ('\nlogger: logging.Logger = logging.getLogger("lark")\nlogger.addHandler(logging.StreamHandler())\n',
      "\nclass _Silent:\n    def __getattr__(self, name):\n        return lambda *args, **kwargs: None\n\n\n"
      "logger = _Silent()\n"),
     ("\nlogger.setLevel(logging.CRITICAL)\n", "\n")],
    [("\nimport pickle, zlib, base64\n", "\n")],
]


def _trimmed(src: str) -> str:
    for trim in _TRIMS:
        if all(src.count(old) == 1 for old, _ in trim):
            for old, new in trim:
                src = src.replace(old, new)
    return src


def _module(code) -> types.ModuleType:
    m = types.ModuleType(NAME)
    sys.modules[NAME] = m                       # its classes name their module (dataclasses, pickling)
    try:
        exec(code, m.__dict__)
    except BaseException:
        sys.modules.pop(NAME, None)
        raise
    m.exceptions = m                            # lark.exceptions.UnexpectedToken, as in Lark
    return m


def load(always_accept: tuple) -> types.ModuleType | None:
    """The standalone parser module, from the cache or made now; None if it cannot be had."""
    text = grammar_text()
    made_by = cache.source_of(sys.modules[__name__])          # this file makes it
    name = f"parser-{cache.key(text, _lark_version(), made_by, repr(sorted(OPTIONS.items())), repr(always_accept))}.marshal"
    data = cache.read(name)
    if data is not None:
        try:
            return _module(marshal.loads(data))
        except Exception:                       # noqa: BLE001 — a corrupt entry is made again
            pass
    try:
        code = compile(_generate(text, always_accept), "<dp parser>", "exec")
        module = _module(code)
    except Exception:                           # noqa: BLE001 — then Lark itself parses
        return None
    cache.write(name, marshal.dumps(code))
    return module
