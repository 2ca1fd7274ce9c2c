"""The Python embedding API (interpreter/embed.py) with real values."""
import math
import os
import sys
import threading
import time

import numpy as np
import pytest

from dp.interpreter.embed import DPError, DPStruct, Interpreter

SRC = """
struct Particle {
    x: float
    v: float
    m: float
}

fn step(p: Particle, dt: float) -> Particle {
    let a = -p.x / p.m
    return Particle { x: p.x + dt * p.v, v: p.v + dt * a, m: p.m }
}

fn energy(p: Particle) -> float {
    return 0.5 * p.m * p.v * p.v + 0.5 * p.x * p.x
}

fn f(x1: float, x2: float) -> float {
    return log(x1) + x1 * x2 - sin(x2)
}

fn summary(xs: list[float], counts: dict[string, int], flag: bool, label: string) -> (float, int, string) {
    var total = 0.0
    for x in xs {
        total += x
    }
    var n = 0
    for k in counts {
        n += counts[k]
    }
    if flag {
        return (total, n, label + "!")
    }
    return (total, n, label)
}

fn scale_all(xs: list[float], k: float) -> list[float] {
    var out: list[float] = []
    for x in xs {
        out.append(k * x)
    }
    return out
}

fn apply(g: fn(float) -> float, x: float) -> float {
    return g(x)
}

fn adder(k: float) -> fn(float) -> float {
    return fn(x: float) -> float { return x + k }
}
"""


@pytest.fixture
def dp():
    interp = Interpreter()
    interp.load(SRC)
    return interp


# ---------------------------------------------------------------------- values in and out


def test_functions_take_and_return_python_values(dp):
    f = dp.function("f")
    assert f(2.0, 5.0) == pytest.approx(11.652071455223084, abs=1e-12)
    assert f(2, 5) == f(2.0, 5.0)                           # ints stand for floats
    assert f(np.float64(2.0), np.int64(5)) == f(2.0, 5.0)
    total, n, label = dp.function("summary")(np.array([1.0, 2.0, 3.5]), {"a": 2, "b": 3}, True, "sum")
    assert (total, n, label) == (6.5, 5, "sum!")
    assert dp.function("summary")((0.5,), {}, False, "s") == (0.5, 0, "s")
    assert dp.function("scale_all")([1.0, -2.0], 3.0) == [3.0, -6.0]


def test_structs_go_in_as_dicts_or_objects_and_come_out_with_attributes(dp):
    step = dp.function("step")
    p = step({"x": 1.0, "v": 0.0, "m": 2.0}, 0.1)
    assert isinstance(p, DPStruct)
    assert (p.x, p.v, p.m) == (1.0, -0.05, 2.0)
    assert p.to_dict() == {"x": 1.0, "v": -0.05, "m": 2.0}
    assert repr(p) == "Particle { x: 1.0, v: -0.05, m: 2.0 }"

    class Body:                       # any object with the fields as attributes
        x, v, m = 1.0, 0.0, 2.0
    assert step(Body(), 0.1) == p
    assert step(p, 0.1).x == pytest.approx(0.995)            # what came out goes back in
    q = dp.struct("Particle", x=1.0, v=0.0, m=2.0)
    assert step(q, 0.1) == p and q.x == 1.0                   # value semantics: q is untouched
    assert dp.struct("Particle", {"x": 1.0, "v": 0.0}, m=2.0) == q


def test_results_are_copies(dp):
    dp.load("let origin = Particle { x: 1.0, v: 2.0, m: 3.0 }\nfn get() -> Particle { return origin }")
    got = dp.function("get")()
    got.x = 100.0
    assert dp.eval("origin.x") == 1.0
    xs = dp.eval("[[1.0], [2.0]]")
    assert xs == [[1.0], [2.0]]


