"""The audience content-svc learns from join and leave events."""

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from content_svc import service
from content_svc.handlers import HANDLERS
from content_svc.models import MESSAGING, Base
from qunyun_shared.events import new_event
from qunyun_shared.events.member import MemberErasedV1, MemberJoinedV1, MemberLeftV1
from qunyun_shared.outbox import Outbox
from tests.support.harness import in_memory_session_fixture

pytestmark = pytest.mark.unit

OUTBOX = Outbox(table=MESSAGING.outbox, source="content-svc", topic_prefix="qunyun")


session = in_memory_session_fixture(Base.metadata)


async def test_joins_build_the_audience_and_leaves_shrink_it(session: AsyncSession) -> None:
    community_id, stays, goes = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    joins = [
        new_event(
            source="member-svc",
            tenant_id="t",
            payload=MemberJoinedV1(member_id=m, community_id=community_id, channel="qr", joined_at=datetime.now(UTC)),
        )
        for m in (stays, goes, stays)
    ]
    await HANDLERS["member.joined"](session, OUTBOX, joins)
    assert (await service.community_audience(session=session, tenant_id="t", community_id=community_id)).members == 2

    leave = MemberLeftV1(member_id=goes, community_id=community_id, reason="left", left_at=datetime.now(UTC))
    await HANDLERS["member.left"](session, OUTBOX, [new_event(source="member-svc", tenant_id="t", payload=leave)])
    assert (await service.community_audience(session=session, tenant_id="t", community_id=community_id)).members == 1
    assert (await service.community_audience(session=session, tenant_id="x", community_id=community_id)).members == 0


async def test_an_erased_member_is_forgotten_and_a_late_join_does_not_bring_them_back(session: AsyncSession) -> None:
    community_id, member_id = uuid.uuid4(), uuid.uuid4()
    joined = new_event(
        source="member-svc",
        tenant_id="t",
        payload=MemberJoinedV1(
            member_id=member_id, community_id=community_id, channel="qr", joined_at=datetime.now(UTC)
        ),
    )
    await HANDLERS["member.joined"](session, OUTBOX, [joined])
    erased = new_event(source="member-svc", tenant_id="t", payload=MemberErasedV1(member_id=member_id))
    await HANDLERS["member.erased"](session, OUTBOX, [erased])
    await HANDLERS["member.joined"](session, OUTBOX, [joined])  # delivered again, after the erasure
    assert (await service.community_audience(session=session, tenant_id="t", community_id=community_id)).members == 0
