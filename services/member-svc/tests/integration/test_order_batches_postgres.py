"""A run of `order.placed` handled at once on PostgreSQL, where accounts, ledger lines and activity go in as
column arrays with their ON CONFLICT clauses (SQLite's unit tests take the executemany path)."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.db import MESSAGING
from member_svc.handlers import HANDLERS
from member_svc.members.models import Member, MemberActivity
from member_svc.models import Base
from member_svc.points.models import PointsAccount, PointsEntry
from qunyun_shared.events import new_event
from qunyun_shared.events.campaign import OrderPlacedV1
from qunyun_shared.events.content import SurveyAnsweredV1
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import staged_events
from tests.support.harness import scratch_database

pytestmark = pytest.mark.integration

TENANT = "tenant-a"
OUTBOX = Outbox(table=MESSAGING.outbox, source="member-svc", topic_prefix="qunyun")
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


async def test_a_run_of_orders_earns_counts_and_levels_members_on_postgresql() -> None:
    spender, owing, newcomer = (uuid.uuid4() for _ in range(3))
    async with scratch_database(Base.metadata) as engine, AsyncSession(engine) as session, session.begin():
        for member_id in (spender, owing, newcomer):
            session.add(
                Member(
                    id=member_id, tenant_id=TENANT, nickname="会员", persona_tags=[], active_hours=[], created_at=NOW
                )
            )
        session.add(PointsAccount(member_id=owing, tenant_id=TENANT, balance=0, debt=30, lifetime=0, updated_at=NOW))
        await session.flush()
        placed = [
            (spender, 600_00, 1),
            (owing, 50_00, 2),
            (spender, 1500_00, 3),
            (newcomer, 99, 4),
            (spender, 10_00, 0),
        ]
        run = [
            new_event(
                source="campaign-svc",
                tenant_id=TENANT,
                payload=OrderPlacedV1(
                    order_id=uuid.uuid4(), member_id=m, amount_fen=fen, placed_at=NOW + timedelta(minutes=minutes)
                ),
            )
            for m, fen, minutes in placed
        ]
        # An imported survey answer, undated, first: its member's activity row has no time until the order's.
        answered = SurveyAnsweredV1(survey_id=uuid.uuid4(), member_id=newcomer, nps=8)
        await HANDLERS["survey.answered"](
            session, OUTBOX, [new_event(source="content-svc", tenant_id=TENANT, payload=answered, imported=True)]
        )
        await HANDLERS["order.placed"](session, OUTBOX, run)

        accounts = await session.execute(
            select(PointsAccount.member_id, PointsAccount.balance, PointsAccount.debt, PointsAccount.lifetime)
        )
        assert set(accounts.all()) == {(spender, 2110, 0, 2110), (owing, 20, 0, 50)}
        lines = await session.execute(select(PointsEntry.member_id, PointsEntry.delta, PointsEntry.remaining))
        assert sorted(lines.all(), key=str) == sorted(
            [(spender, 600, 600), (spender, 1500, 1500), (spender, 10, 10), (owing, 50, 20)], key=str
        )
        activity = await session.execute(
            select(
                MemberActivity.member_id,
                MemberActivity.orders,
                MemberActivity.participations,
                MemberActivity.last_active_at,
            )
        )
        assert set(activity.all()) == {
            (spender, 3, 0, NOW + timedelta(minutes=3)),
            (owing, 1, 0, NOW + timedelta(minutes=2)),
            (newcomer, 1, 1, NOW + timedelta(minutes=4)),
        }
        levels = await session.execute(select(Member.id, Member.level, Member.lifecycle))
        assert set(levels.all()) == {(spender, 2, "loyal"), (owing, 0, "active"), (newcomer, 0, "active")}
        moves = [
            (p.from_level, p.to_level)
            for t, p in await staged_events(session, MESSAGING.outbox)
            if t == "member.level_changed"
        ]  # type: ignore[attr-defined]
        assert moves == [(0, 1), (1, 2)]
