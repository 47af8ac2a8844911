"""What one dispatcher process holds: the deliveries it claimed and has not recorded yet, per endpoint.

Each endpoint has up to `endpoint_cap` workers sending its claims one after another, so at most that many
of its deliveries are on the wire; the rest wait here, so that it never waits for a claim (a few
database round trips on a busy event loop) between sends. How
many may wait depends on how fast the partner answers: about a second's worth of its sends, between
two and sixteen rounds of its cap. A fast partner is fed from large claims; a slow one never has more
queued than it can take well within a lease.
"""

import asyncio
import math
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field

from gateway_svc.webhooks.claims import Claim
from gateway_svc.webhooks.outcomes import Outcome

QUEUE_SECONDS = 1.0
MIN_ROUNDS, MAX_ROUNDS = 2, 16
# All endpoints together: this many times the deliveries that may be on the wire at once.
TOTAL_ROUNDS = 4
# Weight of the newest answer in an endpoint's running mean answer time.
_SMOOTHING = 0.05
_MAX_REMEMBERED_ENDPOINTS = 10_000


@dataclass
class Flight:
    """The claims of one dispatcher run, queued per endpoint for its workers, and the signals between
    its claiming, sending and recording."""

    max_in_flight: int
    endpoint_cap: int
    claimed: dict[uuid.UUID, int] = field(default_factory=lambda: defaultdict(int))
    queues: dict[uuid.UUID, deque[Claim]] = field(default_factory=lambda: defaultdict(deque))
    workers: dict[uuid.UUID, int] = field(default_factory=lambda: defaultdict(int))
    answer_seconds: dict[uuid.UUID, float] = field(default_factory=dict)
    total: int = 0
    outcomes: list[Outcome] = field(default_factory=list)
    outcome_ready: asyncio.Event = field(default_factory=asyncio.Event)
    room: asyncio.Event = field(default_factory=asyncio.Event)
    wire: asyncio.Semaphore = field(init=False)

    def __post_init__(self) -> None:
        # The HTTP session's pool would queue sends too, but its wait counts against the request timeout.
        self.wire = asyncio.Semaphore(self.max_in_flight)

    @property
    def total_depth(self) -> int:
        return TOTAL_ROUNDS * self.max_in_flight

    @property
    def first_depth(self) -> int:
        """What an endpoint not heard from yet may have claimed."""
        return self.endpoint_cap * MIN_ROUNDS

    def depth(self, endpoint_id: uuid.UUID) -> int:
        """How many of an endpoint's deliveries may be claimed at once: about a second's worth of its sends."""
        seconds = self.answer_seconds.get(endpoint_id)
        if seconds is None:
            return self.first_depth
        rounds = math.floor(QUEUE_SECONDS / max(seconds, 1e-3))
        return self.endpoint_cap * min(MAX_ROUNDS, max(MIN_ROUNDS, rounds))

    def room_by_endpoint(self) -> dict[uuid.UUID, int]:
        """How many more deliveries of each endpoint holding claims may be claimed now."""
        return {endpoint: self.depth(endpoint) - count for endpoint, count in self.claimed.items()}

    def take(self, claim: Claim) -> bool:
        """Queues a claim for its endpoint's workers; True when the endpoint should have one worker more."""
        endpoint_id = claim.endpoint_id
        self.claimed[endpoint_id] += 1
        self.total += 1
        self.queues[endpoint_id].append(claim)
        if self.workers[endpoint_id] >= self.endpoint_cap:
            return False
        self.workers[endpoint_id] += 1
        return True

    def next_for(self, endpoint_id: uuid.UUID) -> Claim | None:
        """A worker's next claim to send; None when its endpoint has none left, and the worker stops."""
        queue = self.queues[endpoint_id]
        if queue:
            return queue.popleft()
        self.workers[endpoint_id] -= 1
        if not self.workers[endpoint_id]:
            del self.workers[endpoint_id], self.queues[endpoint_id]
        return None

    def release(self, endpoint_id: uuid.UUID, answered_in: float | None) -> None:
        """Counts a claim out, learning how fast its endpoint answers; signals room for the next claim."""
        if answered_in is not None:
            known = self.answer_seconds.get(endpoint_id, answered_in)
            if len(self.answer_seconds) >= _MAX_REMEMBERED_ENDPOINTS:
                self.answer_seconds.clear()
            self.answer_seconds[endpoint_id] = known + _SMOOTHING * (answered_in - known)
        self.claimed[endpoint_id] -= 1
        self.total -= 1
        left = self.claimed[endpoint_id]
        if left == 0:
            del self.claimed[endpoint_id]
        # Room for a claim worth its round trips: half of what may wait for this endpoint has gone. (Its
        # depth moves as answers come in, so no exact count would be sure to be hit.)
        if left <= self.depth(endpoint_id) // 2:
            self.room.set()

    def finished(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        self.outcome_ready.set()
