"""The commands for editors, notebooks and CI: `dp check`, `dp fmt`, `dp test` (and
the diagnostics of all three as JSON, `--json`), `dp lsp` and `dp kernel`, whose
packages are optional extras (`pip install "dp-lang[lsp]"`, `"dp-lang[jupyter]"`)."""
from __future__ import annotations

import sys

COMMANDS = ("check", "fmt", "test", "lsp", "kernel")
JSON_HELP = "write the diagnostics as one JSON object (docs/repl.md#diagnostics-as-json)"


class Report:
    """Where a command's diagnostics go: rendered on stderr, or, with --json, gathered
    into one JSON object (`{"diagnostics": […], …}`) written at the end to stream."""

    def __init__(self, as_json: bool, stream=None, write=None):
        self.as_json, self.stream = as_json, stream
        self.write = write or sys.stdout.write      # stdout: the CLI's, which handles a closed pipe
        self.diagnostics: list[dict] = []
        self.changed: list[str] = []
        self.extra: dict = {}

    def error(self, e, text: str | None = None) -> None:
        from . import diagnostic_json
        if self.as_json:
            self.diagnostics += diagnostic_json.error(e)
        else:
            from dp.dsl.diagnostics import use_colour
            print(e.render(use_colour(sys.stderr)), file=sys.stderr)

    def unreadable(self, path: str, why: str, what: str = "cannot read") -> None:
        from . import diagnostic_json
        if self.as_json:
            self.diagnostics.append(diagnostic_json.plain("usage error", f"{what} {path}: {why}", path))
        else:
            print(f"dp: {what} {path}: {why}", file=sys.stderr)

    def note(self, text: str) -> None:
        if not self.as_json:
            print(text, file=sys.stderr)

    def say(self, text: str) -> None:
        """A result line (`FILE: ok`, a test's outcome): stdout, unless --json."""
        if not self.as_json:
            self.write(text + "\n")

    def output(self, text: str) -> None:
        self.write(text)

    def finish(self, status: int) -> int:
        if self.as_json:
            from . import diagnostic_json
            report = {"diagnostics": self.diagnostics, **self.extra}
            stream = self.stream or sys.stdout
            if stream is sys.stdout:
                self.write(diagnostic_json.dumps(report) + "\n")
            else:
                print(diagnostic_json.dumps(report), file=stream)
        return status


def add_commands(sub, wanted=lambda name: True) -> None:
    """The tools' subcommands, those wanted (cli._parser)."""
    if wanted("check"):
        c = sub.add_parser("check", help="parse and type-check DP files without running them")
        c.add_argument("files", nargs="+", metavar="FILE")
        c.add_argument("--json", action="store_true", help=JSON_HELP)
    if wanted("fmt"):
        f = sub.add_parser("fmt", help="format DP files in place (keeps comments)")
        f.add_argument("files", nargs="+", metavar="FILE", help="files to format; - formats stdin to stdout")
        f.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file would change")
        f.add_argument("--json", action="store_true", help=JSON_HELP)
    if wanted("test"):
        t = sub.add_parser("test", help="run the test_* functions of DP files")
        t.add_argument("paths", nargs="*", metavar="PATH", help="files or directories (default: .)")
        t.add_argument("--json", action="store_true", help=JSON_HELP)
    if wanted("lsp"):
        sub.add_parser("lsp", help="run DP's language server on stdin and stdout (for editors)")
    if not wanted("kernel"):
        return
    k = sub.add_parser("kernel", help="the Jupyter kernel: `dp kernel install` registers it")
    ks = k.add_subparsers(dest="kernel_command", required=True)
    i = ks.add_parser("install", help="register the DP kernel with Jupyter")
    where = i.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="for this user only (the default)")
    where.add_argument("--sys-prefix", action="store_true", help="in this Python environment (sys.prefix)")
    where.add_argument("--prefix", metavar="DIR", help="under DIR/share/jupyter/kernels")
    r = ks.add_parser("run", help="start the kernel (what Jupyter runs)")
    r.add_argument("-f", dest="connection_file", metavar="FILE", help="the connection file Jupyter gives")


