from helpers import error_of, run


def test_particle_example_values():
    src = open("examples/particles.dp").read()
    out = run(src)
    assert "x after 10 steps: 0.780223778121875" in out
    assert "start is unchanged: Particle { x: 1.0, v: 0.0, m: 2.0 }" in out


def test_logistic_loop():
    out = run("""
fn f(x: float) -> float {
    var v = x
    for i in 0..3 {
        v = 4.0 * v * (1.0 - v)
    }
    return v
}
print(f(0.3))
""")
    x = 0.3
    closed = 64 * x * (1 - x) * (1 - 2 * x) ** 2 * (1 - 8 * x + 8 * x * x) ** 2
    assert abs(float(out) - closed) < 1e-12


def test_division_by_zero_points_at_line():
    e = error_of("let a = 1.0\nlet b = a / 0.0\n")
    assert e.line == 2 and e.column == 9 and "division by zero" in e.message
