"""The editorial calendar: scheduling items into communities within their flooding policy, and suggesting
the hours a community's members are most likely to read."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from content_svc.audience import service as audience
from content_svc.audience.models import Community
from content_svc.calendar import flooding
from content_svc.calendar.models import Placement
from content_svc.calendar.schemas import PushPolicy, ScheduleRequest, SlotSuggestion
from content_svc.engagement.models import CommunityHourActivity
from content_svc.exceptions import (
    AlreadyPublished,
    ContentNotReady,
    FloodingPolicyBreached,
    OutsideTarget,
    PlacementNotFound,
    ScheduleInPast,
)
from content_svc.items import service as items

# When members of a persona read, from the operating plans (mothers 20-22h; office workers 7-9h and
# 12-14h) and the brands' own observations for the others. Persona names are member tags.
PERSONA_HOURS: dict[str, tuple[int, ...]] = {
    "宝妈": (20, 21),
    "职场新人": (7, 8, 12, 13),
    "上班族": (7, 8, 12, 13),
    "学生": (12, 18, 21),
    "健身爱好者": (6, 7, 19),
    "银发族": (8, 9, 15),
}
# Lunch and evening: when most people look at their phones.
DEFAULT_HOURS = (20, 12, 8)
_LEAD = timedelta(minutes=5)


async def schedule(
    *, session: AsyncSession, tenant_id: str, content_id: uuid.UUID, request: ScheduleRequest, now: datetime
) -> list[Placement]:
    """Puts an item on the calendar of each community, all or none: a community that would break its
    policy refuses the whole schedule, with every reason."""
    publish_at = request.publish_at.astimezone(UTC)
    if publish_at <= now:
        raise ScheduleInPast(f"{request.publish_at.isoformat()} is not in the future.", field="publish_at")
    item = await items.get_item(session=session, tenant_id=tenant_id, item_id=content_id)
    if item.status != "ready" or item.source == "UGC":
        raise ContentNotReady(f"Content {content_id} is {item.status if item.source != 'UGC' else 'a member post'}.")
    targets = set(item.target_communities)
    outside = [c for c in request.community_ids if targets and str(c) not in targets]
    if outside:
        raise OutsideTarget(f"Content {content_id} does not target communities {', '.join(map(str, outside))}.")
    breaches = []
    placements = []
    # Communities in id order, locked: concurrent schedules into one community run one after the other,
    # so two of them cannot both take the day's last slot.
    for community_id in sorted(set(request.community_ids)):
        community = await audience.open_community(session=session, tenant_id=tenant_id, community_id=community_id)
        await session.refresh(community, with_for_update=True)
        reason = await flooding.policy_breach(
            session=session, community=community, content_type=item.content_type, at=publish_at
        )
        if reason is not None:
            breaches.append({"community_id": str(community_id), "reason": reason})
            continue
        placements.append(
            Placement(
                tenant_id=tenant_id,
                content_id=item.id,
                community_id=community_id,
                content_type=item.content_type,
                publish_at=publish_at,
                status="scheduled",
            )
        )
    if breaches:
        raise FloodingPolicyBreached("; ".join(b["reason"] for b in breaches), breaches=breaches)
    session.add_all(placements)
    await session.flush()
    return placements


async def cancel(*, session: AsyncSession, tenant_id: str, placement_id: uuid.UUID) -> Placement:
    """Cancels a placement that has not been published yet."""
    placement = await session.get(Placement, placement_id, with_for_update=True)
    if placement is None or placement.tenant_id != tenant_id:
        raise PlacementNotFound(f"No placement {placement_id}.")
    if placement.status != "scheduled":
        raise AlreadyPublished(f"Placement {placement_id} is {placement.status} already.")
    placement.status = "cancelled"
    return placement


async def calendar_of(
    *, session: AsyncSession, tenant_id: str, community_id: uuid.UUID, start: datetime, end: datetime
) -> list[Placement]:
    """A community's placements (scheduled, published or cancelled) with publish times in [start, end)."""
    community = await audience.get_community(session=session, tenant_id=tenant_id, community_id=community_id)
    rows = await session.scalars(
        select(Placement)
        .where(Placement.community_id == community.id, Placement.publish_at >= start, Placement.publish_at < end)
        .order_by(Placement.publish_at, Placement.id)
    )
    return list(rows.all())


