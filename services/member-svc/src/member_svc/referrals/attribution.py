"""Attributing joiners to the members who invited them: by inviter id or invite code, the first time only,
and never a loop in the inviter tree."""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.communities.schemas import JoinRequest
from member_svc.exceptions import ReferralCycle, SelfInvite, UnknownInviteCode
from member_svc.members.models import Member
from member_svc.members.service import get_active_member

_MAX_DEPTH = 1000


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
    if member.id in [inviter.id, *await ancestors(session=session, member=inviter)]:
        raise ReferralCycle(f"Member {member.id} is already above {inviter_id} in the referral tree.")
    member.invited_by = inviter_id


async def ancestors(*, session: AsyncSession, member: Member) -> list[uuid.UUID]:
    """The members above `member` in the referral tree, nearest first."""
    chain: list[uuid.UUID] = []
    while member.invited_by is not None and len(chain) < _MAX_DEPTH:
        chain.append(member.invited_by)
        parent = await session.get(Member, member.invited_by)
        assert parent is not None
        member = parent
    return chain
