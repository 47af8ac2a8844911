"""One consumer batch into analytics' projections, in one pass and a handful of statements.

Each event adds to the day's counts and member sets of its community and of the whole tenant, and to the
facts of its member, order or content item. Everything a batch touches is loaded once, changed in memory
and written back together, so ingestion costs statements per batch, not per event.
"""

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from pyroaring import BitMap
from sqlalchemy import Table, bindparam, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc import activity, segments, service
from analytics_svc.activity import ACTIVE, INTERACTED, JOINED, ORDERED, PARTICIPATED, READ
from analytics_svc.models import ALL, ERASED_MEMBERS, ContentFact, DailyCount, DailyMembers, MemberFacts, OrderFact
from qunyun_shared.db import upsert
from qunyun_shared.erasure import erased_among
from qunyun_shared.events import Envelope
from qunyun_shared.events.campaign import CheckinRecordedV1, OrderPaidV1, OrderPlacedV1, OrderRefundedV1
from qunyun_shared.events.content import ContentEngagedV1, ContentModeratedV1, ContentPostedV1, SurveyAnsweredV1
from qunyun_shared.events.member import MemberJoinedV1, MemberLeftV1
from qunyun_shared.outbox import Outbox

CountKey = tuple[str, uuid.UUID, str, date]  # tenant, community (or ALL), metric, day
COUNTS = cast(Table, DailyCount.__table__)
MEMBER_SETS = cast(Table, DailyMembers.__table__)
CONTENT = cast(Table, ContentFact.__table__)


@dataclass
class Batch:
    """What a batch adds, gathered in memory before it is written."""

    session: AsyncSession
    members: dict[uuid.UUID, MemberFacts]
    orders: dict[uuid.UUID, OrderFact]
    content: dict[uuid.UUID, ContentFact]
    erased: set[uuid.UUID]
    counts: Counter[CountKey] = field(default_factory=Counter)
    sets: defaultdict[CountKey, set[uuid.UUID]] = field(default_factory=lambda: defaultdict(set))
    engaged_content: Counter[tuple[str, uuid.UUID, str]] = field(default_factory=Counter)
    rescore: set[uuid.UUID] = field(default_factory=set)
    joins: list[tuple[str, uuid.UUID]] = field(default_factory=list)
    leaves: list[tuple[str, uuid.UUID]] = field(default_factory=list)

    def count(self, tenant_id: str, community_id: uuid.UUID | None, metric: str, day: date, by: int = 1) -> None:
        """Adds to the tenant's count and, when the event names one, its community's."""
        self.counts[(tenant_id, ALL, metric, day)] += by
        if community_id is not None:
            self.counts[(tenant_id, community_id, metric, day)] += by

    def did(
        self, tenant_id: str, community_id: uuid.UUID | None, kinds: Iterable[str], member_id: uuid.UUID, day: date
    ) -> None:
        for kind in kinds:
            self.sets[(tenant_id, ALL, kind, day)].add(member_id)
            if community_id is not None:
                self.sets[(tenant_id, community_id, kind, day)].add(member_id)

    def member(self, tenant_id: str, member_id: uuid.UUID) -> MemberFacts | None:
        """The member's facts, new if the batch is the first to hear of them; None once erased."""
        if member_id in self.erased:
            return None
        facts = self.members.get(member_id)
        if facts is None:
            facts = MemberFacts(
                member_id=member_id, tenant_id=tenant_id, memberships=0, engagement_fast=0.0, engagement_slow=0.0
            )
            facts.orders, facts.spend_fen, facts.churn_flagged, facts.churn_reasons = 0, 0, False, []
            self.session.add(facts)
            self.members[member_id] = facts
        return facts if facts.tenant_id == tenant_id else None


async def ingest(session: AsyncSession, outbox: Outbox, events: Sequence[Envelope]) -> None:
    """The consumer's handler for every event type analytics reads."""
    batch = await _load(session, events)
    for envelope in events:
        _apply(batch, envelope.tenantid, envelope)
    await session.flush()  # new members get their numbers
    await service.count_membership_changes(session=session, joins=batch.joins, leaves=batch.leaves)
    await _write_counts(session, batch.counts)
    await _write_sets(session, batch)
    await session.flush()  # posts first: their rows are what the counters add to
    await _write_content(session, batch.engaged_content)
    await segments.rescore(session, outbox, [batch.members[m] for m in batch.rescore if m in batch.members])


