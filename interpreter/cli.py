"""The `dp` command line: run, check, grad, repl."""
from __future__ import annotations

import argparse
import sys

from dsl.diagnostics import DPError, use_colour

from . import VERSION, tooling

USAGE_EXAMPLES = """commands:
  dp run FILE [ARGS...]   run a DP script (its arguments are in `args()`)
  dp check FILE           type-check a script without running it
  dp grad FILE NAME       print the derivative of function NAME as DP source
                          (--wrt N: with respect to parameter N; --mode forward|vjp)
  dp repl                 start the interactive prompt (also: `dp` alone)
  dp lsp                  the language server, for editors (docs/editors.md)
  dp kernel install       register the Jupyter kernel (docs/jupyter.md)
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dp", description="DP: a differentiable programming language.",
                                epilog=USAGE_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"dp {VERSION}")
    sub = p.add_subparsers(dest="command")
    r = sub.add_parser("run", help="run a DP script")
    r.add_argument("file")
    r.add_argument("args", nargs=argparse.REMAINDER)
    c = sub.add_parser("check", help="type-check a DP script")
    c.add_argument("file")
    g = sub.add_parser("grad", help="print a function's derivative as DP source")
    g.add_argument("file")
    g.add_argument("name")
    g.add_argument("--mode", choices=["reverse", "forward", "vjp"], default="reverse",
                   help="reverse: the gradient, as grad(NAME) (the default); forward: the jvp; vjp: the pullback")
    g.add_argument("--wrt", type=int, metavar="N", help="the gradient with respect to parameter N (0 is the first)")
    sub.add_parser("repl", help="start the interactive prompt")
    tooling.add_commands(sub)
    return p


def _read(path: str) -> str | None:
    """The file's text; None (said on stderr) if it cannot be read. A file that is not
    UTF-8 raises DPError."""
    from interpreter.files import read_source
    try:
        return read_source(path)
    except OSError as e:
        print(f"dp: cannot read {path}: {e.strerror}", file=sys.stderr)
        return None


COMMANDS = ("run", "check", "grad", "repl") + tooling.COMMANDS


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0].endswith(".dp") and argv[0] not in COMMANDS:
        argv.insert(0, "run")                      # `dp FILE.dp ARGS…` is `dp run FILE.dp ARGS…`
    parser = _parser()
    try:
        ns = parser.parse_args(argv)
        if ns.command == "grad" and ns.wrt is not None and ns.mode != "reverse":
            parser.error(f"--wrt selects the parameter of a gradient; --mode {ns.mode} differentiates "
                         "with respect to every parameter")
    except SystemExit as e:                        # usage errors: status 2, --help/--version: 0
        return int(e.code or 0)
    if ns.command in tooling.COMMANDS:
        return tooling.run(ns)
    from interpreter.session import Session
    if ns.command in (None, "repl"):
        from interpreter.repl import run_repl
        return _flushed(run_repl())
    try:
        text = _read(ns.file)
        if text is None:
            return 2
        session = Session()
        session.runtime.output.write = _write_stdout
        if ns.command == "run":
            session.script_args = list(ns.args)          # argparse has dropped a leading `--`
            from interpreter.plots import finish_run, grant_for_run
            grant_for_run(session)                       # images in the working directory, progress bars
            session.run(text, ns.file)
            note = finish_run(session, ns.file)
            if note:
                print(note, file=sys.stderr)
        elif ns.command == "check":
            session.modules.check_only = True        # nothing is derived, compiled or run
            session.check_text(text, ns.file)
            _write_stdout(f"{ns.file}: ok\n")
        elif ns.command == "grad":
            # the definitions are checked, the script is not run: only its source matters
            _, session.env = session.check_text(text, ns.file)
            command, name_at, wrt_at = _grad_command(ns)
            _write_stdout(session.derived_source(ns.name, ns.mode, ns.wrt, ("<command line>", command),
                                                 name_at, wrt_at).rstrip("\n") + "\n")
    except DPError as e:
        _flushed(0)
        print(e.render(use_colour(sys.stderr)), file=sys.stderr)
        return 130 if e.message == "interrupted" else 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:                         # noqa: BLE001 — only the output's own failure
        from interpreter.runtime import OutputFailed
        if not isinstance(e, OutputFailed):
            raise
        print(f"dp: {e.message}", file=sys.stderr)
        return 1
    return _flushed(0)


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
    from interpreter.runtime import OutputFailed
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
