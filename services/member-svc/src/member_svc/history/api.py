"""Routes for importing a brand's member history."""

from fastapi import APIRouter

from member_svc.dependencies import Cipher, IdempotentRoute
from member_svc.history import service as history
from member_svc.history.schemas import MemberHistoryBatch
from qunyun_shared.dependencies import COLLECTION_HELD_BACK, CurrentIdentity, DbSession, EventOutbox
from qunyun_shared.history import HistoryBatchRead

router = APIRouter(prefix="/members", tags=["members"], route_class=IdempotentRoute)


@router.post(
    "/history",
    summary="Import members with the communities they joined and left, when they did",
    dependencies=[COLLECTION_HELD_BACK],
)
async def import_member_history(
    body: MemberHistoryBatch, session: DbSession, outbox: EventOutbox, cipher: Cipher, caller: CurrentIdentity
) -> HistoryBatchRead:
    """Up to 1,000 members a batch, each named by the merchant's own id and answered on its own row: `created`
    with the new member's id, `unchanged` (the same row was imported before) with the earlier member's id, or
    `failed` with its problems (it wrote nothing). Every event it publishes is marked imported."""
    return await history.import_members(
        session=session, outbox=outbox, cipher=cipher, tenant_id=caller.tenant_id, batch=body
    )