async def _load(session: AsyncSession, events: Sequence[Envelope]) -> Batch:
    member_ids = {getattr(e.data, "member_id", None) for e in events} | {
        e.data.author_member_id for e in events if isinstance(e.data, ContentPostedV1)
    }
    member_ids.discard(None)
    order_ids = {e.data.order_id for e in events if isinstance(e.data, OrderPaidV1 | OrderRefundedV1)}
    content_ids = {e.data.content_id for e in events if isinstance(e.data, ContentPostedV1)}
    # Locked, in one order: an author's post and their other events may be on two consumers' partitions.
    members = await session.scalars(
        select(MemberFacts)
        .where(MemberFacts.member_id.in_(member_ids))
        .order_by(MemberFacts.member_id)
        .with_for_update()
    )
    orders = await session.scalars(select(OrderFact).where(OrderFact.order_id.in_(order_ids)))
    content = await session.scalars(select(ContentFact).where(ContentFact.content_id.in_(content_ids)))
    return Batch(
        session=session,
        members={m.member_id: m for m in members},
        orders={o.order_id: o for o in orders},
        content={c.content_id: c for c in content},
        erased=await erased_among(session, ERASED_MEMBERS, member_ids),  # type: ignore[arg-type]
    )


def _apply(batch: Batch, tenant_id: str, envelope: Envelope) -> None:
    match envelope.data:
        case MemberJoinedV1() as joined:
            _joined(batch, tenant_id, joined)
        case MemberLeftV1() as left:
            _left(batch, tenant_id, left)
        case ContentPostedV1() as posted:
            _posted(batch, tenant_id, posted)
        case ContentEngagedV1() as engaged:
            _engaged(batch, tenant_id, engaged)
        case ContentModeratedV1() as moderated:
            day = activity.day_of(envelope.time)
            batch.count(tenant_id, None, f"moderated_{moderated.outcome}", day)
        case SurveyAnsweredV1() as answered:
            _answered(batch, tenant_id, answered, activity.day_of(envelope.time))
        case OrderPlacedV1() as placed:
            _placed(batch, tenant_id, placed)
        case OrderPaidV1() as paid:
            _paid(batch, tenant_id, paid)
        case OrderRefundedV1() as refunded:
            _refunded(batch, tenant_id, refunded)
        case CheckinRecordedV1() as checked_in:
            _checked_in(batch, tenant_id, checked_in, envelope.time)


def _joined(batch: Batch, tenant_id: str, joined: MemberJoinedV1) -> None:
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
    if member.first_joined_at is None or joined.joined_at < member.first_joined_at:
        member.first_joined_at = joined.joined_at
        member.inviter_id = joined.inviter_id
        if joined.inviter_id is not None:
            batch.count(tenant_id, joined.community_id, "referred_joins", day)
        batch.count(tenant_id, joined.community_id, "first_joins", day)
    batch.rescore.add(member.member_id)


def _left(batch: Batch, tenant_id: str, left: MemberLeftV1) -> None:
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


def _posted(batch: Batch, tenant_id: str, posted: ContentPostedV1) -> None:
    day = activity.day_of(posted.posted_at)
    batch.count(tenant_id, posted.community_id, "posts", day)
    fact = batch.content.get(posted.content_id)
    if fact is None:  # engagements may have come first, from another partition: then the row exists
        fact = ContentFact(content_id=posted.content_id, tenant_id=tenant_id)
        fact.views = fact.completes = fact.likes = fact.comments = fact.shares = fact.clicks = 0
        batch.session.add(fact)
        batch.content[posted.content_id] = fact
    fact.community_id, fact.content_type = posted.community_id, posted.content_type
    fact.source, fact.posted_at = posted.source, posted.posted_at
    if posted.source == "UGC" and posted.author_member_id is not None:
        batch.count(tenant_id, posted.community_id, "ugc_posts", day)
        if batch.member(tenant_id, posted.author_member_id) is not None:
            _active(batch, tenant_id, posted.community_id, posted.author_member_id, posted.posted_at, (INTERACTED,))


def _engaged(batch: Batch, tenant_id: str, engaged: ContentEngagedV1) -> None:
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


def _answered(batch: Batch, tenant_id: str, answered: SurveyAnsweredV1, day: date) -> None:
    batch.count(tenant_id, answered.community_id, "survey_answers", day)
    if answered.nps is not None:
        batch.count(tenant_id, answered.community_id, "nps_answers", day)
        if answered.nps >= 9:
            batch.count(tenant_id, answered.community_id, "promoters", day)
        elif answered.nps <= 6:
            batch.count(tenant_id, answered.community_id, "detractors", day)
    if answered.answers.get("complaint") is True:
        batch.count(tenant_id, answered.community_id, "complaints", day)


def _placed(batch: Batch, tenant_id: str, placed: OrderPlacedV1) -> None:
    if placed.order_id in batch.orders or placed.member_id in batch.erased:
        return
    attribution = placed.attribution
    order = OrderFact(
        order_id=placed.order_id,
        tenant_id=tenant_id,
        member_id=placed.member_id,
        community_id=placed.community_id,
        amount_fen=placed.amount_fen,
        placed_at=placed.placed_at,
        refunded_fen=0,
        campaign_id=attribution.campaign_id,
        content_id=attribution.content_id,
        inviter_id=attribution.inviter_id,
    )
    batch.session.add(order)
    batch.orders[placed.order_id] = order
    day = activity.day_of(placed.placed_at)
    batch.count(tenant_id, placed.community_id, "orders", day)
    if batch.member(tenant_id, placed.member_id) is not None:
        _active(batch, tenant_id, placed.community_id, placed.member_id, placed.placed_at, (ORDERED,))


