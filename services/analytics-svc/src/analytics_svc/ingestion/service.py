"""One consumer batch into analytics' projections, in one pass and a handful of statements.

Each event adds to the day's counts and member sets of its community and of the whole tenant, and to the
facts of its member, order or content item. Everything a batch touches is loaded once (ingestion.members),
changed in memory and written back together (ingestion.writes), so ingestion costs statements per batch,
not per event.
"""

import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc import activity
from analytics_svc.activity import ACTIVE, INTERACTED, JOINED, ORDERED, PARTICIPATED, READ
from analytics_svc.communities import service as communities
from analytics_svc.ingestion import members
from analytics_svc.ingestion.batch import Batch
from analytics_svc.ingestion.records import ORDERS, MemberRecord, MembershipRecord, OrderRecord
from analytics_svc.ingestion.writes import (
    Post,
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
from qunyun_shared.events.campaign import CheckinRecordedV1, OrderPaidV1, OrderPlacedV1, OrderRefundedV1
from qunyun_shared.events.content import ContentEngagedV1, ContentModeratedV1, ContentPostedV1, SurveyAnsweredV1
from qunyun_shared.events.member import MemberInvitedV1, MemberJoinedV1, MemberLeftV1
from qunyun_shared.outbox import Outbox


async def ingest(*, session: AsyncSession, outbox: Outbox, events: Sequence[Envelope]) -> None:
    """Adds a consumer batch of measured events to the projections and rescores the members it touched."""
    now = datetime.now(UTC)
    batch = await _load(session, events)
    for envelope in events:
        _APPLY[type(envelope.data)](batch, envelope.tenantid, envelope.data, envelope.time)
    rescored = [batch.members[m] for m in batch.rescore if m in batch.members]
    first_fits = await segments.rescore(session=session, outbox=outbox, members=rescored, now=now)
    numbers = await write_members(session=session, members=batch.members.values())
    await write_memberships(session=session, memberships=[batch.communities[k] for k in batch.first_joins])
    await write_orders(session=session, orders=batch.orders.values())
    await communities.count_membership_changes(session=session, joins=batch.joins, leaves=batch.leaves)
    await write_counts(session=session, counts=batch.counts)
    await write_member_sets(session=session, sets=batch.sets, numbers=numbers)
    await write_content(session=session, posts=batch.posts, engaged=batch.engaged_content)
    await write_invitations(session=session, invitations=batch.invitations)
    for tenant_id in first_fits:
        await segments.recompute(session=session, outbox=outbox, tenant_id=tenant_id, now=now)


async def _load(session: AsyncSession, events: Sequence[Envelope]) -> Batch:
    # The first model of a tenant is fitted in the batch, which then locks all its members: before it
    # locks any, it takes the tenant's lock (see analytics_svc.locks for the order).
    await segments.hold_unfitted(session=session, tenant_ids={e.tenantid for e in events})
    loaded = await members.load(session=session, events=events)
    joining = {e.data.member_id for e in events if isinstance(e.data, MemberJoinedV1)} - loaded.erased
    # Placed ones too: an order placed before stays as it is, paid or refunded.
    order_ids = {e.data.order_id for e in events if isinstance(e.data, OrderPlacedV1 | OrderPaidV1 | OrderRefundedV1)}
    orders = await session.execute(select(ORDERS).where(one_of(session, ORDERS.c.order_id, order_ids)))
    return Batch(
        members=loaded.facts,
        orders={row.order_id: OrderRecord(**row._mapping) for row in orders},
        communities=await members.communities_of(session=session, member_ids=joining),
        erased=loaded.erased,
    )


def _joined(batch: Batch, tenant_id: str, joined: MemberJoinedV1, _at: datetime) -> None:
    member = batch.member(tenant_id, joined.member_id)
    if member is None:
        return
    batch.joins.append((tenant_id, joined.community_id))
    day = activity.day_of(joined.joined_at)
    batch.counts[(tenant_id, joined.community_id, "joins", day)] += 1
    batch.sets[(tenant_id, joined.community_id, JOINED, day)].add(member.member_id)
    if member.memberships == 0:  # into the tenant's communities from none: a member of the brand now
        batch.counts[(tenant_id, ALL, "joins", day)] += 1
    if member.first_joined_at is None:
        batch.sets[(tenant_id, ALL, JOINED, day)].add(member.member_id)
    member.memberships += 1
    _first_join(batch, tenant_id, ALL, member, joined)
    community = batch.membership(tenant_id, member.member_id, joined.community_id)
    if _first_join(batch, tenant_id, joined.community_id, community, joined):
        batch.first_joins.add((member.member_id, joined.community_id))
    batch.rescore.add(member.member_id)


def _first_join(
    batch: Batch, tenant_id: str, scope: uuid.UUID, first: MemberRecord | MembershipRecord, joined: MemberJoinedV1
) -> bool:
    """Counts the member's first join of `scope` (the brand for ALL, else the community): a join of a scope
    they were in before is a return, and an earlier join arriving after a later one takes over its count.
    Whether the join is the first now."""
    if first.first_joined_at is not None:
        if joined.joined_at >= first.first_joined_at:
            return False
        earlier = activity.day_of(first.first_joined_at)
        _count_first_join(batch, (tenant_id, scope), earlier, invited=first.inviter_id is not None, by=-1)
    first.first_joined_at, first.inviter_id = joined.joined_at, batch.inviter(joined.inviter_id)
    day = activity.day_of(joined.joined_at)
    _count_first_join(batch, (tenant_id, scope), day, invited=joined.inviter_id is not None, by=1)
    return True


def _count_first_join(batch: Batch, scope: tuple[str, uuid.UUID], day: date, *, invited: bool, by: int) -> None:
    batch.counts[(*scope, "first_joins", day)] += by
    if invited:
        batch.counts[(*scope, "referred_joins", day)] += by


def _left(batch: Batch, tenant_id: str, left: MemberLeftV1, _at: datetime) -> None:
    if left.member_id in batch.erased:  # their joins were not counted after erasure either
        return
    batch.leaves.append((tenant_id, left.community_id))
    member = batch.member(tenant_id, left.member_id)
    day = activity.day_of(left.left_at)
    batch.counts[(tenant_id, left.community_id, "leaves", day)] += 1
    if member is not None and member.memberships > 0:
        member.memberships -= 1
        if member.memberships == 0:
            batch.counts[(tenant_id, ALL, "leaves", day)] += 1


def _invited(batch: Batch, tenant_id: str, invited: MemberInvitedV1, _at: datetime) -> None:
    if batch.member(tenant_id, invited.member_id) is None:  # erased
        return
    batch.invitations.append(
        {
            "invitation_id": invited.invitation_id,
            "tenant_id": tenant_id,
            "inviter_id": invited.member_id,
            "community_id": invited.community_id,
            "sent_at": invited.sent_at,
        }
    )


def _posted(batch: Batch, tenant_id: str, posted: ContentPostedV1, _at: datetime) -> None:
    day = activity.day_of(posted.posted_at)
    batch.count(tenant_id, posted.community_id, "posts", day)
    batch.posts[(tenant_id, posted.content_id)] = Post(
        community_id=posted.community_id,
        content_type=posted.content_type,
        source=posted.source,
        posted_at=posted.posted_at,
    )
    if posted.source == "UGC" and posted.author_member_id is not None:
        batch.count(tenant_id, posted.community_id, "ugc_posts", day)
        if batch.member(tenant_id, posted.author_member_id) is not None:
            _active(batch, tenant_id, posted.community_id, posted.author_member_id, posted.posted_at, (INTERACTED,))


def _engaged(batch: Batch, tenant_id: str, engaged: ContentEngagedV1, _at: datetime) -> None:
    # Only what the event itself says: the item's post is on another partition and may not be in yet.
    community_id = engaged.community_id
    day = activity.day_of(engaged.occurred_at)
    batch.count(tenant_id, community_id, f"{engaged.action}s", day)
    batch.engaged_content[(tenant_id, engaged.content_id, engaged.action)] += 1
    if batch.member(tenant_id, engaged.member_id) is None:
        return
    kinds = []
    if engaged.action in activity.READING:
        kinds.append(READ)
    if engaged.action in activity.INTERACTING:
        kinds.append(INTERACTED)
    if engaged.content_type == "activity":
        kinds.append(PARTICIPATED)
    _active(batch, tenant_id, community_id, engaged.member_id, engaged.occurred_at, kinds)


def _answered(batch: Batch, tenant_id: str, answered: SurveyAnsweredV1, at: datetime) -> None:
    day = activity.day_of(at)
    batch.count(tenant_id, answered.community_id, "survey_answers", day)
    if answered.nps is not None:
        batch.count(tenant_id, answered.community_id, "nps_answers", day)
        if answered.nps >= 9:
            batch.count(tenant_id, answered.community_id, "promoters", day)
        elif answered.nps <= 6:
            batch.count(tenant_id, answered.community_id, "detractors", day)
    if answered.answers.get("complaint") is True:
        batch.count(tenant_id, answered.community_id, "complaints", day)


def _placed(batch: Batch, tenant_id: str, placed: OrderPlacedV1, _at: datetime) -> None:
    if placed.order_id in batch.orders or placed.member_id in batch.erased:
        return
    attribution = placed.attribution
    batch.orders[placed.order_id] = OrderRecord(
        order_id=placed.order_id,
        tenant_id=tenant_id,
        member_id=placed.member_id,
        community_id=placed.community_id,
        amount_fen=placed.amount_fen,
        placed_at=placed.placed_at,
        paid_at=None,
        refunded_fen=0,
        campaign_id=attribution.campaign_id,
        content_id=attribution.content_id,
        inviter_id=batch.inviter(attribution.inviter_id),
    )
    day = activity.day_of(placed.placed_at)
    batch.count(tenant_id, placed.community_id, "orders", day)
    if batch.member(tenant_id, placed.member_id) is not None:
        _active(batch, tenant_id, placed.community_id, placed.member_id, placed.placed_at, (ORDERED,))


def _paid(batch: Batch, tenant_id: str, paid: OrderPaidV1, _at: datetime) -> None:
    order = batch.orders.get(paid.order_id)
    community_id = order.community_id if order is not None else None
    if order is not None:
        if order.paid_at is not None:
            return
        order.paid_at = paid.paid_at
    day = activity.day_of(paid.paid_at)
    batch.count(tenant_id, community_id, "paid_orders", day)
    batch.count(tenant_id, community_id, "gmv_fen", day, paid.amount_fen)
    member = batch.member(tenant_id, paid.member_id)
    if member is None:
        return
    member.orders += 1
    member.spend_fen += paid.amount_fen
    if member.first_order_at is None or paid.paid_at < member.first_order_at:
        member.first_order_at, member.first_order_fen = paid.paid_at, paid.amount_fen
    if member.last_order_at is None or paid.paid_at > member.last_order_at:
        member.last_order_at = paid.paid_at
    batch.rescore.add(member.member_id)


def _refunded(batch: Batch, tenant_id: str, refunded: OrderRefundedV1, _at: datetime) -> None:
    order = batch.orders.get(refunded.order_id)
    if order is not None:
        order.refunded_fen += refunded.amount_fen
    community_id = order.community_id if order is not None else None
    batch.count(tenant_id, community_id, "refunded_fen", activity.day_of(refunded.refunded_at), refunded.amount_fen)
    member = batch.member(tenant_id, refunded.member_id)
    if member is not None:
        member.spend_fen = max(member.spend_fen - refunded.amount_fen, 0)
        batch.rescore.add(member.member_id)


def _moderated(batch: Batch, tenant_id: str, moderated: ContentModeratedV1, at: datetime) -> None:
    batch.count(tenant_id, None, f"moderated_{moderated.outcome}", activity.day_of(at))


def _checked_in(batch: Batch, tenant_id: str, checked_in: CheckinRecordedV1, at: datetime) -> None:
    batch.count(tenant_id, None, "checkins", checked_in.day)
    if batch.member(tenant_id, checked_in.member_id) is not None:
        _active(batch, tenant_id, None, checked_in.member_id, at, (PARTICIPATED,), day=checked_in.day)


def _active(
    batch: Batch,
    tenant_id: str,
    community_id: uuid.UUID | None,
    member_id: uuid.UUID,
    at: datetime,
    kinds: Iterable[str],
    day: date | None = None,
) -> None:
    """The member did something at `at`: counted active that day (or on `day`, the tenant's day the event
    names), their engagement counts and recency moved."""
    member = batch.members[member_id]
    batch.did(tenant_id, community_id, (ACTIVE, *kinds), member_id, day or activity.day_of(at))
    since = member.engagement_at
    member.engagement_fast = activity.with_event(member.engagement_fast, since, at, activity.FAST_HALF_LIFE)
    member.engagement_slow = activity.with_event(member.engagement_slow, since, at, activity.SLOW_HALF_LIFE)
    member.engagement_at = max(at, since or at)
    if member.last_active_at is None or at > member.last_active_at:
        member.last_active_at = at
    if member.first_active_at is None or at < member.first_active_at:
        member.first_active_at = at
    batch.rescore.add(member_id)


# What each event adds, by its payload's type (the time is the envelope's, for events that carry none).
_APPLY: dict[type, Callable[[Batch, str, Any, datetime], None]] = {
    MemberJoinedV1: _joined,
    MemberLeftV1: _left,
    MemberInvitedV1: _invited,
    ContentPostedV1: _posted,
    ContentEngagedV1: _engaged,
    ContentModeratedV1: _moderated,
    SurveyAnsweredV1: _answered,
    OrderPlacedV1: _placed,
    OrderPaidV1: _paid,
    OrderRefundedV1: _refunded,
    CheckinRecordedV1: _checked_in,
}
