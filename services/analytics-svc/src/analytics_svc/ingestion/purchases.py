"""A member's purchases, summed up from all their orders: how many were paid and what they came to, the
first and last payment, and the distinct days (reporting zone) paid on with what the first of those days
came to. The days are the purchases of the BG/NBD summary, as `lifetimes`' summary_data_from_transaction_data
counts them with freq="D": two orders paid on one day are one purchase, and the first purchase is the whole
first day, whichever of its orders came in first.

The summary is computed anew from every order of the member whenever a batch pays or refunds one of them,
so it is the same whatever order the events arrive in (history imported after live orders, a merchant's
rows in any order) and however often one is delivered.
"""

import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc import activity
from analytics_svc.ingestion.records import ORDERS, OrderRecord
from qunyun_shared.db import one_of


@dataclass(frozen=True)
class Purchases:
    """What a member's paid orders come to (the member_facts columns of the same names)."""

    orders: int
    purchase_days: int
    first_order_at: datetime | None
    last_order_at: datetime | None
    spend_fen: int
    first_day_fen: int | None


NO_PURCHASES = Purchases(
    orders=0, purchase_days=0, first_order_at=None, last_order_at=None, spend_fen=0, first_day_fen=None
)


class Paid(NamedTuple):
    """What a member's purchases take of an order."""

    order_id: uuid.UUID
    paid_at: datetime | None
    amount_fen: int
    refunded_fen: int

    @property
    def net_fen(self) -> int:
        """What the order came to after its refunds (never below nothing)."""
        return max(self.amount_fen - self.refunded_fen, 0)

    @classmethod
    def of(cls, order: OrderRecord) -> "Paid":
        return cls(order.order_id, order.paid_at, order.amount_fen, order.refunded_fen)


def of_orders(orders: Iterable[Paid]) -> Purchases:
    """The purchases of one member's orders (the unpaid ones count for nothing)."""
    paid = sorted((o for o in orders if o.paid_at is not None), key=_earliest_first)
    if not paid:
        return NO_PURCHASES
    by_day: dict[date, int] = defaultdict(int)
    for order in paid:
        assert order.paid_at is not None
        by_day[activity.day_of(order.paid_at)] += order.net_fen
    return Purchases(
        orders=len(paid),
        purchase_days=len(by_day),
        first_order_at=paid[0].paid_at,
        last_order_at=paid[-1].paid_at,
        spend_fen=sum(by_day.values()),
        first_day_fen=by_day[min(by_day)],
    )


def _earliest_first(order: Paid) -> tuple[datetime | None, int]:
    # Orders paid at the same moment in the order of their ids: never in the order they arrived.
    return order.paid_at, order.order_id.int


async def of_members(
    *, session: AsyncSession, buyers: Collection[tuple[str, uuid.UUID]], changed: Mapping[uuid.UUID, OrderRecord]
) -> dict[uuid.UUID, Purchases]:
    """Each (tenant, member)'s purchases from all their orders: the stored ones, as `changed` (the batch's
    orders, by id) now has them. The members' rows are locked by the batch, and so is every other writer
    of their orders, so none is added meanwhile."""
    orders: dict[uuid.UUID, dict[uuid.UUID, Paid]] = {member_id: {} for _, member_id in buyers}
    by_tenant: dict[str, list[uuid.UUID]] = defaultdict(list)
    for tenant_id, member_id in buyers:
        by_tenant[tenant_id].append(member_id)
    for tenant_id, member_ids in sorted(by_tenant.items()):
        stored = await session.execute(
            select(ORDERS.c.member_id, *(ORDERS.c[name] for name in Paid._fields)).where(
                ORDERS.c.tenant_id == tenant_id,
                one_of(session, ORDERS.c.member_id, member_ids),
                ORDERS.c.paid_at.is_not(None),
            )
        )
        for member_id, *paid in stored:
            orders[member_id][paid[0]] = Paid(*paid)
    for order in changed.values():
        if order.member_id in orders:
            orders[order.member_id][order.order_id] = Paid.of(order)
    return {member_id: of_orders(theirs.values()) for member_id, theirs in orders.items()}
