"""Every program in examples/ runs; the ones with known output print exactly that.
An example added later without an entry here is still run and must not fail."""
import glob
import os

import pytest

from helpers import run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = sorted(os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "examples", "*.dp")))

EXPECTED = {
    "particles.dp": """\
x after 10 steps: 0.780223778121875
start is unchanged: Particle { x: 1.0, v: 0.0, m: 2.0 }
""",
    "inventory.dp": """\
items: ["apple", "pear", "plum"]
value: 10.0
  not enough plum - only 8 left
  no such item: kiwi
after sales: ["apple", "plum"]
apples left: 7
value: 5.5
before is unchanged: Item { price: 0.75, count: 4 }
{"m": 1, "i": 4, "s": 4, "p": 2}
""",
    "closures.dp": """\
squares: [1.0, 4.0, 9.0, 16.0, 25.0]
even squares: [4.0, 16.0]
sum: 55.0
max: 5.0
(3 * 2)^2 = 36.0
with tax: 125.0 rate is now 0.5
after step: 1.0
after step: 3.0
after step: 6.0
sqrt(2) by Newton: 1.414213562373095 error below 1e-15: true
""",
    "shapes.dp": """\
Shape.Circle(1.0) area 3.141592653589793 perimeter 6.283185307179586 Size.Medium
Shape.Rect(2.0, 3.0) area 6.0 perimeter 10.0 Size.Medium
Shape.Triangle(3.0, 4.0, 5.0) area 6.0 perimeter 12.0 Size.Medium
Shape.Empty area 0.0 perimeter 0.0 Size.Small
Shape.Circle(0.5) area 0.7853981633974483 perimeter 3.141592653589793 Size.Small
total area: 15.926990816987242
by size: {Size.Small: 2, Size.Medium: 3, Size.Large: 0}
same shape: true false
""",
    "lists.dp": """\
primes: [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47]
[1]
[1, 1]
[1, 2, 1]
[1, 3, 3, 1]
[1, 4, 6, 4, 1]
[1, 5, 10, 10, 5, 1]
sorted: [-4.5, -1.0, 0.0, 2.25, 3.5, 9.0]
data is unchanged: [3.5, -1.0, 2.25, 0.0, 9.0, -4.5]
running sum: [-4.5, -5.5, -5.5, -3.25, 0.25, 9.25]
min, max: -4.5 9.0
stack: [0, 1] popped: [16, 9, 4]
""",
}


def source(name: str) -> str:
    with open(os.path.join(ROOT, "examples", name), encoding="utf-8") as f:
        return f.read()


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_runs(name):
    out = run(source(name), f"examples/{name}")
    if name in EXPECTED:
        assert out == EXPECTED[name]
    else:
        assert isinstance(out, str)


def test_examples_with_known_output_exist():
    assert set(EXPECTED) <= set(EXAMPLES)
    assert len(EXAMPLES) >= 5
