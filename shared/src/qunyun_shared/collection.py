"""Holding back Python's cycle collector while a batch is handled.

A consumer batch or relay batch allocates a few hundred thousand objects that live until it ends; each
collection the allocations set off promotes them and, every so often, rescans all of them with the rest of
the heap. Held back, the collector runs once the batch is over and its objects are gone: analytics-svc spent
a fifth of its CPU per event in those collections (bench/README.md, the bus path).
"""

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# Allocations after which the young generations are collected even while batches overlap without a pause
# (a consumer's and a relay's, back to back under a backlog), so that cycles cannot pile up for good.
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
        elif gc.get_count()[0] > OVERDUE:
            gc.collect(1)
