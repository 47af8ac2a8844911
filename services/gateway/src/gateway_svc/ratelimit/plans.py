"""Each tenant's rate-limit plan: its own when the platform set one, the platform's default otherwise."""

import time
import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway_svc.ratelimit.limiter import Plan, Quota
from gateway_svc.ratelimit.models import TenantRateLimit


def plan_of(row: TenantRateLimit) -> Plan:
    return Plan(
        credential=Quota(row.per_credential, row.window_seconds), tenant=Quota(row.per_tenant, row.window_seconds)
    )


class TenantPlans:
    """The plan of each tenant, looked up at most once per `ttl_seconds` on each replica: a plan the
    platform changes reaches the other replicas within that time."""

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], default: Plan, *, ttl_seconds: float = 10.0
    ) -> None:
        self.sessionmaker = sessionmaker
        self.default = default
        self.ttl_seconds = ttl_seconds
        self._cache: dict[str, tuple[float, Plan]] = {}

    async def plan_for(self, tenant_id: str) -> Plan:
        now = time.monotonic()
        cached = self._cache.get(tenant_id)
        if cached is None or now - cached[0] > self.ttl_seconds:
            async with self.sessionmaker() as session:
                row = await session.get(TenantRateLimit, uuid.UUID(tenant_id))
            cached = (now, self.default if row is None else plan_of(row))
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[tenant_id] = cached
        return cached[1]

    def forget(self, tenant_id: str) -> None:
        """Drops what this replica knows of a tenant's plan, after the platform changed it here."""
        self._cache.pop(tenant_id, None)
