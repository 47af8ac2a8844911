"""Routes for content items, members' posts and where items are scheduled."""

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel

from content_svc import calendar, engagement, items
from content_svc.dependencies import IdempotentRoute, Lexicons
from content_svc.schemas import (
    ContentCreate,
    ContentRead,
    ContentStats,
    ContentUpdate,
    PlacementRead,
    PostCreate,
    ScheduleRequest,
)
from qunyun_shared.dependencies import CurrentIdentity, DbSession, EventOutbox
from qunyun_shared.events.content import ContentType

router = APIRouter(prefix="/content", tags=["content"], route_class=IdempotentRoute)


class ContentPage(BaseModel):
    items: list[ContentRead]
    next_cursor: str | None


@router.post(
    "/items", status_code=status.HTTP_201_CREATED, summary="Write an item (moderated; held items go to review)"
)
async def create_item(
    body: ContentCreate, session: DbSession, outbox: EventOutbox, lexicons: Lexicons, caller: CurrentIdentity
) -> ContentRead:
    lexicon = await lexicons.lexicon_for(session, caller.tenant_id)
    return ContentRead.model_validate(
        await items.create_item(
            session=session, outbox=outbox, lexicon=lexicon, tenant_id=caller.tenant_id, item_in=body
        )
    )


@router.get("/items", summary="The tenant's items, newest first")
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


@router.get("/items/{content_id}")
async def get_item(content_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> ContentRead:
    return ContentRead.model_validate(
        await items.get_item(session=session, tenant_id=caller.tenant_id, item_id=content_id)
    )


@router.patch("/items/{content_id}", summary="Change an item; changed text is moderated again")
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


@router.post("/items/{content_id}/withdraw", summary="Take an item off every feed and calendar")
async def withdraw_item(content_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> ContentRead:
    return ContentRead.model_validate(
        await items.withdraw_item(session=session, tenant_id=caller.tenant_id, item_id=content_id)
    )


@router.post(
    "/items/{content_id}/schedule",
    status_code=status.HTTP_201_CREATED,
    summary="Schedule an item into communities at a time, within each one's flooding policy",
)
async def schedule(
    content_id: uuid.UUID, body: ScheduleRequest, session: DbSession, caller: CurrentIdentity
) -> list[PlacementRead]:
    placements = await calendar.schedule(
        session=session, tenant_id=caller.tenant_id, content_id=content_id, request=body, now=datetime.now(UTC)
    )
    return [PlacementRead.model_validate(p) for p in placements]


@router.get("/items/{content_id}/placements", summary="Where and when an item is or was published")
async def placements(content_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> list[PlacementRead]:
    placements = await calendar.placements_of(session=session, tenant_id=caller.tenant_id, content_id=content_id)
    return [PlacementRead.model_validate(p) for p in placements]


@router.post("/placements/{placement_id}/cancel", summary="Cancel a scheduled publication")
async def cancel(placement_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> PlacementRead:
    return PlacementRead.model_validate(
        await calendar.cancel(session=session, tenant_id=caller.tenant_id, placement_id=placement_id)
    )


@router.get("/items/{content_id}/stats", summary="Reach, read, completion, interaction and click-through; orders")
async def stats(content_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> ContentStats:
    return await engagement.stats_of(session=session, tenant_id=caller.tenant_id, content_id=content_id)


@router.post(
    "/posts", status_code=status.HTTP_201_CREATED, summary="A member posts into their community (UGC, moderated)"
)
async def create_post(
    body: PostCreate, session: DbSession, outbox: EventOutbox, lexicons: Lexicons, caller: CurrentIdentity
) -> ContentRead:
    lexicon = await lexicons.lexicon_for(session, caller.tenant_id)
    return ContentRead.model_validate(
        await items.create_post(session=session, outbox=outbox, lexicon=lexicon, tenant_id=caller.tenant_id, post=body)
    )