def _paid(batch: Batch, tenant_id: str, paid: OrderPaidV1) -> None:
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


def _refunded(batch: Batch, tenant_id: str, refunded: OrderRefundedV1) -> None:
    order = batch.orders.get(refunded.order_id)
    if order is not None:
        order.refunded_fen += refunded.amount_fen
    community_id = order.community_id if order is not None else None
    batch.count(tenant_id, community_id, "refunded_fen", activity.day_of(refunded.refunded_at), refunded.amount_fen)
    member = batch.member(tenant_id, refunded.member_id)
    if member is not None:
        member.spend_fen = max(member.spend_fen - refunded.amount_fen, 0)
        batch.rescore.add(member.member_id)


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
    member.engagement_fast = activity.decayed(member.engagement_fast, member.engagement_at, at, activity.FAST_HALF_LIFE)
    member.engagement_slow = activity.decayed(member.engagement_slow, member.engagement_at, at, activity.SLOW_HALF_LIFE)
    member.engagement_fast += 1.0
    member.engagement_slow += 1.0
    member.engagement_at = max(at, member.engagement_at or at)
    if member.last_active_at is None or at > member.last_active_at:
        member.last_active_at = at
    if member.first_active_at is None or at < member.first_active_at:
        member.first_active_at = at
    batch.rescore.add(member_id)


async def _write_counts(session: AsyncSession, counts: Counter[CountKey]) -> None:
    if not counts:
        return
    table = COUNTS
    statement = upsert(session, table)
    rows = [
        {"tenant_id": t, "community_id": c, "metric": m, "day": d, "value": v}
        for (t, c, m, d), v in sorted(counts.items())  # one lock order for concurrent consumers
    ]
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=list(table.primary_key.columns), set_={"value": table.c.value + statement.excluded.value}
        ),
        rows,
    )


async def _write_sets(session: AsyncSession, batch: Batch) -> None:
    """Adds the batch's members to each day's set: the row is created if need be, then locked, merged and
    written, so two consumers adding to one set do not lose each other's members."""
    if not batch.sets:
        return
    keys = sorted(batch.sets)
    table = MEMBER_SETS
    empty = BitMap().serialize()
    await session.execute(
        upsert(session, table).on_conflict_do_nothing(),
        [{"tenant_id": t, "community_id": c, "kind": k, "day": d, "members": empty} for t, c, k, d in keys],
    )
    key_columns = tuple_(table.c.tenant_id, table.c.community_id, table.c.kind, table.c.day)
    stored = await session.execute(
        select(table).where(key_columns.in_(keys)).order_by(*table.primary_key.columns).with_for_update()
    )
    merged = []
    for row in stored:
        key = (row.tenant_id, row.community_id, row.kind, row.day)
        bitmap = BitMap.deserialize(row.members)
        bitmap.update(batch.members[m].number for m in batch.sets[key])
        merged.append(
            {"k_" + name: value for name, value in zip(("t", "c", "k", "d"), key, strict=True)}
            | {"members": bitmap.serialize()}
        )
    await session.execute(
        update(table)
        .where(
            table.c.tenant_id == bindparam("k_t"),
            table.c.community_id == bindparam("k_c"),
            table.c.kind == bindparam("k_k"),
            table.c.day == bindparam("k_d"),
        )
        .values(members=bindparam("members")),
        merged,
    )


async def _write_content(session: AsyncSession, engaged: Counter[tuple[str, uuid.UUID, str]]) -> None:
    """Adds the batch's engagements to each item's counters, creating the row of an item whose post has
    not come in yet."""
    if not engaged:
        return
    rows: dict[tuple[str, uuid.UUID], dict[str, Any]] = {}
    for (tenant_id, content_id, action), times in engaged.items():
        row = rows.setdefault((tenant_id, content_id), {"content_id": content_id, "tenant_id": tenant_id} | ZEROS)
        row[CONTENT_COUNTERS[action]] += times
    table = CONTENT
    statement = upsert(session, table)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.content_id],
            set_={column: table.c[column] + statement.excluded[column] for column in CONTENT_COUNTERS.values()},
        ),
        [rows[key] for key in sorted(rows)],
    )


CONTENT_COUNTERS = {
    "view": "views",
    "complete": "completes",
    "like": "likes",
    "comment": "comments",
    "share": "shares",
    "click": "clicks",
}
ZEROS = dict.fromkeys(CONTENT_COUNTERS.values(), 0)
