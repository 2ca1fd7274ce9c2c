"""The oracle of the derivative fuzzer: is every derivative DP gives for a program right?

For a program whose function `f` returns a float, evaluated in DP as a user would
(the embedding API and DP source snippets):

  reverse       grad(f) against float64 central differences on every scalar of the parameters
  forward       jvp(f, x, u) against the central difference along u
  fwd-vs-rev    the dot-product test: jvp tangent == <grad f(x), u>
  value         value_and_grad's and jvp's values == f(x)
  rev-over-rev  H u by grad of  x -> <grad f(x), u>   (grad(grad(f)) for one float)
  fwd-over-rev  H u by jvp(grad(f), x, u)
  fwd-over-fwd  v'H u by jvp of  x -> jvp(f, x, u).1  along v
                each against central differences of the first-order derivative
  3rd-rev, 3rd-fwd, 3rd-rrr   the gradient / jvp of  x -> u'H(x)u  against its differences
  source        source(grad(f)) loaded into a fresh Interpreter beside the program gives
                the same numbers (and source of a second-order derivative)
  effects       what the program prints, a derivative prints exactly once

Finite differences use Richardson-extrapolated central differences at h and h/2; a
coordinate is non-smooth (skipped, not failed) when the two step sizes disagree or
when the one-sided differences show a kink at the point itself.
"""
from __future__ import annotations

import math
import random
import re
import time
import traceback
from dataclasses import dataclass, field

import numpy as np

from dp.interpreter.embed import DPError, Interpreter
from dp.interpreter.values import DPStruct

from tests.fuzz_program import (FLOAT, DictT, ListT, Program, StructT, TensorT, TupleT, is_diff,
                                render_for_differences)

# ---------------------------------------------------------------------- outcomes

OK = "ok"
SKIP_PRIMAL = "skipped: primal fails"
SKIP_OVERFLOW = "skipped: overflow"
SKIP_NONSMOOTH = "skipped: non-smooth"
WRONG = "WRONG NUMBER"
DIFFERR = "differentiation error"
INTERNAL = "internal error"
SOURCE = "printed-source mismatch"
DERIV_RUNTIME = "derivative runtime error"
EFFECT = "effect mismatch"
TIMEOUT = "timeout"
GENBUG = "generator bug (type error)"

# most severe first: a program's outcome is its most severe check
SEVERITY = [INTERNAL, WRONG, SOURCE, DERIV_RUNTIME, EFFECT, GENBUG, TIMEOUT, DIFFERR,
            SKIP_NONSMOOTH, SKIP_OVERFLOW, SKIP_PRIMAL, OK]
FAILURES = {INTERNAL, WRONG, SOURCE, DERIV_RUNTIME, EFFECT, GENBUG}


@dataclass
class Check:
    mode: str
    kind: str
    detail: str = ""


@dataclass
class Outcome:
    kind: str
    mode: str
    detail: str
    checks: list = field(default_factory=list)
    features: set = field(default_factory=set)
    seconds: float = 0.0
    times: dict = field(default_factory=dict)

    def signature(self) -> tuple:
        """What "fails the same way" means for the shrinker."""
        return signature(self.kind, self.mode, self.detail)

    def has(self, sig: tuple) -> bool:
        return any(signature(c.kind, c.mode, c.detail) == sig for c in self.checks)


def signature(kind: str, mode: str, detail: str) -> tuple:
    return (kind, mode, error_key(detail) if kind in (INTERNAL, DERIV_RUNTIME, GENBUG, SOURCE, DIFFERR) else "")


def error_key(detail: str) -> str:
    """The gist of an error message: names and numbers blotted out."""
    first = detail.splitlines()[0] if detail else ""
    first = re.sub(r"gives \[.*", "gives …", first)
    first = re.sub(r"`[^`]*`", "`_`", first)
    first = re.sub(r"\d+", "N", first)
    return first[:90]


def worst(checks: list[Check]) -> Check:
    return min(checks, key=lambda c: SEVERITY.index(c.kind))


class Stop(Exception):
    """Raised to end the checks of a program early (its outcome is decided)."""

# ---------------------------------------------------------------------- values


def flatten(v, t) -> list[float]:
    """The scalars of a value of parameter type t, in a fixed order."""
    if t == FLOAT:
        return [float(v)]
    if isinstance(t, TensorT):
        return [float(x) for x in np.asarray(v, dtype=float).ravel()]
    if isinstance(t, ListT):
        return [float(x) for x in v]
    if isinstance(t, DictT):
        return [float(v[k]) for k in sorted(v)]
    if isinstance(t, TupleT):
        return [x for item, it in zip(v, t.items) for x in flatten(item, it)]
    if isinstance(t, StructT):
        get = (lambda n: v[n]) if isinstance(v, dict) else (lambda n: getattr(v, n))
        return [x for n, ft in t.fields for x in flatten(get(n), ft)]
    raise TypeError(t)


