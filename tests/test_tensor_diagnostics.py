"""Errors a program can cause with tensors and the transforms are DP diagnostics:
message, position and a hint, never an internal error or numpy's raw text."""
import pytest

from helpers import error_of, run


def check(src, message, line, column, kind="runtime error"):
    e = error_of(src)
    d = e.first
    text = e.render()
    assert d.kind == kind, text
    assert d.message == message, text
    assert (d.line, d.column) == (line, column), text
    assert d.hint, text
    for leak in ("internal error", "Traceback", "this is a bug", ".py"):
        assert leak not in text, text
    return d


SQ = "fn f(x: tensor) -> tensor {\n    return x * x\n}\n"

CASES = [
    # 1. jvp / vjp check (co)tangent shapes, at the call
    ("jvp tuple", SQ + "print(jvp(f, (ones(3),), (ones([3, 1]),)))",
     "the tangent of parameter 0 has shape (3, 1), but the primal has shape (3,)", 4, 7),
    ("jvp bare", SQ + "print(jvp(f, ones(3), ones(1)))",
     "the tangent of parameter 0 has shape (1,), but the primal has shape (3,)", 4, 7),
    ("jvp second parameter", "fn g(a: tensor, b: tensor) -> tensor { return a * b }\n"
     "print(jvp(g, (ones(2), ones(2)), (ones(2), ones(5))))",
     "the tangent of parameter 1 has shape (5,), but the primal has shape (2,)", 2, 7),
    ("jvp nested in a struct",
     "struct P { x: tensor, ys: list[tensor] }\nfn g(p: P) -> tensor { return p.x + p.ys[0] }\n"
     "let p = P { x: ones(2), ys: [ones(2)] }\nprint(jvp(g, p, P { x: ones(2), ys: [ones(3)] }))",
     "the tangent of parameter 0 (at `.ys[0]`) has shape (3,), but the primal has shape (2,)", 4, 7),
    ("jvp list length",
     "fn g(xs: list[tensor]) -> tensor { return xs[0] }\nprint(jvp(g, [ones(2)], [ones(2), ones(2)]))",
     "the tangent of parameter 0 is a list of 2, but the primal is a list of 1", 2, 7),
    ("vjp cotangent", SQ + "let (v, pb) = vjp(f, ones(3))\nprint(pb(ones([2, 3])))",
     "the cotangent has shape (2, 3), but the result has shape (3,)", 5, 7),
    ("vjp nested cotangent",
     "fn g(x: tensor) -> (tensor, list[tensor]) { return (x, [x]) }\nlet (v, pb) = vjp(g, ones(3))\n"
     "print(pb((ones(3), [ones([3, 1])])))",
     "the cotangent (at `.1[0]`) has shape (3, 1), but the result has shape (3,)", 3, 7),
    # 2. memory
    ("out of memory", "print(zeros([100000000, 100000000]))",
     "not enough memory for a tensor of shape (100000000, 100000000) (71.1 PiB)", 1, 7),
    ("too big", "print(zeros([1000000000, 1000000000, 100]))", "this tensor is too big to make", 1, 7),
    # 3. tensor indices
    ("tensor index", "let a = ones(3)\nprint(a[3])",
     "index 3 is out of range for axis 0 of a tensor of shape (3,)", 2, 7),
    ("negative tensor index", "let a = ones(3)\nprint(a[-4])",
     "index -4 is out of range for axis 0 of a tensor of shape (3,)", 2, 7),
    ("second axis", "let a = ones([2, 3])\nprint(a[1, 5])",
     "index 5 is out of range for axis 1 of a tensor of shape (2, 3)", 2, 7),
    ("index assignment", "fn f(i: int) {\n    var t = ones([2, 2])\n    t[1, i] = 2.0\n}\nf(7)",
     "index 7 is out of range for axis 1 of a tensor of shape (2, 2)", 3, 5),
    ("field of a struct", "struct S { x: tensor }\nfn f(s: S, i: int) -> float {\n"
     "    return float(s.x[i + 1])\n}\nprint(f(S { x: ones(4) }, 7))",
     "index 8 is out of range for axis 0 of a tensor of shape (4,)", 3, 18),
    ("index of an expression", "print(ones(3)[5])",
     "index 5 is out of range for axis 0 of a tensor (axis 0 has size 3)", 1, 7),
    ("too many indices", "let a = ones([2, 3])\nprint(a[0, 0, 0])",
     "too many indices for a tensor of shape (2, 3)", 2, 7),
    ("too many indices, expression", "print(ones([2, 3])[0, 0, 0])",
     "too many indices for a 2-D tensor", 1, 7),
    ("slice too many", "print(ones(3)[:, 0])", "too many indices for a 1-D tensor", 1, 7),
    ("index of a 0-d tensor", "let a = ones(3)\nprint(a[0][0])", "cannot index a tensor with no axes", 2, 7),
    # 4. axes
    ("sum axis", "print(sum(ones([2, 3]), 2))", "axis 2 is out of range for a 2-D tensor", 1, 7),
    ("mean axis", "print(mean(ones([2, 3]), -3))", "axis -3 is out of range for a 2-D tensor", 1, 7),
    ("max axis", "print(max(ones([2, 3]), 2))", "axis 2 is out of range for a 2-D tensor", 1, 7),
    ("softmax axis", "print(softmax(ones([2, 3]), 2))", "axis 2 is out of range for a 2-D tensor", 1, 7),
    ("logsumexp axis", "print(logsumexp(ones([2, 3]), 5))", "axis 5 is out of range for a 2-D tensor", 1, 7),
    ("concat axis", "print(concat([ones(2)], 1))", "axis 1 is out of range for a 1-D tensor", 1, 7),
    ("stack axis", "print(stack([ones(2)], 2))", "axis 2 is out of range for a 2-D tensor", 1, 7),
    # 5. numpy's messages
    ("empty concat", "let xs: list[tensor] = []\nprint(concat(xs, 0))", "`concat` of an empty list", 2, 7),
    ("empty stack", "let xs: list[tensor] = []\nprint(stack(xs, 0))", "`stack` of an empty list", 2, 7),
    ("max of empty", "print(max(zeros(0)))", "`max` of an empty tensor", 1, 7),
    ("min of empty", "print(min(zeros(0)))", "`min` of an empty tensor", 1, 7),
    ("argmax of empty", "print(argmax(zeros(0)))", "`argmax` of an empty tensor", 1, 7),
    ("linspace count", "print(linspace(0.0, 1.0, -1))", "`linspace` cannot make -1 points", 1, 7),
    ("negative seed", "print(normal(-1, [2]))", "a random seed must be 0 or more", 1, 7),
    ("negative size", "print(zeros([-1]))", "a tensor's size cannot be negative", 1, 7),
    ("ragged tensor", "print(tensor([[1.0], [2.0, 3.0]]))", "the rows of this tensor have different lengths", 1, 7),
    ("broadcast", "print(ones(3) + ones(4))",
     "operands could not be broadcast together with shapes (3,) (4,)", 1, 7),
    ("len of 0-d", "let a = ones(3)\nprint(len(a[0]))", "len of a tensor with no axes", 2, 7),
    ("matmul of 0-d", "let a = ones(3)\nprint(a[0] @ a[1])",
     "`@` needs tensors with at least one axis, not shapes () and ()", 2, 7),
    ("dot of a matrix", "print(dot(ones(2), ones([2, 2])))",
     "`dot` takes two vectors, not tensors of shapes (2,) and (2, 2)", 1, 7),
]


