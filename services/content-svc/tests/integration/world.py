"""A tenant of its own on content-svc's PostgreSQL database, built through the handlers and use cases the
service runs, each step in its own transaction as a request or the consumer would run it."""

import asyncio
import secrets
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from content_svc.audience.models import Community
from content_svc.calendar import publishing
from content_svc.calendar import service as calendar
from content_svc.calendar.schemas import ScheduleRequest
from content_svc.db import MESSAGING
from content_svc.engagement import service as engagement
from content_svc.engagement.schemas import EngagementReceipt
from content_svc.handlers import HANDLERS
from content_svc.items import service as items
from content_svc.items.models import ContentItem
from content_svc.items.schemas import ContentCreate, PostCreate, Target
from content_svc.moderation import Lexicon, Term
from qunyun_shared.events import Envelope, EventPayload, new_event
from qunyun_shared.events.catalogue import spec_for
from qunyun_shared.events.kafka_binding import from_kafka, to_kafka
from qunyun_shared.events.member import CommunityOpenedV1, MemberJoinedV1
from qunyun_shared.inbox import EventConsumer
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import eventually
from qunyun_shared.topics import create_topics, topic_for
from tests.support.harness import KAFKA_BOOTSTRAP

T = TypeVar("T")

OUTBOX = Outbox(table=MESSAGING.outbox, source="content-svc", topic_prefix="it")
# A member's post saying 赌博 is held for review.
HOLDING = Lexicon([Term("赌博")])


async def at_once(*attempts: Awaitable[T]) -> list[T | BaseException]:
    """Runs the attempts concurrently, each answer or refusal in the order given."""
    return await asyncio.gather(*attempts, return_exceptions=True)


def outcome(answer: object) -> str:
    """`ok`, or the name of what was raised."""
    return type(answer).__name__ if isinstance(answer, BaseException) else "ok"


