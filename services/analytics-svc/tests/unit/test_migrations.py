"""Migration 0008 backfills what it adds from the facts already stored: each member's purchases per day
from their order facts, their history of memberships from their first joins."""

import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from analytics_svc.activity import REPORT_ZONE
from qunyun_shared.cli import alembic_config
from qunyun_shared.db import UtcDateTime

pytestmark = pytest.mark.unit

TENANT = "tenant-migrated"


def at(day: int, hour: int) -> datetime:
    """A moment of December 2026 in the reporting zone."""
    return datetime(2026, 12, day, hour, tzinfo=REPORT_ZONE)


def table(name: str, *columns: str) -> sa.TableClause:
    types = {"member_id": sa.Uuid(), "order_id": sa.Uuid(), "community_id": sa.Uuid()}
    return sa.table(name, *(sa.column(c, UtcDateTime() if c.endswith("_at") else types.get(c)) for c in columns))


FACTS = table(
    "member_facts",
    *("member_id", "tenant_id", "memberships", "engagement_fast", "engagement_slow"),
    *("orders", "spend_fen", "first_order_fen", "churn_flagged"),
)
ORDERS = table(
    "order_facts", "order_id", "tenant_id", "member_id", "amount_fen", "placed_at", "paid_at", "refunded_fen"
)
COMMUNITIES = table("member_communities", "member_id", "community_id", "tenant_id", "first_joined_at")


def test_purchase_days_and_memberships_are_backfilled_from_the_stored_facts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'analytics.db'}"
    config = alembic_config("analytics_svc", url.replace("sqlite://", "sqlite+aiosqlite://"))
    command.upgrade(config, "0007")
    buyer, quiet, mover = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    first, second = uuid.uuid4(), uuid.uuid4()
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            sa.insert(FACTS),
            [
                {
                    "member_id": member_id,
                    "tenant_id": TENANT,
                    "memberships": memberships,
                    "engagement_fast": 0.0,
                    "engagement_slow": 0.0,
                    # What the incremental counting had made of them: the backfill sums up anew.
                    **{"orders": 9, "spend_fen": 9, "first_order_fen": 9, "churn_flagged": False},
                }
                for member_id, memberships in ((buyer, 1), (quiet, 0), (mover, 1))
            ],
        )
        # Two orders on the 1st (at midnight and late evening in Shanghai), one refunded in part; one on the
        # 3rd just after midnight there (still the 2nd in UTC); one never paid.
        connection.execute(
            sa.insert(ORDERS),
            [
                {
                    "order_id": uuid.uuid4(),
                    "tenant_id": TENANT,
                    "member_id": buyer,
                    "amount_fen": amount,
                    "placed_at": at(1, 0),
                    "paid_at": paid_at,
                    "refunded_fen": refunded,
                }
                for amount, refunded, paid_at in (
                    (1_000, 0, at(1, 23)),
                    (500, 200, at(1, 0)),
                    (700, 0, at(3, 0) + timedelta(minutes=5)),
                    (900, 0, None),
                )
            ],
        )
        connection.execute(
            sa.insert(COMMUNITIES),
            [
                {"member_id": mover, "community_id": community_id, "tenant_id": TENANT, "first_joined_at": joined_at}
                for community_id, joined_at in ((first, at(1, 8)), (second, at(2, 8)))
            ],
        )

    command.upgrade(config, "head")

    with engine.connect() as connection:
        summed = table(
            "member_facts",
            *("member_id", "orders", "purchase_days", "spend_fen", "first_day_fen", "first_order_at", "last_order_at"),
        )
        facts = {row.member_id: row for row in connection.execute(sa.select(summed))}
        changes = table("membership_changes", "member_id", "community_id", "joined")
        history = connection.execute(
            sa.select(changes.c.community_id, changes.c.joined).where(changes.c.member_id == mover)
        ).all()
        schema = connection.scalar(sa.text("SELECT sql FROM sqlite_master WHERE name = 'member_facts'"))
    bought = facts[buyer]
    assert (bought.orders, bought.purchase_days, bought.spend_fen, bought.first_day_fen) == (3, 2, 2_000, 1_300)
    assert (bought.first_order_at, bought.last_order_at) == (at(1, 0), at(3, 0) + timedelta(minutes=5))
    assert (facts[quiet].orders, facts[quiet].purchase_days, facts[quiet].first_day_fen) == (0, 0, None)
    # Joined two communities and is in one: the one joined first is the one taken as left.
    assert sorted(history) == sorted([(first, True), (first, False), (second, True)])
    assert "AUTOINCREMENT" in schema
    engine.dispose()
