"""A bounded sample of the fuzzers (tests/fuzz/campaign.py runs long campaigns): typed
programs and their mutations, mutated example and library files, random walks of
the grammar and hypothesis's from_lark on it, each input run in-process under limits by the oracle. Every
input must end as a result or a DPError: no other exception, no hang past the
limit, nothing on stderr, and the interpreter still working afterwards.

The seeds are fixed, so a failure here is reproduced by its seed:
`python -m tests.fuzz.campaign --minimise` cuts it down. Each part stops early when
it has used its share of the time budget (a slow machine runs fewer inputs)."""
from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, seed, settings

from tests.fuzz.generate import grammar_strategy, grammar_walk, mutated_file, typed_program
from tests.fuzz.oracle import Runner

BUDGET = 20.0            # seconds for each of the four parts (the sample: at most ~90 s in all)
COUNT = 400              # inputs each part runs when it has the time


def _report(found):
    return "\n\n".join(f"{what}: {o.kind}\n{o.detail[:3000]}" for what, o in found)


def test_typed_programs_and_their_mutations_end_as_results_or_dp_errors():
    runner, found, start, n = Runner(), [], time.monotonic(), 0
    for s in range(COUNT):
        if time.monotonic() - start > BUDGET:
            break
        o = runner.run(typed_program(s), f"<typed {s}>")
        n += 1
        if o.finding:
            found.append((f"typed_program({s})", o))
    assert n >= 20
    assert not found, _report(found)


def test_mutated_examples_and_library_files_end_as_results_or_dp_errors():
    runner, found, start, n = Runner(), [], time.monotonic(), 0
    for s in range(COUNT):
        if time.monotonic() - start > BUDGET:
            break
        name, data = mutated_file(s)
        o = runner.run(data, f"<mutated {s}>")
        n += 1
        if o.finding:
            found.append((f"mutated_file({s}) of {name}", o))
    assert n >= 20
    assert not found, _report(found)


def test_random_walks_of_the_grammar_end_as_results_or_dp_errors():
    runner, found, start, n = Runner(), [], time.monotonic(), 0
    for s in range(COUNT):
        if time.monotonic() - start > BUDGET:
            break
        o = runner.run(grammar_walk(s), f"<walk {s}>")
        n += 1
        if o.finding:
            found.append((f"grammar_walk({s})", o))
    assert n >= 20
    assert not found, _report(found)


_runner = Runner()
_found: list = []
_start: list = []


@seed(20240612)
@settings(max_examples=COUNT, database=None, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(grammar_strategy())
def _grammar_input(text):
    if not _start:
        _start.append(time.monotonic())
    if time.monotonic() - _start[0] > BUDGET:
        return
    o = _runner.run(text, "<grammar>")
    if o.finding:
        _found.append((repr(text[:300]), o))


def test_inputs_from_the_grammar_end_as_results_or_dp_errors():
    _grammar_input()
    assert not _found, _report(_found)


@pytest.mark.parametrize("src", [
    'print("\\x4")', 'print("\\u12")', 'print("\\N{x}")', 'print("\\q")', "a.b.P { x: 1 }",
    "print(" + "-" * 20000 + "1)", "10 ** 10 ** 10", "zeros([100000, 100000])", "len(range(1000000000))",
    'fn f() -> int { var s = "ab"\n for i in 0..64 { s = s + s }\n return len(s) }\nf()',
    "fn f() -> int { var x = 3\n while true { x = x * x }\n return x }\nf()",
    "let g = grad(fn(x: float) -> float { return x * zz })",
    b"\xef\xbb\xbfprint(1)\n", b'print("\xff")\n', b"\x00\x01\x02",
], ids=lambda s: repr(s)[:40])
def test_the_issues_inputs_end_as_dp_errors_or_results(src):
    o = Runner(fresh=1).run(src)
    assert not o.finding, o.detail
    assert o.seconds < 20.0
