"""Every differentiable primitive and 30+ programs over every construct, checked
against central finite differences, and forward mode against reverse mode."""
import pytest

from gradcheck import check

PRIMITIVES = [
    ("sin(x)", 0.7), ("cos(x)", 0.7), ("tan(x)", 0.4), ("exp(x)", 0.3), ("log(x)", 1.7),
    ("sqrt(x)", 2.3), ("tanh(x)", -0.6), ("sigmoid(x)", 0.9), ("sigmoid(x)", -3.0), ("abs(x)", -1.3),
    ("abs(x)", 2.0), ("max(x, 0.5)", 0.9), ("min(x, 0.5)", 0.9), ("max(x, 0.5)", 0.1), ("pow(x, 2.5)", 1.3),
    ("pow(2.0, x)", 0.6), ("x ** 3", 1.1), ("x ** 2.5", 1.3), ("x % 0.3", 1.0), ("-x", 0.4),
    ("x + 2.0", 1.0), ("x - 2.0", 1.0), ("3.0 * x", 1.0), ("x / 3.0", 1.0), ("3.0 / x", 1.5),
    ("log1p(x)", 0.3), ("expm1(x)", -0.4), ("sinh(x)", 0.8), ("cosh(x)", -0.8), ("asin(x)", 0.6),
    ("acos(x)", -0.3), ("atan(x)", 2.0), ("clip(x, -1.0, 1.0)", 0.4), ("clip(x, -1.0, 1.0)", 1.5),
    ("clip(0.5, x, 1.0)", 0.7), ("clip(2.0, -1.0, x)", 0.9),
]


@pytest.mark.parametrize("expr,x", PRIMITIVES)
def test_primitive(expr, x):
    check(f"fn f(x: float) -> float {{ return {expr} }}", x)


@pytest.mark.parametrize("expr", ["x * y", "x / y", "pow(x, y)", "x ** y", "max(x, y)", "min(x, y)", "x % y", "atan_like(x, y)",
                                  "atan2(x, y)", "atan2(-y, x)"])
def test_binary_primitives(expr):
    helper = "fn atan_like(a: float, b: float) -> float { return a / sqrt(a * a + b * b) }\n"
    check(helper + f"fn f(x: float, y: float) -> float {{ return {expr} }}", 1.3, 0.7)


