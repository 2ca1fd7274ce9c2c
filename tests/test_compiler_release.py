"""Compiled functions drop dead tensor locals early (`t = None` after a temporary's
last top-level use, so numpy can reuse the memory) and return a local that owns its
value without copying it. Values must be exactly as before; the generated Python is
inspected so neither optimisation can silently disappear."""
import ast

import numpy as np

from dp.dsl.symbols import py_name
from dp.interpreter.session import Session


def session(src):
    s = Session()
    s.run(src, "t.dp")
    return s


def value(s, expr):
    return s.run(expr).value


def python_of(src, name):
    """The generated Python of DP function `name` in src, with DP's names unmangled
    (`t· = None` reads `t = None`)."""
    s = Session()
    prog, _ = s.check_text(src, "t.dp")
    mod = s.compiler.program(prog)
    fn = next(n for n in mod.body if isinstance(n, ast.FunctionDef) and n.name == py_name(name))
    return ast.unparse(fn).replace("·", "")


def lines_of(code):
    return [line.strip() for line in code.splitlines()]


# ---------------------------------------------------------------- generated code
TEMPS = """
fn f(x: tensor) -> float {
    let t = x * 2.0
    let u = t + 1.0
    let v = u * u
    return sum(v)
}
"""


def test_a_dead_temporary_is_released_after_its_last_use():
    lines = lines_of(python_of(TEMPS, "f"))
    assert lines.index("t = None") == lines.index("u = t + 1.0") + 1
    assert lines.index("u = None") == lines.index("v = u * u") + 1
    assert "v = None" not in lines              # its last use is the return
    assert "x = None" not in lines              # parameters belong to the caller
    assert value(session(TEMPS), "f(tensor([1.0, 2.0]))") == 9.0 + 25.0


def test_only_tensor_holding_locals_are_released():
    src = """
    fn f(x: tensor) -> float {
        let n = 3.0
        let xs = [1.0, 2.0]
        let t = x * n
        let z = sum(t) + xs[0]
        return z
    }
    """
    lines = lines_of(python_of(src, "f"))
    assert "t = None" in lines
    assert not any(line.startswith(("n =", "xs =", "z =")) and line.endswith("= None") for line in lines)
    assert value(session(src), "f(tensor([1.0, 2.0]))") == 10.0


def test_derived_gradient_code_releases_its_temporaries():
    s = session("""
    fn loss(w: tensor, x: tensor) -> float {
        let h = tanh(w @ x)
        return sum(h * h)
    }
    """)
    made = []
    program = s.compiler.program
    s.compiler.program = lambda prog: made.append(program(prog)) or made[-1]
    s.run("let g = grad(loss)")
    code = "\n".join(ast.unparse(m) for m in made).replace("·", "")
    assert "t = None" in lines_of(code)


# ---------------------------------------------------------------- values unchanged
def test_a_tensor_bound_in_one_branch_only():
    s = session("""
    fn branch(c: bool) -> float {
        var s = 0.0
        if c {
            let u = ones([3]) * 2.0
            s = sum(u)
        }
        let w = ones([2])
        return s + sum(w)
    }
    """)
    assert value(s, "branch(false)") == 2.0          # `u = None` runs though u was never bound
    assert value(s, "branch(true)") == 8.0


def test_a_variable_read_again_in_a_loop_after_its_textual_last_use():
    src = """
    fn loopy(n: int) -> float {
        let a = ones([2])
        var acc = zeros([2])
        for i in 0..n {
            let b = a * 2.0
            acc = acc + b
        }
        var k = 0
        while k < n {
            acc = acc + a
            k = k + 1
        }
        let c = acc * 0.5
        return sum(c)
    }
    """
    lines = lines_of(python_of(src, "loopy"))
    assert lines.index("a = None") > lines.index("acc = acc + a")        # after the while loop
    s = session(src)
    assert value(s, "loopy(3)") == 0.5 * 2 * (3 * 2.0 + 3 * 1.0)
    assert value(s, "loopy(0)") == 0.0


