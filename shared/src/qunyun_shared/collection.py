"""Holding back Python's cycle collector while a batch is handled.

A consumer batch or relay batch allocates a few hundred thousand objects that live until it ends; each
collection the allocations set off promotes them and, every so often, rescans all of them with the rest of
the heap. Held back, the collector runs once the batch is over and its objects are gone: analytics-svc spent
a fifth of its CPU per event in those collections (bench/README.md, the bus path).
"""

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# Allocations after which everything is collected even while held back (catch_up).
OVERDUE = 1_000_000

_holding = 0  # batches under way in this process: the collector resumes when the last one ends


@contextmanager
def held_back() -> Iterator[None]:
    """No cycle collection until the block (and every other one holding it back) has ended."""
    global _holding
    _holding += 1
    gc.disable()
    try:
        yield
    finally:
        _holding -= 1
        if _holding == 0:
            gc.enable()
        else:
            catch_up()


def catch_up() -> None:
    """Collects everything if allocations have gone on long enough while held back: called where a batch
    waits (a dependency away) and where one of overlapping batches ends, so cycles cannot pile up for good."""
    if not gc.isenabled() and gc.get_count()[0] > OVERDUE:
        gc.collect()
