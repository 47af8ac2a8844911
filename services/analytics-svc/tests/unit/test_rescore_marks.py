"""Members only imported history touched are not rescored event by event: they are marked, and judged once
their tenant's history is in, each announced once, live, with the segment and churn flag of today; a live
event still rescores its member at once; a flag cleared is announced too."""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc import erasure
from analytics_svc.db import MESSAGING
from analytics_svc.handlers import on_measured
from analytics_svc.ingestion.models import MemberFacts
from analytics_svc.models import Base
from analytics_svc.scoring import marks, roster, segments
from analytics_svc.scoring.decisions import Decision, write_decisions
from analytics_svc.scoring.models import TenantModel
from qunyun_shared.events import Envelope, EventPayload, new_event
from qunyun_shared.events.analytics import MemberChurnRiskV1, MemberSegmentChangedV1
from qunyun_shared.events.campaign import OrderPaidV1, OrderPlacedV1
from qunyun_shared.events.content import ContentEngagedV1
from qunyun_shared.events.kafka_binding import from_kafka
from qunyun_shared.events.member import MemberJoinedV1
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import in_memory_session_fixture

pytestmark = pytest.mark.unit

OUTBOX = Outbox(table=MESSAGING.outbox, source="analytics-svc", topic_prefix="qunyun")
TENANT = "tenant-marks"
COMMUNITY = uuid.UUID(int=7)
NOW = datetime.now(UTC)
LONG_AGO = NOW - timedelta(days=420)
# The sweep as soon as the history is in, and while it is still coming in.
AT_ONCE, NOT_YET = timedelta(0), timedelta(hours=1)

session = in_memory_session_fixture(Base.metadata)


async def consume(session: AsyncSession, *payloads: EventPayload, imported: bool, tenant_id: str = TENANT) -> None:
    await on_measured(
        session, OUTBOX, [new_event(source="test", tenant_id=tenant_id, payload=p, imported=imported) for p in payloads]
    )


def joined(member_id: uuid.UUID, at: datetime) -> MemberJoinedV1:
    return MemberJoinedV1(member_id=member_id, community_id=COMMUNITY, channel="qr", joined_at=at)


def bought(member_id: uuid.UUID, at: datetime, fen: int = 9_900) -> list[EventPayload]:
    order_id = uuid.uuid4()
    return [
        OrderPlacedV1(order_id=order_id, member_id=member_id, amount_fen=fen, placed_at=at),
        OrderPaidV1(order_id=order_id, member_id=member_id, amount_fen=fen, paid_at=at),
    ]


def liked(member_id: uuid.UUID, at: datetime) -> ContentEngagedV1:
    return ContentEngagedV1(content_id=uuid.uuid4(), member_id=member_id, action="like", occurred_at=at)


async def announced(session: AsyncSession) -> list[Envelope]:
    rows = (await session.execute(select(MESSAGING.outbox).order_by(MESSAGING.outbox.c.id))).all()
    return [from_kafka(row.value, [(name, value.encode()) for name, value in row.headers]) for row in rows]


async def announced_of(session: AsyncSession, member_ids: Sequence[uuid.UUID]) -> list[tuple[str, uuid.UUID, bool]]:
    """What was said of these members: (type, member, imported)."""
    return [(e.type, e.data.member_id, e.imported) for e in await announced(session) if e.data.member_id in member_ids]


async def facts_of(session: AsyncSession, member_id: uuid.UUID) -> MemberFacts:
    found = await session.scalar(
        select(MemberFacts).where(MemberFacts.member_id == member_id).execution_options(populate_existing=True)
    )
    assert found is not None
    return found


async def sweep(session: AsyncSession, *, quiet: timedelta = AT_ONCE, now: datetime | None = None) -> int:
    """The sweep run until it finds nothing more; how many members it judged."""
    judged = 0
    while found := await marks.rescore_next(session=session, outbox=OUTBOX, now=now or datetime.now(UTC), quiet=quiet):
        judged += found
    return judged