@dataclass
class Tenant:
    engine: AsyncEngine
    tenant_id: str = field(default_factory=lambda: f"t-{uuid.uuid4().hex[:12]}")

    async def run(self, use_case: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """`use_case(session)` in a transaction of its own, committed when it returns."""
        async with AsyncSession(self.engine, expire_on_commit=False) as session, session.begin():
            return await use_case(session)

    async def deliver(self, source: str, *payloads: EventPayload) -> None:
        """Hands events to content-svc's handlers in one transaction, as its consumer would."""
        for payload in payloads:
            envelope = new_event(source=source, tenant_id=self.tenant_id, payload=payload)

            async def handle(session: AsyncSession, envelope: Any = envelope) -> None:
                await HANDLERS[envelope.type](session, OUTBOX, [envelope])

            await self.run(handle)

    async def community(self, **policy: Any) -> uuid.UUID:
        """A community member-svc opened, with the push policy `policy` changes."""
        community_id = uuid.uuid4()
        opened = CommunityOpenedV1(
            community_id=community_id,
            name=f"群{community_id.hex[:4]}",
            kind="vertical",
            tier="core",
            opened_at=datetime.now(UTC),
        )
        await self.deliver("member-svc", opened)
        if policy:

            async def set_policy(session: AsyncSession) -> None:
                community = await session.get_one(Community, community_id)
                for name, value in policy.items():
                    setattr(community, name, value)

            await self.run(set_policy)
        return community_id

    async def member(self, *communities: uuid.UUID) -> uuid.UUID:
        member_id = uuid.uuid4()
        for community_id in communities:
            await self.deliver(
                "member-svc",
                MemberJoinedV1(
                    member_id=member_id, community_id=community_id, channel="qr", joined_at=datetime.now(UTC)
                ),
            )
        return member_id

    async def item(self, content_type: str = "knowledge", *, title: str = "三分钟早餐", **fields: Any) -> ContentItem:
        """An operator's item; promotion that breaks the advertising law (全网最低价) is held."""
        created = ContentCreate(
            content_type=content_type,  # type: ignore[arg-type]
            title=title,
            body=fields.pop("body", "燕麦 40g, 酸奶 150g, 蓝莓一把。"),
            target=Target(**fields.pop("target", {})),
            **fields,
        )
        return await self.run(
            lambda session: items.create_item(
                session=session, outbox=OUTBOX, lexicon=Lexicon([]), tenant_id=self.tenant_id, item_in=created
            )
        )

    async def post(self, member_id: uuid.UUID, community_id: uuid.UUID, body: str) -> ContentItem:
        """A member's post into their community; held when it says 赌博."""
        created = PostCreate(member_id=member_id, community_id=community_id, kind="show_order", body=body)
        return await self.run(
            lambda session: items.create_post(
                session=session, outbox=OUTBOX, lexicon=HOLDING, tenant_id=self.tenant_id, post=created
            )
        )

    async def events(self, event_type: str) -> list[Any]:
        """The payloads of this tenant's events of `event_type` in the outbox, in order."""
        async with self.engine.connect() as connection:
            rows = (await connection.execute(select(MESSAGING.outbox).order_by(MESSAGING.outbox.c.id))).all()
        decoded = [from_kafka(row.value, [(name, value.encode()) for name, value in row.headers]) for row in rows]
        return [e.data for e in decoded if e.tenantid == self.tenant_id and e.type == event_type]


async def published_item(tenant: Tenant, community_id: uuid.UUID, tags: Sequence[str] = ("早餐",)) -> uuid.UUID:
    """An operator's item, scheduled into the community and published there."""
    item = await tenant.item(tags=list(tags))
    now = datetime.now(UTC)
    request = ScheduleRequest(community_ids=[community_id], publish_at=now + timedelta(minutes=1))
    await tenant.run(
        lambda session: calendar.schedule(
            session=session, tenant_id=tenant.tenant_id, content_id=item.id, request=request, now=now
        )
    )
    await tenant.run(
        lambda session: publishing.publish_due(session=session, outbox=OUTBOX, now=now + timedelta(minutes=2))
    )
    return item.id


async def report(tenant: Tenant, rows: list[dict[str, Any]]) -> EngagementReceipt:
    """One `POST /content/engagements`, in its own transaction."""
    return await tenant.run(
        lambda session: engagement.ingest(
            session=session, outbox=OUTBOX, tenant_id=tenant.tenant_id, rows=rows, now=datetime.now(UTC)
        )
    )


async def consume(engine: AsyncEngine, envelopes: Sequence[Envelope], *, handled: int) -> None:
    """Puts the envelopes on topics of their own, in order, and runs content-svc's consumer on them until its
    inbox holds `handled` events."""
    prefix = f"it{secrets.token_hex(4)}"
    await create_topics(KAFKA_BOOTSTRAP, prefix)
    producer = AIOKafkaProducer(bootstrap_servers=KAFKA_BOOTSTRAP)
    await producer.start()
    try:
        for envelope in envelopes:
            record = to_kafka(envelope)
            topic = topic_for(prefix, spec_for(type(envelope.data)))
            await producer.send_and_wait(topic, record.value, key=record.key, headers=record.headers)
    finally:
        await producer.stop()
    name = f"content-svc-{prefix}"
    consumer = EventConsumer(
        name=name,
        engine=engine,
        inbox=MESSAGING.inbox,
        handlers=HANDLERS,
        bootstrap_servers=KAFKA_BOOTSTRAP,
        topic_prefix=prefix,
        outbox=Outbox(table=MESSAGING.outbox, source="content-svc", topic_prefix=prefix),
    )

    async def all_handled() -> None:
        async with engine.connect() as connection:
            inbox = MESSAGING.inbox
            count = select(func.count()).select_from(inbox).where(inbox.c.consumer == name)
            assert await connection.scalar(count) == handled

    task = asyncio.create_task(consumer.run())
    try:
        await eventually(all_handled)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