PROGRAMS = {
    "lecture": ("fn f(x1: float, x2: float) -> float { return log(x1) + x1 * x2 - sin(x2) }", (2.0, 5.0)),
    "if_else": ("""fn f(x: float) -> float {
        if x > 1.0 { return x * x } else if x > 0.0 { return 3.0 * x } else { return -x }
    }""", (1.5,)),
    "if_else_mid": ("""fn f(x: float) -> float {
        var y = x
        if x > 1.0 { y = y * y } else { y = 3.0 * y }
        return y * x
    }""", (0.5,)),
    "while_data_dependent": ("""fn f(x: float) -> float {
        var v = x
        while v < 50.0 { v = v * 1.3 + sin(v) }
        return v
    }""", (1.2,)),
    "for_loop": ("""fn f(x: float) -> float {
        var v = x
        for i in 0..5 { v = v * cos(v) + float(i) }
        return v
    }""", (0.3,)),
    "for_dynamic_bounds": ("""fn f(x: float, n: int) -> float {
        var s = 0.0
        for i in 1..n { s = s + x / float(i) }
        return s * x
    }""", (0.8, 6)),
    "break": ("""fn f(x: float) -> float {
        var s = 0.0
        for i in 0..100 {
            s = s + x * float(i)
            if s > 10.0 { break }
        }
        return s
    }""", (0.9,)),
    "continue": ("""fn f(x: float) -> float {
        var s = 0.0
        for i in 0..10 {
            if i % 3 == 0 { continue }
            s = s + sin(x * float(i))
        }
        return s
    }""", (0.4,)),
    "early_return_in_loop": ("""fn f(x: float) -> float {
        var v = x
        for i in 0..20 {
            v = v * 1.5
            if v > 4.0 { return v * x }
        }
        return v
    }""", (0.7,)),
    "nested_loops": ("""fn f(x: float) -> float {
        var s = 0.0
        for i in 0..4 {
            var t = x
            for j in 0..i { t = t * x + 1.0 }
            s = s + t
        }
        return s
    }""", (0.9,)),
    "while_in_for": ("""fn f(x: float) -> float {
        var s = 0.0
        for i in 0..3 {
            var v = x + float(i)
            while v < 10.0 { v = v * 2.0 }
            s = s + v
        }
        return s
    }""", (1.3,)),
    "recursion": ("""fn p(x: float, n: int) -> float {
        if n == 0 { return 1.0 }
        return x * p(x, n - 1)
    }
    fn f(x: float) -> float { return p(x, 5) + p(sin(x), 2) }""", (1.1,)),
    "calls": ("""fn sq(a: float) -> float { return a * a }
    fn h(a: float, b: float) -> float { return sq(a) * b + exp(b) }
    fn f(x: float, y: float) -> float { return h(sq(x), y) + h(y, x) }""", (0.6, 0.4)),
    "higher_order": ("""fn apply_twice(g: fn(float) -> float, x: float) -> float { return g(g(x)) }
    fn sq(a: float) -> float { return a * a + 1.0 }
    fn f(x: float) -> float { return apply_twice(sq, x) }""", (0.5,)),
    "nested_branches_in_loop": ("""fn f(x: float) -> float {
        var s = x
        var i = 0
        while true {
            i += 1
            if s > 5.0 { if i > 2 { break } }
            s = s * 1.7 + 0.1
            if i > 50 { break }
        }
        return s
    }""", (0.9,)),
    "dict_loop_mutation": ("""fn f(d: dict[string, float]) -> float {
        var e = d
        for k in d { e[k] = e[k] * e[k] + d["a"] }
        var s = 0.0
        for k in e { s += e[k] }
        return s
    }""", '{"a": 0.3, "b": 1.2}'),
    "list_of_lists": ("""fn f(m: list[list[float]]) -> float {
        var s = 0.0
        for row in m { for v in row { s += v * v * float(len(row)) } }
        return s
    }""", "[[0.5, 1.0], [2.0, -1.0, 0.3]]"),
    "early_return_nested_loops": ("""fn f(x: float) -> float {
        for i in 0..10 {
            for j in 0..10 {
                if x * float(i + j) > 4.0 { return x * float(i) - float(j) * x * x }
            }
        }
        return 0.0
    }""", (0.45,)),
    "while_list_growth": ("""fn f(x: float) -> float {
        var xs = [x]
        while len(xs) < 6 { xs.append(xs[len(xs) - 1] * 1.1 + sin(x)) }
        var s = 0.0
        for v in xs { s += v }
        return s
    }""", (0.3,)),
    "tuple_returning_call": ("""fn pair(x: float) -> (float, float) { return (x * x, sin(x)) }
    fn f(x: float) -> float { let p = pair(x); return p.0 * p.1 }""", (0.9,)),
    "list_concatenation": ("""fn f(xs: list[float], x: float) -> float {
        let ys = xs + [x * x, sin(x)] + xs
        var s = 0.0
        for i in 0..len(ys) { s = s + ys[i] * float(i + 1) }
        return s * ys[2]
    }""", ("[0.5, -1.5, 0.7]", 0.9)),
    "closure_to_higher_order": ("""fn apply_n(g: fn(float) -> float, v: float, n: int) -> float {
        var s = v
        for i in 0..n { s = g(s) }
        return s
    }
    fn f(x: float) -> float {
        let shrink = fn(y: float) -> float { return sin(x * y) + x }
        return apply_n(shrink, 0.5, 3) + apply_n(fn(y: float) -> float { return y * x * x }, x, 2)
    }""", (0.8,)),
    "closure_to_recursive": ("""fn fold(g: fn(float) -> float, v: float, n: int) -> float {
        if n == 0 { return v }
        return fold(g, g(v), n - 1)
    }
    fn f(x: float) -> float { return fold(fn(y: float) -> float { return y * x + 1.0 }, x, 3) }""", (0.6,)),
    "closure_capture": ("""fn f(x: float) -> float {
        let g = fn(y: float) -> float { return x * y + sin(x) }
        return g(x) + g(2.0)
    }""", (0.8,)),
    "struct_param": ("""struct P { x: float, v: float, m: float }
    fn step(p: P, dt: float) -> P {
        let a = -p.x / p.m
        return P { x: p.x + dt * p.v, v: p.v + dt * a, m: p.m }
    }
    fn f(p0: P) -> float {
        var p = p0
        for i in 0..10 { p = step(p, 0.1) }
        return p.x * p.x + p.v
    }""", "P { x: 1.0, v: 0.5, m: 2.0 }"),
    "struct_field_update": ("""struct P { x: float, v: float }
    fn f(p0: P) -> float {
        var p = p0
        for i in 0..4 { p.x = p.x + 0.5 * p.v; p.v = p.v - 0.5 * p.x }
        return p.x * p.v
    }""", "P { x: 0.3, v: 1.2 }"),
    "list_in_place": ("""fn f(xs: list[float]) -> float {
        var ys = xs
        for i in 0..len(ys) { ys[i] = ys[i] * ys[i] + xs[0] }
        ys[1] = ys[0] * ys[2]
        return ys[0] + ys[1] * ys[2]
    }""", "[0.5, 1.5, -0.7]"),
    "list_append_build": ("""fn f(x: float) -> float {
        var xs: list[float] = []
        for i in 0..5 { xs.append(x * float(i) + sin(x)) }
        var s = 0.0
        for v in xs { s += v * v }
        return s
    }""", (0.4,)),
    "list_pop": ("""fn f(xs: list[float]) -> float {
        var ys = xs
        let a = ys.pop()
        ys.append(a * 3.0)
        ys.append(a)
        let b = ys.pop()
        return ys[2] * b + ys[0]
    }""", "[0.5, 1.5, -0.7]"),
    "augassign": ("""fn f(x: float) -> float {
        var s = x
        s += x * x
        s -= 0.5
        s *= x
        s /= 1.5 + x
        return s
    }""", (0.9,)),
    "dict_update": ("""fn f(d: dict[string, float]) -> float {
        var e = d
        e["c"] = e["a"] * e["b"]
        e["a"] += e["c"]
        var s = 0.0
        for k in e { s = s + e[k] * e[k] }
        return s
    }""", '{"a": 0.5, "b": 1.5}'),
    "tuples": ("""fn f(t: (float, float), x: float) -> float {
        let (a, b) = t
        let u = (a * x, b + x)
        return u.0 * u.1 + t.1
    }""", ("(0.4, 1.3)", 0.7)),
    "list_of_structs": ("""struct Q { w: float, b: float }
    fn f(qs: list[Q], x: float) -> float {
        var s = 0.0
        for q in qs { s = s + tanh(q.w * x + q.b) }
        return s
    }""", ("[Q { w: 0.5, b: 0.1 }, Q { w: -1.5, b: 0.3 }]", 0.8)),
    "struct_of_lists": ("""struct Model { ws: list[float], b: float }
    fn f(m: Model) -> float {
        var s = m.b
        for i in 0..len(m.ws) { s = s + m.ws[i] * float(i + 1) * m.ws[i] }
        return s
    }""", "Model { ws: [0.3, -0.2, 0.9], b: 0.5 }"),
    "match_enum": ("""enum Op { Double, Square, Shift(float) }
    fn apply(op: Op, x: float) -> float {
        var y = 0.0
        match op {
            Double => { y = 2.0 * x }
            Square => { y = x * x }
            Shift(d) => { y = x + d }
        }
        return y
    }
    fn f(x: float) -> float {
        var v = x
        let ops = [Op.Double, Op.Square, Op.Shift(0.5), Op.Square]
        for op in ops { v = apply(op, v) }
        return v
    }""", (0.3,)),
    "int_state_index": ("""fn f(xs: list[float]) -> float {
        var j = 0
        var s = 0.0
        while j < len(xs) {
            s = s * xs[j] + 1.0
            j = j + 2
        }
        return s
    }""", "[0.5, 1.5, -0.7, 2.0, 0.3]"),
    "reassign_in_branch_in_loop": ("""fn f(x: float) -> float {
        var a = x
        var b = 1.0
        for i in 0..6 {
            if a > b { a = a - b * 0.5 } else { b = b * a + 0.1 }
        }
        return a * b
    }""", (1.7,)),
    "grad_inside": ("""fn g(y: float) -> float { return y * y * y }
    fn f(x: float) -> float { return x * grad(g)(x) }""", (0.7,)),
    "nested_closure_perturbation": ("""fn f(x: float) -> float {
        return grad(fn(y: float) -> float { return x * y * y })(x)
    }""", (1.3,)),
    "value_and_grad_inside": ("""fn g(y: float, z: float) -> float { return sin(y) * z }
    fn f(x: float) -> float {
        let vg = value_and_grad(g, (0, 1))(x, 2.0 * x)
        return vg.0 + vg.1.0 * vg.1.1
    }""", (0.6,)),
    "custom_rule": ("""fn softplus(x: float) -> float {
        if x > 0.0 { return x + log(1.0 + exp(-x)) }
        return log(1.0 + exp(x))
    }
    derivative softplus(x) -> y {
        x_bar = y_bar * sigmoid(x)
    }
    fn f(x: float) -> float { return softplus(3.0 * x) * x }""", (0.4,)),
}


