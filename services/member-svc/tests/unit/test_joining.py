"""Joining and leaving communities, without HTTP."""

import base64
import os
import uuid
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.communities import service as communities
from member_svc.communities.schemas import CommunityCreate, CommunityUpdate, JoinRequest, Overflow
from member_svc.db import MESSAGING
from member_svc.exceptions import (
    AlreadyMember,
    CapacityBelowMembers,
    CommunityArchived,
    CommunityFull,
    CommunityNotFound,
    NotAMember,
    SelfInvite,
)
from member_svc.handlers import HANDLERS
from member_svc.members import service as members
from member_svc.members.schemas import MemberCreate
from member_svc.models import Base
from member_svc.personal_data.cipher import PersonalDataCipher
from qunyun_shared.events import new_event
from qunyun_shared.events.analytics import CommunityStageChangedV1
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import in_memory_session_fixture, staged_events

pytestmark = pytest.mark.unit

TENANT = "tenant-a"
CIPHER = PersonalDataCipher(base64.b64encode(os.urandom(32)).decode())


OUTBOX = Outbox(table=MESSAGING.outbox, source="member-svc", topic_prefix="qunyun")
session = in_memory_session_fixture(Base.metadata)


@pytest.fixture
def outbox() -> Outbox:
    return Outbox(table=MESSAGING.outbox, source="member-svc", topic_prefix="qunyun")


async def community(
    session: AsyncSession, *, capacity: int = 500, tenant: str = TENANT, overflow: Overflow = "refuse"
) -> uuid.UUID:
    body = CommunityCreate(name=f"群{uuid.uuid4().hex[:6]}", kind="vertical", capacity=capacity, overflow=overflow)
    return (await communities.create_community(session=session, outbox=OUTBOX, tenant_id=tenant, community_in=body)).id


async def membership_events(session: AsyncSession) -> list[tuple[str, Any]]:
    """What the use cases staged, less the `community.opened` of the communities the test set up."""
    staged = await staged_events(session, MESSAGING.outbox)
    return [(type_, payload) for type_, payload in staged if type_ != "community.opened"]


async def member(session: AsyncSession) -> uuid.UUID:
    body = MemberCreate(nickname="小雨")
    return (await members.register(session=session, outbox=OUTBOX, cipher=CIPHER, tenant_id=TENANT, member_in=body)).id


async def test_a_join_claims_a_seat_and_stages_member_joined(session: AsyncSession, outbox: Outbox) -> None:
    community_id, member_id, inviter_id = await community(session), await member(session), await member(session)
    join = JoinRequest(member_id=member_id, channel="invite", inviter_id=inviter_id)
    await communities.join_community(
        session=session, outbox=outbox, tenant_id=TENANT, community_id=community_id, join=join
    )

    [(type_, payload)] = await membership_events(session)
    assert type_ == "member.joined"
    assert (payload.member_id, payload.community_id, payload.inviter_id) == (member_id, community_id, inviter_id)  # type: ignore[attr-defined]
    found = await communities.get_community(session=session, tenant_id=TENANT, community_id=community_id)
    assert found.member_count == 1


async def test_joining_twice_is_refused(session: AsyncSession, outbox: Outbox) -> None:
    community_id, member_id = await community(session), await member(session)
    join = JoinRequest(member_id=member_id, channel="qr")
    await communities.join_community(
        session=session, outbox=outbox, tenant_id=TENANT, community_id=community_id, join=join
    )
    with pytest.raises(AlreadyMember):
        await communities.join_community(
            session=session, outbox=outbox, tenant_id=TENANT, community_id=community_id, join=join
        )


async def test_a_full_community_takes_nobody_else(session: AsyncSession, outbox: Outbox) -> None:
    community_id = await community(session, capacity=1)
    first, second = await member(session), await member(session)
    await communities.join_community(
        session=session,
        outbox=outbox,
        tenant_id=TENANT,
        community_id=community_id,
        join=JoinRequest(member_id=first, channel="qr"),
    )
    with pytest.raises(CommunityFull):
        await communities.join_community(
            session=session,
            outbox=outbox,
            tenant_id=TENANT,
            community_id=community_id,
            join=JoinRequest(member_id=second, channel="qr"),
        )
    assert len(await membership_events(session)) == 1


async def test_another_tenants_community_does_not_exist(session: AsyncSession, outbox: Outbox) -> None:
    foreign = await community(session, tenant="tenant-b")
    join = JoinRequest(member_id=await member(session), channel="qr")
    with pytest.raises(CommunityNotFound):
        await communities.join_community(
            session=session, outbox=outbox, tenant_id=TENANT, community_id=foreign, join=join
        )


async def test_nobody_invites_themselves(session: AsyncSession, outbox: Outbox) -> None:
    community_id, member_id = await community(session), await member(session)
    join = JoinRequest(member_id=member_id, channel="invite", inviter_id=member_id)
    with pytest.raises(SelfInvite):
        await communities.join_community(
            session=session, outbox=outbox, tenant_id=TENANT, community_id=community_id, join=join
        )


async def test_leaving_frees_the_seat_and_stages_member_left(session: AsyncSession, outbox: Outbox) -> None:
    community_id, member_id = await community(session, capacity=1), await member(session)
    join = JoinRequest(member_id=member_id, channel="qr")
    await communities.join_community(
        session=session, outbox=outbox, tenant_id=TENANT, community_id=community_id, join=join
    )
    await communities.leave_community(
        session=session, outbox=outbox, tenant_id=TENANT, community_id=community_id, member_id=member_id
    )
    assert [type_ for type_, _ in await membership_events(session)] == ["member.joined", "member.left"]
    assert (
        await communities.get_community(session=session, tenant_id=TENANT, community_id=community_id)
    ).member_count == 0
    with pytest.raises(NotAMember):
        await communities.leave_community(
            session=session, outbox=outbox, tenant_id=TENANT, community_id=community_id, member_id=member_id
        )


