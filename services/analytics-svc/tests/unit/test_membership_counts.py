"""Counting members per community from the join and leave events."""

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.communities import service as communities
from analytics_svc.db import MESSAGING
from analytics_svc.handlers import HANDLERS
from analytics_svc.models import Base
from qunyun_shared.events import new_event
from qunyun_shared.events.member import MemberJoinedV1, MemberLeftV1
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import in_memory_session_fixture

pytestmark = pytest.mark.unit

OUTBOX = Outbox(table=MESSAGING.outbox, source="analytics-svc", topic_prefix="qunyun")


session = in_memory_session_fixture(Base.metadata)


def joined(community_id: uuid.UUID):  # type: ignore[no-untyped-def]
    payload = MemberJoinedV1(
        member_id=uuid.uuid4(), community_id=community_id, channel="qr", joined_at=datetime.now(UTC)
    )
    return new_event(source="member-svc", tenant_id="t", payload=payload)


def left(community_id: uuid.UUID):  # type: ignore[no-untyped-def]
    payload = MemberLeftV1(member_id=uuid.uuid4(), community_id=community_id, reason="left", left_at=datetime.now(UTC))
    return new_event(source="member-svc", tenant_id="t", payload=payload)


async def test_joins_and_leaves_add_up_across_batches(session: AsyncSession) -> None:
    community_a, community_b = uuid.uuid4(), uuid.uuid4()
    await HANDLERS["member.joined"](session, OUTBOX, [joined(community_a), joined(community_a), joined(community_b)])
    await HANDLERS["member.joined"](session, OUTBOX, [joined(community_a)])
    await HANDLERS["member.left"](session, OUTBOX, [left(community_a)])

    count = await communities.community_member_count(session=session, tenant_id="t", community_id=community_a)
    assert (count.members, count.joined_total, count.left_total) == (2, 3, 1)
    other = await communities.community_member_count(session=session, tenant_id="t", community_id=community_b)
    assert other.members == 1


async def test_counts_are_per_tenant(session: AsyncSession) -> None:
    community_id = uuid.uuid4()
    await HANDLERS["member.joined"](session, OUTBOX, [joined(community_id)])
    count = await communities.community_member_count(
        session=session, tenant_id="someone-else", community_id=community_id
    )
    assert (count.members, count.joined_total) == (0, 0)
