"""`plot` and `savefig`: a session's figure, and the one file write a DP program can ask
for, in a directory the embedder or `dp run` granted (docs/security.md).

`plot(ys)`, `plot(ys, label)`, `plot(xs, ys)`, `plot(xs, ys, label)` add a line to the
session's current figure (lists of floats or tensors; a 2-d tensor `ys` is one line per
column). The figure is kept as numbers and drawn by matplotlib (the `plot` extra) only
when it is shown or saved: the Jupyter kernel shows it under the cell, `savefig(path)`
writes it, and `dp run` writes a figure the program left unsaved beside the script's
name (`prog.png`).

What reaches the host: numbers, and a label, drawn as plain text (never as TeX or
mathtext, never longer than LABEL_LIMIT). `savefig` writes only where a grant allows:
an image file (.png, .svg, .pdf) inside the granted directory, reached without `..`
or a symbolic link, never replacing a file that is not an image."""
from __future__ import annotations

import io
import os

from dp.dsl.diagnostics import DPRuntimeError

LABEL_LIMIT = 200
MAX_POINTS = 10_000_000        # in one figure, over all its lines
MAX_LINES = 1_000
IMAGE_SUFFIXES = (".png", ".svg", ".pdf")
INSTALL_HINT = 'install matplotlib: pip install "dp-lang[plot]"'


class FileGrant:
    """Image files a program may write: inside directory (made absolute and resolved
    when the grant is made), with one of IMAGE_SUFFIXES."""

    def __init__(self, directory: str):
        self.directory = os.path.realpath(directory)

    def resolve(self, path: str) -> str:
        """The file path names (relative to the directory), or a DPRuntimeError saying
        why the program may not write it."""
        if not path or "\x00" in path or len(path) > 255:
            raise DPRuntimeError(f"`savefig` cannot write to {path!r}", "give a file name such as \"loss.png\"")
        suffix = os.path.splitext(path)[1].lower()
        if suffix not in IMAGE_SUFFIXES:
            raise DPRuntimeError(f"`savefig` writes images: {', '.join(IMAGE_SUFFIXES)} files, not {path!r}",
                                 "name the file \"plot.png\"")
        parts = path.replace("\\", "/").split("/")
        if os.path.isabs(path) or ".." in parts:
            raise DPRuntimeError(f"`savefig` writes only inside the directory the program was granted, not {path!r}",
                                 "give a path relative to it, without `..`")
        full = os.path.join(self.directory, *parts)
        parent = os.path.dirname(full)
        if os.path.realpath(parent) != parent or not os.path.isdir(parent):
            raise DPRuntimeError(f"`savefig` cannot write {path!r}: its directory does not exist inside the granted one",
                                 "create the directory first, or write beside the program")
        if os.path.islink(full) or (os.path.exists(full) and not os.path.isfile(full)):
            raise DPRuntimeError(f"`savefig` will not replace {path!r}: it is not a plain file")
        return full


