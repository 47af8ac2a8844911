"""The platform setting a tenant's rate-limit plan: its own, or back to the platform's default."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from gateway_svc.exceptions import TenantNotFound
from gateway_svc.ratelimit.limiter import Plan
from gateway_svc.ratelimit.models import TenantRateLimit
from gateway_svc.ratelimit.plans import plan_of
from gateway_svc.ratelimit.schemas import RateLimitPlanRead, RateLimitPlanUpdate
from gateway_svc.tenants.models import Tenant


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