def test_a_closure_keeps_the_value_of_a_released_local():
    s = session("""
    fn use_closure() -> float {
        let t = ones([3]) * 3.0
        let f = fn(k: float) -> float { return k * sum(t) }
        let z = zeros([1])
        return f(1.0) + f(2.0) + sum(z)
    }
    fn make() -> fn(float) -> float {
        var t = ones([2])
        t[0] = 4.0
        let f = fn(k: float) -> float {
            let s = k * sum(t) + sum(t)
            let z = ones([1])
            return s + sum(z)
        }
        let z = zeros([1])
        return f
    }
    """)
    assert value(s, "use_closure()") == 27.0
    s.run("let g = make()")
    assert value(s, "g(1.0)") == 11.0
    assert value(s, "g(2.0)") == 16.0                # a captured value is never released


def test_a_match_binding_and_a_loop_variable_holding_tensors():
    s = session("""
    enum Box { Full(tensor), Empty }
    fn m(b: Box, rows: list[tensor]) -> float {
        var total = 0.0
        match b {
            Box.Full(t) => { total = sum(t) }
            Box.Empty => { }
        }
        for r in rows {
            total = total + sum(r)
        }
        let z = ones([1])
        return total + sum(z)
    }
    """)
    assert value(s, "m(Box.Full(ones([2])), [ones([3])])") == 6.0
    assert value(s, "m(Box.Empty, [])") == 1.0


def test_a_global_assigned_in_a_function_is_never_released():
    s = session("""
    var G = zeros([2])
    fn setg() -> float {
        G = ones([2]) * 3.0
        let z = zeros([1])
        return sum(z)
    }
    """)
    value(s, "setg()")
    assert value(s, "G").tolist() == [3.0, 3.0]


# ---------------------------------------------------------------- returning without a copy
STRUCT = """
struct P { w: tensor, b: tensor }
var saved: list[tensor] = []
fn build(x: tensor) -> P {
    var p = P { w: x + 0.0, b: zeros([2]) }
    p.w[0] = 7.0
    saved.append(p.w)
    return p
}
fn field(x: tensor) -> tensor {
    var p = P { w: x + 0.0, b: zeros([2]) }
    p.w[0] = 7.0
    saved.append(p.w)
    return p.w
}
fn id(a: tensor) -> tensor { return a }
fn bump(a: tensor) -> tensor {
    var x = a
    x[0] = 2.0
    return x
}
var GL = [1.0, 2.0]
fn getg() -> list[float] { return GL }
fn first(xs: list[list[float]]) -> list[float] {
    for r in xs { return r }
    return []
}
"""


def test_a_returned_owning_local_is_not_copied():
    lines = lines_of(python_of(STRUCT, "build"))
    assert "return p" in lines
    assert "return p.w" in lines_of(python_of(STRUCT, "field"))
    assert "return x" in lines_of(python_of(STRUCT, "bump"))
    returned = [line for line in lines_of(python_of(STRUCT, "id")) if line.startswith("return")]
    assert returned and "copy" in returned[0]         # a parameter is still copied


def test_mutating_a_returned_local_changes_nothing_else():
    s = session(STRUCT)
    s.run("var x = ones([2])\nvar q = build(x)\nq.w[1] = 9.0\nq.b[0] = 5.0")
    assert value(s, "q.w").tolist() == [7.0, 9.0]
    assert value(s, "saved[0]").tolist() == [7.0, 1.0]
    assert value(s, "x").tolist() == [1.0, 1.0]
    s.run("var r = field(x)\nr[1] = 8.0")
    assert value(s, "r").tolist() == [7.0, 8.0]
    assert value(s, "saved[1]").tolist() == [7.0, 1.0]
    s.run("var r2 = build(x)\nr2.w[0] = 0.0")
    assert value(s, "q.w").tolist() == [7.0, 9.0]     # each call a fresh value


