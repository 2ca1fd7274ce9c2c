"""What `:doc NAME` finds in the reference docs (interpreter/reference.py)."""
import os

from dp.interpreter.reference import lookup


def first(name):
    entries = lookup(name)
    return entries[0] if entries else None


def test_a_table_row_that_calls_the_name():
    e = first("zeros")
    assert (e.file, e.section, e.text) == ("docs/tensors.md", "Making tensors",
                                           "`zeros(n)`, `zeros([2, 3])`, `ones(…)` — filled with 0.0 or 1.0")
    assert first("print").text == "`print(a, b, …)` — any values → `()` — prints them separated by spaces, then a newline"


def test_a_name_in_a_list_of_names():
    e = first("tanh")
    assert e.file == "docs/language.md" and e.text.startswith("`sqrt`, `exp`, `log`")


def test_rows_that_only_point_elsewhere_are_passed_over():
    e = first("grad")
    assert (e.file, e.text.split(" — ")[0]) == ("docs/derivatives.md", "`grad(f)`")


def test_a_paragraph_that_opens_with_the_name():
    e = first("mean")
    assert (e.file, e.section) == ("docs/tensors.md", "Reductions") and e.text.startswith("`sum(t)`, `mean(t)`")
    # a table row that spells the call comes first: `sum` on lists is in the language reference
    e = first("sum")
    assert (e.file, e.section) == ("docs/language.md", "Built-in functions") and e.text.startswith("`sum(xs)`")


def test_modules_and_their_members():
    assert first("optim").text.startswith("First-order optimisers that take the gradient as a function")
    e = first("optim.gd")
    assert e.text == "`gd(g, x0, lr, steps)` — x ← x - lr g(x), `steps` times; returns the last x"
    assert first("stats.mean").section == "`stats`"
    assert first("mean").file == "docs/tensors.md"          # the builtin, not stats.mean


def test_nothing_for_an_unknown_name_and_no_docs_directory(tmp_path):
    assert lookup("no_such_name_anywhere") == []
    assert lookup("zeros", docs_dir=str(tmp_path / "missing")) == []


def test_render_wraps_and_says_where():
    text = first("zeros").render(width=40)
    assert text.split("\n")[-1] == "  (docs/tensors.md, “Making tensors”)"
    assert all(len(line) <= 40 for line in text.split("\n")[:-1])


def test_the_docs_are_found_in_a_checkout_and_in_an_installed_copy(tmp_path):
    """A checkout reads docs/ beside dp/; an installed copy (no pyproject.toml above
    dp/) reads the copy pyproject's data-files put under sys.prefix/share/dp/docs."""
    import tomllib
    from dp.interpreter.reference import ORDER, docs_dir
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    assert docs_dir() == os.path.join(root, "docs")
    site = tmp_path / "site-packages" / "dp" / "interpreter"
    site.mkdir(parents=True)
    assert docs_dir(str(site / "reference.py"), "/the/prefix") == "/the/prefix/share/dp/docs"
    with open(os.path.join(root, "pyproject.toml"), "rb") as f:
        shipped = tomllib.load(f)["tool"]["setuptools"]["data-files"]["share/dp/docs"]
    assert shipped == ["docs/*.md"] and all(os.path.isfile(os.path.join(root, "docs", n)) for n in ORDER)
