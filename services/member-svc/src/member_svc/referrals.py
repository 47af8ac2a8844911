"""Referrals (裂变): invite codes, invitations sent, attributing joiners to their inviters, and the inviter tree."""

import secrets
import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.exceptions import ReferralCycle, SelfInvite, UnknownInviteCode
from member_svc.members import get_active_member, get_member
from member_svc.models import Community, Invitation, Member
from member_svc.schemas import InvitationSent, JoinRequest, ReferralsRead
from qunyun_shared.events.member import InvitationChannel, MemberInvitedV1
from qunyun_shared.outbox import Outbox

# No 0/O, 1/I/L: codes are read aloud and typed from posters.
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_CODE_LENGTH = 8
_MAX_DEPTH = 1000


async def invite_code(*, session: AsyncSession, tenant_id: str, member_id: uuid.UUID) -> str:
    """The member's invite code, created the first time it is asked for."""
    member = await get_active_member(session=session, tenant_id=tenant_id, member_id=member_id)
    if member.invite_code is None:
        member.invite_code = "".join(secrets.choice(_ALPHABET) for _ in range(_CODE_LENGTH))
        await session.flush()
    return member.invite_code


async def send_invitation(
    *, session: AsyncSession, outbox: Outbox, member_id: uuid.UUID, community: Community, channel: InvitationChannel
) -> InvitationSent:
    """Records that the member sent an invitation to the community and announces it; the invitee joins
    with the member's invite code, which the answer carries."""
    code = await invite_code(session=session, tenant_id=community.tenant_id, member_id=member_id)
    sent = Invitation(
        id=uuid.uuid4(),
        tenant_id=community.tenant_id,
        inviter_id=member_id,
        community_id=community.id,
        channel=channel,
        sent_at=datetime.now(UTC),
    )
    session.add(sent)
    invited = MemberInvitedV1(
        invitation_id=sent.id, member_id=member_id, community_id=community.id, channel=channel, sent_at=sent.sent_at
    )
    await outbox.add(session, tenant_id=community.tenant_id, payloads=[invited])
    return InvitationSent(
        id=sent.id,
        inviter_id=member_id,
        community_id=community.id,
        channel=channel,
        sent_at=sent.sent_at,
        invite_code=code,
    )


async def resolve_inviter(*, session: AsyncSession, tenant_id: str, join: JoinRequest) -> JoinRequest:
    """The join with its inviter named by id, whether it came as an id or as an invite code."""
    if join.invite_code is None:
        return join
    inviter = await session.scalar(
        select(Member.id).where(Member.tenant_id == tenant_id, Member.invite_code == join.invite_code.upper())
    )
    if inviter is None:
        raise UnknownInviteCode(f"No member has invite code {join.invite_code!r}.", field="invite_code")
    if join.inviter_id is not None and join.inviter_id != inviter:
        raise UnknownInviteCode("The invite code belongs to another inviter than inviter_id.", field="invite_code")
    return join.model_copy(update={"inviter_id": inviter, "invite_code": None})


async def attribute(*, session: AsyncSession, member: Member, inviter_id: uuid.UUID) -> None:
    """Records who brought the member in, the first time anyone does; never a loop in the tree."""
    if inviter_id == member.id:
        raise SelfInvite("A member cannot invite themselves.")
    inviter = await get_active_member(session=session, tenant_id=member.tenant_id, member_id=inviter_id)
    if member.invited_by is not None:
        return
    if member.id in [inviter.id, *await _ancestors(session, inviter)]:
        raise ReferralCycle(f"Member {member.id} is already above {inviter_id} in the referral tree.")
    member.invited_by = inviter_id


async def referrals(*, session: AsyncSession, tenant_id: str, member_id: uuid.UUID) -> ReferralsRead:
    """Who brought the member in, whom they brought, and how deep in the tree they sit."""
    member = await get_member(session=session, tenant_id=tenant_id, member_id=member_id)
    invitees = (
        await session.scalars(select(Member.id).where(Member.invited_by == member_id).order_by(Member.created_at))
    ).all()
    depth = len(await _ancestors(session, member))
    return ReferralsRead(member_id=member_id, invited_by=member.invited_by, invitees=list(invitees), depth=depth)


async def _ancestors(session: AsyncSession, member: Member) -> list[uuid.UUID]:
    """The members above `member` in the referral tree, nearest first."""
    chain: list[uuid.UUID] = []
    while member.invited_by is not None and len(chain) < _MAX_DEPTH:
        chain.append(member.invited_by)
        parent = await session.get(Member, member.invited_by)
        assert parent is not None
        member = parent
    return chain
