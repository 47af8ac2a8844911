"""Importing a brand's member history: batches of members named by the merchant's ids, with the communities they
joined and left when they did. Use cases never commit: the request's transaction does, with the outbox rows."""

from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.history import rows, writes
from member_svc.history.schemas import MemberHistoryBatch, MemberHistoryRow
from member_svc.imported import for_history
from member_svc.personal_data.cipher import PersonalDataCipher
from qunyun_shared import advisory_locks
from qunyun_shared.history import HistoryBatchRead, RowResult, check_rows
from qunyun_shared.outbox import Outbox


async def import_members(
    *, session: AsyncSession, outbox: Outbox, cipher: PersonalDataCipher, tenant_id: str, batch: MemberHistoryBatch
) -> HistoryBatchRead:
    """Creates the batch's new members with their memberships as they happened (entry rules, capacity and
    overflow do not apply: they are in already), announced as imported history; a row imported before with the
    same content is unchanged, one that fails writes nothing and keeps no other row from landing."""
    checked, failed = check_rows(MemberHistoryRow, batch.members)
    # One batch of a tenant at a time: rows naming each other's merchant ids are then checked against all that
    # landed before.
    await advisory_locks.hold(session, [advisory_locks.lock_key("member-history", tenant_id)])
    plan = await rows.plan(session=session, cipher=cipher, tenant_id=tenant_id, rows=checked)
    await writes.write(
        session=session,
        outbox=for_history(outbox, imported=True),
        cipher=cipher,
        tenant_id=tenant_id,
        new=plan.new,
        communities=plan.communities,
    )
    created = [RowResult(row=new.row, id=new.id, outcome="created") for new in plan.new]
    return HistoryBatchRead.of([*failed, *plan.results, *created])
