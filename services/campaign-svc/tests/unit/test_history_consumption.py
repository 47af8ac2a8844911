"""What a history import sends campaign-svc in bulk — a million `content.engaged`, hundreds of thousands of orders —
is taken a consumer batch at once: the same members' engagement as one event at a time, in a few statements
whatever the batch's size; orders look for experiment conversions only for members exposed in one."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc import erasure
from campaign_svc.experiments import service as experiments
from campaign_svc.experiments.models import ExperimentConversion
from campaign_svc.experiments.schemas import ExperimentCreate
from campaign_svc.handlers import HANDLERS
from campaign_svc.members.models import Member
from campaign_svc.models import Base
from qunyun_shared.events import Envelope, new_event
from qunyun_shared.events.campaign import OrderPlacedV1
from qunyun_shared.events.content import ContentEngagedV1
from qunyun_shared.testing import in_memory_database, statements

from .conftest import OUTBOX, TENANT

pytestmark = pytest.mark.unit

OTHER = "tenant-b"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
KNOWN, LATE, ERASED, FOREIGN, NEWCOMER, CONTESTED = (uuid.UUID(int=n) for n in range(1, 7))


async def world(session: AsyncSession) -> None:
    """Members campaigns know: one engaged before, one whose last engagement is later than the batch's, one of
    another tenant, one erased."""
    session.add(Member(member_id=KNOWN, tenant_id=TENANT, engagements=3, last_engaged_at=NOW - timedelta(days=9)))
    session.add(Member(member_id=LATE, tenant_id=TENANT, engagements=1, last_engaged_at=NOW + timedelta(days=9)))
    session.add(Member(member_id=FOREIGN, tenant_id=OTHER))
    await session.flush()
    await erasure.forget_members(session=session, erased=[(TENANT, ERASED)])


def engagement() -> list[Envelope]:
    def engaged(tenant_id: str, member_id: uuid.UUID, minutes: int, imported: bool) -> Envelope:
        action = ("view", "like", "comment")[minutes % 3]
        payload = ContentEngagedV1(
            content_id=uuid.UUID(int=99),
            member_id=member_id,
            action=action,  # type: ignore[arg-type]
            occurred_at=NOW - timedelta(minutes=minutes),
        )
        return new_event(source="content-svc", tenant_id=tenant_id, payload=payload, imported=imported)

    return [
        engaged(TENANT, KNOWN, 5, True),
        engaged(TENANT, KNOWN, 1, False),  # the latest, live
        engaged(TENANT, KNOWN, 500, True),  # older history arriving after it
        engaged(TENANT, LATE, 3, True),
        engaged(TENANT, ERASED, 3, False),
        engaged(TENANT, FOREIGN, 2, False),  # another tenant's member: nothing
        engaged(OTHER, FOREIGN, 4, True),
        engaged(TENANT, NEWCOMER, 7, True),  # first seen here
        engaged(TENANT, NEWCOMER, 6, True),
        engaged(OTHER, CONTESTED, 8, False),  # first seen as the other tenant's: the tenant's own event is ignored
        engaged(TENANT, CONTESTED, 1, False),
        engaged(OTHER, CONTESTED, 9, False),
    ]


async def members(session: AsyncSession) -> list[tuple[Any, ...]]:
    rows = await session.execute(
        select(Member.member_id, Member.tenant_id, Member.engagements, Member.last_engaged_at).order_by(
            Member.member_id
        )
    )
    return [tuple(row) for row in rows.all()]


async def test_a_batch_of_engagement_keeps_what_one_event_at_a_time_keeps() -> None:
    run = engagement()
    async with in_memory_database(Base.metadata) as one_by_one, in_memory_database(Base.metadata) as together:
        async with AsyncSession(one_by_one) as session, session.begin():
            await world(session)
            for envelope in run:
                await HANDLERS["content.engaged"](session, OUTBOX, [envelope])
            expected = await members(session)
        async with AsyncSession(together) as session, session.begin():
            await world(session)
            await HANDLERS["content.engaged"](session, OUTBOX, run)
            assert await members(session) == expected
    assert expected == [
        (KNOWN, TENANT, 6, NOW - timedelta(minutes=1)),
        (LATE, TENANT, 2, NOW + timedelta(days=9)),
        (FOREIGN, OTHER, 1, NOW - timedelta(minutes=4)),
        (NEWCOMER, TENANT, 2, NOW - timedelta(minutes=6)),
        (CONTESTED, OTHER, 2, NOW - timedelta(minutes=8)),
    ]


def imported_engagement(count: int) -> list[Envelope]:
    return [
        new_event(
            source="content-svc",
            tenant_id=TENANT,
            payload=ContentEngagedV1(
                content_id=uuid.UUID(int=99),
                member_id=uuid.UUID(int=1000 + n % 300),
                action="view",
                occurred_at=NOW - timedelta(days=200, minutes=n),
            ),
            imported=True,
        )
        for n in range(count)
    ]


def imported_orders(count: int, member_id: uuid.UUID | None = None) -> list[Envelope]:
    after_the_exposures = datetime.now(UTC) + timedelta(minutes=1)
    return [
        new_event(
            source="campaign-svc",
            tenant_id=TENANT,
            payload=OrderPlacedV1(
                order_id=uuid.uuid4(),
                member_id=member_id or uuid.UUID(int=1000 + n % 300),
                amount_fen=5_000,
                placed_at=after_the_exposures + timedelta(minutes=n),
            ),
            imported=True,
        )
        for n in range(count)
    ]


async def test_a_history_batch_of_engagement_or_orders_takes_the_statements_of_a_few_events() -> None:
    exposed = uuid.UUID(int=7)
    sent: dict[tuple[str, int], list[str]] = {}
    async with in_memory_database(Base.metadata) as engine, AsyncSession(engine) as session, session.begin():
        await world(session)
        session.add(Member(member_id=exposed, tenant_id=TENANT))
        experiment = await experiments.create_experiment(
            session=session,
            tenant_id=TENANT,
            experiment_in=ExperimentCreate.model_validate(
                {"name": "首单礼", "subject_kind": "campaign", "variants": [{"key": "control"}, {"key": "bold"}]}
            ),
        )
        await experiments.expose(session=session, tenant_id=TENANT, experiment_id=experiment.id, member_id=exposed)
        for count in (10, 1000):
            with statements(engine) as sent["content.engaged", count]:
                await HANDLERS["content.engaged"](session, OUTBOX, imported_engagement(count))
            with statements(engine) as sent["order.placed", count]:
                await HANDLERS["order.placed"](session, OUTBOX, imported_orders(count))
        with statements(engine) as sent["exposed", 1000]:
            await HANDLERS["order.placed"](session, OUTBOX, imported_orders(999) + imported_orders(1, exposed))
        engaged = await session.scalar(select(Member.engagements).where(Member.member_id == uuid.UUID(int=1000)))
        conversions = (await session.scalars(select(ExperimentConversion.member_id))).all()
    assert engaged == 1 + 4  # the batch of 10 and every 300th of the 1,000
    assert conversions == [exposed]  # history converts a member exposed before it, as live orders do
    # The erased look-up, the members' tenants, one upsert.
    assert len(sent["content.engaged", 1000]) == len(sent["content.engaged", 10]) == 3
    assert len(sent["order.placed", 1000]) == len(sent["order.placed", 10]) == 1  # who of them is exposed
    assert len(sent["exposed", 1000]) == 2