def test_a_returned_parameter_global_or_borrowed_loop_variable_is_still_copied():
    s = session(STRUCT)
    s.run("var a = ones([2])\nvar b = id(a)\nb[0] = 5.0")
    assert value(s, "a[0]") == 1.0
    s.run("var c = bump(a)\nc[1] = 6.0")
    assert value(s, "a").tolist() == [1.0, 1.0]
    assert value(s, "c").tolist() == [2.0, 6.0]
    s.run("var d = getg()\nd[0] = 9.0")
    assert value(s, "GL") == [1.0, 2.0]
    s.run("var m = [[1.0, 2.0]]\nvar e = first(m)\ne[0] = 5.0")
    assert value(s, "m") == [[1.0, 2.0]]


# ---------------------------------------------------------------- gradients still right
MLP = """
struct MLP { w1: tensor, b1: tensor, w2: tensor, b2: tensor }
fn loss(p: MLP, x: tensor, y: tensor) -> float {
    let h = tanh(x @ p.w1 + p.b1)
    let d = h @ p.w2 + p.b2 - y
    return mean(d * d)
}
"""


def test_mlp_gradient_matches_the_closed_form():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
    w1, b1, w2, b2 = rng.standard_normal((4, 6)), rng.standard_normal(6), rng.standard_normal((6, 3)), rng.standard_normal(3)
    s = session(MLP)
    params = s.runtime.struct_class(s.env.structs["MLP"])(w1, b1, w2, b2)
    g = value(s, "grad(loss)")(params, x, y)
    h = np.tanh(x @ w1 + b1)
    d = h @ w2 + b2 - y
    do = 2.0 * d / d.size
    dh = (do @ w2.T) * (1.0 - h * h)
    for got, want in zip((g.w1, g.b1, g.w2, g.b2), (x.T @ dh, dh.sum(0), h.T @ do, do.sum(0))):
        assert np.allclose(got, want)
    again = value(s, "grad(loss)")(params, x, y)          # the caller's parameters are untouched
    assert np.array_equal(again.w1, g.w1) and np.array_equal(params.w1, w1)


def test_gradient_of_a_tensor_function_with_a_loop_and_a_closure():
    s = session("""
    fn f(x: tensor) -> float {
        let a = x * x
        var acc = zeros([3])
        for i in 0..3 {
            acc = acc + sin(a)
        }
        let k = fn(v: tensor) -> float { return sum(v * a) }
        return k(acc)
    }
    """)
    x = np.array([0.3, -0.7, 1.1])
    g = value(s, "grad(f)")(x)
    # f = 3 Σ sin(x²)·x²  →  f' = 3 (cos(x²)·2x·x² + sin(x²)·2x)
    a = x * x
    assert np.allclose(g, 3 * (np.cos(a) * 2 * x * a + np.sin(a) * 2 * x))


# ---------------------------------------------------------------- views and in-place adds
def test_a_view_of_a_variable_does_not_see_later_writes():
    s = session("""
fn f() -> tensor {
    var t = ones([2, 2])
    let v = reshape(t, [4])
    let w = transpose(t)
    t[0, 0] = 9.0
    return v + reshape(w, [4])
}""")
    assert value(s, "f()").tolist() == [2.0, 2.0, 2.0, 2.0]


def test_adding_into_a_slice_is_in_place_and_keeps_value_semantics():
    src = """
fn f(a: tensor, b: tensor) -> tensor {
    var c = a
    c[1:3] = c[1:3] + b
    c[0:2] = c[0:2] + -b
    return c
}"""
    code = python_of(src, "f")
    assert "+= b" in code and "-= b" in code
    s = session(src)
    a = np.arange(4.0)
    got = s.run("f").value(a, np.array([10.0, 20.0]))
    assert got.tolist() == [-10.0, -9.0, 22.0, 3.0]
    assert a.tolist() == [0.0, 1.0, 2.0, 3.0]          # the argument is untouched