def test_function_values_cross_both_ways(dp):
    assert dp.function("apply")(lambda x: x * 10.0, 4.0) == 40.0
    add3 = dp.function("adder")(3.0)
    assert add3(1.5) == 4.5
    assert "fn(float) -> float" in repr(add3)
    assert dp.function("apply")(add3, 1.0) == 4.0           # a DP function passed back to DP
    assert dp.function("apply")(math.sin, 0.5) == math.sin(0.5)


def test_numpy_arrays_and_tensors(dp):
    dp.load("fn double(t: tensor) -> tensor { return t + t }")
    arr = np.array([1.0, 2.0])
    double = dp.function("double")
    out = double(arr)
    assert isinstance(out, np.ndarray) and out.tolist() == [2.0, 4.0]
    assert arr.tolist() == [1.0, 2.0]
    assert double(np.array([1, 2], dtype=np.int32)).tolist() == [2.0, 4.0]     # ints and bools convert
    assert double([[1.0], [2.0]]).shape == (2, 1)
    for bad in (None, "3", b"3", np.array([1 + 2j]), np.array([None, 1.0], dtype=object)):
        with pytest.raises(DPError, match="expected `tensor`"):
            double(bad)


def test_eval_returns_python_values(dp):
    assert dp.eval("f(2.0, 5.0)") == dp.function("f")(2.0, 5.0)
    assert dp.eval("(1, true, \"s\", [1.5], {\"k\": 2})") == (1, True, "s", [1.5], {"k": 2})
    assert dp.eval("let unused = 1") is None
    assert dp.type_of("step") == "fn(Particle, float) -> Particle"


def test_wrong_arguments_are_dp_errors(dp):
    f = dp.function("f")
    with pytest.raises(DPError, match=r"argument 1 of `f`: expected `float`, got str \"a\""):
        f("a", 1.0)
    with pytest.raises(DPError, match=r"`f` takes 2 arguments, 1 given"):
        f(1.0)
    with pytest.raises(DPError, match=r"expected `float`, got bool"):
        f(True, 1.0)
    with pytest.raises(DPError, match=r"missing field `m` of `Particle`"):
        dp.function("step")({"x": 1.0, "v": 0.0}, 0.1)
    with pytest.raises(DPError, match=r"`Particle` has no field `w`"):
        dp.function("step")({"x": 1.0, "v": 0.0, "m": 1.0, "w": 0.0}, 0.1)
    with pytest.raises(DPError, match=r"expected `int`, got float"):
        dp.function("summary")([1.0], {"a": 1.5}, True, "s")
    with pytest.raises(DPError, match=r"no function named `ff`"):
        dp.function("ff")


# ---------------------------------------------------------------------- errors


def test_errors_carry_message_file_line_and_column(dp, tmp_path):
    with pytest.raises(DPError) as info:
        dp.load("let a = 1.0\nlet b: int = a\n", "mine.dp")
    e = info.value
    assert (e.file, e.line, e.column) == ("mine.dp", 2, 14)
    assert e.message == "expected `int`, found `float`"
    assert "   2 | let b: int = a" in str(e)
    path = tmp_path / "crash.dp"
    path.write_text("fn g(x: float) -> float {\n    return x / 0.0\n}\nlet y = g(1.0)\n")
    with pytest.raises(DPError) as info:
        dp.load_file(str(path))
    assert (info.value.file, info.value.line, info.value.message) == (str(path), 2, "division by zero")
    assert dp.function("f")(2.0, 5.0) > 0                       # the interpreter goes on


def test_python_exceptions_in_registered_functions_become_dp_errors():
    dp = Interpreter()
    dp.register("fail", lambda x: 1.0 / 0.0, "fn(float) -> float")
    dp.register("wrong", lambda x: "not a float", "fn(float) -> float")
    with pytest.raises(DPError, match="the Python function `fail` raised ZeroDivisionError"):
        dp.eval("fail(1.0)")
    with pytest.raises(DPError, match="the result of `wrong`: expected `float`, got str"):
        dp.eval("wrong(1.0)")


# ---------------------------------------------------------------------- derivatives


