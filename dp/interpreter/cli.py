"""The `dp` command line: run, check, grad, repl."""
from __future__ import annotations

import sys
from types import SimpleNamespace

from dp.dsl.diagnostics import DPError
from dp.interpreter.runtime import OutputFailed

from . import VERSION, tooling

USAGE_EXAMPLES = """commands:
  dp run FILE [ARGS...]   run a DP script (its arguments are in `args()`); FILE - reads stdin
  dp -e CODE [ARGS...]    run CODE, a DP program given on the command line
                          (dp --json -e CODE: its diagnostics as JSON on stderr)
  dp check FILE...        type-check scripts without running them
  dp grad FILE NAME       print the derivative of function NAME as DP source
                          (--wrt N: with respect to parameter N; --mode forward|vjp)
  dp fmt FILE...          format DP files in place, comments kept (--check: for CI)
  dp test [PATH...]       run the test_* functions of .dp files (assert(cond) in them)
  dp repl [FILE...]       start the interactive prompt, FILEs loaded (also: `dp` alone)
  dp lsp                  the language server, for editors (docs/editors.md)
  dp kernel install       register the Jupyter kernel (docs/jupyter.md)
  check, run, grad, fmt and test take --json: their diagnostics as one JSON object
"""


def _parser(command: str | None = None):
    """The command line's parser; with command, of that subcommand alone (argparse's
    every help text is a gettext lookup in the file system, and building all of them
    took several ms of each `dp run`'s start). Its usage and errors are the same."""
    import argparse                            # only here: `dp run FILE` needs none (_run_namespace)

    def wanted(name: str) -> bool:
        return command is None or name == command
    p = argparse.ArgumentParser(prog="dp", description="DP: a differentiable programming language.",
                                epilog=USAGE_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"dp {VERSION}")
    p.add_argument("-e", dest="code", metavar="CODE", help="run CODE (arguments after it go to `args()`)")
    p.add_argument("--json", action="store_true", help="with -e: " + tooling.JSON_HELP + ", on stderr")
    sub = p.add_subparsers(dest="command")
    if wanted("run"):
        r = sub.add_parser("run", help="run a DP script")
        r.add_argument("--json", action="store_true", help=tooling.JSON_HELP + ", on stderr")
        r.add_argument("file", help="the script; - reads it from standard input")
        r.add_argument("args", nargs=argparse.REMAINDER)
    if wanted("grad"):
        g = sub.add_parser("grad", help="print a function's derivative as DP source")
        g.add_argument("file")
        g.add_argument("name")
        g.add_argument("--mode", choices=["reverse", "forward", "vjp"], default="reverse",
                       help="reverse: the gradient, as grad(NAME) (the default); forward: the jvp; vjp: the pullback")
        g.add_argument("--wrt", type=int, metavar="N",
                       help="the gradient with respect to parameter N (0 is the first)")
        g.add_argument("--json", action="store_true", help=tooling.JSON_HELP + ", on stderr")
    if wanted("repl"):
        rp = sub.add_parser("repl", help="start the interactive prompt")
        rp.add_argument("files", nargs="*", metavar="FILE", help="files to load first (`:reload` loads them again)")
    tooling.add_commands(sub, wanted)
    return p


def _run_namespace(argv: list[str]) -> SimpleNamespace | None:
    """`dp run FILE ARGS…` read as argparse reads it, without building argparse's parser
    (its help texts' gettext lookups cost a small program's start more than the rest of
    the command line); None for anything else: options, a `--`, help, mistakes
    (tests/test_cli.py compares the two)."""
    if len(argv) < 2 or argv[0] != "run" or (argv[1].startswith("-") and argv[1] != "-") or argv[2:3] == ["--"]:
        return None
    return SimpleNamespace(code=None, json=False, command="run", file=argv[1], args=argv[2:])


def _read(path: str, report: tooling.Report) -> str | None:
    """The file's text; None (said in report) if it cannot be read. A file that is not
    UTF-8 raises DPError."""
    from dp.interpreter.files import read_source
    try:
        return read_source(path)
    except OSError as e:
        report.unreadable(path, e.strerror)
        return None