async def a_fitted_tenant(session: AsyncSession, members: int = 5) -> list[uuid.UUID]:
    """Members who joined live a year ago and bought last week: the tenant's first fit."""
    crowd = [uuid.uuid4() for _ in range(members)]
    await consume(session, *(joined(m, NOW - timedelta(days=365)) for m in crowd), imported=False)
    for m in crowd:
        await consume(session, *bought(m, NOW - timedelta(days=7)), imported=False)
    return crowd


async def test_imported_history_is_judged_once_it_is_in_and_announced_live(session: AsyncSession) -> None:
    """A member's history comes in over several batches: their join 14 months ago, then orders up to a year
    ago. Nothing is said of them meanwhile; once it is in, the sweep says once, as news, where they are
    today: silent for a year, at churn risk."""
    await a_fitted_tenant(session)
    silent = uuid.uuid4()
    await consume(session, joined(silent, LONG_AGO), imported=True)
    for days_ago in (400, 380, 365):
        await consume(session, *bought(silent, NOW - timedelta(days=days_ago)), imported=True)
    facts = await facts_of(session, silent)
    assert facts.orders == 3 and facts.segment is None and not facts.churn_flagged
    assert facts.rescore_marked_at is not None
    assert await announced_of(session, [silent]) == []

    # While the tenant's history is still coming in, it waits.
    assert await sweep(session, quiet=NOT_YET) == 0
    assert await announced_of(session, [silent]) == []

    assert await sweep(session) == 1
    assert await announced_of(session, [silent]) == [
        ("member.segment_changed", silent, False),
        ("member.churn_risk", silent, False),
    ]
    [changed, risk] = [e.data for e in await announced(session) if e.data.member_id == silent]
    assert isinstance(changed, MemberSegmentChangedV1) and (changed.from_segment, changed.to_segment) == (
        None,
        "churn_risk",
    )
    assert isinstance(risk, MemberChurnRiskV1) and risk.flagged and risk.reasons
    facts = await facts_of(session, silent)
    assert (facts.segment, facts.churn_flagged, facts.rescore_marked_at) == ("churn_risk", True, None)
    assert await sweep(session) == 0


async def test_a_live_event_rescores_at_once_and_a_cleared_flag_is_announced(session: AsyncSession) -> None:
    await a_fitted_tenant(session)
    silent = uuid.uuid4()
    await consume(session, joined(silent, LONG_AGO), imported=True)
    await sweep(session)
    assert (await facts_of(session, silent)).churn_flagged
    before = len(await announced(session))

    # Imported history and a live like in one batch: the member is judged at once, and no mark is left.
    await consume(session, *bought(silent, LONG_AGO + timedelta(days=3)), imported=True)
    await consume(session, liked(silent, NOW), *bought(silent, NOW), imported=False)
    facts = await facts_of(session, silent)
    assert facts.segment != "churn_risk" and not facts.churn_flagged and facts.rescore_marked_at is None
    said = [e for e in (await announced(session))[before:] if e.data.member_id == silent]
    assert [(e.type, e.imported) for e in said] == [("member.segment_changed", False), ("member.churn_risk", False)]
    cleared = said[1].data
    assert isinstance(cleared, MemberChurnRiskV1) and not cleared.flagged and cleared.reasons == []
    assert await sweep(session) == 0


async def test_a_tenant_whose_history_alone_came_in_gets_its_first_fit_from_the_sweep(session: AsyncSession) -> None:
    """No model is fitted on the first batch of a history (its first few members would make it); the sweep
    fits it on the whole history and judges everyone, each once."""
    members = [uuid.uuid4() for _ in range(4)]
    await consume(session, *(joined(m, LONG_AGO) for m in members), imported=True)
    await consume(session, *bought(members[0], NOW - timedelta(days=2)), imported=True)
    assert await session.get(TenantModel, TENANT) is None
    assert await announced(session) == []

    assert await sweep(session) == len(members)
    model = await session.get(TenantModel, TENANT, populate_existing=True)
    assert model is not None and model.members == len(members)
    said = await announced_of(session, members)
    assert sorted(said, key=str) == sorted(
        [("member.segment_changed", m, False) for m in members]
        + [("member.churn_risk", m, False) for m in members[1:]],
        key=str,
    )
    assert all(f.rescore_marked_at is None for f in [await facts_of(session, m) for m in members])


