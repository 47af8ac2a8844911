"""Route for a member's targeted feed."""

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from content_svc.dependencies import ContentSettings, IdempotentRoute
from content_svc.feed import service as feed
from content_svc.feed.schemas import FeedEntry, FeedPage
from content_svc.items.schemas import ContentRead
from qunyun_shared.dependencies import CurrentIdentity, DbSession

router = APIRouter(prefix="/content", tags=["feed"], route_class=IdempotentRoute)


@router.get(
    "/members/{member_id}/feed",
    summary="What was published to the member's communities for them, newest first, liked topics lifted",
)
async def feed_of(
    member_id: uuid.UUID,
    session: DbSession,
    caller: CurrentIdentity,
    settings: ContentSettings,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
) -> FeedPage:
    entries, next_cursor = await feed.feed_for(
        session=session,
        tenant_id=caller.tenant_id,
        member_id=member_id,
        limit=limit,
        cursor=cursor,
        boost=timedelta(hours=settings.feed_affinity_boost_hours),
    )
    return FeedPage(
        entries=[
            FeedEntry(
                content=ContentRead.model_validate(e.item),
                community_id=e.placement.community_id,
                published_at=e.placement.published_at,
                affinity=round(e.affinity, 4),
            )
            for e in entries
        ],
        next_cursor=next_cursor,
    )