COMMANDS = ("run", "grad", "repl") + tooling.COMMANDS


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0].endswith(".dp") and argv[0] not in COMMANDS:
        argv.insert(0, "run")                      # `dp FILE.dp ARGS…` is `dp run FILE.dp ARGS…`
    as_json = argv[:2] == ["--json", "-e"]
    if as_json:
        argv = argv[1:]
    if argv and argv[0] == "-e":                   # `dp -e CODE ARGS…`: what follows CODE is the program's
        if len(argv) < 2:
            print("dp: -e needs the code to run: dp -e 'print(1 + 2)'", file=sys.stderr)
            return 2
        rest = argv[2:][1:] if argv[2:3] == ["--"] else argv[2:]
        argv = ["run", "-e", argv[1], *rest]
    try:
        if argv[:2] == ["run", "-e"]:
            ns = SimpleNamespace(command="run", file=None, code=argv[2], args=argv[3:], json=as_json)
        else:
            ns = _run_namespace(argv)
            if ns is None:
                parser = _parser(argv[0] if argv and argv[0] in COMMANDS else None)
                ns = parser.parse_args(argv)
        if ns.command == "grad" and ns.wrt is not None and ns.mode != "reverse":
            parser.error(f"--wrt selects the parameter of a gradient; --mode {ns.mode} differentiates "
                         "with respect to every parameter")
    except SystemExit as e:                        # usage errors: status 2, --help/--version: 0
        return int(e.code or 0)
    if ns.command in tooling.COMMANDS:
        try:
            return _flushed(tooling.run(ns, _write_stdout))
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
        except OutputFailed as e:                  # stdout a full disk
            print(f"dp: {e.message}", file=sys.stderr)
            return 1
    from dp.interpreter.session import Session
    if ns.command is None and getattr(ns, "code", None) is not None:
        ns = SimpleNamespace(command="run", file=None, code=ns.code, args=[], json=ns.json)
    if ns.command in (None, "repl"):
        from dp.interpreter.repl import run_repl
        return _flushed(run_repl(files=getattr(ns, "files", [])))
    report = tooling.Report(getattr(ns, "json", False), sys.stderr, _write_stdout)
    try:
        from_file = False
        if ns.command == "run" and ns.file is None:
            text, ns.file = ns.code, "<-e>"
        elif ns.command == "run" and ns.file == "-":
            from dp.interpreter.files import decode_source
            text, ns.file = decode_source(sys.stdin.buffer.read(), "<stdin>"), "<stdin>"
        else:
            text, from_file = _read(ns.file, report), True
        if text is None:
            return report.finish(2)
        session = Session()
        session.program_trees = ns.command == "run" and from_file
        session.runtime.output.write = _write_stdout
        if ns.command == "run":
            session.script_args = list(ns.args)          # argparse has dropped a leading `--`
            from dp.interpreter.plots import finish_run, grant_for_run
            grant_for_run(session)                       # images in the working directory, progress bars
            session.run(text, ns.file)
            note = finish_run(session, ns.file)
            if note:
                print(note, file=sys.stderr)
        elif ns.command == "grad":
            # the definitions are checked, the script is not run: only its source matters.
            # The transforms the functions call are derived first, as `dp run` derives them
            # (a jvp inside f prints as `q_jvp`, as source(grad(f)) and :grad print it)
            prog, session.env = session.check_text(text, ns.file)
            session.derive_definitions(prog, ns.name)
            command, name_at, wrt_at = _grad_command(ns)
            _write_stdout(session.derived_source(ns.name, ns.mode, ns.wrt, ("<command line>", command),
                                                 name_at, wrt_at).rstrip("\n") + "\n")
    except DPError as e:
        _flushed(0)
        report.error(e)
        return report.finish(130 if e.message == "interrupted" else 1)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OutputFailed as e:                      # stdout a full disk
        print(f"dp: {e.message}", file=sys.stderr)
        return 1
    return report.finish(_flushed(0))


def _grad_command(ns) -> tuple[str, int, int | None]:
    """The `dp grad` command as typed (near enough), for diagnostics to quote, and the
    columns of the function's name and of the parameter number in it."""
    import shlex
    words = ["dp", "grad", shlex.quote(ns.file), ns.name]
    name_at = len(" ".join(words[:3])) + 1
    wrt_at = None
    if ns.wrt is not None:
        words += ["--wrt", str(ns.wrt)]
        wrt_at = len(" ".join(words[:-1])) + 1
    if ns.mode != "reverse":
        words += ["--mode", ns.mode]
    return " ".join(words), name_at, wrt_at


def _write_stdout(text: str) -> None:
    try:
        sys.stdout.write(text)
    except BrokenPipeError:
        _reader_gone()
    except OSError as e:
        _drop_stdout()
        raise _output_failed(e) from None


def _output_failed(e: OSError):
    """Standard output cannot be written: a DP runtime error where a program prints
    (at its line), `dp: cannot write the output` elsewhere."""
    from dp.interpreter.runtime import OutputFailed
    return OutputFailed(f"cannot write the output: {e.strerror or e}",
                        "standard output is full or closed (a full disk, `> /dev/full`)")


def _flushed(status: int) -> int:
    """status, once what is buffered for stdout is written (or cannot be: then 1, said)."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _reader_gone()
    except OSError as e:
        _drop_stdout()
        print(f"dp: cannot write the output: {e.strerror or e}", file=sys.stderr)
        return 1
    return status


def _reader_gone():
    # the reader is gone (`dp run f.dp | head`): stop quietly, as Unix tools do
    _drop_stdout()
    raise SystemExit(0)


def _drop_stdout():
    """Point stdout at /dev/null, so that Python's own flush as it exits finds nothing
    to complain of."""
    import os
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def entry() -> None:
    raise SystemExit(main())


if __name__ == "__main__":
    entry()
