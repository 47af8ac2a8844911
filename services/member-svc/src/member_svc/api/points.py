"""Routes for a tenant's points policy: earn rules, expiry and levels."""

from fastapi import APIRouter

from member_svc import points
from member_svc.dependencies import IdempotentRoute
from member_svc.schemas import Levels, PointsPolicyBody
from qunyun_shared.dependencies import CurrentIdentity, DbSession, EventOutbox

router = APIRouter(prefix="/points", tags=["points"], route_class=IdempotentRoute)


@router.get("/policy", summary="Earn rules, expiry and time zone (defaults until set)")
async def get_policy(session: DbSession, caller: CurrentIdentity) -> PointsPolicyBody:
    return (await points.policy_of(session=session, tenant_id=caller.tenant_id)).rules


@router.put("/policy", summary="Replace the earn rules, expiry and time zone")
async def set_policy(body: PointsPolicyBody, session: DbSession, caller: CurrentIdentity) -> PointsPolicyBody:
    return (await points.set_rules(session=session, tenant_id=caller.tenant_id, rules=body)).rules


@router.get("/levels", summary="The level ladder (defaults until set)")
async def get_levels(session: DbSession, caller: CurrentIdentity) -> Levels:
    return (await points.policy_of(session=session, tenant_id=caller.tenant_id)).levels


@router.put("/levels", summary="Replace the level ladder; members move to the level it gives them")
async def set_levels(body: Levels, session: DbSession, outbox: EventOutbox, caller: CurrentIdentity) -> Levels:
    return (await points.set_levels(session=session, outbox=outbox, tenant_id=caller.tenant_id, levels=body)).levels
