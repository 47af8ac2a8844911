"""One consumer batch into analytics' projections, in one pass and a handful of statements.

Each event adds to the day's counts and member sets of its community and of the whole tenant, and to the
facts of its member, order or content item (ingestion.apply). Everything a batch touches is loaded once
(ingestion.members), changed in memory, summed up where a fact follows from a member's whole history (their
spells in the brand, their purchases) and written back together (ingestion.writes), so ingestion costs
statements per batch, not per event.

A member live events touched is rescored in the batch. One only imported history touched is marked instead:
a brand's history comes in event by event, and each of its orders would otherwise move its member from
segment to segment, every move announced to every service; the sweep of analytics_svc.scoring.marks judges
them once the history is in, and announces that judgement.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.communities import service as communities
from analytics_svc.ingestion import members, memberships, purchases
from analytics_svc.ingestion.apply import APPLY
from analytics_svc.ingestion.batch import Batch
from analytics_svc.ingestion.records import ORDERS, OrderRecord
from analytics_svc.ingestion.writes import (
    write_content,
    write_counts,
    write_invitations,
    write_member_sets,
    write_members,
    write_memberships,
    write_orders,
)
from analytics_svc.kpis.models import ALL
from analytics_svc.scoring import segments
from qunyun_shared.db import one_of
from qunyun_shared.events import Envelope
from qunyun_shared.events.campaign import OrderPaidV1, OrderPlacedV1, OrderRefundedV1
from qunyun_shared.events.member import MemberJoinedV1, MemberLeftV1
from qunyun_shared.outbox import Outbox


async def ingest(*, session: AsyncSession, outbox: Outbox, events: Sequence[Envelope]) -> None:
    """Adds a consumer batch of measured events to the projections and rescores the members it touched."""
    now = datetime.now(UTC)
    batch = await _load(session, events)
    for envelope in events:
        APPLY[type(envelope.data)](batch, envelope.tenantid, envelope.data, envelope.time)
    _count_brand_spells(batch)
    await _sum_up_purchases(session, batch)
    live = {m for e in events if not e.imported and (m := members.member_of(e)) is not None}
    rescored = []
    for member_id in sorted(batch.rescore & batch.members.keys(), key=lambda m: m.int):
        member = batch.members[member_id]
        # A member live events touched is judged now on all their facts: any mark is taken back.
        member.rescore_marked_at = None if member_id in live else now
        if member_id in live:
            rescored.append(member)
    first_fits = await segments.rescore(session=session, outbox=outbox, members=rescored, now=now)
    numbers = await write_members(session=session, members=batch.members.values())
    await write_memberships(session=session, memberships=[batch.communities[k] for k in batch.first_joins])
    await memberships.write_changes(
        session=session, tenants={m: batch.members[m].tenant_id for m in batch.changes}, changes=batch.changes
    )
    await write_orders(session=session, orders=batch.orders.values())
    await communities.count_membership_changes(session=session, joins=batch.joins, leaves=batch.leaves)
    await write_counts(session=session, counts=batch.counts)
    await write_member_sets(session=session, sets=batch.sets, unsets=batch.unsets, numbers=numbers)
    await write_content(session=session, posts=batch.posts, engaged=batch.engaged_content)
    await write_invitations(session=session, invitations=batch.invitations)
    for tenant_id in first_fits:
        await segments.recompute(session=session, outbox=outbox, tenant_id=tenant_id, now=now, leaving_marked=True)


async def _load(session: AsyncSession, events: Sequence[Envelope]) -> Batch:
    # The first model of a tenant with live events is fitted in the batch, which then locks all its members:
    # before it locks any, it takes the tenant's lock (see analytics_svc.locks for the order). (Imported
    # history alone leaves the first fit to the sweep of scoring.marks.)
    await segments.hold_unfitted(session=session, tenant_ids={e.tenantid for e in events if not e.imported})
    loaded = await members.load(session=session, events=events)
    joining = {e.data.member_id for e in events if isinstance(e.data, MemberJoinedV1)} - loaded.erased
    moving = {e.data.member_id for e in events if isinstance(e.data, MemberJoinedV1 | MemberLeftV1)} & set(loaded.facts)
    # Placed ones too: an order placed before stays as it is, paid or refunded.
    order_ids = {e.data.order_id for e in events if isinstance(e.data, OrderPlacedV1 | OrderPaidV1 | OrderRefundedV1)}
    orders = await session.execute(select(ORDERS).where(one_of(session, ORDERS.c.order_id, order_ids)))
    histories = await memberships.histories_of(session=session, member_ids=moving)
    return Batch(
        members=loaded.facts,
        orders={row.order_id: OrderRecord(**row._mapping) for row in orders},
        communities=await members.communities_of(session=session, member_ids=joining),
        erased=loaded.erased,
        histories={member_id: histories.get(member_id, set()) for member_id in moving},
    )


def _count_brand_spells(batch: Batch) -> None:
    """The tenant's joins and leaves moved by the batch's: each member's spells in the brand before and
    after them, whatever order they came in (ingestion.memberships)."""
    for member_id, changes in batch.changes.items():
        member, history = batch.members[member_id], batch.histories[member_id]
        before, after = memberships.spells_of(history), memberships.spells_of(history | changes)
        for (metric, day), by in memberships.brand_counts(before, after).items():
            batch.counts[(member.tenant_id, ALL, metric, day)] += by
        member.memberships = after.memberships


async def _sum_up_purchases(session: AsyncSession, batch: Batch) -> None:
    """The purchases of members whose orders the batch paid or refunded, from all their orders."""
    buyers = {(t, m) for t, m in batch.buyers if batch.member(t, m) is not None}
    summed = await purchases.of_members(session=session, buyers=buyers, changed=batch.orders)
    for member_id, bought in summed.items():
        member = batch.members[member_id]
        member.orders, member.purchase_days, member.spend_fen = bought.orders, bought.purchase_days, bought.spend_fen
        member.first_order_at, member.last_order_at = bought.first_order_at, bought.last_order_at
        member.first_day_fen = bought.first_day_fen
        batch.rescore.add(member_id)