def test_grad_and_value_and_grad_of_the_lecture_function(dp):
    g = dp.grad("f", argnums=(0, 1))(2.0, 5.0)
    assert g[0] == pytest.approx(5.5) and g[1] == pytest.approx(2.0 - math.cos(5.0))
    assert dp.grad("f")(2.0, 5.0) == pytest.approx(5.5)
    assert dp.grad("f", 1)(2.0, 5.0) == pytest.approx(1.7163378145367738)
    v, d = dp.value_and_grad("f", 1)(2.0, 5.0)
    assert v == pytest.approx(11.652071455223084) and d == pytest.approx(1.7163378145367738)


def test_grad_of_a_struct_function_is_a_struct(dp):
    g = dp.grad("energy")({"x": 3.0, "v": 2.0, "m": 4.0})
    assert isinstance(g, DPStruct)
    assert g.to_dict() == pytest.approx({"x": 3.0, "v": 8.0, "m": 2.0})


def test_jvp_and_vjp(dp):
    value, tangent = dp.jvp("f")((2.0, 5.0), (1.0, 0.0))
    assert value == pytest.approx(11.652071455223084) and tangent == pytest.approx(5.5)
    value, pullback = dp.vjp("f")(2.0, 5.0)
    assert value == pytest.approx(11.652071455223084)
    assert pullback(2.0) == pytest.approx((11.0, 2 * 1.7163378145367738))
    dp.load("fn cube(x: float) -> float { return x * x * x }")
    assert dp.jvp("cube")(2.0, 1.0) == pytest.approx((8.0, 12.0))
    assert dp.vjp("cube")(2.0)[1](1.0) == pytest.approx(12.0)


def test_registered_function_is_a_typed_builtin():
    dp = Interpreter()
    dp.register("hypot", math.hypot, "fn(float, float) -> float")
    dp.register("shout", lambda s, n: s.upper() * n, "fn(string, int) -> string")
    dp.register("norms", lambda xs: [abs(x) for x in xs], "fn(list[float]) -> list[float]")
    assert dp.eval("hypot(3.0, 4.0)") == 5.0
    assert dp.eval('shout("ab", 2)') == "ABAB"
    assert dp.eval("norms([-1.0, 2.0])") == [1.0, 2.0]
    notes = []
    dp.register("note", notes.append, "fn(string) -> ()")           # no result
    dp.load('for i in 0..2 { note("n" + str(i)) }')
    assert notes == ["n0", "n1"]
    with pytest.raises(DPError, match=r"expected `float`, found `string`"):
        dp.load('let bad = hypot("3", 4.0)')                  # checked like any DP function
    with pytest.raises(DPError, match="not a DP type"):
        dp.register("h", abs, "fn(float -> float")


def test_registered_function_with_a_derivative_can_be_differentiated():
    dp = Interpreter()
    dp.register("cube", lambda x: x ** 3, "fn(float) -> float", derivative=lambda x: 3 * x * x)
    dp.register("hyp", math.hypot, "fn(float, float) -> float",
                derivative=lambda x, y: (x / math.hypot(x, y), y / math.hypot(x, y)))
    dp.load("fn both(x: float) -> float { return cube(x) + hyp(x, 4.0) }")
    assert dp.eval("grad(cube)(2.0)") == pytest.approx(12.0)
    assert dp.eval("grad(hyp, (0, 1))(3.0, 4.0)") == pytest.approx((0.6, 0.8))
    assert dp.grad("both")(3.0) == pytest.approx(27.0 + 0.6)
    assert dp.jvp("both")(3.0, 1.0)[1] == pytest.approx(27.6)


def test_derivative_requires_a_function_of_floats():
    with pytest.raises(DPError, match="functions of floats that return a float"):
        Interpreter().register("n", len, "fn(list[float]) -> int", derivative=lambda xs: 0.0)


# ---------------------------------------------------------------------- safety


