"""The targeted feed: only what was published to the member's communities for people like them, newest
first with liked topics lifted, paged exactly."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from content_svc.calendar.models import Placement
from content_svc.engagement import service as engagement
from content_svc.engagement.models import MemberAffinity
from content_svc.exceptions import MemberNotFound
from content_svc.feed import service as feed
from qunyun_shared.events.analytics import MemberSegmentChangedV1
from qunyun_shared.events.member import MemberLeftV1
from qunyun_shared.problems import InvalidInput

from .conftest import TENANT, World

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
BOOST = timedelta(hours=24)


async def publish(world: World, community_id: uuid.UUID, hours_ago: float, **fields):  # type: ignore[no-untyped-def]
    item = await world.item(**fields)
    published_at = NOW - timedelta(hours=hours_ago)
    world.session.add(
        Placement(
            tenant_id=TENANT,
            content_id=item.id,
            community_id=community_id,
            content_type=item.content_type,
            publish_at=published_at,
            published_at=published_at,
            status="published",
            audience_size=1,
        )
    )
    await world.session.flush()
    return item


async def read_all(world: World, member_id: uuid.UUID, limit: int) -> list[uuid.UUID]:
    seen, cursor = [], None
    while True:
        page, cursor = await feed.feed_for(
            session=world.session, tenant_id=TENANT, member_id=member_id, limit=limit, cursor=cursor, boost=BOOST
        )
        seen += [entry.item.id for entry in page]
        if cursor is None:
            return seen


async def test_only_items_of_the_members_communities_that_target_them(world: World) -> None:
    mine, theirs = await world.community(), await world.community("别的群")
    member_id = await world.member(mine, tags=("宝妈",))
    await world.deliver("analytics-svc", MemberSegmentChangedV1(member_id=member_id, to_segment="potential"))
    everyone = await publish(world, mine, 5)
    for_mothers = await publish(world, mine, 4, target={"tags": ["宝妈"]})
    await publish(world, mine, 3, target={"tags": ["健身爱好者"]})
    for_potential = await publish(world, mine, 2, target={"segments": ["potential", "high_value"]})
    await publish(world, mine, 1, target={"segments": ["high_value"]})
    await publish(world, theirs, 0.5)
    assert await read_all(world, member_id, 10) == [for_potential.id, for_mothers.id, everyone.id]

    await world.deliver("member-svc", MemberLeftV1(member_id=member_id, community_id=mine, reason="left", left_at=NOW))
    assert await read_all(world, member_id, 10) == []


async def test_topics_the_member_engages_with_are_lifted_by_at_most_the_boost(world: World) -> None:
    community_id = await world.community()
    member_id = await world.member(community_id)
    liked = await publish(world, community_id, 20, tags=["烘焙"])
    newer = await publish(world, community_id, 10)
    newest = await publish(world, community_id, 1)
    too_old = await publish(world, community_id, 30, tags=["烘焙"])
    world.session.add(MemberAffinity(member_id=member_id, tag="烘焙", tenant_id=TENANT, weight=5.0))
    await world.session.flush()
    # Lifted by a day: 20 hours old ranks as 4 hours ahead, 30 hours old as 6 hours old.
    assert await read_all(world, member_id, 10) == [liked.id, newest.id, too_old.id, newer.id]


async def test_pages_are_exact_across_several_communities_and_many_items(world: World) -> None:
    a, b = await world.community(), await world.community("二群")
    member_id = await world.member(a, b)
    expected = []
    for n in range(260):
        liked = n % 7 == 0
        item = await publish(world, a if n % 2 else b, n * 0.7, tags=["烘焙"] if liked else [])
        expected.append((NOW - timedelta(hours=n * 0.7) + (BOOST if liked else timedelta()), item.id))
    world.session.add(MemberAffinity(member_id=member_id, tag="烘焙", tenant_id=TENANT, weight=1.0))
    await world.session.flush()
    ranked = [item_id for _, item_id in sorted(expected, key=lambda e: e[0], reverse=True)]
    assert await read_all(world, member_id, 7) == ranked
    assert await read_all(world, member_id, 100) == ranked


async def test_a_malformed_cursor_is_refused(world: World) -> None:
    member_id = await world.member(await world.community())
    with pytest.raises(InvalidInput):
        await feed.feed_for(
            session=world.session, tenant_id=TENANT, member_id=member_id, limit=5, cursor="bm9wZQ", boost=BOOST
        )


async def test_a_member_the_tenant_never_had_is_not_found_not_an_empty_feed(world: World) -> None:
    """Another tenant's member (or one never heard of) reads as absent, not as a member with nothing to read."""
    member_id = await world.member(await world.community())
    assert await feed.feed_for(
        session=world.session, tenant_id=TENANT, member_id=member_id, limit=5, cursor=None, boost=BOOST
    ) == ([], None)
    assert await engagement.history_of(session=world.session, tenant_id=TENANT, member_id=member_id, limit=5) == []
    for tenant_id, someone in (("another-tenant", member_id), (TENANT, uuid.uuid4())):
        with pytest.raises(MemberNotFound):
            await feed.feed_for(
                session=world.session, tenant_id=tenant_id, member_id=someone, limit=5, cursor=None, boost=BOOST
            )
        with pytest.raises(MemberNotFound):
            await engagement.history_of(session=world.session, tenant_id=tenant_id, member_id=someone, limit=5)
