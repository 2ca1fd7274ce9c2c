"""DP's files under the user's cache directory ($XDG_CACHE_HOME/dp, else ~/.cache/dp):
what start-up would otherwise make again on every run (the parser's tables, the
standard library's parsed modules and their compiled code).

An entry's name carries a key made from everything it was made from (the grammar, the
source of the code that made it, the versions of DP, Lark and Python), so a change to
any of them never reads an old entry. An entry that is missing, unreadable or corrupt
is made again; a directory that cannot be made or written is no error either: the work
is then done on every run. Entries are written whole (a temporary file, then renamed),
so a run that reads while another writes sees the old entry or the new one."""
from __future__ import annotations

import marshal
import os
import sys
import types


def directory() -> str:
    """Where DP's cache lives (looked up on every call: the environment may change)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "dp")


try:                   # hashlib's import loads OpenSSL, a few ms of every start: blake2 is built in
    from _blake2 import blake2b as digest
except ImportError:    # a Python without it
    from hashlib import sha256 as digest


def key(*parts: str | bytes) -> str:
    """A name for an entry made from parts (with the Python version it runs on)."""
    h = digest(sys.version.encode())
    for p in parts:
        b = p.encode("utf-8", "surrogatepass") if isinstance(p, str) else p
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()[:32]


def path(name: str) -> str | None:
    """The file for entry `name` in a cache directory that exists, made if need be;
    None if it cannot be made."""
    d = directory()
    try:
        os.makedirs(d, exist_ok=True)
    except OSError:
        return None
    return os.path.join(d, name) if os.path.isdir(d) else None


def read(name: str) -> bytes | None:
    """Entry `name`'s bytes, or None if there is none that can be read."""
    try:
        with open(os.path.join(directory(), name), "rb") as f:
            return f.read()
    except (OSError, ValueError):
        return None


def write(name: str, data: bytes) -> bool:
    """Store entry `name` whole (or not at all: False when it cannot be written)."""
    where = path(name)
    if where is None:
        return False
    tmp = f"{where}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, where)
        return True
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return False


def source_of(*modules) -> bytes:
    """The source text of modules (what an entry made by their code depends on); a
    mark of the name for one whose file cannot be read."""
    return source_of_files(*(getattr(m, "__file__", None) or "?" + m.__name__ for m in modules))


def source_of_files(*paths: str) -> bytes:
    """The text of source files, as source_of."""
    out = []
    for p in paths:
        try:
            with open(p, "rb") as f:
                out.append(f.read())
        except (OSError, TypeError, ValueError):
            out.append(b"?" + str(p).encode())
    return b"\0".join(out)


def compiled(source: str, filename: str, prefix: str):
    """compile(source, filename, "exec"), kept as entry `prefix-<key>.marshal` (reading
    back a code object takes a fraction of compiling it)."""
    name = f"{prefix}-{key(source, filename)}.marshal"
    data = read(name)
    if data is not None:
        try:
            code = marshal.loads(data)
            if isinstance(code, types.CodeType):
                return code
        except (EOFError, ValueError, TypeError):     # a corrupt entry is made again
            pass
    code = compile(source, filename, "exec")
    write(name, marshal.dumps(code))
    return code
