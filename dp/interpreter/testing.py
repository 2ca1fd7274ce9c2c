"""`dp test [PATH…]`: run the `test_*` functions of DP files.

PATH is a `.dp` file or a directory searched for `.dp` files (hidden directories
skipped); the default is the working directory. Each file runs in a session of its own:
its top-level code first (a failure there fails the file), then each function whose
name starts with `test_` and that takes no parameters, in the order defined. A test
passes when it returns; it fails with the DP diagnostic of the first error it meets,
`assert(cond)` or `assert(cond, message)` among them, which points at its line.

Exit status: 0 when every test passed, 1 when one failed or a file had an error, 2 when
a path does not exist, 5 when no test was found (as pytest)."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

from dp.dsl import syntax as S
from dp.dsl.diagnostics import Diagnostic, DPError


@dataclass
class Outcome:
    file: str
    name: str | None            # None: the file itself (its loading failed)
    passed: bool
    seconds: float = 0.0
    error: DPError | None = None


def find_test_files(paths: list[str]) -> tuple[list[str], list[str]]:
    """(the .dp files under paths, sorted within each directory; the paths that do not exist)."""
    found, missing = [], []
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
                found += [os.path.join(root, f) for f in sorted(files) if f.endswith(".dp")]
        elif os.path.exists(path):
            found.append(path)
        else:
            missing.append(path)
    return found, missing


def run_file(path: str, write):
    """The outcomes of path's tests, each as soon as it is known (none if the file
    defines none); write receives what the tests print."""
    from .files import read_source
    from .session import Session
    session = Session()
    session.runtime.output.write = write
    try:
        text = read_source(path)
        prog, _ = session.check_text(text, path)
    except OSError as e:
        yield Outcome(path, None, False, error=DPError(Diagnostic("usage error", f"cannot read {path}: "
                                                                  f"{e.strerror}", None)))
        return
    except DPError as e:
        yield Outcome(path, None, False, error=e)
        return
    tests = [d for d in prog.body if isinstance(d, S.FnDef) and d.name.startswith("test_")]
    if not tests:
        return
    try:
        session.run(text, path)
    except DPError as e:
        yield Outcome(path, None, False, error=e)
        return
    for fn in tests:
        if fn.params:
            yield Outcome(path, fn.name, False, error=session.sources.quote(DPError(Diagnostic(
                "test error", f"`{fn.name}` takes parameters; a test takes none", fn.span,
                "call it from a test of its own: `fn test_it() { " + fn.name + "(…) }`"))))
            continue
        start = time.perf_counter()
        try:
            session.call(fn.name)
        except DPError as e:
            yield Outcome(path, fn.name, False, time.perf_counter() - start, e)
        else:
            yield Outcome(path, fn.name, True, time.perf_counter() - start)
