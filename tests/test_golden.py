"""Golden derived source (tests/golden/): the derived code of chosen example functions
reads as it did when the files were last regenerated, with
`python -m tests.golden --update` (see tests/golden/__init__.py)."""
import os

import pytest

from golden import CASES, HERE, printed


@pytest.mark.parametrize("file", sorted(CASES))
def test_derived_source_matches_its_golden_file(file):
    example, how = CASES[file]
    path = os.path.join(HERE, file)
    assert os.path.exists(path), f"no golden file {file}: run `python -m tests.golden --update`"
    with open(path, encoding="utf-8") as f:
        want = f.read()
    assert printed(example, how) == want, (
        f"the derived source for {file} changed; if that is meant, run `python -m tests.golden --update` "
        "and review the diff")


def test_every_golden_file_is_a_case():
    files = {f for f in os.listdir(HERE) if f.endswith(".dp")}
    assert files == set(CASES)
