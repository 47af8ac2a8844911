"""The flooding policy: how many pushes a community takes on its local day, and how much of any rolling
week may be promotion."""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from content_svc.audience.models import Community
from content_svc.calendar.models import Placement

WEEK = timedelta(days=7)


async def policy_breach(
    *,
    session: AsyncSession,
    community: Community,
    content_type: str,
    at: datetime,
    planned: Sequence[tuple[datetime, str]] = (),
) -> str | None:
    """Why one more push of `content_type` at `at` would break the community's policy, counting the
    calendar and the `planned` (time, type) pushes besides; None if it would not."""
    zone = ZoneInfo(community.timezone)
    local_day = at.astimezone(zone).date()
    day_start = datetime.combine(local_day, time(), zone).astimezone(UTC)
    nearby = await _pushes_between(
        session, community.id, min(day_start, at - WEEK), max(day_start + timedelta(days=1), at + WEEK)
    )
    nearby += planned
    same_day = sum(day_start <= t < day_start + timedelta(days=1) for t, _ in nearby)
    if same_day >= community.max_pushes_per_day:
        return (
            f"community {community.name} already has {same_day} pushes on {local_day.isoformat()}, "
            f"its cap is {community.max_pushes_per_day} a day"
        )
    if content_type != "promotion":
        return None  # value content only ever lowers the share of promotion
    pushes = sorted([*nearby, (at, "promotion")])
    # Every 7-day window that would hold the new push ends at it or at one of the pushes in the week after.
    for end in [at, *(t for t, _ in pushes if at < t < at + WEEK)]:
        window = [kind for t, kind in pushes if end - WEEK < t <= end]
        share = window.count("promotion") / len(window)
        if share > community.max_promotion_share + 1e-9:
            return (
                f"promotion would be {share:.0%} of community {community.name}'s pushes in the week to "
                f"{end.astimezone(zone).date().isoformat()}, its ceiling is {community.max_promotion_share:.0%}"
            )
    return None


async def _pushes_between(
    session: AsyncSession, community_id: uuid.UUID, start: datetime, end: datetime
) -> list[tuple[datetime, str]]:
    rows = await session.execute(
        select(Placement.publish_at, Placement.content_type).where(
            Placement.community_id == community_id,
            Placement.status != "cancelled",
            Placement.publish_at >= start,
            Placement.publish_at < end,
        )
    )
    return [(t, kind) for t, kind in rows]
