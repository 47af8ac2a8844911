"""Publishing scheduled items when their time comes: exactly once each, however many replicas run; and
cancelling what of an item is still to come when it is withdrawn or rejected."""

import asyncio
import contextlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, cast

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from content_svc.audience import service as audience
from content_svc.calendar.models import Placement
from content_svc.config import Settings
from content_svc.items.models import ContentItem
from qunyun_shared.db import insert_rows
from qunyun_shared.events.content import ContentPostedV1, ContentType
from qunyun_shared.outbox import Outbox
from qunyun_shared.runtime import ServiceRuntime

BATCH = 200
_PLACEMENTS = cast(Table, Placement.__table__)


async def publish_due(*, session: AsyncSession, outbox: Outbox, now: datetime) -> int:
    """Publishes placements whose time has come and whose item is ready (a held one waits for review).
    Rows another replica is publishing are skipped, not waited for: its transaction marks them published
    together with their `content.posted`, so each goes out once."""
    due = await session.execute(
        select(Placement, ContentItem)
        .join(ContentItem, ContentItem.id == Placement.content_id)
        .where(Placement.status == "scheduled", Placement.publish_at <= now, ContentItem.status == "ready")
        .order_by(Placement.publish_at)
        .limit(BATCH)
        .with_for_update(of=Placement, skip_locked=True)
    )
    published = 0
    for placement, item in due:
        await publish(session=session, outbox=outbox, placement=placement, item=item, now=now)
        published += 1
    return published


async def publish(
    *, session: AsyncSession, outbox: Outbox, placement: Placement, item: ContentItem, now: datetime
) -> None:
    """Publishes one placement now: its audience counted, `content.posted` in the outbox."""
    placement.status, placement.published_at = "published", now
    placement.audience_size = await audience.audience_size(session=session, community_id=placement.community_id)
    posted = ContentPostedV1(
        content_id=item.id,
        community_id=placement.community_id,
        content_type=item.content_type,
        source=item.source,
        author_member_id=item.author_member_id,
        posted_at=now,
    )
    await outbox.add(session, tenant_id=placement.tenant_id, payloads=[posted])


@dataclass(frozen=True)
class Publication:
    """An item that went out in a community at a time of the brand's history."""

    content_id: uuid.UUID
    community_id: uuid.UUID
    content_type: ContentType
    source: Literal["PGC", "UGC", "OGC"]
    author_member_id: uuid.UUID | None
    published_at: datetime


async def publish_history(
    *, session: AsyncSession, outbox: Outbox, tenant_id: str, publications: Sequence[Publication]
) -> None:
    """Records imported publications as published placements, each to the audience the community had then,
    and announces each by `content.posted` with its time, marked imported."""
    if not publications:
        return
    moments = {(p.community_id, p.published_at) for p in publications}
    audiences = await audience.audience_sizes_at(session=session, moments=moments)
    placements = [
        {
            "id": uuid.uuid4(),
            "tenant_id": tenant_id,
            "content_id": p.content_id,
            "community_id": p.community_id,
            "content_type": p.content_type,
            "publish_at": p.published_at,
            "status": "published",
            "published_at": p.published_at,
            "audience_size": audiences[(p.community_id, p.published_at)],
        }
        for p in publications
    ]
    statement, parameters = insert_rows(session, _PLACEMENTS, placements)
    await session.execute(statement, parameters)
    posted = [
        ContentPostedV1(
            content_id=p.content_id,
            community_id=p.community_id,
            content_type=p.content_type,
            source=p.source,
            author_member_id=p.author_member_id,
            posted_at=p.published_at,
        )
        for p in publications
    ]
    await outbox.add(session, tenant_id=tenant_id, payloads=posted, imported=True)


async def cancel_scheduled(*, session: AsyncSession, content_id: uuid.UUID) -> None:
    """Cancels what of an item was still to be published: it will not go out after all."""
    await session.execute(
        update(Placement)
        .where(Placement.content_id == content_id, Placement.status == "scheduled")
        .values(status="cancelled")
    )


async def run_publisher(*, runtime: ServiceRuntime[Settings], poll_seconds: float, wakeup: asyncio.Event) -> None:
    """Publishes forever: batch after batch while any are due, then sleeps until the next poll or until
    a schedule or an approval in this process wakes it. State lives in the database, so a restart
    resumes where the last transaction left off."""
    while True:
        async with runtime.sessionmaker() as session:
            async with session.begin():
                published = await publish_due(session=session, outbox=runtime.outbox, now=datetime.now(UTC))
            if session.info.get("outbox_written"):
                runtime.outbox.committed()
        if published < BATCH:
            wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wakeup.wait(), poll_seconds)
