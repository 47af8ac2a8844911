"""Referrals (裂变): invite codes, invitations members send to communities, and where a member sits in the
inviter tree."""

import secrets
import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.communities import service as communities
from member_svc.members.models import Member
from member_svc.members.service import get_active_member, get_member
from member_svc.referrals.attribution import ancestors
from member_svc.referrals.models import Invitation
from member_svc.referrals.schemas import InvitationCreate, InvitationSent, ReferralsRead
from qunyun_shared.events.member import MemberInvitedV1
from qunyun_shared.outbox import Outbox

# No 0/O, 1/I/L: codes are read aloud and typed from posters.
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_CODE_LENGTH = 8


async def invite_code(*, session: AsyncSession, tenant_id: str, member_id: uuid.UUID) -> str:
    """The member's invite code, created the first time it is asked for."""
    member = await get_active_member(session=session, tenant_id=tenant_id, member_id=member_id)
    if member.invite_code is None:
        member.invite_code = "".join(secrets.choice(_ALPHABET) for _ in range(_CODE_LENGTH))
        await session.flush()
    return member.invite_code


async def send_invitation(
    *, session: AsyncSession, outbox: Outbox, tenant_id: str, member_id: uuid.UUID, invitation: InvitationCreate
) -> InvitationSent:
    """Records that the member sent an invitation to a community still open to joins, and announces it; the
    invitee joins with the member's invite code, which the answer carries."""
    community = await communities.get_open_community(
        session=session, tenant_id=tenant_id, community_id=invitation.community_id, lock=False
    )
    code = await invite_code(session=session, tenant_id=tenant_id, member_id=member_id)
    channel = invitation.channel
    sent = Invitation(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        inviter_id=member_id,
        community_id=community.id,
        channel=channel,
        sent_at=datetime.now(UTC),
    )
    session.add(sent)
    invited = MemberInvitedV1(
        invitation_id=sent.id, member_id=member_id, community_id=community.id, channel=channel, sent_at=sent.sent_at
    )
    await outbox.add(session, tenant_id=tenant_id, payloads=[invited])
    return InvitationSent(
        id=sent.id,
        inviter_id=member_id,
        community_id=community.id,
        channel=channel,
        sent_at=sent.sent_at,
        invite_code=code,
    )


async def referrals(*, session: AsyncSession, tenant_id: str, member_id: uuid.UUID) -> ReferralsRead:
    """Who brought the member in, whom they brought, and how deep in the tree they sit."""
    member = await get_member(session=session, tenant_id=tenant_id, member_id=member_id)
    invitees = (
        await session.scalars(select(Member.id).where(Member.invited_by == member_id).order_by(Member.created_at))
    ).all()
    depth = len(await ancestors(session=session, member=member))
    return ReferralsRead(member_id=member_id, invited_by=member.invited_by, invitees=list(invitees), depth=depth)
