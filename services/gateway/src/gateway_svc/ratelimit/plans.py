"""Each tenant's rate-limit plan: its own when the platform set one, the platform's default otherwise."""

import time
import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway_svc.exceptions import TenantNotFound
from gateway_svc.ratelimit.limiter import Plan, Quota
from gateway_svc.ratelimit.models import TenantRateLimit
from gateway_svc.ratelimit.schemas import RateLimitPlanRead, RateLimitPlanUpdate
from gateway_svc.tenants.models import Tenant


def plan_of(row: TenantRateLimit) -> Plan:
    return Plan(
        credential=Quota(row.per_credential, row.window_seconds), tenant=Quota(row.per_tenant, row.window_seconds)
    )


def read_plan(*, tenant_id: uuid.UUID, plan: Plan, custom: bool) -> RateLimitPlanRead:
    return RateLimitPlanRead(
        tenant_id=tenant_id,
        per_credential=plan.credential.limit,
        per_tenant=plan.tenant.limit,
        window_seconds=plan.tenant.window_seconds,
        custom=custom,
    )


async def _existing_tenant(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    if await session.get(Tenant, tenant_id) is None:
        raise TenantNotFound(f"No tenant {tenant_id}.")


async def get_plan(*, session: AsyncSession, tenant_id: uuid.UUID, default: Plan) -> RateLimitPlanRead:
    """The plan a tenant is on."""
    await _existing_tenant(session, tenant_id)
    row = await session.get(TenantRateLimit, tenant_id)
    return read_plan(tenant_id=tenant_id, plan=default if row is None else plan_of(row), custom=row is not None)


async def set_plan(*, session: AsyncSession, tenant_id: uuid.UUID, plan_in: RateLimitPlanUpdate) -> RateLimitPlanRead:
    """Puts a tenant on a plan of its own."""
    await _existing_tenant(session, tenant_id)
    row = await session.get(TenantRateLimit, tenant_id)
    if row is None:
        row = TenantRateLimit(tenant_id=tenant_id)
        session.add(row)
    row.per_credential, row.per_tenant, row.window_seconds = (
        plan_in.per_credential,
        plan_in.per_tenant,
        plan_in.window_seconds,
    )
    await session.flush()
    return read_plan(tenant_id=tenant_id, plan=plan_of(row), custom=True)


async def reset_plan(*, session: AsyncSession, tenant_id: uuid.UUID, default: Plan) -> RateLimitPlanRead:
    """Puts a tenant back on the platform's default plan."""
    await _existing_tenant(session, tenant_id)
    row = await session.get(TenantRateLimit, tenant_id)
    if row is not None:
        await session.delete(row)
        await session.flush()
    return read_plan(tenant_id=tenant_id, plan=default, custom=False)


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
