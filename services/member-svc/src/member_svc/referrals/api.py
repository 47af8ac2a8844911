"""Routes for referrals: a member's invite code, the invitations they send, and where they sit in the
inviter tree."""

import uuid

from fastapi import APIRouter, status

from member_svc.dependencies import IdempotentRoute
from member_svc.referrals import service as referrals
from member_svc.referrals.schemas import InvitationCreate, InvitationSent, InviteCode, ReferralsRead
from qunyun_shared.dependencies import CurrentIdentity, DbSession, EventOutbox

router = APIRouter(prefix="/members", tags=["members"], route_class=IdempotentRoute)


@router.post("/{member_id}/invite-code", summary="The member's invite code (created on first request)")
async def invite_code(member_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> InviteCode:
    code = await referrals.invite_code(session=session, tenant_id=caller.tenant_id, member_id=member_id)
    return InviteCode(member_id=member_id, invite_code=code)


@router.post(
    "/{member_id}/invitations",
    status_code=status.HTTP_201_CREATED,
    summary="Record an invitation the member sends to a community; answers with their invite code",
)
async def send_invitation(
    member_id: uuid.UUID, body: InvitationCreate, session: DbSession, outbox: EventOutbox, caller: CurrentIdentity
) -> InvitationSent:
    return await referrals.send_invitation(
        session=session, outbox=outbox, tenant_id=caller.tenant_id, member_id=member_id, invitation=body
    )


@router.get("/{member_id}/referrals", summary="Who invited the member, whom they invited, their depth")
async def member_referrals(member_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> ReferralsRead:
    return await referrals.referrals(session=session, tenant_id=caller.tenant_id, member_id=member_id)