class Plots:
    def __init__(self, session):
        self.output = session.runtime.output       # its `muted` is set while a derivative recomputes
        self.series: list[tuple] = []                # (xs, ys, label): numpy arrays and a string
        self.grant: FileGrant | None = None          # where savefig may write; None: nowhere
        self.saved = False                           # the current figure was written by savefig
        ns = session.runtime.ns
        from dp.dsl import primitives as P
        from .runtime import prim_py_name
        for p in P.BY_NAME.get("plot", []):
            ns[prim_py_name(p)] = self._plotter(p)
        for p in P.BY_NAME.get("savefig", []):
            ns[prim_py_name(p)] = self.savefig

    # ------------------------------------------------------------ the builtins
    def _plotter(self, prim):
        has_x = len(prim.types) >= 2 and str(prim.types[1]) != "string"
        has_label = str(prim.types[-1]) == "string"

        def plot(*args):
            if self.output.muted:
                return None
            label = args[-1] if has_label else None
            ys = args[1] if has_x else args[0]
            xs = args[0] if has_x else None
            self.add(xs, ys, label)
            return None
        return plot

    def add(self, xs, ys, label) -> None:
        import numpy as np
        y = np.asarray(ys, dtype=np.float64)
        if y.ndim == 0 or y.ndim > 2:
            raise DPRuntimeError(f"`plot` draws a list or a 1-d or 2-d tensor, not a tensor of shape {y.shape}")
        x = np.arange(y.shape[0], dtype=np.float64) if xs is None else np.asarray(xs, dtype=np.float64)
        if x.ndim != 1 or x.shape[0] != y.shape[0]:
            raise DPRuntimeError(f"`plot` needs as many xs as ys: {x.shape[0] if x.ndim else 1} and {y.shape[0]}",
                                 "give one x for each y")
        if sum(s[1].size for s in self.series) + y.size > MAX_POINTS or len(self.series) >= MAX_LINES:
            raise DPRuntimeError(f"the figure would hold more than {MAX_LINES} lines or {MAX_POINTS} points",
                                 "plot fewer points, or save the figure (`savefig`) and start another")
        if label is not None:
            label = _plain(label)
        if self.saved:                               # a new figure after one was saved
            self.series, self.saved = [], False
        self.series.append((x.copy(), y.copy(), label))

    def savefig(self, path: str):
        if self.output.muted:
            return None
        if self.grant is None:
            raise DPRuntimeError("`savefig`: this program may not write files",
                                 "`dp run` lets a program write images in the working directory; "
                                 "an embedder grants a directory with Interpreter(plot_dir=...)")
        full = self.grant.resolve(path)
        if not self.series:
            raise DPRuntimeError("`savefig`: nothing is plotted yet", "call `plot(...)` first")
        data = self.render(os.path.splitext(full)[1][1:].lower())
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(full, flags, 0o644)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        except OSError as e:
            raise DPRuntimeError(f"`savefig` could not write {path!r}: {e.strerror}") from None
        self.saved = True
        return None

    # ------------------------------------------------------------ drawing
    @property
    def pending(self) -> bool:
        """A figure was drawn and not saved."""
        return bool(self.series) and not self.saved

    def render(self, fmt: str = "png") -> bytes:
        """The current figure as an image file's bytes (matplotlib, without pyplot: no
        window, no state shared between sessions)."""
        try:
            from matplotlib.figure import Figure
        except ImportError:
            raise DPRuntimeError("plotting needs matplotlib, which is not installed", INSTALL_HINT) from None
        fig = Figure(figsize=(6.4, 4.0), dpi=100)
        ax = fig.add_subplot()
        labelled = False
        for x, y, label in self.series:
            lines = ax.plot(x, y)
            if label is not None:
                for ln in lines:
                    ln.set_label(label)
                labelled = True
        if labelled:
            leg = ax.legend()
            for t in leg.get_texts():
                t.set_usetex(False)
        ax.grid(True, alpha=0.3)
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, metadata=_metadata(fmt))
        return buf.getvalue()

    def take(self, fmt: str = "png") -> bytes | None:
        """The pending figure's image, and a fresh figure (what the kernel shows after
        each cell)."""
        if not self.pending:
            self.series, self.saved = [], False
            return None
        data = self.render(fmt)
        self.series, self.saved = [], False
        return data


def _plain(label: str) -> str:
    """A label matplotlib draws as the text it is: `$` would start mathtext."""
    label = "".join(c if c.isprintable() else " " for c in label)[:LABEL_LIMIT]
    return label.replace("$", r"\$")


def _metadata(fmt: str) -> dict:
    """No software name or date in the file: the same plot gives the same bytes."""
    if fmt == "png":
        return {"Software": None}
    if fmt == "svg":
        return {"Date": None, "Creator": None}
    if fmt == "pdf":
        return {"CreationDate": None, "Producer": None, "Creator": None}
    return {}



# ---------------------------------------------------------------- what `dp run` grants

def grant_for_run(session) -> None:
    """`dp run`: images may be written in the working directory, and a loop over
    `progress(…)` draws its bar on stderr when that is a terminal."""
    from .progress import terminal_sink
    session.plots.grant = FileGrant(os.getcwd())
    session.progress.sink = terminal_sink()


def finish_run(session, script: str) -> str | None:
    """After `dp run`: a figure the program drew and did not save is written to
    `SCRIPT.png` in the working directory. Returns what to tell the user (on stderr)."""
    plots = session.plots
    if not plots.pending or plots.grant is None:
        return None
    name = os.path.splitext(os.path.basename(script))[0] + ".png"
    try:
        plots.savefig(name)
    except DPRuntimeError as e:
        return f"dp: the program's figure was not written: {e.message}" + (f"\n  hint: {e.hint}" if e.hint else "")
    return f"dp: wrote the figure to {name}"
