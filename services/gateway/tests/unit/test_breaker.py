"""The circuit breaker on its own, on a clock the tests move."""

import uuid

import pytest
from prometheus_client import REGISTRY

from gateway_svc.upstreams.breaker import BreakerState, CircuitBreaker, CircuitOpen

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def breaker(clock: Clock, *, threshold: int = 3, cool_down: float = 5.0) -> CircuitBreaker:
    # A name of its own, so the metrics of one test are not another's.
    name = f"test-{uuid.uuid4().hex[:8]}"
    return CircuitBreaker(name, failure_threshold=threshold, cool_down_seconds=cool_down, clock=clock)


def fail(guard: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        guard.acquire()
        guard.failed()


def gauge(guard: CircuitBreaker) -> float | None:
    return REGISTRY.get_sample_value("qunyun_gateway_breaker_state", {"upstream": guard.upstream})


def test_opens_after_the_threshold_of_consecutive_failures() -> None:
    guard = breaker(Clock(), threshold=3)
    fail(guard, 2)
    assert guard.state is BreakerState.CLOSED
    fail(guard, 1)
    assert guard.state is BreakerState.OPEN
    assert gauge(guard) == BreakerState.OPEN
    with pytest.raises(CircuitOpen) as refused:
        guard.acquire()
    assert refused.value.status == 503 and refused.value.slug == "upstream-unavailable"
    rejected = REGISTRY.get_sample_value("qunyun_gateway_breaker_rejections_total", {"upstream": guard.upstream})
    assert rejected == 1


def test_a_success_resets_the_count_of_consecutive_failures() -> None:
    guard = breaker(Clock(), threshold=3)
    fail(guard, 2)
    guard.acquire()
    guard.succeeded()
    fail(guard, 2)
    assert guard.state is BreakerState.CLOSED


def test_retry_after_counts_down_the_cool_down() -> None:
    clock = Clock()
    guard = breaker(clock, threshold=1, cool_down=5.0)
    fail(guard, 1)
    assert guard.retry_after() == 5
    clock.now += 3.5
    with pytest.raises(CircuitOpen) as refused:
        guard.acquire()
    assert refused.value.retry_after == 2


def test_after_the_cool_down_one_probe_goes_through_and_its_success_closes() -> None:
    clock = Clock()
    guard = breaker(clock, threshold=1, cool_down=5.0)
    fail(guard, 1)
    clock.now += 5.0
    guard.acquire()
    assert guard.state is BreakerState.HALF_OPEN
    assert gauge(guard) == BreakerState.HALF_OPEN
    with pytest.raises(CircuitOpen):  # only one probe at a time
        guard.acquire()
    guard.succeeded()
    assert guard.state is BreakerState.CLOSED
    assert gauge(guard) == BreakerState.CLOSED
    guard.acquire()


def test_a_failed_probe_opens_again_for_a_whole_cool_down() -> None:
    clock = Clock()
    guard = breaker(clock, threshold=2, cool_down=5.0)
    fail(guard, 2)
    clock.now += 6.0
    fail(guard, 1)
    assert guard.state is BreakerState.OPEN
    clock.now += 4.0
    with pytest.raises(CircuitOpen):
        guard.acquire()
    clock.now += 1.0
    guard.acquire()
    assert guard.state is BreakerState.HALF_OPEN


def test_an_abandoned_probe_lets_the_next_request_probe() -> None:
    clock = Clock()
    guard = breaker(clock, threshold=1)
    fail(guard, 1)
    clock.now += 5.0
    guard.acquire()
    guard.released()
    assert guard.state is BreakerState.HALF_OPEN
    guard.acquire()
    guard.succeeded()
    assert guard.state is BreakerState.CLOSED


def test_late_answers_to_calls_admitted_before_opening_change_nothing() -> None:
    clock = Clock()
    guard = breaker(clock, threshold=2)
    guard.acquire()
    guard.acquire()  # two calls in flight
    fail(guard, 2)
    assert guard.state is BreakerState.OPEN
    guard.succeeded()
    guard.failed()
    assert guard.state is BreakerState.OPEN
    assert guard.retry_after() == 5


def test_transitions_are_counted_by_the_state_entered() -> None:
    clock = Clock()
    guard = breaker(clock, threshold=1)
    fail(guard, 1)
    clock.now += 5.0
    guard.acquire()
    guard.succeeded()

    def entered(state: str) -> float | None:
        labels = {"upstream": guard.upstream, "state": state}
        return REGISTRY.get_sample_value("qunyun_gateway_breaker_transitions_total", labels)

    assert (entered("open"), entered("half_open"), entered("closed")) == (1, 1, 1)
