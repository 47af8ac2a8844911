"""History imported long after it happened lands where it would have landed live: a member's year and a
half of joins, leaves, reads, check-ins and orders, published as imported history after their live events
of today and in no particular order, gives the same facts, KPIs, cohorts and funnel as the same events
consumed live, each as it happened."""

import dataclasses
import random
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc import handlers
from analytics_svc.activity import REPORT_ZONE, day_of
from analytics_svc.cohorts import service as cohorts
from analytics_svc.communities import health
from analytics_svc.db import MESSAGING
from analytics_svc.ingestion.models import MemberFacts
from analytics_svc.kpis import service as kpis
from analytics_svc.kpis.catalogue import NAMES
from analytics_svc.models import Base
from analytics_svc.scoring import segments
from qunyun_shared.events import EventPayload, new_event
from qunyun_shared.events.campaign import CheckinRecordedV1, OrderPaidV1, OrderPlacedV1
from qunyun_shared.events.content import ContentEngagedV1
from qunyun_shared.events.member import MemberJoinedV1, MemberLeftV1
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import in_memory_session_fixture

pytestmark = pytest.mark.unit

OUTBOX = Outbox(table=MESSAGING.outbox, source="analytics-svc", topic_prefix="qunyun")
NOW = datetime.now(UTC)
TODAY = day_of(NOW)
FIRST_COMMUNITY, SECOND_COMMUNITY = uuid.UUID(int=11), uuid.UUID(int=12)

session = in_memory_session_fixture(Base.metadata)


def months_ago(months: int, day: int = 10) -> date:
    year, month = divmod(TODAY.year * 12 + TODAY.month - 1 - months, 12)
    return date(year, month + 1, day)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), REPORT_ZONE)


JOINED, READ = months_ago(14), months_ago(14)
BOUGHT, CHECKED_IN, BOUGHT_AGAIN, LEFT = months_ago(13), months_ago(13, 12), months_ago(12), months_ago(10)
# Two orders paid at the same moment and one later that day, then one a month later: two purchase days.
SAME_MOMENT = at(BOUGHT, 20)
ORDERS = [
    (uuid.UUID(int=2), 5_000, SAME_MOMENT),
    (uuid.UUID(int=1), 3_000, SAME_MOMENT),
    (uuid.UUID(int=3), 1_000, at(BOUGHT, 23, 30)),
    (uuid.UUID(int=4), 1_500, at(BOUGHT_AGAIN, 9)),
]


@dataclasses.dataclass(frozen=True)
class Happened:
    """An event of the member's history, when it happened, and whether it came in live or imported."""

    at: datetime
    payload: EventPayload
    live: bool = False


def history(member_id: uuid.UUID, order_ids: dict[uuid.UUID, uuid.UUID]) -> list[Happened]:
    """What the member did, oldest first: 14 months ago they joined the first community and read; 13 and 12
    months ago they bought and checked in; 10 months ago they left; today they joined the second and liked."""
    events = [
        Happened(
            at(JOINED, 9),
            MemberJoinedV1(member_id=member_id, community_id=FIRST_COMMUNITY, channel="qr", joined_at=at(JOINED, 9)),
        ),
        Happened(at(READ, 10), engaged(member_id, "view", at(READ, 10))),
        Happened(
            at(CHECKED_IN, 8),
            CheckinRecordedV1(campaign_id=uuid.uuid4(), member_id=member_id, day=CHECKED_IN, streak=1),
        ),
        Happened(
            at(LEFT, 18),
            MemberLeftV1(member_id=member_id, community_id=FIRST_COMMUNITY, reason="left", left_at=at(LEFT, 18)),
        ),
        Happened(
            NOW - timedelta(hours=1),
            MemberJoinedV1(
                member_id=member_id, community_id=SECOND_COMMUNITY, channel="qr", joined_at=NOW - timedelta(hours=1)
            ),
            live=True,
        ),
        Happened(NOW - timedelta(minutes=30), engaged(member_id, "like", NOW - timedelta(minutes=30)), live=True),
    ]
    for order, amount, paid_at in ORDERS:
        order_id = order_ids[order]
        placed = OrderPlacedV1(
            order_id=order_id, member_id=member_id, amount_fen=amount, placed_at=paid_at - timedelta(minutes=5)
        )
        paid = OrderPaidV1(order_id=order_id, member_id=member_id, amount_fen=amount, paid_at=paid_at)
        events += [Happened(paid_at - timedelta(minutes=5), placed), Happened(paid_at, paid)]
    return sorted(events, key=lambda e: e.at)


def engaged(member_id: uuid.UUID, action: str, moment: datetime) -> ContentEngagedV1:
    return ContentEngagedV1(
        content_id=uuid.uuid4(), member_id=member_id, community_id=FIRST_COMMUNITY, action=action, occurred_at=moment
    )


async def consume(session: AsyncSession, tenant_id: str, batch: Sequence[Happened], *, imported: bool) -> None:
    """One consumer batch, published when each event happened (live) or now (imported)."""
    envelopes = []
    for event in batch:
        envelope = new_event(source="test", tenant_id=tenant_id, payload=event.payload, imported=imported)
        envelopes.append(envelope if imported else dataclasses.replace(envelope, time=event.at))
    await handlers.on_measured(session, OUTBOX, envelopes)