def _missing(what: str, extra: str, package: str) -> int:
    package = package.split(".")[0]
    print(f"dp: {what} needs the Python package `{package}`, which is not installed\n"
          f"  hint: pip install \"dp-lang[{extra}]\"", file=sys.stderr)
    return 2


def check(ns: argparse.Namespace, write) -> int:
    """`dp check FILE…`: each file parsed and checked (its imports too), nothing run.
    0 when all check, 1 when one has an error, 2 when one cannot be read."""
    from dp.dsl.diagnostics import DPError
    from .files import read_source
    from .session import Session
    report, status, files = Report(ns.json, write=write), 0, []
    for path in ns.files:
        session = Session()
        session.modules.check_only = True        # nothing is derived, compiled or run
        try:
            session.check_text(read_source(path), path)
        except OSError as e:
            report.unreadable(path, e.strerror or str(e))
            status, ok = 2, False
        except DPError as e:
            report.error(e)
            status, ok = max(status, 1), False
        else:
            ok = True
            report.say(f"{path}: ok")
        files.append({"file": path, "ok": ok})
    report.extra["files"] = files
    return report.finish(status)


def fmt(ns: argparse.Namespace, write) -> int:
    from .fmt import format_files
    report = Report(ns.json, write=write)
    status = format_files(ns.files, ns.check, report)
    report.extra["changed" if not ns.check else "would_change"] = report.changed
    return report.finish(status)


def test(ns: argparse.Namespace, write) -> int:
    from .testing import find_test_files, run_file
    report = Report(ns.json, write=write)
    files, missing = find_test_files(ns.paths or ["."])
    for path in missing:
        report.unreadable(path, "no such file or directory", "cannot find")
    outcomes = []
    for path in files:
        for o in run_file(path, write if not ns.json else (lambda text: None)):
            outcomes.append(o)
            where = f"{o.file}::{o.name}" if o.name else o.file
            if o.passed:
                report.say(f"{where} ok ({o.seconds * 1e3:.1f} ms)")
            else:
                report.say(f"{where} FAILED" if o.name else f"{where} ERROR")
                report.error(o.error)
    passed = sum(o.passed for o in outcomes)
    failed = len(outcomes) - passed
    report.extra["tests"] = [{"file": o.file, "name": o.name, "passed": o.passed, "seconds": round(o.seconds, 6),
                              "diagnostics": [] if o.error is None else _json(o.error)} for o in outcomes]
    if not outcomes:
        report.say("no tests found: a test is a function `fn test_NAME() { … }` in a .dp file")
        return report.finish(2 if missing else 5)
    tests = sum(o.name is not None for o in outcomes)
    errors = sum(o.name is None for o in outcomes)
    report.say(f"{tests} test{'s' if tests != 1 else ''}: {passed} passed, {failed - errors} failed"
               + (f", {errors} file{'s' if errors != 1 else ''} with errors" if errors else ""))
    return report.finish(2 if missing else 1 if failed else 0)


def _json(e) -> list:
    from . import diagnostic_json
    return diagnostic_json.error(e)


def run(ns: argparse.Namespace, write) -> int:
    """Run command ns; write writes to stdout."""
    if ns.command in ("check", "fmt", "test"):
        return {"check": check, "fmt": fmt, "test": test}[ns.command](ns, write)
    if ns.command == "lsp":
        try:
            from dp.interpreter.lsp.server import main
        except ImportError as e:
            return _missing("`dp lsp`", "lsp", e.name or "pygls")
        return main()
    if ns.kernel_command == "install":
        try:
            from dp.interpreter.kernel.install import install
        except ImportError as e:
            return _missing("`dp kernel install`", "jupyter", e.name or "jupyter_client")
        where = "sys-prefix" if ns.sys_prefix else ns.prefix if ns.prefix else "user"
        return install(where)
    try:
        from dp.interpreter.kernel.kernel import launch
    except ImportError as e:
        return _missing("`dp kernel`", "jupyter", e.name or "ipykernel")
    return launch(ns.connection_file)
