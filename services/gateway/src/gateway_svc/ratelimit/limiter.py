"""Budgets shared by every gateway replica: one atomic Redis script checks a credential and its tenant.

The algorithm is GCRA (the generic cell rate algorithm, a leaky bucket kept as one timestamp): a
quota of `limit` requests per `window_seconds` is replenished smoothly, one request every
`window / limit`, and at most `limit` may be spent at once. Against a fixed window it has no boundary
burst (twice the quota across a window edge); against a sliding-window log it keeps one number per
budget instead of one entry per request; and it yields an exact Retry-After. Redis' own clock times
every budget, so replicas with skewed clocks still agree.
"""

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from prometheus_client import Counter
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

CREDENTIAL, TENANT = "credential", "tenant"

UNCHECKED = Counter(
    "qunyun_gateway_rate_limit_unchecked_total",
    "Requests let through without a rate-limit check because Redis failed or did not answer in time.",
)
REFUSED = Counter("qunyun_gateway_rate_limited_total", "Requests refused by a rate limit.", ["policy"])

# KEYS: the budgets (a credential's and its tenant's, say). ARGV: limit and window (µs) of each, in that
# order. Each budget stores its theoretical arrival time (TAT) in µs; a request is admitted when, after
# adding one interval, the TAT stays within a window of now. Every budget is charged, or none.
# Returns {admitted, retry_after_ms, then per budget: remaining, reset_ms, exceeded}.
_GCRA = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local admitted, retry_after = 1, 0
local budgets = {}
for i = 1, #KEYS do
  local limit, window = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local interval = window / limit
  local tat = math.max(tonumber(redis.call('GET', KEYS[i])) or now, now)
  local wait = tat + interval - window - now
  -- Half a microsecond of slack absorbs the rounding of window / limit.
  if wait > 0.5 then
    admitted = 0
    retry_after = math.max(retry_after, wait)
  end
  budgets[i] = {tat = tat, interval = interval, window = window, exceeded = wait > 0.5}
end
local result = {admitted, math.ceil(retry_after / 1000)}
for i = 1, #KEYS do
  local b = budgets[i]
  local tat = b.tat
  if admitted == 1 then
    tat = tat + b.interval
    redis.call('SET', KEYS[i], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1)
  end
  table.insert(result, math.floor((now + b.window - tat + 0.5) / b.interval))
  table.insert(result, math.ceil((tat - now) / 1000))
  table.insert(result, b.exceeded and 1 or 0)
end
return result
"""


@dataclass(frozen=True, slots=True)
class Quota:
    """`limit` requests per `window_seconds`, replenished smoothly; at most `limit` at once."""

    limit: int
    window_seconds: int


@dataclass(frozen=True, slots=True)
class Plan:
    """What one credential, and its whole tenant together, may spend."""

    credential: Quota
    tenant: Quota

    @property
    def policies(self) -> "Policies":
        return ((CREDENTIAL, self.credential), (TENANT, self.tenant))


# The budgets one request is charged to, by policy name, in the order of their keys.
Policies = Sequence[tuple[str, Quota]]


@dataclass(frozen=True, slots=True)
class Budget:
    """One policy's budget after a request: what is left and when it is whole again."""

    policy: str
    quota: Quota
    remaining: int
    reset_seconds: int
    exceeded: bool


@dataclass(frozen=True, slots=True)
class Decision:
    admitted: bool
    retry_after_seconds: int
    budgets: tuple[Budget, ...]

    @property
    def violated(self) -> list[str]:
        return [budget.policy for budget in self.budgets if budget.exceeded]


def budget_keys(prefix: str, tenant_id: str, principal: str, plan: Plan) -> list[str]:
    """The Redis keys of a credential's and its tenant's budget under `plan`.

    The tenant is their hash tag, so on a Redis Cluster both sit in one slot, as a script touching two
    keys needs. The quota is part of the key: a tenant put on another plan starts it with whole
    budgets, rather than with a debt counted in the old plan's terms (the old keys expire).
    """
    base = f"{prefix}:ratelimit:{{{tenant_id}}}"
    credential, tenant = plan.credential, plan.tenant
    return [
        f"{base}:{CREDENTIAL}:{credential.limit}/{credential.window_seconds}:{principal}",
        f"{base}:{TENANT}:{tenant.limit}/{tenant.window_seconds}",
    ]


def _seconds(milliseconds: int) -> int:
    return -(-milliseconds // 1000)


def decision_of(reply: list[int], policies: Policies) -> Decision:
    """Reads the script's reply. A spent budget's effective window (`t`) is Retry-After: no request
    fits before then, and the draft wants Retry-After no earlier than the effective window's end."""
    admitted, retry_after = bool(reply[0]), max(1, _seconds(reply[1]))
    budgets = []
    for index, (policy, quota) in enumerate(policies):
        remaining, reset_ms, exceeded = reply[2 + 3 * index : 5 + 3 * index]
        reset = retry_after if exceeded else _seconds(reset_ms)
        budgets.append(Budget(policy, quota, max(0, remaining), reset, bool(exceeded)))
    return Decision(admitted, 0 if admitted else retry_after, tuple(budgets))


class RateLimiter:
    """Charges requests to the budgets in Redis. When Redis fails or is slow it lets requests through
    unchecked (fail open): a cache outage must not take the platform's API down. It then leaves Redis
    alone for `pause_seconds` so an outage does not cost every request a timeout.

    At most `max_in_flight` checks talk to Redis at once (the size of its connection pool); the others
    wait their turn, which a script taking well under a millisecond makes short.
    """

    def __init__(self, redis: Redis, *, key_prefix: str, max_in_flight: int, pause_seconds: float = 1.0) -> None:
        self.redis = redis
        self.key_prefix = key_prefix
        self.pause_seconds = pause_seconds
        self._script = redis.register_script(_GCRA)
        self._in_flight = asyncio.Semaphore(max_in_flight)
        self._paused_until = 0.0
        self._failing = False

    async def charge(self, *, tenant_id: str, principal: str, plan: Plan) -> Decision | None:
        """Charges one request to the credential and its tenant, or refuses it; None when unchecked."""
        return await self.charge_budgets(budget_keys(self.key_prefix, tenant_id, principal, plan), plan.policies)

    async def charge_budgets(self, keys: list[str], policies: Policies) -> Decision | None:
        """Charges one request to every budget (the keys share a cluster hash tag), or to none of them
        and refuses it; None when unchecked."""
        args = [arg for _, quota in policies for arg in (quota.limit, quota.window_seconds * 1_000_000)]
        async with self._in_flight:
            # After the wait: checks queued while Redis failed skip it instead of queueing for timeouts.
            if time.monotonic() < self._paused_until:
                UNCHECKED.inc()
                return None
            try:
                reply = await self._script(keys=keys, args=args)
            except (RedisError, OSError) as exc:
                self._unchecked(exc)
                return None
        if self._failing:
            self._failing = False
            log.info("rate limits are checked again: Redis answers")
        decision = decision_of(reply, policies)
        for policy in decision.violated:
            REFUSED.labels(policy).inc()
        return decision

    def _unchecked(self, exc: Exception) -> None:
        UNCHECKED.inc()
        self._paused_until = time.monotonic() + self.pause_seconds
        if not self._failing:
            self._failing = True
            log.warning(
                "rate limits unchecked (failing open; sign-ins and unknown API keys limited in process): Redis failed",
                extra={"error": repr(exc)},
            )