async def facts_of(session: AsyncSession, member_id: uuid.UUID) -> MemberFacts:
    found = await session.scalar(
        select(MemberFacts).where(MemberFacts.member_id == member_id).execution_options(populate_existing=True)
    )
    assert found is not None
    return found


async def two_tenants(session: AsyncSession) -> tuple[uuid.UUID, uuid.UUID]:
    """The same member's history consumed live, event by event as it happened, by one tenant; and by
    another, their live events first, then the history imported in random order (each order's payment
    after its placing, as they share a partition) in a few batches. Both refitted at the same moment."""
    timely, late = uuid.uuid4(), uuid.uuid4()
    timely_orders = {order: uuid.uuid4() for order, _, _ in ORDERS}
    late_orders = {order: uuid.uuid4() for order, _, _ in ORDERS}
    for event in history(timely, timely_orders):
        await consume(session, "timely", [event], imported=False)
    events = history(late, late_orders)
    await consume(session, "late", [e for e in events if e.live], imported=False)
    imported = [e for e in events if not e.live]
    random.Random(21).shuffle(imported)
    imported.sort(key=lambda e: not isinstance(e.payload, OrderPlacedV1))  # placings before payments
    for start in range(0, len(imported), 4):
        await consume(session, "late", list(reversed(imported[start : start + 4])), imported=True)
    for tenant_id in ("timely", "late"):
        await segments.recompute(session=session, outbox=OUTBOX, tenant_id=tenant_id, now=NOW)
    return timely, late


async def test_imported_history_lands_on_the_days_it_happened(session: AsyncSession) -> None:
    _, member_id = await two_tenants(session)
    facts = await facts_of(session, member_id)
    assert facts.first_joined_at == at(JOINED, 9)
    assert (facts.first_active_at, facts.last_active_at) == (at(READ, 10), NOW - timedelta(minutes=30))
    # The first purchase is the whole first day, whichever of its orders arrived first.
    assert (facts.first_order_at, facts.last_order_at) == (SAME_MOMENT, at(BOUGHT_AGAIN, 9))
    assert (facts.orders, facts.purchase_days, facts.spend_fen, facts.first_day_fen) == (4, 2, 10_500, 9_000)
    assert facts.memberships == 1

    async def on(day: date, name: str, community_id: uuid.UUID | None = None) -> float | None:
        [(_, value)] = await kpis.series(
            session=session,
            tenant_id="late",
            name=name,
            start=day,
            end=day,
            granularity="day",
            community_id=community_id,
        )
        return value

    # Active on the days they read, bought, checked in, and today; a member of the brand from their first
    # join until they left their last community, and again from today.
    for day in (READ, BOUGHT, CHECKED_IN, BOUGHT_AGAIN, TODAY):
        assert await on(day, "dau") == 1, day
    assert await on(JOINED - timedelta(1), "members_total") == 0
    for day, members in ((JOINED, 1), (LEFT - timedelta(1), 1), (LEFT, 0), (TODAY - timedelta(1), 0), (TODAY, 1)):
        assert await on(day, "members_total") == members, day
    assert (await on(JOINED, "members_new"), await on(TODAY, "members_new")) == (1, 0)
    assert await on(CHECKED_IN, "activity_participation_rate") == 1
    assert await on(BOUGHT, "gmv_fen") == 9_000

    # Their join cohort is the month they joined 14 months ago, not this one.
    rows = await cohorts.retention(
        session=session, tenant_id="late", start=months_ago(14, 1), end=TODAY, granularity="month"
    )
    assert [row.members for row in rows] == [1] + [0] * (len(rows) - 1)
    assert rows[0].values[0] == 1.0  # active in the month they joined
    # The first community's age runs from its first join, 14 months ago.
    community = await health.evaluate(
        session=session, tenant_id="late", community_id=FIRST_COMMUNITY, as_of=TODAY - timedelta(1)
    )
    assert community.age_days == (TODAY - timedelta(1) - JOINED).days


async def test_imported_history_gives_what_live_consumption_gives(session: AsyncSession) -> None:
    timely, late = await two_tenants(session)
    first, second = await facts_of(session, timely), await facts_of(session, late)
    decaying = {"engagement_fast", "engagement_slow"}
    for column in (
        set(MemberFacts.__table__.columns.keys()) - {"number", "member_id", "tenant_id", "scored_at"} - decaying
    ):
        assert getattr(second, column) == getattr(first, column), column
    # A check-in names its day, not its moment: imported, it counts from the end of that day, which a year
    # on weighs next to nothing in the decayed counts.
    for column in decaying:
        assert getattr(second, column) == pytest.approx(getattr(first, column), rel=1e-4), column

    async def answers(tenant_id: str) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for name in NAMES:
            for community_id in (None, FIRST_COMMUNITY, SECOND_COMMUNITY):
                found[f"{name} {community_id}"] = await kpis.series(
                    session=session,
                    tenant_id=tenant_id,
                    name=name,
                    start=months_ago(15, 1),
                    end=TODAY,
                    granularity="month",
                    community_id=community_id,
                )
        span: dict[str, Any] = {"session": session, "tenant_id": tenant_id, "start": months_ago(15, 1), "end": TODAY}
        found["retention"] = await cohorts.retention(**span, granularity="month")
        found["revenue"] = await cohorts.revenue(**span, granularity="month")
        found["funnel"] = await cohorts.funnel(**span)
        return found

    assert await answers("late") == await answers("timely")
