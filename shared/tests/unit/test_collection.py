"""The cycle collector is held back while batches run, and only while they do."""

import gc
import weakref

import pytest

from qunyun_shared import collection

pytestmark = pytest.mark.unit


def test_the_collector_resumes_when_the_last_of_overlapping_batches_ends() -> None:
    assert gc.isenabled()
    first, second = collection.held_back(), collection.held_back()
    first.__enter__()
    second.__enter__()
    assert not gc.isenabled()
    first.__exit__(None, None, None)
    assert not gc.isenabled(), "the second batch is still under way"
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_a_failing_batch_gives_the_collector_back() -> None:
    try:
        with collection.held_back():
            raise ValueError("the batch failed")
    except ValueError:
        pass
    assert gc.isenabled()


class _Node:
    """An object in a reference cycle: only the cycle collector frees it."""

    def __init__(self) -> None:
        self.me = self


def test_overlapping_batches_cannot_hold_off_the_collector_for_good(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(collection, "OVERDUE", 100)
    with collection.held_back():
        with collection.held_back():
            cycle = weakref.ref(_Node())
            garbage = [[] for _ in range(1000)]
            assert cycle() is not None and gc.get_count()[0] > 100
        assert cycle() is None, "the cycle was collected when the inner batch ended, the outer still running"
        del garbage
    assert gc.isenabled()


def test_a_batch_waiting_out_an_outage_catches_up(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(collection, "OVERDUE", 100)
    with collection.held_back():
        cycle = weakref.ref(_Node())
        collection.catch_up()
        assert cycle() is not None, "not overdue yet"
        garbage = [[] for _ in range(1000)]
        collection.catch_up()
        assert cycle() is None
        del garbage
