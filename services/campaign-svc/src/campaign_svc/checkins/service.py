"""Check-in challenges (21-day 打卡): one check-in per member per local day of the tenant, streaks, and
rewards when a streak reaches a milestone; each check-in is told as `checkin.recorded`."""

import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc.campaigns import service as campaigns
from campaign_svc.checkins.history import member_lock
from campaign_svc.checkins.models import Checkin, CheckinMilestone
from campaign_svc.checkins.schemas import CheckinProgress, CheckinRead, CheckinSettings, Milestone, MilestoneRead
from campaign_svc.exceptions import AlreadyCheckedIn, ChallengeCompleted
from campaign_svc.members import service as members
from campaign_svc.rewards import service as rewards
from campaign_svc.tenants import service as tenants
from qunyun_shared import advisory_locks
from qunyun_shared.events.campaign import CheckinRecordedV1
from qunyun_shared.outbox import Outbox
from qunyun_shared.problems import DomainError


async def check_in(
    *,
    session: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    campaign_id: uuid.UUID,
    member_id: uuid.UUID,
    now: datetime,
) -> CheckinRead:
    """Records the member's check-in for the tenant's local day: the streak goes on from yesterday or starts
    again at 1, and a milestone the streak reaches for the first time grants its reward."""
    campaign = await campaigns.running_campaign(
        session=session, tenant_id=tenant_id, campaign_id=campaign_id, now=now, kind="checkin"
    )
    settings = CheckinSettings.model_validate(campaign.settings)
    await members.get_member(session=session, tenant_id=tenant_id, member_id=member_id)
    day = (await tenants.clock_of(session=session, tenant_id=tenant_id)).local_day(now)
    # The streak follows from the member's days: an import of their history waits, or is waited for.
    await advisory_locks.hold(session, [member_lock(campaign.id, member_id)])
    history = await _history(session, campaign.id, member_id)
    already = AlreadyCheckedIn(f"Member {member_id} has checked in on {day.isoformat()} already.", day=day.isoformat())
    # A later day than today can be on record only if the tenant moved its time zone west.
    if history and history[-1].day >= day:
        raise already
    if len(history) >= settings.days:
        raise ChallengeCompleted(f"Member {member_id} has checked in on all {settings.days} days of the challenge.")
    streak = history[-1].streak + 1 if history and history[-1].day == day - timedelta(days=1) else 1
    checkin = Checkin(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        campaign_id=campaign.id,
        member_id=member_id,
        day=day,
        streak=streak,
        checked_in_at=now,
    )
    session.add(checkin)
    try:
        await session.flush()
    except IntegrityError:
        # Two check-ins at once: the request's transaction is rolled back whole, nothing is kept.
        raise already from None
    recorded = CheckinRecordedV1(campaign_id=campaign.id, member_id=member_id, day=day, streak=streak)
    await outbox.add(session, tenant_id=tenant_id, payloads=[recorded])
    milestone = next((m for m in settings.milestones if m.day == streak), None)
    reached = await _reach(session, outbox, checkin, milestone, now) if milestone else None
    return CheckinRead(
        campaign_id=campaign.id,
        member_id=member_id,
        day=day,
        streak=streak,
        checked_in_at=now,
        milestones=[reached] if reached else [],
    )


async def _history(session: AsyncSession, campaign_id: uuid.UUID, member_id: uuid.UUID) -> list[Checkin]:
    """The member's check-ins in the challenge, oldest first: at most one per challenge day."""
    return list(
        await session.scalars(
            select(Checkin)
            .where(Checkin.campaign_id == campaign_id, Checkin.member_id == member_id)
            .order_by(Checkin.day)
        )
    )


async def _reach(
    session: AsyncSession, outbox: Outbox, checkin: Checkin, milestone: Milestone, now: datetime
) -> MilestoneRead | None:
    """Grants the milestone's reward the first time the member reaches it, in a savepoint: a reward that
    cannot be issued is noted, and the check-in stands."""
    key = (checkin.campaign_id, checkin.member_id, milestone.day)
    if await session.get(CheckinMilestone, key) is not None:
        return None
    reached = CheckinMilestone(
        campaign_id=checkin.campaign_id,
        member_id=checkin.member_id,
        day=milestone.day,
        tenant_id=checkin.tenant_id,
        reached_on=checkin.day,
    )
    try:
        async with session.begin_nested():
            granted = await rewards.grant(
                session=session,
                outbox=outbox,
                tenant_id=checkin.tenant_id,
                member_id=checkin.member_id,
                reward=milestone.reward,
                campaign_id=checkin.campaign_id,
                source=f"checkin:{checkin.campaign_id}:{checkin.member_id}:{milestone.day}",
                reason="checkin_milestone",
                now=now,
            )
        reached.granted = granted.model_dump(mode="json")
    except DomainError as refused:
        reached.grant_error = refused.detail[:500]
    session.add(reached)
    await session.flush()
    return MilestoneRead.model_validate(reached)


async def progress_of(
    *, session: AsyncSession, tenant_id: str, campaign_id: uuid.UUID, member_id: uuid.UUID, now: datetime
) -> CheckinProgress:
    """The days a member checked in, their current and longest streak, the milestones they reached."""
    campaign = await campaigns.get_campaign(
        session=session, tenant_id=tenant_id, campaign_id=campaign_id, kind="checkin"
    )
    settings = CheckinSettings.model_validate(campaign.settings)
    history = await _history(session, campaign.id, member_id)
    today = (await tenants.clock_of(session=session, tenant_id=tenant_id)).local_day(now)
    # Yesterday's streak is still current: it goes on if the member checks in today.
    current = history[-1].streak if history and history[-1].day >= today - timedelta(days=1) else 0
    milestones = await session.scalars(
        select(CheckinMilestone)
        .where(CheckinMilestone.campaign_id == campaign.id, CheckinMilestone.member_id == member_id)
        .order_by(CheckinMilestone.day)
    )
    return CheckinProgress(
        campaign_id=campaign.id,
        member_id=member_id,
        days=settings.days,
        checked_in_days=[row.day for row in history],
        current_streak=current,
        longest_streak=max((row.streak for row in history), default=0),
        milestones=[MilestoneRead.model_validate(m) for m in milestones],
        completed=len(history) >= settings.days,
    )


async def forget_member(*, session: AsyncSession, tenant_id: str, member_id: uuid.UUID) -> None:
    """Deletes a member's check-ins and milestones (PIPL)."""
    for table in (Checkin, CheckinMilestone):
        await session.execute(delete(table).where(table.tenant_id == tenant_id, table.member_id == member_id))
