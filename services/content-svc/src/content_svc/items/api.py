"""Routes for the content library: operators' items and members' posts."""

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, status

from content_svc.dependencies import IdempotentRoute, Lexicons
from content_svc.items import history
from content_svc.items import service as items
from content_svc.items.schemas import (
    ContentCreate,
    ContentHistoryBatch,
    ContentPage,
    ContentRead,
    ContentUpdate,
    PostCreate,
    PostHistoryBatch,
)
from qunyun_shared.dependencies import COLLECTION_HELD_BACK, CurrentIdentity, DbSession, EventOutbox
from qunyun_shared.events.content import ContentType
from qunyun_shared.history import HistoryBatchRead

router = APIRouter(prefix="/content/items", tags=["content"], route_class=IdempotentRoute)
posts_router = APIRouter(prefix="/content/posts", tags=["content"], route_class=IdempotentRoute)


@router.post("", status_code=status.HTTP_201_CREATED, summary="Write an item (moderated; held items go to review)")
async def create_item(
    body: ContentCreate, session: DbSession, outbox: EventOutbox, lexicons: Lexicons, caller: CurrentIdentity
) -> ContentRead:
    lexicon = await lexicons.lexicon_for(session, caller.tenant_id)
    return ContentRead.model_validate(
        await items.create_item(
            session=session, outbox=outbox, lexicon=lexicon, tenant_id=caller.tenant_id, item_in=body
        )
    )


@router.post(
    "/history",
    dependencies=[COLLECTION_HELD_BACK],
    summary="Import items from the brand's history, as published then",
    description="Up to 1,000 rows, each answered by its number: `created` or `unchanged` (its merchant id was "
    "imported before with the same content) with the item's id, or `failed` with its problems; a failed row "
    "writes nothing and keeps no other from landing. Each item is published at `published_at` in its "
    "communities and announced by `content.posted` marked imported. Moderation's masks apply; nothing is held.",
)
async def import_item_history(
    body: ContentHistoryBatch, session: DbSession, outbox: EventOutbox, lexicons: Lexicons, caller: CurrentIdentity
) -> HistoryBatchRead:
    lexicon = await lexicons.lexicon_for(session, caller.tenant_id)
    return await history.import_items(
        session=session,
        outbox=outbox,
        lexicon=lexicon,
        tenant_id=caller.tenant_id,
        rows=body.items,
        now=datetime.now(UTC),
    )


@router.get("", summary="The tenant's items, newest first")
async def list_items(
    session: DbSession,
    caller: CurrentIdentity,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
    content_type: ContentType | None = None,
    source: str | None = Query(default=None, pattern="^(PGC|UGC|OGC)$"),
    item_status: str | None = Query(default=None, alias="status", pattern="^(ready|held|rejected|withdrawn|erased)$"),
) -> ContentPage:
    found, next_cursor = await items.list_items(
        session=session,
        tenant_id=caller.tenant_id,
        limit=limit,
        cursor=cursor,
        content_type=content_type,
        source=source,
        status=item_status,
    )
    return ContentPage(items=[ContentRead.model_validate(i) for i in found], next_cursor=next_cursor)


@router.get("/{content_id}")
async def get_item(content_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> ContentRead:
    return ContentRead.model_validate(
        await items.get_item(session=session, tenant_id=caller.tenant_id, item_id=content_id)
    )


@router.patch("/{content_id}", summary="Change an item; changed text is moderated again")
async def update_item(
    content_id: uuid.UUID,
    body: ContentUpdate,
    session: DbSession,
    outbox: EventOutbox,
    lexicons: Lexicons,
    caller: CurrentIdentity,
) -> ContentRead:
    lexicon = await lexicons.lexicon_for(session, caller.tenant_id)
    updated = await items.update_item(
        session=session, outbox=outbox, lexicon=lexicon, tenant_id=caller.tenant_id, item_id=content_id, changes=body
    )
    return ContentRead.model_validate(updated)


@router.post("/{content_id}/withdraw", summary="Take an item off every feed and calendar")
async def withdraw_item(content_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> ContentRead:
    return ContentRead.model_validate(
        await items.withdraw_item(session=session, tenant_id=caller.tenant_id, item_id=content_id)
    )


@posts_router.post(
    "", status_code=status.HTTP_201_CREATED, summary="A member posts into their community (UGC, moderated)"
)
async def create_post(
    body: PostCreate, session: DbSession, outbox: EventOutbox, lexicons: Lexicons, caller: CurrentIdentity
) -> ContentRead:
    lexicon = await lexicons.lexicon_for(session, caller.tenant_id)
    return ContentRead.model_validate(
        await items.create_post(session=session, outbox=outbox, lexicon=lexicon, tenant_id=caller.tenant_id, post=body)
    )


@posts_router.post(
    "/history",
    dependencies=[COLLECTION_HELD_BACK],
    summary="Import members' posts from the brand's history, as posted then",
    description="Up to 1,000 rows, answered row by row as the item history is. Each post is published in its "
    "community at `posted_at` and announced by `content.posted` marked imported; its author must not be erased, "
    "and a reply's topic must have been published (or imported) before it.",
)
async def import_post_history(
    body: PostHistoryBatch, session: DbSession, outbox: EventOutbox, lexicons: Lexicons, caller: CurrentIdentity
) -> HistoryBatchRead:
    lexicon = await lexicons.lexicon_for(session, caller.tenant_id)
    return await history.import_posts(
        session=session,
        outbox=outbox,
        lexicon=lexicon,
        tenant_id=caller.tenant_id,
        rows=body.posts,
        now=datetime.now(UTC),
    )
