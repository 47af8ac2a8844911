"""Platform administration: a tenant's rate-limit plan."""

import uuid

from fastapi import APIRouter

from gateway_svc.dependencies import PlatformAdmin, PlatformRoute, RateLimitsDep
from gateway_svc.ratelimit import service as rate_limits
from gateway_svc.ratelimit.schemas import RateLimitPlanRead, RateLimitPlanUpdate
from qunyun_shared.dependencies import DbSession

router = APIRouter(
    prefix="/admin/tenants/{tenant_id}/rate-limits",
    tags=["admin"],
    dependencies=[PlatformAdmin],
    route_class=PlatformRoute,
)


@router.get("", response_model=RateLimitPlanRead, summary="The rate-limit plan a tenant is on")
async def get_rate_limits(tenant_id: uuid.UUID, session: DbSession, limits: RateLimitsDep) -> RateLimitPlanRead:
    return await rate_limits.get_plan(session=session, tenant_id=tenant_id, default=limits.plans.default)


@router.put("", response_model=RateLimitPlanRead, summary="Put a tenant on a plan of its own")
async def put_rate_limits(
    tenant_id: uuid.UUID, body: RateLimitPlanUpdate, session: DbSession, limits: RateLimitsDep
) -> RateLimitPlanRead:
    plan = await rate_limits.set_plan(session=session, tenant_id=tenant_id, plan_in=body)
    # This replica applies it at once; the others within rate_limit_plan_cache_seconds.
    limits.plans.forget(str(tenant_id))
    return plan


@router.delete("", response_model=RateLimitPlanRead, summary="Put a tenant back on the platform's default plan")
async def reset_rate_limits(tenant_id: uuid.UUID, session: DbSession, limits: RateLimitsDep) -> RateLimitPlanRead:
    plan = await rate_limits.reset_plan(session=session, tenant_id=tenant_id, default=limits.plans.default)
    limits.plans.forget(str(tenant_id))
    return plan