async def test_more_members_marked_than_the_model_knows_refit_it_fewer_are_judged_in_chunks(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    crowd = await a_fitted_tenant(session, members=6)
    fitted_at = (await session.get(TenantModel, TENANT)).fitted_at  # type: ignore[union-attr]
    history = [uuid.uuid4() for _ in range(5)]
    await consume(session, *(joined(m, LONG_AGO) for m in history), imported=True)
    monkeypatch.setattr(marks, "CHUNK", 2)
    # 5 marked against a model of 6: judged against it, two at a time.
    assert await marks.rescore_next(session=session, outbox=OUTBOX, now=datetime.now(UTC), quiet=AT_ONCE) == 2
    assert await sweep(session) == 3
    model = await session.get(TenantModel, TENANT, populate_existing=True)
    assert model is not None and model.fitted_at == fitted_at
    assert {(await facts_of(session, m)).segment for m in history} == {"churn_risk"}

    # 12 marked against a model fitted on 6: refitted, on everyone.
    more = [uuid.uuid4() for _ in range(12)]
    await consume(session, *(joined(m, LONG_AGO) for m in more), imported=True)
    assert await marks.rescore_next(session=session, outbox=OUTBOX, now=datetime.now(UTC), quiet=AT_ONCE) == 12
    model = await session.get(TenantModel, TENANT, populate_existing=True)
    assert model is not None and model.fitted_at > fitted_at and model.members == len(crowd) + 5 + 12
    assert await sweep(session) == 0


async def test_a_refit_takes_back_the_marks_it_read_and_leaves_newer_ones(session: AsyncSession) -> None:
    await a_fitted_tenant(session)
    silent = uuid.uuid4()
    await consume(session, joined(silent, LONG_AGO), imported=True)
    await segments.recompute(session=session, outbox=OUTBOX, tenant_id=TENANT, now=datetime.now(UTC))
    facts = await facts_of(session, silent)
    assert facts.segment == "churn_risk" and facts.rescore_marked_at is None
    assert await announced_of(session, [silent]) == [
        ("member.segment_changed", silent, False),
        ("member.churn_risk", silent, False),
    ]
    assert await sweep(session) == 0

    # Marked again after a refit read the member (imported history meanwhile): the refit's decision is
    # written, the newer mark stays for the sweep.
    await consume(session, *bought(silent, LONG_AGO + timedelta(days=1)), imported=True)
    everyone = await roster.of_tenant(session=session, tenant_id=TENANT, now=NOW)
    i = everyone.member_ids.index(silent)
    read = everyone.marked[i]
    assert read is not None
    newer = datetime.now(UTC) + timedelta(seconds=1)
    await session.execute(update(MemberFacts).where(MemberFacts.member_id == silent).values(rescore_marked_at=newer))
    decision = Decision(everyone.numbers[i], silent, everyone.scored_at[i], "churn_risk", True, unmarks=read)
    assert await write_decisions(session=session, decisions=[decision], now=NOW) == {everyone.numbers[i]}
    assert (await facts_of(session, silent)).rescore_marked_at == newer


async def test_an_erased_member_is_not_judged(session: AsyncSession) -> None:
    await a_fitted_tenant(session)
    gone = uuid.uuid4()
    await consume(session, joined(gone, LONG_AGO), imported=True)
    await erasure.forget_members(session=session, erased=[(TENANT, gone)])
    assert await sweep(session) == 0
    assert await announced_of(session, [gone]) == []
