"""The `dp` command's first step (its console script and `python -m dp`).

DP's modules make many objects as they load (the syntax tree's classes, the table of
primitives, cached code) and no garbage: the cyclic collector, run on them again and
again as they are made, found nothing and cost a few milliseconds of every start. So
it is off while they load, and on again, with what they made set aside for good
(gc.freeze), before anything runs."""
import gc


def entry() -> None:
    gc.disable()
    from .cli import entry as cli_entry
    gc.freeze()
    gc.enable()
    cli_entry()
