"""The calendar on real PostgreSQL under concurrent requests: a community's flooding policy holds however many
schedules race for its last slots, schedules into the same communities in any order never deadlock, and
replicas publishing at once publish each placement exactly once."""

import random
import uuid
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from content_svc.calendar import publishing
from content_svc.calendar import service as calendar
from content_svc.calendar.models import Placement
from content_svc.calendar.schemas import ScheduleRequest

from .world import OUTBOX, Tenant, at_once, outcome

pytestmark = pytest.mark.integration

SHANGHAI = ZoneInfo("Asia/Shanghai")


def tomorrow(hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in Shanghai tomorrow, well inside its local day."""
    day = datetime.now(SHANGHAI).date() + timedelta(days=1)
    return datetime.combine(day, time(hour, minute), SHANGHAI)


async def schedule(tenant: Tenant, content_id: uuid.UUID, communities: list[uuid.UUID], when: datetime) -> None:
    """One schedule request, in its own transaction."""
    request = ScheduleRequest(community_ids=communities, publish_at=when)
    await tenant.run(
        lambda session: calendar.schedule(
            session=session, tenant_id=tenant.tenant_id, content_id=content_id, request=request, now=datetime.now(UTC)
        )
    )


async def placements(tenant: Tenant, community_id: uuid.UUID) -> list[Placement]:
    async with AsyncSession(tenant.engine) as session:
        rows = await session.scalars(select(Placement).where(Placement.community_id == community_id))
        return list(rows.all())


async def test_schedules_racing_for_a_community_s_last_slots_never_exceed_its_daily_cap(tenant: Tenant) -> None:
    community = await tenant.community(max_pushes_per_day=3)
    await schedule(tenant, (await tenant.item()).id, [community], tomorrow(8))  # one of the three taken
    racing = [(await tenant.item(title=f"第{n}篇")).id for n in range(12)]

    answers = await at_once(*(schedule(tenant, item, [community], tomorrow(9, n)) for n, item in enumerate(racing)))

    assert Counter(map(outcome, answers)) == {"ok": 2, "FloodingPolicyBreached": 10}
    assert len(await placements(tenant, community)) == 3


async def test_promotions_racing_into_a_week_stay_under_its_promotion_ceiling(tenant: Tenant) -> None:
    community = await tenant.community(max_pushes_per_day=20, max_promotion_share=0.5)
    for hour in (8, 12):
        await schedule(tenant, (await tenant.item()).id, [community], tomorrow(hour))
    promotions = [(await tenant.item("promotion", title=f"新品{n}", body="限时 8 折")).id for n in range(8)]

    answers = await at_once(
        *(schedule(tenant, item, [community], tomorrow(18, n)) for n, item in enumerate(promotions))
    )

    # Two value pushes carry two promotions at a ceiling of half; a third would be 60%.
    assert Counter(map(outcome, answers)) == {"ok": 2, "FloodingPolicyBreached": 6}
    kinds = Counter(p.content_type for p in await placements(tenant, community))
    assert kinds == {"knowledge": 2, "promotion": 2}


async def test_schedules_into_the_same_communities_in_any_order_all_go_through(tenant: Tenant) -> None:
    communities = [await tenant.community(max_pushes_per_day=50) for _ in range(4)]
    chance = random.Random(20)
    requests = []
    for n in range(16):
        item = await tenant.item(title=f"第{n}篇")
        requests.append(schedule(tenant, item.id, chance.sample(communities, len(communities)), tomorrow(10, n)))

    answers = await at_once(*requests)

    # Each locks its communities in id order: none waits for another that waits for it (a deadlock, a 500).
    assert [outcome(a) for a in answers] == ["ok"] * 16
    for community in communities:
        assert len(await placements(tenant, community)) == 16


async def test_replicas_publishing_at_once_publish_each_placement_once(tenant: Tenant) -> None:
    community = await tenant.community(max_pushes_per_day=50)
    audience = [await tenant.member(community) for _ in range(3)]
    items = [(await tenant.item(title=f"第{n}篇")).id for n in range(40)]
    for n, item in enumerate(items):
        await schedule(tenant, item, [community], tomorrow(7) + timedelta(minutes=n))
    due = tomorrow(12)

    async def replica_round(session: AsyncSession) -> int:
        return await publishing.publish_due(session=session, outbox=OUTBOX, now=due)

    published = await at_once(*(tenant.run(replica_round) for _ in range(6)))

    # The publisher serves every tenant: other tests' due placements in this database may go out too.
    assert [outcome(p) for p in published] == ["ok"] * 6 and sum(published) >= 40  # type: ignore[arg-type]
    shown = await placements(tenant, community)
    assert Counter(p.status for p in shown) == {"published": 40}
    assert {p.audience_size for p in shown} == {len(audience)}
    posted = await tenant.events("content.posted")
    assert sorted(e.content_id for e in posted) == sorted(items)  # one content.posted each, no more


async def test_a_cancellation_racing_the_publisher_leaves_the_placement_published_or_cancelled_never_both(
    tenant: Tenant,
) -> None:
    community = await tenant.community(max_pushes_per_day=50)
    items = [(await tenant.item(title=f"第{n}篇")).id for n in range(20)]
    for n, item in enumerate(items):
        await schedule(tenant, item, [community], tomorrow(7) + timedelta(minutes=n))
    ids = [p.id for p in await placements(tenant, community)]

    async def cancel(placement_id: uuid.UUID) -> None:
        await tenant.run(
            lambda session: calendar.cancel(session=session, tenant_id=tenant.tenant_id, placement_id=placement_id)
        )

    async def publish(session: AsyncSession) -> int:
        return await publishing.publish_due(session=session, outbox=OUTBOX, now=tomorrow(12))

    answers = await at_once(tenant.run(publish), *(cancel(placement_id) for placement_id in ids))

    cancelled = {placement_id for placement_id, answer in zip(ids, answers[1:], strict=True) if outcome(answer) == "ok"}
    assert {outcome(a) for a in answers[1:]} <= {"ok", "AlreadyPublished"}
    shown = {p.id: p.status for p in await placements(tenant, community)}
    assert {i for i, status in shown.items() if status == "cancelled"} == cancelled
    posted = {e.content_id for e in await tenant.events("content.posted")}
    published_items = {p.content_id for p in await placements(tenant, community) if p.status == "published"}
    assert posted == published_items and len(posted) == 20 - len(cancelled)