def unflatten(template, t, vec, pos=None):
    pos = pos if pos is not None else [0]
    if t == FLOAT:
        pos[0] += 1
        return float(vec[pos[0] - 1])
    if isinstance(t, TensorT):
        a = np.asarray(template, dtype=float)
        n = a.size
        pos[0] += n
        return np.array(vec[pos[0] - n:pos[0]], dtype=float).reshape(a.shape)
    if isinstance(t, ListT):
        return [unflatten(x, FLOAT, vec, pos) for x in template]
    if isinstance(t, DictT):
        return {k: unflatten(template[k], FLOAT, vec, pos) for k in sorted(template)}
    if isinstance(t, TupleT):
        return tuple(unflatten(x, it, vec, pos) for x, it in zip(template, t.items))
    if isinstance(t, StructT):
        get = (lambda n: template[n]) if isinstance(template, dict) else (lambda n: getattr(template, n))
        return {n: unflatten(get(n), ft, vec, pos) for n, ft in t.fields}
    raise TypeError(t)


def flatten_any(v) -> list[float]:
    """The floats of any value DP returns, in order (for comparing with printed source)."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return []
    if isinstance(v, (int, float, np.floating)):
        return [float(v)]
    if isinstance(v, np.ndarray):
        return [float(x) for x in v.ravel()]
    if isinstance(v, (list, tuple)):
        return [x for i in v for x in flatten_any(i)]
    if isinstance(v, dict):
        return [x for k in v for x in flatten_any(v[k])]
    if isinstance(v, DPStruct):
        return [x for f in v._fields for x in flatten_any(getattr(v, f))]
    return []


def dot_src(a: str, b: str, t, value) -> str:
    """DP text for the dot product of two values of type t (shaped like value)."""
    if t == FLOAT:
        return f"{a} * {b}"
    if isinstance(t, TensorT):
        return f"sum({a} * {b})"
    if isinstance(t, ListT):
        return " + ".join(f"{a}[{i}] * {b}[{i}]" for i in range(len(value)))
    if isinstance(t, DictT):
        return " + ".join(f'{a}["{k}"] * {b}["{k}"]' for k in sorted(value))
    if isinstance(t, TupleT):
        return " + ".join(f"({dot_src(f'{a}.{i}', f'{b}.{i}', it, value[i])})" for i, it in enumerate(t.items))
    if isinstance(t, StructT):
        return " + ".join(f"({dot_src(f'{a}.{n}', f'{b}.{n}', ft, value[n])})" for n, ft in t.fields)
    raise TypeError(t)

# ---------------------------------------------------------------------- finite differences


@dataclass
class FD:
    value: np.ndarray          # Richardson extrapolation of the central differences
    err: np.ndarray            # estimated error of value
    smooth: np.ndarray         # bool per component
    noise: float               # roundoff scale
    again: object = None       # the differences at finer steps (refine), made on demand


H = 1e-3


def central(fn, x: np.ndarray, direction: np.ndarray, y0=None, h0: float = None):
    """Central differences of a vector-valued fn (of a flat vector) along direction at
    steps H, H/2, H/4, extrapolated (Richardson, two levels), with smoothness tests.
    Returns FD, or None if fn fails nearby.

    Smooth: the differences' errors shrink like h^2 (each halving divides them by 4),
    or are negligible. A kink at x itself leaves central differences alone (abs at 0
    gives 0 at every step), so with y0 the one-sided second differences are tested
    too: (f(x+h) - 2 f(x) + f(x-h)) / h goes to 0 with h where f is smooth and stays
    put at a kink.

    A function can curve on a scale finer than H and still pass these tests (a loop
    that grows values to 1e9 has derivatives of 1e11); so where AD and the differences
    disagree, close_fd asks for the differences again at finer steps (REFINE)."""
    first = h0 is None
    h0 = H if first else h0
    steps = (h0, h0 / 2, h0 / 4)
    vals = {}
    for h in steps:
        for s in (h, -h):
            y = fn(x + s * direction)
            if y is None:
                return None
            vals[s] = np.atleast_1d(np.asarray(y, dtype=float))
    d = [(vals[h] - vals[-h]) / (2 * h) for h in steps]
    r1, r2 = (4 * d[1] - d[0]) / 3, (4 * d[2] - d[1]) / 3
    rich = (16 * r2 - r1) / 15
    mag = max(float(np.max(np.abs(v))) if v.size else 0.0 for v in vals.values())
    noise = 64 * 2.2e-16 * max(mag, 1e-300) / (h0 / 4)
    e1, e2 = d[0] - d[1], d[1] - d[2]
    tiny = 1e-9 * (1 + np.abs(rich)) + 10 * noise
    smooth = (np.abs(e1) <= tiny) | (np.abs(e1 - 4 * e2) <= 0.3 * np.abs(e1) + 10 * noise)
    if y0 is not None:
        y0 = np.atleast_1d(np.asarray(y0, dtype=float))
        k = [(vals[h] - 2 * y0 + vals[-h]) / h for h in steps]
        knoise = 4 * 64 * 2.2e-16 * max(mag, 1e-300) / (h0 / 4)
        kink = (np.abs(k[2]) > 100 * knoise + 1e-9 * (1 + np.abs(rich))) & (np.abs(k[0] - k[2]) < 0.5 * np.abs(k[2]))
        smooth &= ~kink
    finite = np.all([np.isfinite(v) for v in vals.values()], axis=0)
    smooth &= finite
    out = FD(rich, np.abs(r1 - r2), smooth, noise)
    if first:
        out.again = lambda: [central(fn, x, direction, y0, h) for h in REFINE]
    return out


REFINE = (1e-5, 1e-7, 1e-9)    # finer steps, tried only where AD and the differences at H disagree


def close_fd(ad: np.ndarray, fd: FD, rtol=1e-5, atol=1e-7) -> np.ndarray:
    """Per component: does AD agree with the differences (where they are smooth), at H
    or, failing that, at a finer step where they are smooth too?"""
    ok = _close(ad, fd, rtol, atol)
    if ok.all() or fd.again is None:
        return ok
    precise = [fd.value]
    for finer in fd.again():
        if finer is None:
            continue
        if np.all(10 * finer.noise <= 1e-2 * (1 + np.abs(finer.value))):
            precise.append(finer.value)
        # only where roundoff leaves the finer differences precise (else they would pass anything)
        if finer.smooth.all() and np.all(100 * finer.noise <= 1e-4 * (1 + np.abs(finer.value))):
            ok = ok | _close(ad, finer, rtol, atol)
    # differences that do not settle as the step shrinks (each precise, yet 5% apart) say
    # the function jumps on a finer scale than H: a floor of a steep argument is not smooth
    vals = np.array(precise)
    wild = (vals.max(axis=0) - vals.min(axis=0)) > 0.05 * (np.abs(vals).max(axis=0) + 1e-12)
    fd.smooth = fd.smooth & ~(wild & ~ok)
    return ok


def _verdict(ok, fd, detail: str) -> tuple:
    """(kind, detail) for a check against differences: right, wrong, or skipped where
    the finer steps close_fd tried found the function jumps."""
    if ok.all():
        return OK, ""
    if not fd.smooth.all():
        return SKIP_NONSMOOTH, "not smooth at x (the differences do not settle as the step shrinks)"
    return WRONG, detail


def _close(ad, fd, rtol, atol):
    scale = float(np.max(np.abs(fd.value))) if fd.value.size else 0.0
    tol = 10 * fd.err + 100 * fd.noise + rtol * (np.abs(ad) + np.abs(fd.value)) + atol * (1 + scale)
    return np.abs(ad - fd.value) <= tol


def close_ad(a: np.ndarray, b: np.ndarray, scale: float, rtol=1e-7) -> bool:
    """Two automatic derivatives agree to roundoff."""
    if a.shape != b.shape:
        return False
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return bool(np.array_equal(a, b, equal_nan=True))
    tol = rtol * (np.abs(a) + np.abs(b) + scale) + 1e-10
    return bool(np.all(np.abs(a - b) <= tol))


def fmt_vec(v) -> str:
    v = np.asarray(v, dtype=float).ravel()
    return "[" + ", ".join(f"{x:.10g}" for x in v[:12]) + (", …" if v.size > 12 else "") + "]"

# ---------------------------------------------------------------------- classifying errors


def classify(e: BaseException) -> tuple[str, str]:
    """(outcome kind, detail) for an error from a derivative's derivation or run."""
    if not isinstance(e, DPError):
        tb = traceback.format_exception(type(e), e, e.__traceback__)
        return INTERNAL, f"Python {type(e).__name__}: {e}\n" + "".join(tb[-3:])
    d = e.first
    text = f"{d.kind}: {d.message}"
    hint = d.hint or ""
    if "time limit exceeded" in d.message or "step limit" in d.message:
        return TIMEOUT, text
    if d.kind == "internal error" or "internal error" in d.message or "bug in DP" in d.message + hint:
        return INTERNAL, text
    if d.kind == "differentiation error":
        if "please report it" in hint:
            # dsl/ad/__init__.py wraps any Python exception of a transform this way
            return INTERNAL, "masked Python exception: " + text
        return DIFFERR, text
    if d.kind == "runtime error":
        if d.message.startswith("cannot differentiate"):
            return DIFFERR, text + " (a refusal, but raised at run time)"
        return DERIV_RUNTIME, text
    return GENBUG, text

