"""What each measured event adds to a consumer batch (analytics_svc.ingestion.batch), by its payload's type:
counts and member sets of its day, the facts of its member, order or content item. Every fact is dated by
the time the payload gives, never by when the event arrived, and none assumes the events come in time order
(history imported long after, events of one member on several partitions)."""

import uuid
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from analytics_svc import activity
from analytics_svc.activity import ACTIVE, INTERACTED, JOINED, ORDERED, PARTICIPATED, READ
from analytics_svc.ingestion import memberships
from analytics_svc.ingestion.batch import Batch
from analytics_svc.ingestion.records import MemberRecord, MembershipRecord, OrderRecord
from analytics_svc.ingestion.writes import Post
from analytics_svc.kpis.models import ALL
from qunyun_shared.events.campaign import CheckinRecordedV1, OrderPaidV1, OrderPlacedV1, OrderRefundedV1
from qunyun_shared.events.content import ContentEngagedV1, ContentModeratedV1, ContentPostedV1, SurveyAnsweredV1
from qunyun_shared.events.member import MemberInvitedV1, MemberJoinedV1, MemberLeftV1


def _joined(batch: Batch, tenant_id: str, joined: MemberJoinedV1, _at: datetime) -> None:
    member = batch.member(tenant_id, joined.member_id)
    if member is None:
        return
    batch.joins.append((tenant_id, joined.community_id))
    day = activity.day_of(joined.joined_at)
    batch.counts[(tenant_id, joined.community_id, "joins", day)] += 1
    batch.sets[(tenant_id, joined.community_id, JOINED, day)].add(member.member_id)
    batch.changes[member.member_id].add(memberships.Change(joined.joined_at, False, joined.community_id))
    earlier = member.first_joined_at
    if _first_join(batch, tenant_id, ALL, member, joined):
        # The tenant's set of a day holds the members who joined the brand that day: their first join.
        if earlier is not None:
            batch.unset((tenant_id, ALL, JOINED, activity.day_of(earlier)), member.member_id)
        batch.sets[(tenant_id, ALL, JOINED, day)].add(member.member_id)
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
    batch.counts[(tenant_id, left.community_id, "leaves", activity.day_of(left.left_at))] += 1
    member = batch.member(tenant_id, left.member_id)
    if member is not None:
        batch.changes[member.member_id].add(memberships.Change(left.left_at, True, left.community_id))


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
    if order is not None and order.paid_at is not None:
        return
    if order is None and paid.member_id not in batch.erased:
        # Its placing never came in (before analytics heard of the tenant): placed when paid.
        order = batch.orders[paid.order_id] = _unplaced(tenant_id, paid)
    if order is not None:
        order.paid_at = paid.paid_at
    community_id = order.community_id if order is not None else None
    day = activity.day_of(paid.paid_at)
    batch.count(tenant_id, community_id, "paid_orders", day)
    batch.count(tenant_id, community_id, "gmv_fen", day, paid.amount_fen)
    batch.buyers.add((tenant_id, paid.member_id))


def _unplaced(tenant_id: str, paid: OrderPaidV1) -> OrderRecord:
    """The order a payment names without its placing having come in: placed when paid, for what was paid."""
    return OrderRecord(
        order_id=paid.order_id,
        tenant_id=tenant_id,
        member_id=paid.member_id,
        community_id=None,
        amount_fen=paid.amount_fen,
        placed_at=paid.paid_at,
        paid_at=None,
        refunded_fen=0,
        campaign_id=None,
        content_id=None,
        inviter_id=None,
    )


def _refunded(batch: Batch, tenant_id: str, refunded: OrderRefundedV1, _at: datetime) -> None:
    order = batch.orders.get(refunded.order_id)
    if order is not None:
        order.refunded_fen += refunded.amount_fen
    community_id = order.community_id if order is not None else None
    batch.count(tenant_id, community_id, "refunded_fen", activity.day_of(refunded.refunded_at), refunded.amount_fen)
    batch.buyers.add((tenant_id, refunded.member_id))


def _moderated(batch: Batch, tenant_id: str, moderated: ContentModeratedV1, at: datetime) -> None:
    batch.count(tenant_id, None, f"moderated_{moderated.outcome}", activity.day_of(at))


def _checked_in(batch: Batch, tenant_id: str, checked_in: CheckinRecordedV1, at: datetime) -> None:
    batch.count(tenant_id, None, "checkins", checked_in.day)
    if batch.member(tenant_id, checked_in.member_id) is not None:
        # The event names its day, not its moment: the envelope's time if on that day, else (a check-in
        # imported long after it) the moment of that day nearest to it.
        when = activity.moment_on(checked_in.day, at)
        _active(batch, tenant_id, None, checked_in.member_id, when, (PARTICIPATED,), day=checked_in.day)


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
APPLY: dict[type, Callable[[Batch, str, Any, datetime], None]] = {
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
