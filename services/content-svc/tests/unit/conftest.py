"""A tenant's content world on an embedded database: communities, members in them, items, and the events
content-svc would have received, built through the same handlers and use cases the service runs."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession

from content_svc.db import MESSAGING
from content_svc.handlers import HANDLERS
from content_svc.items import service as items
from content_svc.items.models import ContentItem
from content_svc.items.schemas import ContentCreate, Target
from content_svc.models import Base
from content_svc.moderation import Lexicon
from qunyun_shared.events import EventPayload, new_event
from qunyun_shared.events.member import CommunityOpenedV1, MemberJoinedV1, MemberTaggedV1
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import in_memory_database, staged_events

TENANT = "tenant-a"
OUTBOX = Outbox(table=MESSAGING.outbox, source="content-svc", topic_prefix="qunyun")


class World:
    """Builds a tenant's content world step by step."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.lexicon = Lexicon([])

    async def deliver(self, source: str, *payloads: EventPayload, tenant_id: str = TENANT) -> None:
        """Hands events to content-svc's handlers as its consumer would."""
        for payload in payloads:
            envelope = new_event(source=source, tenant_id=tenant_id, payload=payload)
            await HANDLERS[envelope.type](self.session, OUTBOX, [envelope])

    async def community(self, name: str = "宝妈交流群", *, tenant_id: str = TENANT) -> uuid.UUID:
        community_id = uuid.uuid4()
        opened = CommunityOpenedV1(
            community_id=community_id, name=name, kind="vertical", tier="core", opened_at=datetime.now(UTC)
        )
        await self.deliver("member-svc", opened, tenant_id=tenant_id)
        return community_id

    async def member(self, *communities: uuid.UUID, tags: tuple[str, ...] = ()) -> uuid.UUID:
        member_id = uuid.uuid4()
        for community_id in communities:
            joined = MemberJoinedV1(
                member_id=member_id, community_id=community_id, channel="qr", joined_at=datetime.now(UTC)
            )
            await self.deliver("member-svc", joined)
        for tag in tags:
            await self.deliver(
                "member-svc", MemberTaggedV1(member_id=member_id, tag=tag, kind="manual", action="added")
            )
        return member_id

    async def item(self, content_type: str = "knowledge", *, title: str = "三分钟早餐", **fields: Any) -> ContentItem:
        body = fields.pop("body", "燕麦 40g, 酸奶 150g, 蓝莓一把。")
        target = Target(**fields.pop("target", {}))
        created = ContentCreate(content_type=content_type, title=title, body=body, target=target, **fields)  # type: ignore[arg-type]
        return await items.create_item(
            session=self.session, outbox=OUTBOX, lexicon=self.lexicon, tenant_id=TENANT, item_in=created
        )

    async def events(self) -> list[tuple[str, Any]]:
        return await staged_events(self.session, MESSAGING.outbox)


@pytest_asyncio.fixture
async def world() -> AsyncIterator[World]:
    async with in_memory_database(Base.metadata) as engine, AsyncSession(engine, expire_on_commit=False) as session:
        yield World(session)


@pytest.fixture
def outbox() -> Outbox:
    return OUTBOX
