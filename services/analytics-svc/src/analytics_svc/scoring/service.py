"""Scoring's use cases: a member's scores now, the tenant's members per segment, the full recompute on
request."""

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc import locks
from analytics_svc.exceptions import MemberNotFound, PermissionDenied, RecomputeRunning
from analytics_svc.ingestion.models import MemberFacts
from analytics_svc.scoring import segments, valuation
from analytics_svc.scoring.models import TenantModel
from analytics_svc.scoring.rfm import SEGMENTS
from analytics_svc.scoring.schemas import MemberScores, Recomputed, SegmentCount
from qunyun_shared.identity import Identity
from qunyun_shared.outbox import Outbox

WRITE_PERMISSION = "analytics:write"


async def member_scores(*, session: AsyncSession, tenant_id: str, member_id: uuid.UUID, now: datetime) -> MemberScores:
    """The member's segment and churn flag as last decided, and their scores against the tenant's fit now."""
    member = await session.scalar(select(MemberFacts).where(MemberFacts.member_id == member_id))
    if member is None or member.tenant_id != tenant_id:
        raise MemberNotFound(f"No member {member_id} is known to analytics.")
    return valuation.member_scores(member, await session.get(TenantModel, tenant_id), now)


async def recompute_segments(*, session: AsyncSession, outbox: Outbox, caller: Identity, now: datetime) -> Recomputed:
    """Refits the caller's tenant's model and rescores every member now, unless a refit of it is running."""
    if not {"*", WRITE_PERMISSION} & caller.permissions:
        raise PermissionDenied(f"Recomputing segments needs the {WRITE_PERMISSION} permission.")
    if not await locks.try_hold_tenant_model(session=session, tenant_id=caller.tenant_id):
        raise RecomputeRunning("The tenant's segments are being recomputed now; ask again once that is done.")
    members = await segments.recompute(session=session, outbox=outbox, tenant_id=caller.tenant_id, now=now)
    model = await session.get(TenantModel, caller.tenant_id)
    assert model is not None  # the recompute has just fitted it
    return Recomputed(members=members, fitted_at=model.fitted_at, purchase_model=model.purchases is not None)


async def segment_counts(*, session: AsyncSession, tenant_id: str) -> list[SegmentCount]:
    """How many of the tenant's members are in each segment, every segment listed."""
    rows = await session.execute(
        select(MemberFacts.segment, func.count())
        .where(MemberFacts.tenant_id == tenant_id, MemberFacts.segment.is_not(None))
        .group_by(MemberFacts.segment)
    )
    counted = {segment: members for segment, members in rows}
    return [SegmentCount(segment=name, members=counted.get(name, 0)) for name in SEGMENTS]
