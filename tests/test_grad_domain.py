"""A derivative fails where its function does: the parts of a primal step it does
not need that may fail (log, /, an index) are still evaluated (dsl/ad/cleanup.py)."""
from helpers import error_of, session


# ---------------------------------------------------------------- a derivative fails where its function does
def test_a_gradient_fails_where_its_function_does():
    for src in ("print(grad(log)(-1.0))",
                "fn f(x: float) -> float { return sqrt(x) * 0.0 + x }\nprint(grad(f)(-4.0))",
                "fn f(x: float, y: float) -> float { return x / y + x }\nprint(grad(f)(1.0, 0.0))"):
        d = error_of(src).first
        assert d.kind == "runtime error" and d.message in ("math domain error", "division by zero"), d.message
    # where the function is defined, the check costs one call and changes nothing
    s, _ = session()
    s.run("fn f(x1: float, x2: float) -> float { return log(x1) + x1 * x2 - sin(x2) }", "f.dp")
    assert s.run("grad(f, (0, 1))(2.0, 5.0)").value == (1.0 / 2.0 + 5.0, 2.0 - __import__("math").cos(5.0))
    text = s.run("source(grad(f))").value
    assert "    log(x1)\n" in text and "    sin(x2)\n" not in text
