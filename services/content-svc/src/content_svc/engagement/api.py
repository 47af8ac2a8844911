"""Routes for members' actions on content."""

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from content_svc.dependencies import IdempotentRoute
from content_svc.engagement import history as imported_history
from content_svc.engagement import service as engagement
from content_svc.engagement.schemas import (
    ContentStats,
    EngagementBatch,
    EngagementHistoryBatch,
    EngagementRead,
    EngagementReceipt,
)
from qunyun_shared.dependencies import COLLECTION_HELD_BACK, CurrentIdentity, DbSession, EventOutbox
from qunyun_shared.history import HistoryBatchRead
from qunyun_shared.problems import InvalidInput

router = APIRouter(prefix="/content", tags=["engagement"], route_class=IdempotentRoute)
# An item's statistics, listed with the items.
items_router = APIRouter(prefix="/content/items", tags=["content"], route_class=IdempotentRoute)


@router.post(
    "/engagements",
    summary="Report a batch of member actions (view, complete, like, comment, share, click)",
    description="Good rows are kept even when others are bad; each bad row is reported by its index. "
    "A row with an `id` already accepted is counted once.",
)
async def report(
    body: EngagementBatch, session: DbSession, outbox: EventOutbox, caller: CurrentIdentity
) -> EngagementReceipt:
    receipt = await engagement.ingest(
        session=session, outbox=outbox, tenant_id=caller.tenant_id, rows=body.actions, now=datetime.now(UTC)
    )
    if receipt.rejected and not receipt.accepted and not receipt.duplicates:
        raise InvalidInput(
            "No row of the batch could be accepted.",
            errors=[{"field": f"actions.{r.index}", "message": r.detail} for r in receipt.rejected],
        )
    return receipt


@router.post(
    "/engagement/history",
    dependencies=[COLLECTION_HELD_BACK],
    summary="Import members' actions from the brand's history",
    description="Up to 1,000 rows, each answered by its number: `created` or `unchanged` (its merchant id was "
    "imported before with the same content) with the engagement's id, or `failed` with its problems (content "
    "unknown or never published, published after the action, not in the community named; an erased member; "
    "a merchant id imported before with other content); a failed row writes nothing and keeps no other from "
    "landing. Counted as live actions are, and announced by `content.engaged` with their own times, marked "
    "imported.",
)
async def import_history(
    body: EngagementHistoryBatch, session: DbSession, outbox: EventOutbox, caller: CurrentIdentity
) -> HistoryBatchRead:
    return await imported_history.import_actions(
        session=session, outbox=outbox, tenant_id=caller.tenant_id, rows=body.actions
    )


@router.get("/members/{member_id}/engagements", summary="A member's latest actions, newest first")
async def history(
    member_id: uuid.UUID,
    session: DbSession,
    caller: CurrentIdentity,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> list[EngagementRead]:
    return [
        EngagementRead.model_validate(e)
        for e in await engagement.history_of(
            session=session, tenant_id=caller.tenant_id, member_id=member_id, limit=limit
        )
    ]


@items_router.get("/{content_id}/stats", summary="Reach, read, completion, interaction and click-through; orders")
async def stats(content_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> ContentStats:
    return await engagement.stats_of(session=session, tenant_id=caller.tenant_id, content_id=content_id)