@pytest.mark.parametrize("name,src,message,line,column", CASES, ids=[c[0] for c in CASES])
def test_tensor_runtime_error(name, src, message, line, column):
    check(src, message, line, column)


def test_axis_hint_names_the_range():
    d = check("print(sum(ones([2, 3]), 2))", "axis 2 is out of range for a 2-D tensor", 1, 7)
    assert "-2 … 1" in d.hint


def test_tensor_index_hint_names_the_size():
    d = check("let a = ones([2, 3])\nprint(a[1, 5])",
              "index 5 is out of range for axis 1 of a tensor of shape (2, 3)", 2, 7)
    assert "0 … 2" in d.hint and "list" not in d.hint


def test_list_index_keeps_its_message():
    d = check("let xs = [1, 2]\nprint(xs[5])", "index 5 is out of range for a list of length 2", 2, 7)
    assert d.hint == "valid indices of a list of length 2 are 0 … 1 (and -2 … -1 from the end)"


def test_matching_tangents_still_work():
    out = run(SQ + "print(jvp(f, ones(2), ones(2)))\nlet (v, pb) = vjp(f, ones(2))\nprint(pb(ones(2)))")
    assert out == "(tensor([1.0, 1.0]), tensor([2.0, 2.0]))\ntensor([2.0, 2.0])\n"


# 6. sizes on a `var`
def test_var_with_sizes_is_a_type_error():
    d = check("var t: tensor[3] = ones(3)\nt = ones(4)\nprint(t)",
              "a `var` cannot give a tensor's sizes", 1, 8, kind="type error")
    assert "use `let`" in d.hint and "var t: tensor" in d.hint


def test_var_without_sizes_and_let_with_sizes_are_fine():
    assert run("var t: tensor = ones(3)\nt = ones(4)\nlet u: tensor[2] = ones(2)\nprint(shape(t), shape(u))") \
        == "[4] [2]\n"
