"""The content library: what operators write and members post, each screened by moderation before anyone
sees it; a member's post goes out to their community at once unless moderation holds it."""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from content_svc.audience import service as audience
from content_svc.calendar import publishing
from content_svc.calendar.models import Placement
from content_svc.exceptions import ContentNotFound, ContentNotReady, NotInCommunity
from content_svc.items.models import ContentItem
from content_svc.items.schemas import ContentCreate, ContentUpdate, PostCreate
from content_svc.moderation import Lexicon, screening
from qunyun_shared.outbox import Outbox
from qunyun_shared.pagination import decode_time_cursor, encode_time_cursor

# The same text from the same member again within this window is a repeated message (spam).
REPEAT_WINDOW = timedelta(hours=24)


async def create_item(
    *, session: AsyncSession, outbox: Outbox, lexicon: Lexicon, tenant_id: str, item_in: ContentCreate
) -> ContentItem:
    """An operator's item, screened as brand content (the advertising law applies)."""
    now = datetime.now(UTC)
    verdict = screening.screen(lexicon, title=item_in.title, body=item_in.body, ugc=False)
    item = ContentItem(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        content_type=item_in.content_type,
        source=item_in.source,
        media=item_in.media,
        tags=item_in.tags,
        target_communities=[str(c) for c in item_in.target.communities],
        target_segments=item_in.target.segments,
        target_tags=item_in.target.tags,
        created_at=now,
    )
    await screening.apply_verdict(session=session, outbox=outbox, item=item, verdict=verdict, now=now)
    return item


async def update_item(
    *,
    session: AsyncSession,
    outbox: Outbox,
    lexicon: Lexicon,
    tenant_id: str,
    item_id: uuid.UUID,
    changes: ContentUpdate,
) -> ContentItem:
    """Changes an operator's item; new text is screened again, and held again if it needs to be."""
    item = await get_item(session=session, tenant_id=tenant_id, item_id=item_id, lock=True)
    if item.source == "UGC" or item.status in {"withdrawn", "erased"}:
        raise ContentNotReady(f"Content {item_id} is {item.status if item.source != 'UGC' else 'a member post'}.")
    fields = changes.model_dump(exclude_unset=True, exclude={"target"})
    for name in ("media", "tags"):
        if fields.get(name) is not None:
            setattr(item, name, fields[name])
    if changes.target is not None:
        item.target_communities = [str(c) for c in changes.target.communities]
        item.target_segments = list(changes.target.segments)
        item.target_tags = list(changes.target.tags)
    now = datetime.now(UTC)
    if changes.title is not None or changes.body is not None:
        verdict = screening.screen(
            lexicon, title=changes.title or item.title, body=changes.body or item.body, ugc=False
        )
        await screening.apply_verdict(session=session, outbox=outbox, item=item, verdict=verdict, now=now)
    item.updated_at = now
    return item


async def withdraw_item(*, session: AsyncSession, tenant_id: str, item_id: uuid.UUID) -> ContentItem:
    """Takes an item out of circulation: off every feed, and whatever was still scheduled is cancelled."""
    item = await get_item(session=session, tenant_id=tenant_id, item_id=item_id, lock=True)
    item.status, item.updated_at = "withdrawn", datetime.now(UTC)
    await publishing.cancel_scheduled(session=session, content_id=item.id)
    return item


async def create_post(
    *, session: AsyncSession, outbox: Outbox, lexicon: Lexicon, tenant_id: str, post: PostCreate
) -> ContentItem:
    """A member's post into their community: screened as UGC (spam, links, contacts, repeats), published at
    once when it passes, queued for review when held."""
    community = await audience.open_community(session=session, tenant_id=tenant_id, community_id=post.community_id)
    if not await audience.is_in(session=session, community_id=community.id, member_id=post.member_id):
        raise NotInCommunity(f"Member {post.member_id} is not in community {community.id}.")
    if post.reply_to is not None:
        topic = await get_item(session=session, tenant_id=tenant_id, item_id=post.reply_to)
        if topic.status != "ready":
            raise ContentNotReady(f"Topic {topic.id} is {topic.status}.")
    now = datetime.now(UTC)
    mark = screening.fingerprint(post.title + "\n" + post.body)
    verdict = screening.screen(
        lexicon,
        title=post.title,
        body=post.body,
        ugc=True,
        repeated=await _posted_lately(session, tenant_id, post.member_id, mark, now),
    )
    item = ContentItem(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        content_type="activity",
        source="UGC",
        media=post.media,
        tags=post.tags,
        target_communities=[str(community.id)],
        target_segments=[],
        target_tags=[],
        author_member_id=post.member_id,
        post_kind=post.kind,
        reply_to=post.reply_to,
        fingerprint=mark,
        created_at=now,
    )
    await screening.apply_verdict(session=session, outbox=outbox, item=item, verdict=verdict, now=now)
    placement = Placement(
        tenant_id=tenant_id,
        content_id=item.id,
        community_id=community.id,
        content_type=item.content_type,
        publish_at=now,
        status="scheduled",
    )
    session.add(placement)
    if item.status == "ready":
        await publishing.publish(session=session, outbox=outbox, placement=placement, item=item, now=now)
    # Held: the publisher publishes it once a reviewer approves it.
    return item


async def get_item(*, session: AsyncSession, tenant_id: str, item_id: uuid.UUID, lock: bool = False) -> ContentItem:
    """The tenant's item (locked for update when asked), or ContentNotFound."""
    item = await session.get(ContentItem, item_id, with_for_update=lock or None)
    if item is None or item.tenant_id != tenant_id:
        raise ContentNotFound(f"No content {item_id}.")
    return item


async def list_items(
    *,
    session: AsyncSession,
    tenant_id: str,
    limit: int,
    cursor: str | None,
    content_type: str | None,
    source: str | None,
    status: str | None,
) -> tuple[list[ContentItem], str | None]:
    """The tenant's items, newest first."""
    query = select(ContentItem).where(ContentItem.tenant_id == tenant_id)
    for column, value in (
        (ContentItem.content_type, content_type),
        (ContentItem.source, source),
        (ContentItem.status, status),
    ):
        if value is not None:
            query = query.where(column == value)
    if cursor is not None:
        after = decode_time_cursor(cursor)
        query = query.where(
            (ContentItem.created_at < after[0]) | ((ContentItem.created_at == after[0]) & (ContentItem.id < after[1]))
        )
    items = list(
        (
            await session.scalars(query.order_by(ContentItem.created_at.desc(), ContentItem.id.desc()).limit(limit + 1))
        ).all()
    )
    more = len(items) > limit
    items = items[:limit]
    return items, (encode_time_cursor(items[-1].created_at, items[-1].id) if more else None)


async def _posted_lately(session: AsyncSession, tenant_id: str, member_id: uuid.UUID, mark: str, now: datetime) -> bool:
    earlier = await session.scalar(
        select(ContentItem.id)
        .where(
            ContentItem.tenant_id == tenant_id,
            ContentItem.author_member_id == member_id,
            ContentItem.fingerprint == mark,
            ContentItem.created_at > now - REPEAT_WINDOW,
        )
        .limit(1)
    )
    return earlier is not None
