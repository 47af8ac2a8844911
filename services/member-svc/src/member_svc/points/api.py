"""Routes for points: a tenant's policy (earn rules, expiry and levels), and a member's points (summary, ledger,
spending and grants)."""

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.dependencies import IdempotentRoute
from member_svc.members import service as members
from member_svc.points import policy, view
from member_svc.points import service as points
from member_svc.points.schemas import (
    Levels,
    PointsChange,
    PointsEntryRead,
    PointsLedgerPage,
    PointsPolicyBody,
    PointsSummary,
)
from qunyun_shared.dependencies import CurrentIdentity, DbSession, EventOutbox
from qunyun_shared.idempotency import OptionalIdempotencyKey
from qunyun_shared.identity import Identity
from qunyun_shared.outbox import Outbox

router = APIRouter(prefix="/points", tags=["points"], route_class=IdempotentRoute)
# A member's points, under the member.
members_router = APIRouter(prefix="/members", tags=["members"], route_class=IdempotentRoute)


@router.get("/policy", summary="Earn rules, expiry, time zone and whether imported history earns (defaults until set)")
async def get_policy(session: DbSession, caller: CurrentIdentity) -> PointsPolicyBody:
    return (await policy.policy_of(session=session, tenant_id=caller.tenant_id)).rules


@router.put("/policy", summary="Replace the earn rules, expiry, time zone and whether imported history earns")
async def set_policy(body: PointsPolicyBody, session: DbSession, caller: CurrentIdentity) -> PointsPolicyBody:
    return (await policy.set_rules(session=session, tenant_id=caller.tenant_id, rules=body)).rules


@router.get("/levels", summary="The level ladder (defaults until set)")
async def get_levels(session: DbSession, caller: CurrentIdentity) -> Levels:
    return (await policy.policy_of(session=session, tenant_id=caller.tenant_id)).levels


@router.put("/levels", summary="Replace the level ladder; members move to the level it gives them")
async def set_levels(body: Levels, session: DbSession, outbox: EventOutbox, caller: CurrentIdentity) -> Levels:
    return (await policy.set_levels(session=session, outbox=outbox, tenant_id=caller.tenant_id, levels=body)).levels


# Keys this long go into the points ledger as they are (its sources had a key of at most 100 characters).
_LEDGER_KEY_LENGTH = 100


@members_router.get("/{member_id}/points", summary="Balance, level and the points expiring soon")
async def points_summary(member_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> PointsSummary:
    member = await members.get_member(session=session, tenant_id=caller.tenant_id, member_id=member_id)
    return await view.summary(session=session, member=member)


@members_router.get("/{member_id}/points/ledger", summary="The member's points ledger, newest first")
async def points_ledger(
    member_id: uuid.UUID,
    session: DbSession,
    caller: CurrentIdentity,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> PointsLedgerPage:
    await members.get_member(session=session, tenant_id=caller.tenant_id, member_id=member_id)
    return await view.ledger_page(session=session, member_id=member_id, limit=limit, cursor=cursor)


@members_router.post("/{member_id}/points/spend", status_code=status.HTTP_201_CREATED, summary="Redeem points")
async def spend_points(
    member_id: uuid.UUID,
    body: PointsChange,
    session: DbSession,
    outbox: EventOutbox,
    caller: CurrentIdentity,
    idempotency_key: OptionalIdempotencyKey,
) -> PointsEntryRead:
    return await _change_points(points.spend, member_id, body, session, outbox, caller, idempotency_key)


@members_router.post("/{member_id}/points/grants", status_code=status.HTTP_201_CREATED, summary="Grant points by hand")
async def grant_points(
    member_id: uuid.UUID,
    body: PointsChange,
    session: DbSession,
    outbox: EventOutbox,
    caller: CurrentIdentity,
    idempotency_key: OptionalIdempotencyKey,
) -> PointsEntryRead:
    return await _change_points(points.grant, member_id, body, session, outbox, caller, idempotency_key)


async def _change_points(
    change: points.PointsChanger,
    member_id: uuid.UUID,
    body: PointsChange,
    session: AsyncSession,
    outbox: Outbox,
    caller: Identity,
    idempotency_key: str | None,
) -> PointsEntryRead:
    await members.get_active_member(session=session, tenant_id=caller.tenant_id, member_id=member_id)
    entry = await change(
        session=session,
        outbox=outbox,
        tenant_id=caller.tenant_id,
        member_id=member_id,
        points=body.points,
        note=body.note,
        idempotency_key=_ledger_key(idempotency_key),
        at=datetime.now(UTC),
    )
    return PointsEntryRead.model_validate(entry)


def _ledger_key(idempotency_key: str | None) -> str | None:
    """The key as the points ledger records it (it keeps a change's source beyond the key's 24 hours):
    a long key by its digest, so that the source fits its column."""
    if idempotency_key is None or len(idempotency_key) <= _LEDGER_KEY_LENGTH:
        return idempotency_key
    return hashlib.sha256(idempotency_key.encode()).hexdigest()
