"""Routes for members' personal data: consent, a copy of everything held (PIPL access), and erasure."""

import uuid

from fastapi import APIRouter, status

from member_svc.dependencies import Cipher, IdempotentRoute
from member_svc.personal_data import service as personal_data
from member_svc.personal_data.schemas import ConsentCreate, ConsentRead, ConsentState, MemberExport
from qunyun_shared.dependencies import CurrentIdentity, DbSession, EventOutbox

router = APIRouter(prefix="/members", tags=["members"], route_class=IdempotentRoute)


@router.delete("/{member_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Erase a member (PIPL deletion)")
async def erase_member(member_id: uuid.UUID, session: DbSession, outbox: EventOutbox, caller: CurrentIdentity) -> None:
    await personal_data.erase_member(session=session, outbox=outbox, caller=caller, member_id=member_id)


@router.get("/{member_id}/export", summary="Everything held about a member (PIPL access and copy)")
async def export_member(
    member_id: uuid.UUID, session: DbSession, cipher: Cipher, caller: CurrentIdentity
) -> MemberExport:
    return await personal_data.export(session=session, cipher=cipher, caller=caller, member_id=member_id)


@router.post("/{member_id}/consents", status_code=status.HTTP_201_CREATED)
async def record_consent(
    member_id: uuid.UUID, body: ConsentCreate, session: DbSession, outbox: EventOutbox, caller: CurrentIdentity
) -> ConsentRead:
    consent = await personal_data.record_consent(
        session=session, outbox=outbox, tenant_id=caller.tenant_id, member_id=member_id, consent_in=body
    )
    return ConsentRead.model_validate(consent)


@router.get("/{member_id}/consents")
async def consent_state(member_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> ConsentState:
    return await personal_data.consent_state(session=session, tenant_id=caller.tenant_id, member_id=member_id)
