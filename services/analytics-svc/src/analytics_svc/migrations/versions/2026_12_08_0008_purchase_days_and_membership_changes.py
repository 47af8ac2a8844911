"""purchases per day, memberships as a history, fits with their diagnostics

member_facts counts the distinct days a member paid on and what the first of them came to (the per-day
summary of the BG/NBD and Gamma-Gamma models: two orders on one day are one purchase) instead of the first
order's value, backfilled from order_facts; membership_changes keeps each member's joins and leaves, so that
the tenant's joins and leaves follow from their times whatever order the events arrive in, backfilled from
member_communities; tenant_models keep the summary's totals and where each fit stopped.

Revision ID: 0008
Revises: 0007
"""

import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

from qunyun_shared.db import UtcDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# As analytics_svc.activity.REPORT_ZONE when this was written: the days purchases are counted in.
_ZONE = ZoneInfo("Asia/Shanghai")
_CHUNK = 5000

_ORDERS = sa.table(
    "order_facts",
    sa.column("order_id", sa.Uuid()),
    sa.column("member_id", sa.Uuid()),
    sa.column("amount_fen", sa.BigInteger()),
    sa.column("refunded_fen", sa.BigInteger()),
    sa.column("paid_at", UtcDateTime()),
)
_FACTS = sa.table(
    "member_facts",
    sa.column("member_id", sa.Uuid()),
    sa.column("memberships", sa.Integer()),
    sa.column("orders", sa.Integer()),
    sa.column("purchase_days", sa.Integer()),
    sa.column("first_order_at", UtcDateTime()),
    sa.column("last_order_at", UtcDateTime()),
    sa.column("spend_fen", sa.BigInteger()),
    sa.column("first_day_fen", sa.BigInteger()),
)
_COMMUNITIES = sa.table(
    "member_communities",
    sa.column("member_id", sa.Uuid()),
    sa.column("community_id", sa.Uuid()),
    sa.column("tenant_id", sa.String()),
    sa.column("first_joined_at", UtcDateTime()),
)


def upgrade() -> None:
    changes = op.create_table(
        "membership_changes",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("community_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("joined", sa.Boolean(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("member_id", "community_id", "at", "joined", name=op.f("pk_membership_changes")),
    )
    # Recreated on SQLite: keep its AUTOINCREMENT, which an erased member's number relies on (and which the
    # batch of 0004 had dropped there).
    with op.batch_alter_table("member_facts", table_kwargs={"sqlite_autoincrement": True}) as table:
        table.add_column(sa.Column("purchase_days", sa.Integer(), nullable=False, server_default="0"))
        table.add_column(sa.Column("first_day_fen", sa.BigInteger(), nullable=True))
        table.drop_column("first_order_fen")
    with op.batch_alter_table("tenant_models") as table:
        table.add_column(sa.Column("summary", sa.JSON(), nullable=True))
        table.add_column(sa.Column("diagnostics", sa.JSON(), nullable=True))
    _sum_up_purchases()
    assert changes is not None
    _record_memberships(changes)
    with op.batch_alter_table("member_facts", table_kwargs={"sqlite_autoincrement": True}) as table:
        table.alter_column("purchase_days", server_default=None, existing_type=sa.Integer(), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("tenant_models") as table:
        table.drop_column("diagnostics")
        table.drop_column("summary")
    with op.batch_alter_table("member_facts", table_kwargs={"sqlite_autoincrement": True}) as table:
        table.add_column(sa.Column("first_order_fen", sa.BigInteger(), nullable=True))
        table.drop_column("first_day_fen")
        table.drop_column("purchase_days")
    op.drop_table("membership_changes")


def _sum_up_purchases() -> None:
    """Every member's purchases from their paid orders, as ingestion.purchases sums them up."""
    connection = op.get_bind()
    connection.execute(
        sa.update(_FACTS).values(
            orders=0, purchase_days=0, first_order_at=None, last_order_at=None, spend_fen=0, first_day_fen=None
        )
    )
    paid = connection.execute(
        sa.select(
            _ORDERS.c.member_id, _ORDERS.c.paid_at, _ORDERS.c.order_id, _ORDERS.c.amount_fen, _ORDERS.c.refunded_fen
        )
        .where(_ORDERS.c.paid_at.is_not(None))
        .order_by(_ORDERS.c.member_id, _ORDERS.c.paid_at, _ORDERS.c.order_id)
    ).all()
    update = (
        sa.update(_FACTS)
        .where(_FACTS.c.member_id == sa.bindparam("member"))
        .values({name: sa.bindparam(name) for name in _SUMMED})
    )
    for chunk in _chunks(_by_member(paid)):
        connection.execute(update, chunk)


_SUMMED = ("orders", "purchase_days", "first_order_at", "last_order_at", "spend_fen", "first_day_fen")


def _by_member(paid: Any) -> Iterator[dict[str, Any]]:
    """Each member's purchases from their paid orders, in (member, paid_at, order id) order."""
    member: uuid.UUID | None = None
    orders: list[tuple[datetime, int]] = []
    for member_id, paid_at, _order_id, amount_fen, refunded_fen in paid:
        if member_id != member and orders:
            yield _summed(member, orders)
            orders = []
        member = member_id
        orders.append((paid_at, max(amount_fen - refunded_fen, 0)))
    if orders:
        yield _summed(member, orders)


def _summed(member_id: uuid.UUID | None, orders: Sequence[tuple[datetime, int]]) -> dict[str, Any]:
    by_day: dict[date, int] = defaultdict(int)
    for paid_at, net in orders:
        by_day[paid_at.astimezone(_ZONE).date()] += net
    return {
        "member": member_id,
        "orders": len(orders),
        "purchase_days": len(by_day),
        "first_order_at": orders[0][0],
        "last_order_at": orders[-1][0],
        "spend_fen": sum(by_day.values()),
        "first_day_fen": by_day[min(by_day)],
    }


def _record_memberships(changes: sa.Table) -> None:
    """Each member's first join of each community as their history of memberships. A member in fewer
    communities than they joined left some, at times never kept: the ones joined first are taken as left,
    now (the tenant's counts of those leaves stay on the days they were counted on)."""
    connection = op.get_bind()
    now = datetime.now(UTC)
    joined = connection.execute(
        sa.select(
            _COMMUNITIES.c.member_id,
            _COMMUNITIES.c.community_id,
            _COMMUNITIES.c.tenant_id,
            _COMMUNITIES.c.first_joined_at,
            _FACTS.c.memberships,
        )
        .join(_FACTS, _FACTS.c.member_id == _COMMUNITIES.c.member_id)
        .where(_COMMUNITIES.c.first_joined_at.is_not(None))
        .order_by(_COMMUNITIES.c.member_id, _COMMUNITIES.c.first_joined_at, _COMMUNITIES.c.community_id)
    ).all()
    by_member: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for row in joined:
        by_member[row.member_id].append(row)
    rows = []
    for communities in by_member.values():
        gone = max(len(communities) - communities[0].memberships, 0)
        for index, row in enumerate(communities):
            change = {"member_id": row.member_id, "community_id": row.community_id, "tenant_id": row.tenant_id}
            rows.append(change | {"at": row.first_joined_at, "joined": True})
            if index < gone:
                rows.append(change | {"at": now, "joined": False})
    for chunk in _chunks(iter(rows)):
        connection.execute(sa.insert(changes), chunk)


def _chunks(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
