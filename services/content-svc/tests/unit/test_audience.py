"""The communities and audience content-svc learns from member-svc's and analytics-svc's events."""

from datetime import UTC, datetime

import pytest

from content_svc.audience import service as audience
from qunyun_shared.events.analytics import MemberSegmentChangedV1
from qunyun_shared.events.member import MemberLeftV1, MemberTaggedV1

from .conftest import TENANT, World

pytestmark = pytest.mark.unit


async def test_joins_build_the_audience_and_leaves_shrink_it(world: World) -> None:
    community_id = await world.community()
    stays = await world.member(community_id)
    goes = await world.member(community_id)
    assert await audience.audience_size(session=world.session, community_id=community_id) == 2
    left = MemberLeftV1(member_id=goes, community_id=community_id, reason="left", left_at=datetime.now(UTC))
    await world.deliver("member-svc", left, left)
    assert await audience.audience_size(session=world.session, community_id=community_id) == 1
    assert await audience.communities_of(session=world.session, tenant_id=TENANT, member_id=stays) == [community_id]
    assert await audience.communities_of(session=world.session, tenant_id="tenant-b", member_id=stays) == []


async def test_tags_and_segments_follow_the_latest_event(world: World) -> None:
    member_id = await world.member(await world.community(), tags=("宝妈", "VIP"))
    await world.deliver("member-svc", MemberTaggedV1(member_id=member_id, tag="VIP", kind="manual", action="removed"))
    assert await audience.tags_of(session=world.session, tenant_id=TENANT, member_id=member_id) == {"宝妈"}
    for segment in ("potential", "high_value"):
        await world.deliver("analytics-svc", MemberSegmentChangedV1(member_id=member_id, to_segment=segment))
    assert await audience.segment_of(session=world.session, tenant_id=TENANT, member_id=member_id) == "high_value"
    assert await audience.segment_of(session=world.session, tenant_id="tenant-b", member_id=member_id) is None