async def placements_of(*, session: AsyncSession, tenant_id: str, content_id: uuid.UUID) -> list[Placement]:
    """Where and when an item is or was published, in publication order."""
    item = await items.get_item(session=session, tenant_id=tenant_id, item_id=content_id)
    rows = await session.scalars(
        select(Placement).where(Placement.content_id == item.id).order_by(Placement.publish_at)
    )
    return list(rows.all())


async def set_policy(
    *, session: AsyncSession, tenant_id: str, community_id: uuid.UUID, policy: PushPolicy
) -> Community:
    """Changes a community's push cap, promotion ceiling and time zone."""
    community = await audience.get_community(session=session, tenant_id=tenant_id, community_id=community_id)
    community.max_pushes_per_day = policy.max_pushes_per_day
    community.max_promotion_share = policy.max_promotion_share
    community.timezone = policy.timezone
    return community


@dataclass(frozen=True)
class BestHours:
    basis: str
    hours: list[int]
    personas: list[str]


async def best_hours(*, session: AsyncSession, community_id: uuid.UUID, min_engagements: int) -> BestHours:
    """The community's own engagement by hour once there is enough of it; until then the reading hours of
    the personas among its members; without those, lunch and evening."""
    histogram = {
        hour: count
        for hour, count in (
            await session.execute(
                select(CommunityHourActivity.hour, CommunityHourActivity.engagements).where(
                    CommunityHourActivity.community_id == community_id
                )
            )
        ).all()
    }
    if sum(histogram.values()) >= min_engagements:
        ranked = sorted(histogram, key=lambda h: (-histogram[h], h))
        return BestHours("engagement", ranked[:3], [])
    personas = await audience.audience_tag_counts(session=session, community_id=community_id, tags=list(PERSONA_HOURS))
    if personas:
        score: dict[int, int] = {}
        for persona, members in personas.items():
            for hour in PERSONA_HOURS[persona]:
                score[hour] = score.get(hour, 0) + members
        ranked = sorted(score, key=lambda h: (-score[h], h))
        return BestHours("persona", ranked[:3], sorted(personas, key=lambda p: (-personas[p], p)))
    return BestHours("default", list(DEFAULT_HOURS), [])


async def suggest_slots(
    *,
    session: AsyncSession,
    tenant_id: str,
    community_id: uuid.UUID,
    content_type: str,
    count: int,
    now: datetime,
    min_engagements: int,
) -> SlotSuggestion:
    """The next `count` times at the community's best hours that its policy still has room for."""
    community = await audience.open_community(session=session, tenant_id=tenant_id, community_id=community_id)
    best = await best_hours(session=session, community_id=community.id, min_engagements=min_engagements)
    zone = ZoneInfo(community.timezone)
    today = now.astimezone(zone).date()
    slots: list[datetime] = []
    for day in (today + timedelta(days=n) for n in range(14)):
        for hour in best.hours:
            at = datetime.combine(day, time(hour), zone).astimezone(UTC)
            if at <= now + _LEAD:
                continue
            planned = [(slot, content_type) for slot in slots]
            breach = await flooding.policy_breach(
                session=session, community=community, content_type=content_type, at=at, planned=planned
            )
            if breach is None:
                slots.append(at)
        if len(slots) >= count:
            break
    return SlotSuggestion(
        community_id=community.id,
        basis=best.basis,
        personas=best.personas,
        hours=best.hours,
        slots=sorted(slots)[:count],
    )
