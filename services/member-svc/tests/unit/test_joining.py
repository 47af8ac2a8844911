"""Joining and leaving communities, without HTTP."""

import base64
import os
import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc import members, service
from member_svc.exceptions import AlreadyMember, CommunityFull, CommunityNotFound, NotAMember, SelfInvite
from member_svc.models import MESSAGING, Base
from member_svc.personal_data import PersonalDataCipher
from member_svc.schemas import CommunityCreate, JoinRequest, MemberCreate
from qunyun_shared.events.kafka_binding import from_kafka
from qunyun_shared.outbox import Outbox
from tests.support.harness import in_memory_session_fixture

pytestmark = pytest.mark.unit

TENANT = "tenant-a"
CIPHER = PersonalDataCipher(base64.b64encode(os.urandom(32)).decode())


session = in_memory_session_fixture(Base.metadata)


@pytest.fixture
def outbox() -> Outbox:
    return Outbox(table=MESSAGING.outbox, source="member-svc", topic_prefix="qunyun")


async def community(session: AsyncSession, *, capacity: int = 500, tenant: str = TENANT) -> uuid.UUID:
    body = CommunityCreate(name=f"群{uuid.uuid4().hex[:6]}", kind="vertical", capacity=capacity)
    return (await service.create_community(session=session, tenant_id=tenant, community_in=body)).id


async def member(session: AsyncSession) -> uuid.UUID:
    body = MemberCreate(nickname="小雨")
    return (await members.register(session=session, cipher=CIPHER, tenant_id=TENANT, member_in=body)).id


async def staged_events(session: AsyncSession) -> list[tuple[str, object]]:
    rows = (await session.execute(select(MESSAGING.outbox))).all()
    events = [from_kafka(row.value, [(name, value.encode()) for name, value in row.headers]) for row in rows]
    return [(event.type, event.data) for event in events]


async def test_a_join_claims_a_seat_and_stages_member_joined(session: AsyncSession, outbox: Outbox) -> None:
    community_id, member_id, inviter_id = await community(session), await member(session), await member(session)
    join = JoinRequest(member_id=member_id, channel="invite", inviter_id=inviter_id)
    await service.join_community(session=session, outbox=outbox, tenant_id=TENANT, community_id=community_id, join=join)

    [(type_, payload)] = await staged_events(session)
    assert type_ == "member.joined"
    assert (payload.member_id, payload.community_id, payload.inviter_id) == (member_id, community_id, inviter_id)  # type: ignore[attr-defined]
    found = await service.get_community(session=session, tenant_id=TENANT, community_id=community_id)
    assert found.member_count == 1


async def test_joining_twice_is_refused(session: AsyncSession, outbox: Outbox) -> None:
    community_id, member_id = await community(session), await member(session)
    join = JoinRequest(member_id=member_id, channel="qr")
    await service.join_community(session=session, outbox=outbox, tenant_id=TENANT, community_id=community_id, join=join)
    with pytest.raises(AlreadyMember):
        await service.join_community(
            session=session, outbox=outbox, tenant_id=TENANT, community_id=community_id, join=join
        )


async def test_a_full_community_takes_nobody_else(session: AsyncSession, outbox: Outbox) -> None:
    community_id = await community(session, capacity=1)
    first, second = await member(session), await member(session)
    await service.join_community(
        session=session,
        outbox=outbox,
        tenant_id=TENANT,
        community_id=community_id,
        join=JoinRequest(member_id=first, channel="qr"),
    )
    with pytest.raises(CommunityFull):
        await service.join_community(
            session=session,
            outbox=outbox,
            tenant_id=TENANT,
            community_id=community_id,
            join=JoinRequest(member_id=second, channel="qr"),
        )
    assert len(await staged_events(session)) == 1


async def test_another_tenants_community_does_not_exist(session: AsyncSession, outbox: Outbox) -> None:
    foreign = await community(session, tenant="tenant-b")
    join = JoinRequest(member_id=await member(session), channel="qr")
    with pytest.raises(CommunityNotFound):
        await service.join_community(session=session, outbox=outbox, tenant_id=TENANT, community_id=foreign, join=join)


async def test_nobody_invites_themselves(session: AsyncSession, outbox: Outbox) -> None:
    community_id, member_id = await community(session), await member(session)
    join = JoinRequest(member_id=member_id, channel="invite", inviter_id=member_id)
    with pytest.raises(SelfInvite):
        await service.join_community(
            session=session, outbox=outbox, tenant_id=TENANT, community_id=community_id, join=join
        )


async def test_leaving_frees_the_seat_and_stages_member_left(session: AsyncSession, outbox: Outbox) -> None:
    community_id, member_id = await community(session, capacity=1), await member(session)
    join = JoinRequest(member_id=member_id, channel="qr")
    await service.join_community(session=session, outbox=outbox, tenant_id=TENANT, community_id=community_id, join=join)
    await service.leave_community(
        session=session, outbox=outbox, tenant_id=TENANT, community_id=community_id, member_id=member_id
    )
    assert [type_ for type_, _ in await staged_events(session)] == ["member.joined", "member.left"]
    assert (await service.get_community(session=session, tenant_id=TENANT, community_id=community_id)).member_count == 0
    with pytest.raises(NotAMember):
        await service.leave_community(
            session=session, outbox=outbox, tenant_id=TENANT, community_id=community_id, member_id=member_id
        )