async def join(session: AsyncSession, outbox: Outbox, community_id: uuid.UUID, member_id: uuid.UUID):  # type: ignore[no-untyped-def]
    request = JoinRequest(member_id=member_id, channel="qr")
    return await communities.join_community(
        session=session, outbox=outbox, tenant_id=TENANT, community_id=community_id, join=request
    )


async def test_a_full_community_with_a_waitlist_admits_the_first_waiting_when_a_seat_frees(
    session: AsyncSession, outbox: Outbox
) -> None:
    community_id = await community(session, capacity=1, overflow="waitlist")
    seated, first, second = await member(session), await member(session), await member(session)
    assert (await join(session, outbox, community_id, seated)).status == "joined"
    assert (await join(session, outbox, community_id, first)).waitlist_position == 1
    assert (await join(session, outbox, community_id, second)).waitlist_position == 2

    await communities.leave_community(
        session=session, outbox=outbox, tenant_id=TENANT, community_id=community_id, member_id=seated, reason="removed"
    )
    staged = await membership_events(session)
    assert [(t, p.member_id) for t, p in staged] == [  # type: ignore[attr-defined]
        ("member.joined", seated),
        ("member.left", seated),
        ("member.joined", first),
    ]
    assert staged[1][1].reason == "removed"  # type: ignore[attr-defined]


async def test_a_full_community_with_siblings_opens_the_next_one(session: AsyncSession, outbox: Outbox) -> None:
    community_id = await community(session, capacity=1, overflow="sibling")
    results = [await join(session, outbox, community_id, await member(session)) for _ in range(3)]
    places = [r.community_id for r in results]
    assert places[0] == community_id and len(set(places)) == 3
    root = await communities.get_community(session=session, tenant_id=TENANT, community_id=community_id)
    second = await communities.get_community(session=session, tenant_id=TENANT, community_id=places[1])
    third = await communities.get_community(session=session, tenant_id=TENANT, community_id=places[2])
    assert (second.name, third.name) == (f"{root.name}2", f"{root.name}3")
    assert second.sibling_of == third.sibling_of == community_id


async def test_leaving_and_joining_again_are_both_recorded(session: AsyncSession, outbox: Outbox) -> None:
    community_id, member_id = await community(session), await member(session)
    await join(session, outbox, community_id, member_id)
    await communities.leave_community(
        session=session, outbox=outbox, tenant_id=TENANT, community_id=community_id, member_id=member_id
    )
    await join(session, outbox, community_id, member_id)
    records = await communities.membership_records(session=session, member_id=member_id)
    assert [r.action for r in records] == ["joined", "left", "rejoined"]


async def test_an_archived_community_takes_no_joins(session: AsyncSession, outbox: Outbox) -> None:
    community_id = await community(session)
    await communities.archive_community(session=session, outbox=OUTBOX, tenant_id=TENANT, community_id=community_id)
    with pytest.raises(CommunityArchived):
        await join(session, outbox, community_id, await member(session))
    listed = await communities.list_communities(session=session, tenant_id=TENANT, limit=50, after=None)
    assert community_id not in {c.id for c in listed}


async def test_capacity_cannot_drop_below_the_members_already_in(session: AsyncSession, outbox: Outbox) -> None:
    community_id = await community(session, capacity=5)
    for _ in range(3):
        await join(session, outbox, community_id, await member(session))
    with pytest.raises(CapacityBelowMembers):
        await communities.update_community(
            session=session,
            outbox=outbox,
            tenant_id=TENANT,
            community_id=community_id,
            changes=CommunityUpdate(capacity=2),
        )
    updated = await communities.update_community(
        session=session,
        outbox=outbox,
        tenant_id=TENANT,
        community_id=community_id,
        changes=CommunityUpdate(capacity=3, tier="core"),
    )
    assert (updated.capacity, updated.tier) == (3, "core")


async def test_a_communitys_stage_follows_analytics_for_its_own_tenant_only(
    session: AsyncSession, outbox: Outbox
) -> None:
    ours, theirs = await community(session), await community(session, tenant="tenant-b")
    changes = [
        new_event(
            source="analytics-svc", tenant_id=TENANT, payload=CommunityStageChangedV1(community_id=c, to_stage="growth")
        )
        for c in (ours, theirs)  # the second names another tenant's community under our tenant: ignored
    ]
    await HANDLERS["community.stage_changed"](session, outbox, changes)
    mine = await communities.get_community(session=session, tenant_id=TENANT, community_id=ours)
    other = await communities.get_community(session=session, tenant_id="tenant-b", community_id=theirs)
    for found in (mine, other):
        await session.refresh(found)
    assert (mine.stage, other.stage) == ("growth", None)


async def test_a_larger_capacity_goes_to_the_waitlist_first(session: AsyncSession, outbox: Outbox) -> None:
    community_id = await community(session, capacity=1, overflow="waitlist")
    seated, waiting = await member(session), await member(session)
    await join(session, outbox, community_id, seated)
    await join(session, outbox, community_id, waiting)
    await communities.update_community(
        session=session, outbox=outbox, tenant_id=TENANT, community_id=community_id, changes=CommunityUpdate(capacity=2)
    )
    assert [(t, p.member_id) for t, p in await membership_events(session)][-1] == (
        "member.joined",
        waiting,
    )  # type: ignore[attr-defined]
    newcomer = await join(session, outbox, community_id, await member(session))
    assert (newcomer.status, newcomer.waitlist_position) == ("waitlisted", 1)
