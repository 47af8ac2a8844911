"""The GCRA of the Redis script, kept in this process: what sign-ins and unknown API keys are held to
while Redis is away, rather than going unchecked.

Each replica counts on its own, so a client spreading its attempts over n replicas gets n times the
quota: still a limit, where failing open would be none.
"""

import math
import time
from collections import OrderedDict
from collections.abc import Callable

from gateway_svc.ratelimit.limiter import Budget, Decision, Policies

# A budget is a few dozen bytes; past this many the least recently charged is forgotten (a client
# forgotten starts over with a whole budget, which a flood of fresh addresses could exploit only by
# being that flood, which the address budgets of everyone else survive).
_MAX_BUDGETS = 100_000


class LocalLimiter:
    """Charges requests to budgets held in memory, every one of them or none, like the Redis script."""

    def __init__(self, *, max_budgets: int = _MAX_BUDGETS, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_budgets = max_budgets
        self._clock = clock
        self._arrivals: OrderedDict[str, float] = OrderedDict()  # key → theoretical arrival time (s)

    def charge(self, keys: list[str], policies: Policies) -> Decision:
        """Charges one request to every budget, or refuses it and charges none."""
        now = self._clock()
        arrivals = [max(self._arrivals.get(key, now), now) for key in keys]
        waits = [
            arrival + quota.window_seconds / quota.limit - quota.window_seconds - now
            for arrival, (_, quota) in zip(arrivals, policies, strict=True)
        ]
        admitted = all(wait <= 1e-6 for wait in waits)
        retry_after = 0 if admitted else max(1, math.ceil(max(waits)))
        budgets = []
        for key, arrival, wait, (policy, quota) in zip(keys, arrivals, waits, policies, strict=True):
            interval = quota.window_seconds / quota.limit
            if admitted:
                arrival += interval
                self._remember(key, arrival)
            remaining = max(0, math.floor((now + quota.window_seconds - arrival) / interval + 1e-6))
            exceeded = wait > 1e-6
            reset = retry_after if exceeded else math.ceil(arrival - now)
            budgets.append(Budget(policy, quota, remaining, reset, exceeded))
        return Decision(admitted, retry_after, tuple(budgets))

    def _remember(self, key: str, arrival: float) -> None:
        self._arrivals[key] = arrival
        self._arrivals.move_to_end(key)
        while len(self._arrivals) > self.max_budgets:
            self._arrivals.popitem(last=False)
