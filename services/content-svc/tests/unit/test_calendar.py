"""Scheduling within flooding policies, publishing exactly once, and best-slot suggestions."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from content_svc.calendar import publishing
from content_svc.calendar import service as calendar
from content_svc.calendar.schemas import PushPolicy, ScheduleRequest
from content_svc.engagement.models import CommunityHourActivity
from content_svc.exceptions import (
    CommunityNotFound,
    ContentNotReady,
    FloodingPolicyBreached,
    OutsideTarget,
    ScheduleInPast,
)
from qunyun_shared.events.member import CommunityArchivedV1

from .conftest import OUTBOX, TENANT, World

pytestmark = pytest.mark.unit

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def at(day: int, hour: int) -> datetime:
    """A Shanghai wall-clock time in the days after NOW."""
    return datetime(2026, 11, 23 + day, hour, tzinfo=SHANGHAI)


async def schedule(world: World, item_id, community_id, when: datetime):  # type: ignore[no-untyped-def]
    request = ScheduleRequest(community_ids=[community_id], publish_at=when)
    return await calendar.schedule(
        session=world.session, tenant_id=TENANT, content_id=item_id, request=request, now=NOW
    )


async def test_a_schedule_must_be_in_the_future_to_a_known_open_community_the_item_targets(world: World) -> None:
    community_id, elsewhere = await world.community(), await world.community("健身群")
    item = await world.item(target={"communities": [community_id]})
    with pytest.raises(ScheduleInPast):
        await schedule(world, item.id, community_id, NOW - timedelta(minutes=1))
    with pytest.raises(OutsideTarget):
        await schedule(world, item.id, elsewhere, at(1, 20))
    with pytest.raises(CommunityNotFound):
        await schedule(world, (await world.item()).id, await world.community(tenant_id="tenant-b"), at(1, 20))
    await world.deliver("member-svc", CommunityArchivedV1(community_id=community_id, archived_at=NOW))
    with pytest.raises(Exception, match="archived"):
        await schedule(world, item.id, community_id, at(1, 20))


async def test_held_content_cannot_be_scheduled(world: World) -> None:
    community_id = await world.community()
    item = await world.item("promotion", title="全网最低价", body="国家级品质")
    assert item.status == "held"
    with pytest.raises(ContentNotReady):
        await schedule(world, item.id, community_id, at(1, 20))


async def test_the_daily_cap_counts_pushes_on_the_communitys_local_day(world: World) -> None:
    community_id = await world.community()
    await calendar.set_policy(
        session=world.session,
        tenant_id=TENANT,
        community_id=community_id,
        policy=PushPolicy(max_pushes_per_day=2, max_promotion_share=1, timezone="Asia/Shanghai"),
    )
    for hour in (8, 20):
        await schedule(world, (await world.item()).id, community_id, at(1, hour))
    with pytest.raises(FloodingPolicyBreached, match="cap is 2 a day") as refused:
        await schedule(world, (await world.item()).id, community_id, at(1, 23))
    assert refused.value.extensions["breaches"][0]["community_id"] == str(community_id)
    # 00:30 the next day in Shanghai is still the previous day in UTC, but a new day for the community.
    await schedule(world, (await world.item()).id, community_id, at(2, 0) + timedelta(minutes=30))


async def test_promotion_may_not_exceed_its_share_of_any_rolling_week(world: World) -> None:
    community_id = await world.community()
    # Default policy: at most 30% promotion.
    for day in (1, 2, 3):
        await schedule(world, (await world.item()).id, community_id, at(day, 20))
    await schedule(world, (await world.item("promotion")).id, community_id, at(4, 20))  # 1 of 4: 25%
    with pytest.raises(FloodingPolicyBreached, match="promotion would be 40%"):
        await schedule(world, (await world.item("promotion")).id, community_id, at(5, 20))
    # Value content never breaks the share.
    await schedule(world, (await world.item("scenario")).id, community_id, at(5, 12))


async def test_a_promotion_is_refused_when_it_breaks_a_later_weeks_share(world: World) -> None:
    community_id = await world.community()
    await schedule(world, (await world.item()).id, community_id, at(1, 20))
    await schedule(world, (await world.item()).id, community_id, at(2, 20))
    await schedule(world, (await world.item()).id, community_id, at(3, 20))
    await schedule(world, (await world.item("promotion")).id, community_id, at(6, 20))
    # Before the three value pushes this promotion is the whole of its own trailing week: refused.
    with pytest.raises(FloodingPolicyBreached):
        await schedule(world, (await world.item("promotion")).id, community_id, at(0, 20))


async def test_a_schedule_into_several_communities_is_all_or_nothing(world: World) -> None:
    ok, full = await world.community(), await world.community("满群")
    await calendar.set_policy(
        session=world.session,
        tenant_id=TENANT,
        community_id=full,
        policy=PushPolicy(max_pushes_per_day=1, max_promotion_share=1, timezone="Asia/Shanghai"),
    )
    await schedule(world, (await world.item()).id, full, at(1, 8))
    item = await world.item()
    with pytest.raises(FloodingPolicyBreached):
        await calendar.schedule(
            session=world.session,
            tenant_id=TENANT,
            content_id=item.id,
            request=ScheduleRequest(community_ids=[ok, full], publish_at=at(1, 20)),
            now=NOW,
        )
    week = await calendar.calendar_of(
        session=world.session, tenant_id=TENANT, community_id=ok, start=NOW, end=NOW + timedelta(days=7)
    )
    assert week == []


async def test_the_publisher_publishes_each_due_placement_once_with_its_audience(world: World) -> None:
    community_id = await world.community()
    await world.member(community_id)
    await world.member(community_id)
    item = await world.item()
    [placement] = await schedule(world, item.id, community_id, at(0, 20))
    assert await publishing.publish_due(session=world.session, outbox=OUTBOX, now=at(0, 19)) == 0
    assert await publishing.publish_due(session=world.session, outbox=OUTBOX, now=at(0, 20)) == 1
    assert await publishing.publish_due(session=world.session, outbox=OUTBOX, now=at(0, 21)) == 0
    assert (placement.status, placement.audience_size) == ("published", 2)
    posted = [p for t, p in await world.events() if t == "content.posted"]
    assert [(p.content_id, p.community_id, p.source) for p in posted] == [(item.id, community_id, "PGC")]


async def test_slots_come_from_engagement_then_personas_then_defaults(world: World) -> None:
    community_id = await world.community()
    suggest = lambda: calendar.suggest_slots(  # noqa: E731
        session=world.session,
        tenant_id=TENANT,
        community_id=community_id,
        content_type="knowledge",
        count=4,
        now=NOW,
        min_engagements=10,
    )
    default = await suggest()
    assert (default.basis, default.hours) == ("default", [20, 12, 8])

    await world.member(community_id, tags=("宝妈",))
    await world.member(community_id, tags=("宝妈",))
    await world.member(community_id, tags=("上班族",))
    persona = await suggest()
    assert (persona.basis, persona.personas, persona.hours) == ("persona", ["宝妈", "上班族"], [20, 21, 7])

    world.session.add_all(
        [CommunityHourActivity(community_id=community_id, hour=h, engagements=n) for h, n in ((9, 8), (22, 3))]
    )
    engaged = await suggest()
    assert (engaged.basis, engaged.hours) == ("engagement", [9, 22])
    # 09:00 today has passed (it is 10:00); the next slots are tonight at 22, then tomorrow.
    assert engaged.slots == [at(0, 22), at(1, 9), at(1, 22), at(2, 9)]


async def test_slots_skip_days_the_community_is_already_full(world: World) -> None:
    community_id = await world.community()
    await calendar.set_policy(
        session=world.session,
        tenant_id=TENANT,
        community_id=community_id,
        policy=PushPolicy(max_pushes_per_day=1, max_promotion_share=1, timezone="Asia/Shanghai"),
    )
    await schedule(world, (await world.item()).id, community_id, at(1, 7))
    suggestion = await calendar.suggest_slots(
        session=world.session,
        tenant_id=TENANT,
        community_id=community_id,
        content_type="knowledge",
        count=2,
        now=NOW,
        min_engagements=10,
    )
    # One push a day: tonight, then nothing tomorrow (full), then the evening after.
    assert suggestion.slots == [at(0, 20), at(2, 20)]
