"""The gateway benchmark counts only answered requests as throughput, and publishes nothing measured with
failures."""

import argparse
import asyncio
import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from bench import gateway
from bench.gateway import BenchmarkFailed, Probe, Way

pytestmark = pytest.mark.unit

PROBE = Probe("read", "GET", "/communities/{community_id}", "/communities/c1")


class FakeTarget:
    """Answers requests with the given statuses in turn; 0 stands for a connection failure or a timeout."""

    def __init__(self, statuses: list[int]) -> None:
        self._statuses: Iterator[int] = itertools.cycle(statuses)

    async def status(self, method: str, path: str, body: object = None) -> int:
        await asyncio.sleep(0)  # an answer comes back on a later turn of the loop, as a real one would
        return next(self._statuses)


def way(*statuses: int) -> Way:
    return Way(FakeTarget(list(statuses)), {})  # type: ignore[arg-type]


async def test_a_request_that_got_no_answer_is_a_failure_not_throughput() -> None:
    run = await gateway.throughput(way(0), PROBE, seconds=0.05, concurrency=2)

    assert run["requests"] > 0
    assert run["failures"] == run["requests"]
    assert run["failed_statuses"] == {0: run["requests"]}
    assert run["per_second"] == 0


async def test_only_successful_answers_count_towards_throughput() -> None:
    run = await gateway.throughput(way(200, 0, 503, 201), PROBE, seconds=0.05, concurrency=1)

    assert run["failures"] == pytest.approx(run["requests"] / 2, abs=2)
    assert set(run["failed_statuses"]) == {0, 503}


async def test_a_measurement_with_failed_requests_is_refused_and_says_how_many() -> None:
    options = argparse.Namespace(concurrency=2, seconds=0.05, rounds=2, samples=5)
    ways = {"direct": way(200), "gateway_aiohttp": way(200, 200, 0)}

    with pytest.raises(BenchmarkFailed, match=r"gateway_aiohttp \d+ of \d+.*no throughput is published"):
        await gateway.measure(PROBE, ways, options)


async def test_a_failed_single_request_fails_the_latency_measurement() -> None:
    with pytest.raises(BenchmarkFailed, match="answered nothing"):
        await gateway.latencies(PROBE, {"direct": FakeTarget([0])}, samples=3)  # type: ignore[dict-item]


async def test_a_clean_measurement_is_published() -> None:
    options = argparse.Namespace(concurrency=2, seconds=0.05, rounds=1, samples=3)
    result: dict[str, Any] = await gateway.measure(PROBE, {"direct": way(200), "gateway_aiohttp": way(201)}, options)

    assert result["per_second"]["direct"] > 0
    assert result["vs_direct"]["gateway_aiohttp"] > 0
