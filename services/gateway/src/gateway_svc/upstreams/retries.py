"""When a failed upstream exchange may be tried again, and how long to wait first."""

import random
from collections.abc import Mapping
from dataclasses import dataclass

IDEMPOTENCY_HEADER = "idempotency-key"
# RFC 9110 9.2.2; POST and PATCH join them when they carry an Idempotency-Key, which every service honours.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# The service (or a proxy in front of it) says it could not take the request now: it did nothing.
RETRIED_STATUSES = frozenset({502, 503})


def is_idempotent(method: str, headers: Mapping[str, str]) -> bool:
    """Whether sending the request twice has the effect of sending it once: every service answers a repeated
    `Idempotency-Key` with its first answer (a blank one is no key)."""
    keyed = bool(headers.get(IDEMPOTENCY_HEADER, "").strip())
    return method in IDEMPOTENT_METHODS or (method in ("POST", "PATCH") and keyed)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int
    """Attempts in all, the first included."""
    backoff_seconds: float
    """The longest wait before the second attempt; it doubles for each one after."""

    def delay(self, attempt: int) -> float:
        """A random wait after failed attempt number `attempt` (full jitter, so retries do not arrive in step)."""
        return random.uniform(0, self.backoff_seconds * 2 ** (attempt - 1))
