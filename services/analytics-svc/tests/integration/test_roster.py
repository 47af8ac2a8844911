"""A tenant's roster read from PostgreSQL as column arrays is the roster its rows make, to the last bit:
the refit (arrays) and the batches (rows) must agree on every member's days and counts, and on the days
(reporting zone) of their purchase summary."""

import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.ingestion.models import MemberFacts
from analytics_svc.models import Base
from analytics_svc.scoring import roster
from tests.support.harness import scratch_database

pytestmark = pytest.mark.integration

TENANT = "tenant-roster"


async def test_column_arrays_and_rows_make_the_same_roster() -> None:
    now = datetime(2026, 11, 24, 9, 30, 15, 123_457, tzinfo=UTC)
    moments = [now - timedelta(days=d, microseconds=us) for d, us in ((3, 1), (40, 999_999), (400, 7))]
    # 16:00 UTC is midnight in Shanghai: the first payment's day there is the next day in UTC.
    first_paid = datetime(2026, 10, 14, 16, 0, tzinfo=UTC)
    facts = [
        MemberFacts(member_id=uuid.uuid4(), tenant_id=TENANT, memberships=1, first_joined_at=moments[2]),
        MemberFacts(
            member_id=uuid.uuid4(),
            tenant_id=TENANT,
            memberships=1,
            first_joined_at=moments[2],
            first_active_at=moments[1],
            last_active_at=moments[0],
            engagement_fast=0.37,
            engagement_slow=2.5,
            engagement_at=moments[0],
            orders=3,
            purchase_days=2,
            first_order_at=first_paid,
            last_order_at=moments[0],
            spend_fen=29_900,
            first_day_fen=9_900,
            segment="potential",
            churn_flagged=True,
            scored_at=moments[0],
        ),
        MemberFacts(member_id=uuid.uuid4(), tenant_id="another-tenant", memberships=1, first_joined_at=moments[0]),
    ]
    async with scratch_database(Base.metadata) as engine, AsyncSession(engine) as session, session.begin():
        session.add_all(facts)
        await session.flush()
        arrays = await roster.of_tenant(session=session, tenant_id=TENANT, now=now)
        rows = roster.of_facts(
            (
                await session.scalars(
                    select(MemberFacts).where(MemberFacts.tenant_id == TENANT).order_by(MemberFacts.number)
                )
            ).all(),
            now,
        )

    assert len(arrays) == len(rows) == 2
    order = [arrays.member_ids.index(m) for m in rows.member_ids]
    assert [arrays.numbers[i] for i in order] == rows.numbers
    assert [arrays.scored_at[i] for i in order] == rows.scored_at
    assert arrays.segments[order].tolist() == rows.segments.tolist() == ["", "potential"]
    for name in rows.history.__dataclass_fields__.keys() - {"purchases"}:
        np.testing.assert_array_equal(getattr(arrays.history, name)[order], getattr(rows.history, name))
    for name in rows.history.purchases.__dataclass_fields__:
        np.testing.assert_array_equal(
            getattr(arrays.history.purchases, name)[order], getattr(rows.history.purchases, name)
        )
    assert rows.history.days_since_active[1] == (timedelta(days=3, microseconds=1) / timedelta(days=1))
    # From 15 October (Shanghai) to 21 November and to 24 November: whole days, one repeat purchase day.
    bought = rows.history.purchases
    assert (bought.frequency[1], bought.recency[1], bought.T[1], bought.monetary_value[1]) == (1, 37, 40, 20_000)
