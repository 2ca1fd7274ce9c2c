"""Gradient checking: central finite differences and forward-vs-reverse agreement
for DP functions, on inputs that are floats, lists, structs, dicts and tuples."""
from __future__ import annotations

import random

import numpy as np

from dp.interpreter.values import DPStruct
from helpers import session


def flatten(v) -> list[float]:
    if isinstance(v, np.ndarray):
        return [float(x) for x in v.ravel()] if v.dtype != bool else []
    if isinstance(v, bool) or isinstance(v, (int, str)) and not isinstance(v, float):
        return []
    if isinstance(v, float):
        return [v]
    if isinstance(v, (list, tuple)):
        return [x for item in v for x in flatten(item)]
    if isinstance(v, dict):
        return [x for k in v for x in flatten(v[k])]
    if isinstance(v, DPStruct):
        return [x for f in v._fields for x in flatten(getattr(v, f))]
    return []


def unflatten(template, vec: list[float], pos=None):
    pos = pos if pos is not None else [0]
    if isinstance(template, np.ndarray):
        n = template.size
        pos[0] += n
        return np.array(vec[pos[0] - n:pos[0]], dtype=float).reshape(template.shape)
    if isinstance(template, bool) or isinstance(template, (int, str)) and not isinstance(template, float):
        return template
    if isinstance(template, float):
        pos[0] += 1
        return vec[pos[0] - 1]
    if isinstance(template, list):
        return [unflatten(x, vec, pos) for x in template]
    if isinstance(template, tuple):
        return tuple(unflatten(x, vec, pos) for x in template)
    if isinstance(template, dict):
        return {k: unflatten(x, vec, pos) for k, x in template.items()}
    if isinstance(template, DPStruct):
        new = object.__new__(type(template))
        for f in template._fields:
            object.__setattr__(new, f, unflatten(getattr(template, f), vec, pos))
        return new
    return template


class Checked:
    """A DP program with a function `f`, its derived reverse and forward functions."""

    def __init__(self, src: str, name: str = "f"):
        self.session, self.out = session()
        self.session.run(src, "gradcheck.dp")
        self.ns = self.session.runtime.ns
        sym = self.session.env.values[name]
        self.fn = self.session.ns_function(name) if hasattr(self.session, "ns_function") else self.ns[sym.py]
        decl = sym.decl
        self.rev = self.ns[self.session.ad.derive(decl, "rev").py]
        self.rev_info = self.session.ad.derive(decl, "rev")
        self.jvp = self.ns[self.session.ad.derive(decl, "jvp").py]

    def value(self, *args):
        return self.fn(*args)

    def reverse(self, *args, y_bar=1.0):
        r = self.rev(*args, y_bar)
        grads = [None] * len(args)
        for rank, k in enumerate(self.rev_info.active_idx):
            grads[k] = r[rank]
        return self.value(*args), grads

    def forward(self, args, tangents):
        """The derived jvp takes tangents for the differentiable parameters only."""
        active = set(self.rev_info.active_idx)
        return self.jvp(*args, *[t for k, t in enumerate(tangents) if k in active])

    def finite_difference(self, args, h=1e-6):
        grads = []
        for k, a in enumerate(args):
            flat = flatten(a)
            g = []
            for i in range(len(flat)):
                up, dn = list(flat), list(flat)
                up[i] += h
                dn[i] -= h
                aa = list(args)
                aa[k] = unflatten(a, up)
                fu = self.value(*aa)
                aa[k] = unflatten(a, dn)
                fd = self.value(*aa)
                g.append((fu - fd) / (2 * h))
            grads.append(g)
        return grads


def check(src: str, *args, tol=1e-5, name="f"):
    """Assert reverse = finite differences, and forward · u = reverse · u."""
    c = Checked(src, name)
    y, grads = c.reverse(*args)
    assert abs(y - c.value(*args)) <= 1e-12 * max(1.0, abs(y)), "reverse-mode value differs from the primal"
    fd = c.finite_difference(list(args))
    for k, a in enumerate(args):
        got = flatten(grads[k]) if grads[k] is not None else [0.0] * len(fd[k])
        assert len(got) == len(fd[k])
        for g, f in zip(got, fd[k]):
            assert abs(g - f) <= tol * max(1.0, abs(f)), f"parameter {k}: reverse {got} vs finite differences {fd[k]}"
    # forward vs reverse: <J u, 1> = <u, J^T 1>
    rng = random.Random(7)
    us = [unflatten(a, [rng.uniform(-1, 1) for _ in flatten(a)]) for a in args]
    y2, ydot = c.forward(list(args), us)
    assert abs(y2 - y) <= 1e-12 * max(1.0, abs(y))
    dot = sum(sum(u * g for u, g in zip(flatten(uk), flatten(gk))) for uk, gk in zip(us, grads) if gk is not None)
    assert abs(ydot - dot) <= 1e-9 * max(1.0, abs(dot)), f"forward {ydot} vs reverse {dot}"
    return grads
