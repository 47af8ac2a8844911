"""What members' actions teach: each community's engagement by local hour (behind best-slot suggestions) and
each member's affinity for content tags (behind the feed's ranking)."""

import uuid
from collections import Counter
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from content_svc.audience.models import Community
from content_svc.engagement.models import CommunityHourActivity, MemberAffinity
from content_svc.items.models import ContentItem
from qunyun_shared.db import insert_rows, one_of

_HOURS = cast(Table, CommunityHourActivity.__table__)
_AFFINITY = cast(Table, MemberAffinity.__table__)
# How much each action says about a member's interest in the item's tags.
AFFINITY_WEIGHT = {"view": 1.0, "complete": 2.0, "click": 2.0, "like": 3.0, "comment": 4.0, "share": 5.0}


async def learn(*, session: AsyncSession, tenant_id: str, stored: list[dict[str, Any]]) -> None:
    """Counts the actions into the hour histograms and the members' tag affinities. Keys go in sorted order
    so concurrent batches lock shared rows in the same order and never deadlock."""
    if not stored:
        return
    community_ids = {r["community_id"] for r in stored if r["community_id"] is not None}
    zones = dict(
        (await session.execute(select(Community.id, Community.timezone).where(Community.id.in_(community_ids)))).all()
    )
    by_hour = Counter(
        (r["community_id"], r["occurred_at"].astimezone(ZoneInfo(zones[r["community_id"]])).hour)
        for r in stored
        if r["community_id"] in zones
    )
    if by_hour:
        rows = [{"community_id": c, "hour": h, "engagements": n} for (c, h), n in sorted(by_hour.items())]
        statement, parameters = insert_rows(session, _HOURS, rows)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["community_id", "hour"],
                set_={"engagements": _HOURS.c.engagements + statement.excluded.engagements},
            ),
            parameters,
        )
    tags = dict(
        (
            await session.execute(
                select(ContentItem.id, ContentItem.tags).where(
                    one_of(session, ContentItem.id, {r["content_id"] for r in stored})
                )
            )
        ).all()
    )
    interest: dict[tuple[uuid.UUID, str], float] = {}
    for r in stored:
        for tag in tags.get(r["content_id"], []):
            key = (r["member_id"], tag)
            interest[key] = interest.get(key, 0.0) + AFFINITY_WEIGHT[r["action"]]
    if interest:
        rows = [
            {"member_id": m, "tag": t, "tenant_id": tenant_id, "weight": w} for (m, t), w in sorted(interest.items())
        ]
        # One statement of column arrays, not an executemany: a history batch touches thousands of pairs.
        statement, parameters = insert_rows(session, _AFFINITY, rows)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["member_id", "tag"], set_={"weight": _AFFINITY.c.weight + statement.excluded.weight}
            ),
            parameters,
        )