@pytest.mark.parametrize("attempt", [
    'import os',
    'open("/etc/passwd")',
    '__import__("os")',
    '__builtins__',
    'eval("1")',
    'exec("x = 1")',
    'getattr(1, "x")',
    'globals()',
    'let f = fn(x: float) -> float { return x }\nf.__globals__',
    '"".__class__',
    'print.__self__',
    'breakpoint()',
    'let p = Particle { x: 1.0, v: 0.0, m: 1.0 }\np.__class__',
    'step.__code__',
    'input()',
])
def test_dp_code_cannot_reach_the_host(dp, attempt, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DPError):
        dp.load(attempt)
    assert os.listdir(tmp_path) == []


def test_the_runtime_namespace_has_no_python_builtins(dp):
    ns = dp.session.runtime.ns
    assert ns["__builtins__"] == {}
    code = compile("open('x')", "<probe>", "eval")
    with pytest.raises(NameError):
        eval(code, ns)
    leaked = [k for k, v in ns.items() if getattr(v, "__name__", "") in ("os", "sys", "subprocess", "socket")]
    assert leaked == []


def test_no_limits_means_no_tracing_and_no_extra_threads():
    dp = Interpreter()
    seen = []
    dp.register("probe", lambda: seen.append((sys.gettrace(), threading.active_count())) or 0.0, "fn() -> float")
    base = threading.active_count()
    dp.eval("probe()")
    assert seen == [(sys.gettrace(), base)]


def test_step_limit_stops_an_endless_loop():
    dp = Interpreter(max_steps=10_000)
    with pytest.raises(DPError) as info:
        dp.load("var i = 0\nwhile true {\n    i += 1\n}\n")
    # a step is taken at each trip of a loop, at its head
    assert "step limit exceeded" in info.value.message and (info.value.line, info.value.column) == (2, 1)
    with pytest.raises(DPError, match="step limit"):
        dp.load("fn spin() { while true {} }\nspin()")
    assert dp.eval("1 + 1") == 2                                 # short programs still run
    dp.max_steps = None
    dp.load("var k = 0\nwhile k < 100000 { k += 1 }")
    assert dp.eval("k") == 100000


def test_timeout_stops_an_endless_loop():
    dp = Interpreter()
    dp.load("fn spin() -> int {\n    var i = 0\n    while true {\n        i += 1\n    }\n    return i\n}")
    dp.timeout = 0.3
    start = time.monotonic()
    with pytest.raises(DPError) as info:
        dp.function("spin")()
    elapsed = time.monotonic() - start
    assert "time limit exceeded" in info.value.message and 0.25 < elapsed < 5
    assert info.value.line in (3, 4)
    assert dp.eval("40 + 2") == 42                               # and it goes on


def test_many_short_calls_under_a_timeout_never_leak_a_stop():
    """Calls about as long as the timeout: some finish, some are stopped, and a stop
    never escapes as anything but a DPError nor reaches a later call."""
    dp = Interpreter()
    dp.load("fn g(n: int) -> int { var s = 0\n for i in 0..n { s += i }\n return s }")
    dp.timeout = 0.0005
    g = dp.function("g")
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)                  # let the watchdog thread run on time
    try:
        for k in range(1500):
            n = (k % 40) * 250
            try:
                assert g(n) == sum(range(n))
            except DPError as e:
                assert "time limit exceeded" in e.message
    finally:
        sys.setswitchinterval(interval)
    assert dp._guard._thread is None
    dp.timeout = None
    assert g(10) == 45


def test_tracing_works_after_a_stopped_program():
    """A stop that arrived must leave nothing behind (a stuck 'pending' flag in the
    eval loop once made the next traced run hang)."""
    dp = Interpreter(timeout=0.2)
    dp.load("fn spin() { while true {} }")
    with pytest.raises(DPError, match="time limit"):
        dp.function("spin")()
    traced = Interpreter(max_steps=1_000_000)
    traced.load("var k = 0\nwhile k < 1000 { k += 1 }")
    assert traced.eval("k") == 1000


