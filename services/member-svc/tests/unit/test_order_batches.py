"""A run of `order.placed` handled at once (as the consumer hands it over) does to points, levels, activity,
lifecycle and tags exactly what the same orders handled one at a time do, in a few statements for the run."""

import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from member_svc.db import MESSAGING
from member_svc.handlers import HANDLERS
from member_svc.members.models import Member, MemberActivity
from member_svc.models import Base
from member_svc.points.models import PointsAccount, PointsEntry
from member_svc.tags import service as tags
from member_svc.tags.schemas import TagRuleBody
from qunyun_shared.events import Envelope, new_event
from qunyun_shared.events.campaign import OrderPlacedV1
from qunyun_shared.events.kafka_binding import from_kafka
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import in_memory_database

pytestmark = pytest.mark.unit

TENANT, OTHER = "tenant-a", "tenant-b"
OUTBOX = Outbox(table=MESSAGING.outbox, source="member-svc", topic_prefix="qunyun")
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
IDS = [uuid.UUID(int=n) for n in range(1, 7)]
BIG_SPENDER, LOYAL, INVITER, INVITEE, IN_DEBT, ERASED = IDS
FOREIGN = uuid.UUID(int=99)


async def world(session: AsyncSession) -> None:
    """The same members in each database: one who owes points, one erased, one who invited another, one of
    another tenant; and a rule tagging members with orders."""
    for member_id in IDS:
        session.add(
            Member(id=member_id, tenant_id=TENANT, nickname="会员", persona_tags=[], active_hours=[], created_at=NOW)
        )
    session.add(Member(id=FOREIGN, tenant_id=OTHER, nickname="别家", persona_tags=[], active_hours=[], created_at=NOW))
    await session.flush()
    invitee = await session.get(Member, INVITEE)
    erased = await session.get(Member, ERASED)
    assert invitee is not None and erased is not None
    invitee.invited_by, erased.erased_at = INVITER, NOW
    session.add(PointsAccount(member_id=IN_DEBT, tenant_id=TENANT, balance=0, debt=30, lifetime=0, updated_at=NOW))
    rule = TagRuleBody.model_validate({"tag": "复购", "conditions": [{"field": "orders", "op": "gte", "value": 2}]})
    await tags.create_rule(session=session, outbox=OUTBOX, tenant_id=TENANT, rule_in=rule)
    await session.flush()


def orders() -> list[Envelope]:
    def placed(member_id: uuid.UUID, fen: int, minutes: int, order_id: uuid.UUID | None = None) -> OrderPlacedV1:
        at = NOW + timedelta(minutes=minutes)
        return OrderPlacedV1(order_id=order_id or uuid.uuid4(), member_id=member_id, amount_fen=fen, placed_at=at)

    twice = uuid.uuid4()
    payloads = [
        (TENANT, placed(BIG_SPENDER, 600_00, 1), False),  # 600 points: level 1
        (TENANT, placed(LOYAL, 99, 2), False),  # under a yuan: no points, but an order
        (TENANT, placed(BIG_SPENDER, 1500_00, 3), False),  # 2,100: level 2
        (TENANT, placed(INVITER, 20_00, 4), False),  # an order and a friend referred: loyal
        (TENANT, placed(IN_DEBT, 50_00, 5, twice), False),  # pays the 30 owed first
        (TENANT, placed(IN_DEBT, 50_00, 5, twice), False),  # the same order again earns nothing
        (TENANT, placed(ERASED, 100_00, 6), False),
        (OTHER, placed(FOREIGN, 100_00, 7), False),
        (TENANT, placed(INVITEE, 10_00, 8), True),  # imported: no points by default, but counted
        (TENANT, placed(LOYAL, 5_00, 0), False),  # an older order arriving late
        *((TENANT, placed(IDS[n % 3], 10_00 + n, 10 + n), False) for n in range(40)),
    ]
    return [new_event(source="campaign-svc", tenant_id=t, payload=p, imported=i) for t, p, i in payloads]


async def outcome(session: AsyncSession) -> dict[str, Any]:
    ledger = await session.execute(
        select(PointsEntry.member_id, PointsEntry.delta, PointsEntry.remaining, PointsEntry.source, PointsEntry.at)
    )
    accounts = await session.execute(
        select(PointsAccount.member_id, PointsAccount.balance, PointsAccount.debt, PointsAccount.lifetime)
    )
    members = await session.execute(select(Member.id, Member.level, Member.lifecycle))
    activity = await session.execute(
        select(
            MemberActivity.member_id,
            MemberActivity.orders,
            MemberActivity.order_total_fen,
            MemberActivity.last_active_at,
        )
    )
    rows = (await session.execute(select(MESSAGING.outbox))).all()
    events = [from_kafka(row.value, [(n, v.encode()) for n, v in row.headers]) for row in rows]
    return {
        "ledger": sorted(ledger.all(), key=str),
        "accounts": sorted(accounts.all(), key=str),
        "members": sorted(members.all(), key=str),
        "activity": sorted(activity.all(), key=str),
        "tags": await tags.tag_names_of(session=session, member_ids=IDS),
        "events": Counter((e.type, e.imported, getattr(e.data, "member_id", None)) for e in events),
        "balances": {(e.data.member_id, e.data.balance) for e in events if e.type == "member.points_changed"},
    }


async def test_a_run_of_orders_at_once_does_what_one_at_a_time_does_in_a_few_statements() -> None:
    run = orders()
    async with in_memory_database(Base.metadata) as one_by_one, in_memory_database(Base.metadata) as together:
        statements: Counter[str] = Counter()
        async with AsyncSession(one_by_one) as session, session.begin():
            await world(session)
            with counting(one_by_one, statements, "one by one"):
                for envelope in run:
                    await HANDLERS["order.placed"](session, OUTBOX, [envelope])
            expected = await outcome(session)
        async with AsyncSession(together) as session, session.begin():
            await world(session)
            with counting(together, statements, "together"):
                await HANDLERS["order.placed"](session, OUTBOX, run)
            assert await outcome(session) == expected
    assert expected["members"][0][1:] == (2, "loyal")  # BIG_SPENDER: level 2 after 2,100 points, two orders
    assert ("member.level_changed", False, BIG_SPENDER) in expected["events"]
    assert [row[1:] for row in expected["accounts"] if row[0] == IN_DEBT] == [(20, 0, 50)]
    assert expected["tags"][LOYAL] == ["复购"]
    assert [row[1:3] for row in expected["activity"] if row[0] == INVITEE] == [(1, 10_00)]
    assert not [row for row in expected["ledger"] if row[0] == INVITEE]
    # About a dozen statements for each tenant's live or imported run, however long (here three runs, 50 orders).
    assert statements["together"] <= 45 and statements["one by one"] > 10 * statements["together"], statements


@contextmanager
def counting(engine: AsyncEngine, statements: Counter[str], name: str) -> Iterator[None]:
    def count(*_: object) -> None:
        statements[name] += 1

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
