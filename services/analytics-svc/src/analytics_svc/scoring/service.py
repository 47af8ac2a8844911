"""Scoring's use cases: a member's scores now, the tenant's members per segment, the tenant's fitted model,
and refits asked for through the API (run in the background: analytics_svc.scoring.refits)."""

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.exceptions import MemberNotFound, ModelNotFitted, PermissionDenied, RefitJobNotFound
from analytics_svc.ingestion.models import MemberFacts
from analytics_svc.scoring import valuation
from analytics_svc.scoring.models import UNFINISHED, RefitJob, TenantModel
from analytics_svc.scoring.rfm import SEGMENTS
from analytics_svc.scoring.schemas import MemberScores, SegmentCount, TenantModelRead
from qunyun_shared.db import upsert
from qunyun_shared.identity import Identity

WRITE_PERMISSION = "analytics:write"


async def member_scores(*, session: AsyncSession, tenant_id: str, member_id: uuid.UUID, now: datetime) -> MemberScores:
    """The member's segment and churn flag as last decided, and their scores against the tenant's fit now."""
    member = await session.scalar(select(MemberFacts).where(MemberFacts.member_id == member_id))
    if member is None or member.tenant_id != tenant_id:
        raise MemberNotFound(f"No member {member_id} is known to analytics.")
    return valuation.member_scores(member, await session.get(TenantModel, tenant_id), now)


async def segment_counts(*, session: AsyncSession, tenant_id: str) -> list[SegmentCount]:
    """How many of the tenant's members are in each segment, every segment listed."""
    rows = await session.execute(
        select(MemberFacts.segment, func.count())
        .where(MemberFacts.tenant_id == tenant_id, MemberFacts.segment.is_not(None))
        .group_by(MemberFacts.segment)
    )
    counted = {segment: members for segment, members in rows}
    return [SegmentCount(segment=name, members=counted.get(name, 0)) for name in SEGMENTS]


async def tenant_model(*, session: AsyncSession, tenant_id: str) -> TenantModelRead:
    """The tenant's model as last fitted; ModelNotFitted before its first fit."""
    model = await session.get(TenantModel, tenant_id)
    if model is None:
        raise ModelNotFitted(
            "The tenant's model is fitted once analytics has its first members' events, and refitted periodically "
            "or when asked (POST /analytics/segments/recompute)."
        )
    return TenantModelRead.of(model)


async def request_refit(*, session: AsyncSession, caller: Identity, now: datetime) -> RefitJob:
    """A refit of the caller's tenant's model queued for the background, or the one already queued or
    running (at most one of a tenant is: it refits from all that is there when it starts)."""
    if not {"*", WRITE_PERMISSION} & caller.permissions:
        raise PermissionDenied(f"Refitting the model needs the {WRITE_PERMISSION} permission.")
    job = None
    while job is None:
        # The unique index of unfinished jobs keeps a second one out, whoever asks at the same moment; one
        # finishing between the insert and the look-up lets the next turn queue a new one.
        queued = {"id": uuid.uuid4(), "tenant_id": caller.tenant_id, "status": "queued", "created_at": now}
        await session.execute(
            upsert(session, RefitJob.__table__).values(queued | {"attempts": 0}).on_conflict_do_nothing()
        )
        job = await session.scalar(
            select(RefitJob)
            .where(RefitJob.tenant_id == caller.tenant_id, RefitJob.status.in_(UNFINISHED))
            .execution_options(populate_existing=True)
        )
    return job


async def refit_job(*, session: AsyncSession, tenant_id: str, job_id: uuid.UUID) -> RefitJob:
    """One of the tenant's refits; RefitJobNotFound for any other id."""
    job = await session.get(RefitJob, job_id, populate_existing=True)
    if job is None or job.tenant_id != tenant_id:
        raise RefitJobNotFound(f"No refit {job_id}.")
    return job
