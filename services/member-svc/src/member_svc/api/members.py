"""Routes for members: profiles, consent and personal-data rights."""

import uuid

from fastapi import APIRouter, status

from member_svc import members, referrals, service
from member_svc.dependencies import Cipher
from member_svc.schemas import (
    ConsentCreate,
    ConsentRead,
    ConsentState,
    InviteCode,
    MemberCreate,
    MemberExport,
    MemberRead,
    MemberUpdate,
    PhoneLookup,
    ReferralsRead,
)
from qunyun_shared.dependencies import CurrentIdentity, DbSession, EventOutbox

router = APIRouter(prefix="/members", tags=["members"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_member(body: MemberCreate, session: DbSession, cipher: Cipher, caller: CurrentIdentity) -> MemberRead:
    member = await members.register(session=session, cipher=cipher, tenant_id=caller.tenant_id, member_in=body)
    return members.present(member, cipher, reveal=members.may_see_personal_data(caller))


@router.post("/lookup", summary="Find a member by phone (sent in the body, so it stays out of URLs and logs)")
async def lookup_member(body: PhoneLookup, session: DbSession, cipher: Cipher, caller: CurrentIdentity) -> MemberRead:
    member = await members.find_by_phone(session=session, cipher=cipher, caller=caller, phone=body.phone)
    return members.present(member, cipher, reveal=members.may_see_personal_data(caller))


@router.get("/{member_id}")
async def get_member(member_id: uuid.UUID, session: DbSession, cipher: Cipher, caller: CurrentIdentity) -> MemberRead:
    member = await members.get_member(session=session, tenant_id=caller.tenant_id, member_id=member_id)
    return members.present(member, cipher, reveal=members.may_see_personal_data(caller))


@router.patch("/{member_id}", summary="Correct a member's profile")
async def correct_member(
    member_id: uuid.UUID,
    body: MemberUpdate,
    session: DbSession,
    outbox: EventOutbox,
    cipher: Cipher,
    caller: CurrentIdentity,
) -> MemberRead:
    member = await members.correct(
        session=session, outbox=outbox, cipher=cipher, caller=caller, member_id=member_id, changes=body
    )
    return members.present(member, cipher, reveal=members.may_see_personal_data(caller))


@router.delete("/{member_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Erase a member (PIPL deletion)")
async def erase_member(member_id: uuid.UUID, session: DbSession, outbox: EventOutbox, caller: CurrentIdentity) -> None:
    await service.erase_member(session=session, outbox=outbox, caller=caller, member_id=member_id)


@router.get("/{member_id}/export", summary="Everything held about a member (PIPL access and copy)")
async def export_member(
    member_id: uuid.UUID, session: DbSession, cipher: Cipher, caller: CurrentIdentity
) -> MemberExport:
    return await members.export(session=session, cipher=cipher, caller=caller, member_id=member_id)


@router.post("/{member_id}/consents", status_code=status.HTTP_201_CREATED)
async def record_consent(
    member_id: uuid.UUID, body: ConsentCreate, session: DbSession, outbox: EventOutbox, caller: CurrentIdentity
) -> ConsentRead:
    consent = await members.record_consent(
        session=session, outbox=outbox, tenant_id=caller.tenant_id, member_id=member_id, consent_in=body
    )
    return ConsentRead.model_validate(consent)


@router.get("/{member_id}/consents")
async def consent_state(member_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> ConsentState:
    return await members.consent_state(session=session, tenant_id=caller.tenant_id, member_id=member_id)


@router.post("/{member_id}/invite-code", summary="The member's invite code (created on first request)")
async def invite_code(member_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> InviteCode:
    code = await referrals.invite_code(session=session, tenant_id=caller.tenant_id, member_id=member_id)
    return InviteCode(member_id=member_id, invite_code=code)


@router.get("/{member_id}/referrals", summary="Who invited the member, whom they invited, their depth")
async def member_referrals(member_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> ReferralsRead:
    return await referrals.referrals(session=session, tenant_id=caller.tenant_id, member_id=member_id)
