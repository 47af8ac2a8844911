"""A circuit breaker per upstream: a service that keeps failing is given a rest instead of more requests."""

import math
import time
from collections.abc import Callable
from enum import IntEnum
from typing import NoReturn

from gateway_svc.upstreams.metrics import BREAKER_REJECTIONS, BREAKER_STATE, BREAKER_TRANSITIONS
from qunyun_shared.problems import UpstreamUnavailable


class BreakerState(IntEnum):
    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


class CircuitOpen(UpstreamUnavailable):
    """The upstream failed repeatedly and is refused at once until a probe gets through."""

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class CircuitBreaker:
    """Closed until `failure_threshold` consecutive failures, then open for `cool_down_seconds`, then
    half-open: one probe goes through, and its outcome closes the breaker or opens it again.

    Not thread-safe: one event loop owns it, and it never awaits.
    """

    def __init__(
        self,
        upstream: str,
        *,
        failure_threshold: int,
        cool_down_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.upstream = upstream
        self.failure_threshold = failure_threshold
        self.cool_down_seconds = cool_down_seconds
        self.clock = clock
        self.state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False
        BREAKER_STATE.labels(upstream).set(BreakerState.CLOSED)

    def acquire(self) -> None:
        """Lets a call through, or raises CircuitOpen."""
        if self.state is BreakerState.CLOSED:
            return
        if self.state is BreakerState.OPEN:
            if self.clock() - self._opened_at < self.cool_down_seconds:
                self._reject()
            self._enter(BreakerState.HALF_OPEN)
        if self._probing:
            self._reject()
        self._probing = True

    def succeeded(self) -> None:
        """The upstream answered, and not with a failure of its own."""
        self._failures = 0
        if self.state is BreakerState.HALF_OPEN:
            self._probing = False
            self._enter(BreakerState.CLOSED)

    def failed(self) -> None:
        """The upstream was unreachable, timed out or answered 5xx."""
        if self.state is BreakerState.HALF_OPEN:
            self._probing = False
            self._open()
        elif self.state is BreakerState.CLOSED:
            self._failures += 1
            if self._failures >= self.failure_threshold:
                self._open()
        # Open: a late answer to a call admitted before the breaker opened changes nothing.

    def released(self) -> None:
        """The call ended without saying anything about the upstream (the client went away)."""
        if self.state is BreakerState.HALF_OPEN:
            self._probing = False

    def retry_after(self) -> int:
        """Whole seconds until the breaker lets a probe through, at least 1."""
        if self.state is not BreakerState.OPEN:
            return 1
        return max(1, math.ceil(self.cool_down_seconds - (self.clock() - self._opened_at)))

    def _open(self) -> None:
        self._opened_at = self.clock()
        self._failures = 0
        self._enter(BreakerState.OPEN)

    def _enter(self, state: BreakerState) -> None:
        self.state = state
        BREAKER_STATE.labels(self.upstream).set(state)
        BREAKER_TRANSITIONS.labels(self.upstream, state.name.lower()).inc()

    def _reject(self) -> NoReturn:
        BREAKER_REJECTIONS.labels(self.upstream).inc()
        raise CircuitOpen(
            f"The {self.upstream} service failed repeatedly; it is given a rest before it is tried again.",
            retry_after=self.retry_after(),
        )
