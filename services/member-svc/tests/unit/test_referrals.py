"""Invite codes, invitations sent, attribution to the first inviter, and a referral tree without loops."""

import base64
import os
import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.communities import service as communities
from member_svc.communities.schemas import CommunityCreate, JoinRequest
from member_svc.db import MESSAGING
from member_svc.exceptions import (
    CommunityArchived,
    CommunityNotFound,
    MemberErased,
    ReferralCycle,
    SelfInvite,
    UnknownInviteCode,
)
from member_svc.members import service as members
from member_svc.members.schemas import MemberCreate
from member_svc.models import Base
from member_svc.personal_data import service as personal_data
from member_svc.personal_data.cipher import PersonalDataCipher
from member_svc.referrals import service as referrals
from member_svc.referrals.models import Invitation
from member_svc.referrals.schemas import InvitationCreate, InvitationSent
from qunyun_shared.events.member import MemberInvitedV1
from qunyun_shared.identity import Identity
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import in_memory_session_fixture, staged_events

pytestmark = pytest.mark.unit

TENANT = "tenant-a"
OWNER = Identity(tenant_id=TENANT, principal="owner", roles=("owner",), permissions=frozenset({"*"}))
CIPHER = PersonalDataCipher(base64.b64encode(os.urandom(32)).decode())

OUTBOX = Outbox(table=MESSAGING.outbox, source="member-svc", topic_prefix="qunyun")
session = in_memory_session_fixture(Base.metadata)


@pytest.fixture
def outbox() -> Outbox:
    return Outbox(table=MESSAGING.outbox, source="member-svc", topic_prefix="qunyun")


async def member(session: AsyncSession) -> uuid.UUID:
    body = MemberCreate(nickname="会员")
    return (await members.register(session=session, outbox=OUTBOX, cipher=CIPHER, tenant_id=TENANT, member_in=body)).id


async def community(session: AsyncSession) -> uuid.UUID:
    body = CommunityCreate(name=f"群{uuid.uuid4().hex[:6]}", kind="interest")
    return (await communities.create_community(session=session, outbox=OUTBOX, tenant_id=TENANT, community_in=body)).id


async def join(session: AsyncSession, outbox: Outbox, member_id: uuid.UUID, **invite: object) -> None:
    request = JoinRequest(member_id=member_id, channel="invite", **invite)  # type: ignore[arg-type]
    await communities.join_community(
        session=session, outbox=outbox, tenant_id=TENANT, community_id=await community(session), join=request
    )


async def test_a_joiner_is_attributed_to_the_owner_of_the_invite_code(session: AsyncSession, outbox: Outbox) -> None:
    inviter, joiner = await member(session), await member(session)
    code = await referrals.invite_code(session=session, tenant_id=TENANT, member_id=inviter)
    assert code == await referrals.invite_code(session=session, tenant_id=TENANT, member_id=inviter)
    await join(session, outbox, joiner, invite_code=code.lower())
    tree = await referrals.referrals(session=session, tenant_id=TENANT, member_id=inviter)
    assert (tree.invitees, tree.depth) == ([joiner], 0)
    assert (await referrals.referrals(session=session, tenant_id=TENANT, member_id=joiner)).invited_by == inviter
    with pytest.raises(UnknownInviteCode):
        await join(session, outbox, await member(session), invite_code="NOSUCHCODE")


async def test_the_first_inviter_keeps_the_credit(session: AsyncSession, outbox: Outbox) -> None:
    first, second, joiner = await member(session), await member(session), await member(session)
    await join(session, outbox, joiner, inviter_id=first)
    await join(session, outbox, joiner, inviter_id=second)
    assert (await referrals.referrals(session=session, tenant_id=TENANT, member_id=joiner)).invited_by == first


async def test_self_invites_and_loops_are_refused(session: AsyncSession, outbox: Outbox) -> None:
    grandparent, parent, child = await member(session), await member(session), await member(session)
    with pytest.raises(SelfInvite):
        await join(session, outbox, grandparent, inviter_id=grandparent)
    await join(session, outbox, parent, inviter_id=grandparent)
    await join(session, outbox, child, inviter_id=parent)
    with pytest.raises(ReferralCycle):  # the grandparent, brought in by their own grandchild
        await join(session, outbox, grandparent, inviter_id=child)
    assert (await referrals.referrals(session=session, tenant_id=TENANT, member_id=child)).depth == 2


async def invite(session: AsyncSession, inviter: uuid.UUID, community_id: uuid.UUID) -> InvitationSent:
    body = InvitationCreate(community_id=community_id, channel="moments")
    return await referrals.send_invitation(
        session=session, outbox=OUTBOX, tenant_id=TENANT, member_id=inviter, invitation=body
    )


async def test_an_invitation_sent_is_kept_announced_and_carries_the_code_to_join_by(
    session: AsyncSession, outbox: Outbox
) -> None:
    inviter, joiner, into = await member(session), await member(session), await community(session)
    sent = await invite(session, inviter, into)
    invited = [e for t, e in await staged_events(session, MESSAGING.outbox) if t == "member.invited"]
    assert invited == [
        MemberInvitedV1(
            invitation_id=sent.id, member_id=inviter, community_id=into, channel="moments", sent_at=sent.sent_at
        )
    ]
    assert sent.invite_code == await referrals.invite_code(session=session, tenant_id=TENANT, member_id=inviter)
    request = JoinRequest(member_id=joiner, channel="invite", invite_code=sent.invite_code)
    await communities.join_community(session=session, outbox=outbox, tenant_id=TENANT, community_id=into, join=request)
    assert (await referrals.referrals(session=session, tenant_id=TENANT, member_id=joiner)).invited_by == inviter
    exported = await personal_data.export(session=session, cipher=CIPHER, caller=OWNER, member_id=inviter)
    assert [i.id for i in exported.invitations] == [sent.id]


async def test_no_invitation_to_an_unknown_or_archived_community_or_from_an_erased_member(
    session: AsyncSession,
) -> None:
    inviter, closed = await member(session), await community(session)
    await communities.archive_community(session=session, outbox=OUTBOX, tenant_id=TENANT, community_id=closed)
    with pytest.raises(CommunityArchived):
        await invite(session, inviter, closed)
    with pytest.raises(CommunityNotFound):
        await invite(session, inviter, uuid.uuid4())
    into = await community(session)
    await invite(session, inviter, into)
    await personal_data.erase_member(session=session, outbox=OUTBOX, caller=OWNER, member_id=inviter)
    assert (await session.scalars(select(Invitation))).all() == []  # erased with the inviter's data
    with pytest.raises(MemberErased):
        await invite(session, inviter, into)
    staged = [t for t, _ in await staged_events(session, MESSAGING.outbox)]
    assert staged.count("member.invited") == 1