def test_recursion_limit():
    dp = Interpreter(max_depth=100)
    dp.load("fn depth(n: int) -> int {\n    if n == 0 {\n        return 0\n    }\n    return 1 + depth(n - 1)\n}")
    assert dp.eval("depth(90)") == 90
    with pytest.raises(DPError, match="recursion too deep"):
        dp.eval("depth(200)")
    dp.max_depth = None
    assert dp.eval("depth(2000)") == 2000


def test_cancel_from_another_thread():
    dp = Interpreter()
    dp.load("fn spin() -> int {\n    var i = 0\n    while true {\n        i += 1\n    }\n    return i\n}")
    assert dp.cancel() is False                                  # nothing running
    timer = threading.Timer(0.3, dp.cancel)
    timer.start()
    with pytest.raises(DPError, match="cancelled"):
        dp.function("spin")()
    timer.join()
    assert dp.eval("2 * 21") == 42


def test_limits_are_validated():
    with pytest.raises(ValueError):
        Interpreter(timeout=0)
    with pytest.raises(ValueError):
        Interpreter(max_steps=-5)


def test_print_goes_to_the_given_sink():
    lines = []
    dp = Interpreter(stdout=lines.append)
    dp.load('print("hello", 1.5)')
    assert lines == ["hello 1.5\n"]


def test_readme_embedding_example_runs():
    readme = open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")).read()
    section = readme.split("## Embedding", 1)[1]
    code = section.split("```python", 1)[1].split("```", 1)[0]
    exec(compile(code, "README.md", "exec"), {})


def test_misuse_from_python_is_a_dp_error():
    """Found by the sandbox review: each of these raised TypeError, OverflowError,
    ValueError, AttributeError or FileNotFoundError, or let a plain dict in as a
    defaultdict (an internal error later)."""
    import collections
    dp = Interpreter()
    dp.load("fn f(x: float) -> float { return x * 2.0 }\nfn t(a: tensor) -> float { return sum(a) }\n"
            "fn dd(d: defaultdict[string, float]) -> float { return d[\"missing\"] + d[\"a\"] }")
    f, t, dd = dp.function("f"), dp.function("t"), dp.function("dd")
    cases = [(lambda: f(x=1.0), "`f` takes its arguments by position, not by name (x)"),
             (lambda: f(10 ** 400), "argument 1 of `f`: 1000000000000000000000000000000000000... is too large for a float"),
             (lambda: t([[1.0], [1.0, 2.0]]), "argument 1 of `t`: expected `tensor`, got list [[1.0], [1.0, 2.0]]"),
             (lambda: dd({"a": 1.0}), "argument 1 of `dd`: expected `defaultdict[string, float]`, got dict {\"a\": 1.0}"),
             (lambda: dp.load(None), "`load` takes DP source as a str, not NoneType"),
             (lambda: dp.eval(b"1"), "`eval` takes DP source as a str, not bytes"),
             (lambda: dp.load_file("/nonexistent/x.dp"), "cannot read /nonexistent/x.dp: No such file or directory")]
    for call, message in cases:
        with pytest.raises(DPError) as e:
            call()
        assert e.value.message == message
    # a Python defaultdict brings its default with it; a DP one comes back as one
    assert dd(collections.defaultdict(lambda: 5.0, {"a": 1.0})) == 6.0
    with pytest.raises(ValueError, match="at most 2"):
        Interpreter(max_steps=2 ** 70)


def test_literals_past_what_python_converts_are_dp_errors():
    dp = Interpreter()
    with pytest.raises(DPError) as e:
        dp.load("print(" + "1" * 4301 + ")")
    assert (e.value.line, e.value.message) == (1, "this integer literal has 4301 digits, more than the 4300 an "
                                                  "integer literal may have")
    for src in ["print(1.0 + 1" + "0" * 309 + ")", "let x: float = 1" + "0" * 309]:
        with pytest.raises(DPError) as e:
            dp.load(src)
        assert e.value.message == "this integer is too large for a float"
    assert dp.eval("1" + "0" * 308 + ".0 > 1.0") is True      # below the largest float: fine