# ---------------------------------------------------------------------- the oracle


class Replay:
    """stop_gradient for finite differences: records the values its argument takes in
    a run at the base point, then gives them back in order in the perturbed runs."""

    def __init__(self):
        self.values: list = []
        self.recording = True
        self.i = 0

    def start(self, recording: bool):
        self.recording = recording
        self.i = 0
        if recording:
            self.values = []

    def __call__(self, v):
        if self.recording:
            self.values.append(v)
            return v
        if self.i >= len(self.values):
            raise ValueError("control flow changed")
        out = self.values[self.i]
        self.i += 1
        return out

    def consistent(self) -> bool:
        return self.recording or self.i == len(self.values)


class Sink:
    def __init__(self):
        self.parts: list[str] = []

    def __call__(self, s: str):
        self.parts.append(s)

    def take(self) -> str:
        out = "".join(self.parts)
        self.parts.clear()
        return out


@dataclass
class Options:
    second_order: bool = True
    third_order: bool = False
    source: bool = True
    timeout: float = 10.0          # seconds per DP call
    budget: float = 60.0           # seconds per program
    only: set | None = None        # run only these modes (the shrinker focuses on one)


class Run:
    """The checks of one program."""

    def __init__(self, prog: Program | str, params=None, values=None, opts: Options | None = None, seed: int = 0):
        self.fd_text = None
        if isinstance(prog, Program):
            self.text = prog.render()
            if "stop_gradient(" in self.text:
                self.fd_text = render_for_differences(prog)
            fn = prog.main_fn()
            self.params = [(n, t) for n, t in fn.params]
            self.values = dict(prog.values)
            self.features = prog.features() | prog.param_kinds()
        else:
            self.text = prog
            self.params = params
            self.values = dict(values)
            self.features = set()
        self.opts = opts or Options()
        self.rng = random.Random(seed * 7919 + 17)
        self.checks: list[Check] = []
        self.start = time.monotonic()
        self.sink = Sink()
        self.times: dict[str, float] = {}

    # ----------------------------------------------------------- helpers
    def wants(self, mode: str) -> bool:
        return self.opts.only is None or mode in self.opts.only

    def add(self, mode: str, kind: str, detail: str = ""):
        self.checks.append(Check(mode, kind, detail))

    def over_budget(self) -> bool:
        return time.monotonic() - self.start > self.opts.budget

    def call(self, mode: str, thunk):
        """Run thunk; on an error record the check and return None."""
        t0 = time.monotonic()
        try:
            return thunk()
        except Stop:
            raise
        except RecursionError as e:
            self.add(mode, INTERNAL, f"Python RecursionError: {e}")
        except Exception as e:      # noqa: BLE001 — the oracle classifies everything
            kind, detail = classify(e)
            self.add(mode, kind, detail)
        finally:
            self.times[mode] = self.times.get(mode, 0.0) + time.monotonic() - t0
        return None

    # ----------------------------------------------------------- the whole run
    def run(self) -> Outcome:
        try:
            self._run()
        except Stop:
            pass
        except Exception as e:      # noqa: BLE001
            kind, detail = classify(e)
            self.add("oracle", kind, detail)
        if not self.checks:
            self.add("all", OK)
        w = worst(self.checks)
        return Outcome(w.kind, w.mode, w.detail, self.checks, self.features, time.monotonic() - self.start, self.times)

    def _run(self):
        names = [n for n, _ in self.params]
        self.types = [t for _, t in self.params]
        self.x = [self.values[n] for n in names]
        self.active = [i for i, t in enumerate(self.types) if is_diff(t)]
        self.dp = Interpreter(timeout=self.opts.timeout, stdout=self.sink)
        try:
            self.dp.load(self.text, "fuzz.dp")
        except DPError as e:
            kind, detail = classify(e)
            if e.first.kind in ("type error", "syntax error"):
                kind = GENBUG
            self.add("load", kind, detail)
            raise Stop
        f = self.dp.function("f")
        self.sink.take()
        try:
            y0 = f(*self.x)
        except DPError as e:
            kind, detail = classify(e)
            self.add("primal", SKIP_PRIMAL if kind in (DERIV_RUNTIME, TIMEOUT) else kind, detail)
            raise Stop
        self.printed = self.sink.take()
        if not isinstance(y0, float) or not math.isfinite(y0) or abs(y0) > 1e10:
            self.add("primal", SKIP_OVERFLOW, f"f(x) = {y0}")
            raise Stop
        self.y0 = y0
        self.f = f
        self.fd_f, self.replay = f, None
        if self.fd_text is not None:
            self.replay = Replay()
            fdp = Interpreter(timeout=self.opts.timeout, stdout=Sink())
            fdp.register("sg_float", self.replay, "fn(float) -> float", derivative=lambda v: 0.0)
            fdp.register("sg_tensor", self.replay, "fn(tensor) -> tensor")
            try:
                fdp.load(self.fd_text, "fuzz_fd.dp")
                self.fd_f = fdp.function("f")
                self.replay.start(True)
                y = self.fd_f(*self.x)
                self.replay.start(False)
            except DPError as e:
                self.add("reverse", SKIP_NONSMOOTH, f"cannot take differences through stop_gradient: {e.message}")
                self.fd_f = None
            else:
                if abs(y - y0) > 1e-9 * (1 + abs(y0)):
                    self.add("value", WRONG, f"f with stop_gradient held gives {y!r}, f gives {y0!r}")
        # the flat vector of active scalars and how to rebuild arguments from it
        self.flat = np.array([s for i in self.active for s in flatten(self.x[i], self.types[i])], dtype=float)
        self.u = self.direction()
        self.v = self.direction()
        self.sel = tuple(self.active)
        self.first_order()
        if self.opts.second_order and not self.over_budget():
            self.second_order()

    def direction(self) -> np.ndarray:
        return np.array([self.rng.choice([-1, 1]) * self.rng.uniform(0.3, 1.0) for _ in self.flat])

    def args_at(self, vec: np.ndarray) -> list:
        args = list(self.x)
        pos = [0]
        for i in self.active:
            args[i] = unflatten(self.x[i], self.types[i], vec, pos)
        return args

    def tangents(self, vec: np.ndarray) -> list:
        """Tangents for all parameters (zero for inactive ones) from a flat vector."""
        args = self.args_at(vec)
        return [a if i in self.active else 0 for i, a in enumerate(args)]

    def f_at(self, vec):
        """f at a perturbed point, for differences (stop_gradient held at its base value)."""
        if self.fd_f is None:
            return None
        try:
            if self.replay is not None:
                self.replay.start(False)
            y = self.fd_f(*self.args_at(vec))
        except DPError:
            return None
        if self.replay is not None and not self.replay.consistent():
            return None
        return y if isinstance(y, float) and math.isfinite(y) else None

    def flat_grad(self, g) -> np.ndarray:
        """A gradient as DP returns it (one value, or a tuple for several parameters)."""
        parts = [g] if len(self.active) == 1 else list(g)
        return np.array([s for i, gi in zip(self.active, parts) for s in flatten(gi, self.types[i])], dtype=float)

    # ----------------------------------------------------------- first order
    def sel_src(self) -> str:
        if len(self.active) == 1:
            return "" if self.active[0] == 0 else f", {self.active[0]}"
        return ", (" + ", ".join(map(str, self.active)) + ")"

    def first_order(self):
        n = len(self.flat)
        self.g = None
        # reverse: grad(f) against central differences on every scalar
        argnums = self.active[0] if len(self.active) == 1 else tuple(self.active)
        gfn = self.call("reverse", lambda: self.dp.grad("f", argnums=argnums))
        if gfn is not None:
            self.sink.take()
            g = self.call("reverse", lambda: gfn(*self.x))
            if g is not None:
                out = self.sink.take()
                if out != self.printed:
                    self.add("effects", EFFECT, f"f prints {self.printed!r}, grad(f) prints {out!r}")
                self.g = self.flat_grad(g)
                self.gfn = gfn
        t_fd = time.monotonic()
        if self.g is not None and self.wants("reverse"):
            smooth_all, bad = True, []
            for k in range(n):
                e = np.zeros(n)
                e[k] = 1.0
                fd = central(lambda v: self.f_at(v), self.flat, e, self.y0)
                if fd is None or not fd.smooth.all():
                    smooth_all = False
                    continue
                if not close_fd(np.array([self.g[k]]), fd).all():
                    if not fd.smooth.all():            # the finer steps found it jumps
                        smooth_all = False
                        continue
                    bad.append((k, self.g[k], float(fd.value[0])))
            if bad:
                self.add("reverse", WRONG, "grad(f) disagrees with central differences: " +
                         "; ".join(f"d/d[{self.scalar_name(k)}]: DP {a:.10g}, differences {b:.10g}" for k, a, b in bad))
            elif not smooth_all and n > 0:
                self.add("reverse", SKIP_NONSMOOTH, "some coordinates are not smooth at x")
            else:
                self.add("reverse", OK)
        self.times["fd"] = self.times.get("fd", 0.0) + time.monotonic() - t_fd
        # higher-order differences: not with stop_gradient, whose derivative code holds
        # stop_gradient too (grad(grad(x -> x * stop_gradient(x * x))) is 0, as in JAX)
        self.smooth = all(c.kind != SKIP_NONSMOOTH for c in self.checks) and self.fd_text is None
        # forward: jvp(f, x, u) against the difference along u, and the dot-product test
        self.jfn = None
        if self.wants("forward") or self.wants("fwd-vs-rev") or self.wants("value") or self.wants("effects"):
            jvp = self.call("forward", lambda: self.dp.jvp("f"))
            if jvp is not None:
                self.sink.take()
                if len(self.x) == 1:      # one parameter: bare primal and tangent
                    r = self.call("forward", lambda: jvp(self.x[0], self.tangents(self.u)[0]))
                else:
                    r = self.call("forward", lambda: jvp(tuple(self.x), tuple(self.tangents(self.u))))
                if r is not None:
                    out = self.sink.take()
                    if out != self.printed:
                        self.add("effects", EFFECT, f"f prints {self.printed!r}, jvp(f) prints {out!r}")
                    val, tan = r
                    self.jfn = jvp
                    if not close_ad(np.array([val]), np.array([self.y0]), abs(self.y0), 1e-9):
                        self.add("value", WRONG, f"jvp(f) value {val!r}, f(x) = {self.y0!r}")
                    fd = central(lambda v: self.f_at(v), self.flat, self.u, self.y0)
                    if fd is not None and fd.smooth.all() and self.wants("forward"):
                        self.add("forward", *_verdict(close_fd(np.array([tan]), fd), fd,
                                 f"jvp(f, x, u) tangent {tan:.10g}, differences along u {float(fd.value[0]):.10g}"))
                    if self.g is not None and self.wants("fwd-vs-rev"):
                        dot = float(self.g @ self.u)
                        scale = float(np.abs(self.g) @ np.abs(self.u))
                        if close_ad(np.array([tan]), np.array([dot]), scale):
                            self.add("fwd-vs-rev", OK)
                        else:
                            self.add("fwd-vs-rev", WRONG, f"jvp tangent {tan:.12g} but <grad f(x), u> = {dot:.12g}")
        # value_and_grad's value (a sample)
        if self.wants("value") and (self.opts.only is not None or self.rng.random() < 0.15):
            vg = self.call("value", lambda: self.dp.value_and_grad("f", argnums=argnums))
            if vg is not None:
                r = self.call("value", lambda: vg(*self.x))
                if r is not None:
                    val, g2 = r
                    if not close_ad(np.array([val]), np.array([self.y0]), abs(self.y0), 1e-9):
                        self.add("value", WRONG, f"value_and_grad value {val!r}, f(x) = {self.y0!r}")
                    elif self.g is not None and not close_ad(self.flat_grad(g2), self.g, float(np.max(np.abs(self.g), initial=0))):
                        self.add("value", WRONG, f"value_and_grad gradient {fmt_vec(self.flat_grad(g2))}, grad {fmt_vec(self.g)}")
        # the printed derivative, run fresh
        if self.opts.source and self.g is not None and self.wants("source"):
            self.source_check("source", f"grad(f{self.sel_src()})", [], self.x, self.g, self.flat_grad)

    def scalar_name(self, k: int) -> str:
        pos = 0
        for i in self.active:
            m = len(flatten(self.x[i], self.types[i]))
            if k < pos + m:
                return f"{self.params[i][0]}" + (f"#{k - pos}" if m > 1 else "")
            pos += m
        return str(k)

    def source_check(self, mode: str, expr: str, extra_src: list[str], args: list, expect: np.ndarray, flat):
        t0 = time.monotonic()
        try:
            self._source_check(mode, expr, extra_src, args, expect, flat)
        finally:
            self.times[mode + " (all)"] = time.monotonic() - t0

    def _source_check(self, mode: str, expr: str, extra_src: list[str], args: list, expect: np.ndarray, flat):
        src = self.call(mode, lambda: self.dp.eval(f"source({expr})"))
        if src is None:
            return
        m = re.match(r"\s*fn (\w+)\(", src)
        if not m:
            self.add(mode, SOURCE, f"source({expr}) does not start with a function:\n{src[:300]}")
            return
        fresh = Interpreter(timeout=self.opts.timeout, stdout=Sink())
        try:
            fresh.load(self.text, "fuzz.dp")
            for s in extra_src:
                fresh.load(s, "wrappers.dp")
            fresh.load(src, "printed.dp")
            got = fresh.function(m.group(1))(*args)
        except Exception as e:      # noqa: BLE001
            kind, detail = classify(e)
            if kind == TIMEOUT:             # a loaded machine, not a wrong printed source
                self.add(mode, TIMEOUT, f"source({expr}) re-run fresh: {detail}")
                return
            self.add(mode, SOURCE, f"source({expr}) re-run fresh fails: {detail}\n--- printed source ---\n{src}")
            return
        try:
            gv = flat(got)
        except Exception:           # noqa: BLE001 — a different structure
            gv = np.array(flatten_any(got))
        if close_ad(gv, expect, float(np.max(np.abs(expect), initial=0)), 1e-9):
            self.add(mode, OK)
        else:
            self.add(mode, SOURCE, f"source({expr}) run fresh gives {fmt_vec(gv)}, DP's derivative gives {fmt_vec(expect)}"
                     f"\n--- printed source ---\n{src}")

    # ----------------------------------------------------------- second order
    def wrappers(self) -> dict[str, str]:
        """DP source of the functions the higher-order checks differentiate."""
        xs = [f"x{i}" for i in self.active]
        us = [f"u{i}" for i in self.active]
        vs = [f"v{i}" for i in self.active]
        ts = {i: self.types[i].dp() for i in range(len(self.types))}
        allx = [f"x{i}" if i in self.active else f"c{i}" for i in range(len(self.types))]
        params_x = ", ".join(f"{a}: {ts[i]}" for i, a in enumerate(allx))
        params_u = ", ".join(f"u{i}: {ts[i]}" for i in self.active)
        params_v = ", ".join(f"v{i}: {ts[i]}" for i in self.active)
        call_x = ", ".join(allx)
        one = len(self.active) == 1
        gnames = [f"g{i}" for i in self.active]
        dot_g = " + ".join(f"({dot_src(g, u, self.types[i], self.x[i])})" for g, u, i in zip(gnames, us, self.active))
        bind_g = f"let {gnames[0]}" if one else f"let ({', '.join(gnames)})"
        sel = self.sel_src()
        ret_g = ts[self.active[0]] if one else "(" + ", ".join(ts[i] for i in self.active) + ")"
        # jvp over all parameters: inactive ones get a zero tangent
        if len(self.types) == 1:
            jvp_f = f"jvp(f, {allx[0]}, {us[0]})"
            jvp_g = f"jvp(grad(f{sel}), {allx[0]}, {us[0]})"
        else:
            tans = [f"u{i}" if i in self.active else f"zeros_like({allx[i]})" for i in range(len(self.types))]
            jvp_f = f"jvp(f, ({call_x}), ({', '.join(tans)}))"
            jvp_g = f"jvp(grad(f{sel}), ({call_x}), ({', '.join(tans)}))"
        w = {}
        w["gdot"] = (f"fn fz_gdot({params_x}, {params_u}) -> float {{\n"
                     f"    {bind_g} = grad(f{sel})({call_x})\n    return {dot_g}\n}}")
        w["fr"] = f"fn fz_fr({params_x}, {params_u}) -> {ret_g} {{\n    return {jvp_g}.1\n}}"
        w["jt"] = f"fn fz_jt({params_x}, {params_u}) -> float {{\n    return {jvp_f}.1\n}}"
        zeros_u = ", ".join(f"zeros_like({u})" for u in us)
        # fz_jt's parameters: all x (active and not), then u
        tan_x = [f"v{i}" if i in self.active else f"zeros_like(c{i})" for i in range(len(self.types))]
        w["ff"] = (f"fn fz_ff({params_x}, {params_u}, {params_v}) -> float {{\n"
                   f"    return jvp(fz_jt, ({call_x}, {', '.join(us)}), ({', '.join(tan_x)}, {zeros_u})).1\n}}")
        hnames = [f"h{i}" for i in self.active]
        bind_h = f"let {hnames[0]}" if one else f"let ({', '.join(hnames)})"
        dot_h = " + ".join(f"({dot_src(h, u, self.types[i], self.x[i])})" for h, u, i in zip(hnames, us, self.active))
        w["s2"] = (f"fn fz_s2({params_x}, {params_u}) -> float {{\n"
                   f"    {bind_h} = fz_fr({call_x}, {', '.join(us)})\n    return {dot_h}\n}}")
        sel_x = "(" + ", ".join(str(k) for k, a in enumerate(allx) if a.startswith("x")) + ("," if one else "") + ")"
        w["s2r"] = (f"fn fz_s2r({params_x}, {params_u}) -> float {{\n"
                    f"    {bind_h} = grad(fz_gdot, {sel_x[1:-1].rstrip(',') if one else sel_x})({call_x}, {', '.join(us)})\n"
                    f"    return {dot_h}\n}}")
        return w

    def second_order(self):
        n = len(self.flat)
        if n == 0:
            return
        w = self.wrappers()
        loaded = {}

        def try_load(name, mode) -> bool:
            if name in loaded:
                return loaded[name]
            n_before = len(self.checks)
            self.call(mode, lambda: self.dp.load(w[name], f"fz_{name}.dp"))
            loaded[name] = len(self.checks) == n_before
            return loaded[name]

        xargs = list(self.x)
        U = self.args_at(self.u)
        V = self.args_at(self.v)
        u_args = [U[i] for i in self.active]
        v_args = [V[i] for i in self.active]
        # reference: differences of the (checked) reverse gradient along u
        ref_hu = None
        if self.g is not None and self.smooth:
            def grad_at(vec):
                try:
                    return self.flat_grad(self.gfn(*self.args_at(vec)))
                except DPError:
                    return None
            fd = central(grad_at, self.flat, self.u, self.g)
            if fd is not None and fd.smooth.all():
                ref_hu = fd
            elif fd is not None:
                self.add("second order", SKIP_NONSMOOTH, "the gradient is not smooth at x")
        results = {}
        # rev-over-rev: grad of x -> <grad f(x), u>; grad(grad(f)) for one float
        if self.wants("rev-over-rev") and try_load("gdot", "rev-over-rev"):
            argn = self.active[0] if len(self.active) == 1 else tuple(self.active)
            gg = self.call("rev-over-rev", lambda: self.dp.grad("fz_gdot", argnums=argn))
            if gg is not None:
                r = self.call("rev-over-rev", lambda: gg(*xargs, *u_args))
                if r is not None:
                    results["rev-over-rev"] = self.flat_grad(r)
            if self.types == [FLOAT] and "rev-over-rev" in results:
                r = self.call("rev-over-rev", lambda: self.dp.eval(f"grad(grad(f))({xargs[0]!r})"))
                if r is not None:
                    results["grad(grad(f))"] = np.array([float(r) * self.u[0]])
        if self.wants("fwd-over-rev") and try_load("fr", "fwd-over-rev"):
            fr = self.dp.function("fz_fr")
            r = self.call("fwd-over-rev", lambda: fr(*xargs, *u_args))
            if r is not None:
                results["fwd-over-rev"] = self.flat_grad(r)
        # the user-level hessian(f), for one float, list or tensor parameter
        t0 = self.types[0]
        if self.wants("hessian") and len(self.types) == 1 and (t0 == FLOAT or isinstance(t0, (ListT, TensorT))):
            ht = {True: "float"}.get(t0 == FLOAT) or ("list[list[float]]" if isinstance(t0, ListT) else "tensor")
            src = f"fn fz_hess(x0: {t0.dp()}) -> {ht} {{\n    return hessian(f)(x0)\n}}"
            n_before = len(self.checks)
            self.call("hessian", lambda: self.dp.load(src, "fz_hess.dp"))
            if len(self.checks) == n_before:
                r = self.call("hessian", lambda: self.dp.function("fz_hess")(xargs[0]))
                if r is not None:
                    hm = np.asarray(r, dtype=float).reshape(len(self.flat), len(self.flat))
                    results["hessian"] = hm @ self.u
        for mode in ("rev-over-rev", "grad(grad(f))", "fwd-over-rev", "hessian"):
            if mode in results:
                self.compare_hu(mode if mode != "grad(grad(f))" else "rev-over-rev", results[mode], ref_hu,
                                label=mode)
        if "rev-over-rev" in results and "fwd-over-rev" in results and self.wants("rr-vs-fr"):
            a, b = results["rev-over-rev"], results["fwd-over-rev"]
            if not close_ad(a, b, float(np.max(np.abs(a), initial=0) + np.max(np.abs(b), initial=0)), 1e-6):
                self.add("rr-vs-fr", WRONG, f"rev-over-rev H u {fmt_vec(a)}, fwd-over-rev H u {fmt_vec(b)}")
        # fwd-over-fwd: v'Hu by jvp of x -> jvp(f, x, u).1 along v, against differences of that
        if self.wants("fwd-over-fwd") and try_load("jt", "fwd-over-fwd") and try_load("ff", "fwd-over-fwd"):
            jt = self.dp.function("fz_jt")
            ff = self.dp.function("fz_ff")
            r = self.call("fwd-over-fwd", lambda: ff(*xargs, *u_args, *v_args))
            if r is not None:
                def jt_at(vec):
                    try:
                        y = jt(*self.args_at(vec), *u_args)
                        return y if math.isfinite(y) else None
                    except DPError:
                        return None
                fd = central(jt_at, self.flat, self.v, None) if self.smooth else None
                if fd is not None and fd.smooth.all():
                    self.add("fwd-over-fwd", *_verdict(close_fd(np.array([r]), fd), fd,
                                                       f"v'Hu by jvp of jvp {r:.10g}, differences of jvp along v "
                                                       f"{float(fd.value[0]):.10g}"))
                if "fwd-over-rev" in results:
                    hv = float(results["fwd-over-rev"] @ self.v)
                    scale = float(np.abs(results["fwd-over-rev"]) @ np.abs(self.v))
                    if not close_ad(np.array([r]), np.array([hv]), scale, 1e-6):
                        self.add("ff-vs-fr", WRONG, f"v'Hu by jvp of jvp {r:.12g}, by <jvp(grad f), v> {hv:.12g}")
        # printed source of a second-order derivative
        if self.opts.source and "rev-over-rev" in results and self.wants("source-2nd") and \
                (self.opts.only is not None or self.rng.random() < 0.35):
            sel = self.sel_src()
            self.source_check("source-2nd", f"grad(fz_gdot{sel})", [w["gdot"]], xargs + u_args,
                              results["rev-over-rev"], self.flat_grad)
        if self.opts.third_order and not self.over_budget() and "fwd-over-rev" in results:
            self.third_order(w, try_load, xargs, u_args, v_args)

    def compare_hu(self, mode: str, hu: np.ndarray, ref: FD | None, label: str):
        if ref is None:
            return
        if hu.shape != ref.value.shape:
            self.add(mode, WRONG, f"{label}: H u has {hu.size} components, expected {ref.value.size}")
            return
        ok = close_fd(hu, ref)
        if ok.all():
            self.add(mode, OK)
        elif not ref.smooth.all():                     # the finer steps found it jumps
            self.add(mode, SKIP_NONSMOOTH, "the gradient is not smooth at x (finer steps disagree)")
        else:
            what = {"rev-over-rev": "grad of <grad f, u>", "grad(grad(f))": "grad(grad(f)) * u",
                    "fwd-over-rev": "jvp(grad(f), x, u)", "hessian": "hessian(f)(x) @ u"}[label]
            self.add(mode, WRONG, f"H u by {what} = {fmt_vec(hu)}, differences of grad(f) along u = {fmt_vec(ref.value)}")

    # ----------------------------------------------------------- third order
    def third_order(self, w, try_load, xargs, u_args, v_args):
        if not try_load("s2", "3rd-rev"):
            return
        s2 = self.dp.function("fz_s2")

        def s2_at(vec):
            try:
                y = s2(*self.args_at(vec), *u_args)
                return y if math.isfinite(y) else None
            except DPError:
                return None
        fd = central(s2_at, self.flat, self.v, None) if self.smooth else None
        if fd is not None and not fd.smooth.all():
            fd = None
        argn = self.active[0] if len(self.active) == 1 else tuple(self.active)
        g3 = self.call("3rd-rev", lambda: self.dp.grad("fz_s2", argnums=argn))
        if g3 is not None:
            r = self.call("3rd-rev", lambda: g3(*xargs, *u_args))
            if r is not None and fd is not None:
                val = float(self.flat_grad(r) @ self.v)
                self.add("3rd-rev", *_verdict(close_fd(np.array([val]), fd), fd,
                         f"<grad(x -> u'H(x)u), v> = {val:.10g}, differences {float(fd.value[0]):.10g}"))
        if self.wants("3rd-fwd"):
            j3 = self.call("3rd-fwd", lambda: self.dp.jvp("fz_s2"))
            if j3 is not None:
                tans = [self.tangents(self.v)[i] for i in range(len(self.x))]
                zeros = [unflatten(a, self.types[i], np.zeros(len(flatten(a, self.types[i]))))
                         for a, i in zip(u_args, self.active)]
                r = self.call("3rd-fwd", lambda: j3(tuple(xargs) + tuple(u_args), tuple(tans) + tuple(zeros)))
                if r is not None and fd is not None:
                    val = float(r[1])
                    self.add("3rd-fwd", *_verdict(close_fd(np.array([val]), fd), fd,
                             f"jvp(x -> u'H(x)u, v) = {val:.10g}, differences {float(fd.value[0]):.10g}"))
        if self.wants("3rd-rrr") and try_load("gdot", "3rd-rrr") and try_load("s2r", "3rd-rrr"):
            g3r = self.call("3rd-rrr", lambda: self.dp.grad("fz_s2r", argnums=argn))
            if g3r is not None:
                r = self.call("3rd-rrr", lambda: g3r(*xargs, *u_args))
                if r is not None and fd is not None:
                    val = float(self.flat_grad(r) @ self.v)
                    self.add("3rd-rrr", *_verdict(close_fd(np.array([val]), fd), fd,
                             f"<grad(x -> <grad(<grad f, u>), u>), v> = {val:.10g}, differences {float(fd.value[0]):.10g}"))


def check(prog: Program | str, params=None, values=None, opts: Options | None = None, seed: int = 0) -> Outcome:
    """Run every check on a program (a generated Program, or DP text with its
    parameters [(name, type)] and values {name: value}); the outcome is the worst."""
    return Run(prog, params, values, opts, seed).run()