def _args(session_src, raw):
    """Turn DP-literal strings into values by evaluating them in a session."""
    from helpers import session
    s, _ = session()
    s.run(session_src, "gradcheck.dp")
    out = []
    for a in (raw if isinstance(raw, tuple) else (raw,)):
        out.append(s.run(a).value if isinstance(a, str) else a)
    return out, s


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program(name):
    src, raw = PROGRAMS[name]
    args, _ = _args(src, raw)
    # struct values must come from the session that checks them
    check_src = src
    if any(isinstance(a, str) for a in (raw if isinstance(raw, tuple) else (raw,))):
        from gradcheck import Checked
        c = Checked(src)
        vals = [c.session.run(a).value if isinstance(a, str) else a for a in (raw if isinstance(raw, tuple) else (raw,))]
        _check_with(c, vals)
    else:
        check(check_src, *args)


def _check_with(c, args):
    import random
    from gradcheck import flatten, unflatten
    y, grads = c.reverse(*args)
    fd = c.finite_difference(list(args))
    for k, a in enumerate(args):
        got = flatten(grads[k]) if grads[k] is not None else [0.0] * len(fd[k])
        assert len(got) == len(fd[k])
        for g, f in zip(got, fd[k]):
            assert abs(g - f) <= 1e-5 * max(1.0, abs(f)), f"parameter {k}: reverse {got} vs fd {fd[k]}"
    rng = random.Random(3)
    us = [unflatten(a, [rng.uniform(-1, 1) for _ in flatten(a)]) for a in args]
    y2, ydot = c.forward(list(args), us)
    dot = sum(sum(u * g for u, g in zip(flatten(uk), flatten(gk))) for uk, gk in zip(us, grads) if gk is not None)
    assert abs(ydot - dot) <= 1e-9 * max(1.0, abs(dot))
