"""What the events member-svc consumes do to members: points earned or clawed back, activity counted
for the lifecycle, flags and segments from analytics. Events about members unknown here or erased are moot.

An event announcing imported history (`envelope.imported`) earns points only if the tenant's policy says
history earns (`history_earns_points`, off by default); the facts it carries (activity, lifecycle, levels,
tags) count either way, and whatever it leads member-svc to announce is marked imported too."""

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby

from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.imported import for_history
from member_svc.members import lifecycle
from member_svc.members.service import known_member, known_members
from member_svc.points import batch, joins
from member_svc.points import service as points
from member_svc.points.policy import Policies, policy_of
from member_svc.points.service import Earning
from member_svc.tags import service as tags
from qunyun_shared.events import Envelope
from qunyun_shared.events.analytics import MemberChurnRiskV1, MemberSegmentChangedV1
from qunyun_shared.events.campaign import CheckinRecordedV1, OrderPlacedV1, OrderRefundedV1, RewardGrantedV1
from qunyun_shared.events.content import ContentEngagedV1, ContentPostedV1, SurveyAnsweredV1
from qunyun_shared.events.member import MemberJoinedV1
from qunyun_shared.outbox import Outbox
from qunyun_shared.problems import DomainError

log = logging.getLogger(__name__)


async def on_events(*, session: AsyncSession, outbox: Outbox, envelopes: Sequence[Envelope]) -> None:
    """Applies a run of consumed events in their order: consecutive joins of a tenant together (`joins`), each
    other event on its own. A tenant's policy is read at most once for the run, and only for an event that
    may earn or needs its time zone: one member-svc does nothing with (a view, a like) costs no statement."""
    policies = Policies(session)
    for (type_, tenant_id, imported), events in groupby(envelopes, key=lambda e: (e.type, e.tenantid, e.imported)):
        staged, run = for_history(outbox, imported=imported), list(events)
        payloads = [envelope.data for envelope in run]
        if type_ == "member.joined":
            await joins.record_joins(
                session=session,
                outbox=staged,
                tenant_id=tenant_id,
                joins=[data for data in payloads if isinstance(data, MemberJoinedV1)],
                policy=await policies.of(tenant_id) if await policies.earns(tenant_id, imported=imported) else None,
            )
        elif type_ == "member.segment_changed":
            changes = [data for data in payloads if isinstance(data, MemberSegmentChangedV1)]
            await _segments_changed(session, staged, tenant_id, changes)
        else:
            for envelope in run:
                await _on_event(session, staged, envelope, policies)


async def _segments_changed(
    session: AsyncSession, outbox: Outbox, tenant_id: str, changes: Sequence[MemberSegmentChangedV1]
) -> None:
    """Segments analytics-svc judged, those of members unknown here or erased left aside."""
    known = await known_members(session=session, tenant_id=tenant_id, member_ids={c.member_id for c in changes})
    await lifecycle.record_segments(
        session=session,
        outbox=outbox,
        tenant_id=tenant_id,
        changes=[(known[c.member_id], c) for c in changes if c.member_id in known],
    )


async def _on_event(session: AsyncSession, outbox: Outbox, envelope: Envelope, policies: Policies) -> None:
    """Applies one consumed event (other than a join or a segment)."""
    tenant_id, data = envelope.tenantid, envelope.data
    match data:
        case OrderRefundedV1():
            member = await known_member(session=session, tenant_id=tenant_id, member_id=data.member_id)
            if member is not None:
                await points.claw_back(
                    session=session,
                    outbox=outbox,
                    tenant_id=tenant_id,
                    member_id=member.id,
                    order_id=data.order_id,
                    refunded_fen=data.amount_fen,
                    source=f"refund:{envelope.id}",
                    at=data.refunded_at,
                )
        case CheckinRecordedV1():
            source = f"checkin:{data.campaign_id}:{data.member_id}:{data.day}"
            at = envelope.time
            if envelope.imported:  # published long after its day, which is all it says of its time
                at = (await policies.of(tenant_id)).start_of(data.day)
            earn = _Earn("checkin", source, at, await policies.earns(tenant_id, imported=envelope.imported))
            await _participated(session, outbox, tenant_id, data.member_id, earn, policies)
        case SurveyAnsweredV1():
            member = await known_member(session=session, tenant_id=tenant_id, member_id=data.member_id)
            if member is not None:
                # An imported answer was published long after it was given, and says nothing of when.
                answered_at = None if envelope.imported else envelope.time
                await lifecycle.record_participation(session=session, outbox=outbox, member=member, at=answered_at)
        case ContentPostedV1() if data.source == "UGC" and data.author_member_id is not None:
            earns = await policies.earns(tenant_id, imported=envelope.imported)
            post = _Earn("post", f"post:{data.content_id}", data.posted_at, earns)
            await _earn(session, outbox, tenant_id, data.author_member_id, post, policies)
        case ContentEngagedV1() if data.action == "comment":
            earns = await policies.earns(tenant_id, imported=envelope.imported)
            comment = _Earn("comment", f"comment:{envelope.id}", data.occurred_at, earns)
            await _earn(session, outbox, tenant_id, data.member_id, comment, policies)
        case MemberChurnRiskV1():
            member = await known_member(session=session, tenant_id=tenant_id, member_id=data.member_id)
            if member is not None:
                await lifecycle.flag_churn_risk(
                    session=session, outbox=outbox, member=member, risk=data, at=envelope.time
                )
        case RewardGrantedV1():
            earns = await policies.earns(tenant_id, imported=envelope.imported)
            await _rewarded(session, outbox, tenant_id, data, envelope.time, earns)


async def _rewarded(
    session: AsyncSession, outbox: Outbox, tenant_id: str, reward: RewardGrantedV1, at: datetime, earns: bool
) -> None:
    """Points and a tag a campaign granted (a check-in milestone, a referral, an automation rule); the
    reward id makes a redelivered grant earn once."""
    member = await known_member(session=session, tenant_id=tenant_id, member_id=reward.member_id)
    if member is None:
        return
    if reward.points and earns:
        earning = Earning(
            member_id=member.id,
            reason="campaign",
            points=reward.points,
            source=f"reward:{reward.reward_id}",
            at=at,
            note=reward.reason,
        )
        await points.earn(session=session, outbox=outbox, tenant_id=tenant_id, earning=earning)
    if reward.tag:
        try:
            await tags.add_manual(
                session=session, outbox=outbox, tenant_id=tenant_id, member_id=member.id, tag=reward.tag
            )
        except DomainError as refused:
            # A system or rule tag is not a campaign's to set; the points still stand.
            log.warning("campaign tag refused", extra={"tag": reward.tag, "reason": refused.detail})


async def on_orders_placed(*, session: AsyncSession, outbox: Outbox, envelopes: Sequence[Envelope]) -> None:
    """Points and activity for a run of orders placed, all of a tenant's live (or imported) orders at once."""
    runs: dict[tuple[str, bool], list[OrderPlacedV1]] = {}
    for envelope in envelopes:
        assert isinstance(envelope.data, OrderPlacedV1)
        runs.setdefault((envelope.tenantid, envelope.imported), []).append(envelope.data)
    for (tenant_id, imported), orders in runs.items():
        await _ordered(session, for_history(outbox, imported=imported), tenant_id, orders, imported=imported)


async def _ordered(
    session: AsyncSession, outbox: Outbox, tenant_id: str, orders: Sequence[OrderPlacedV1], *, imported: bool
) -> None:
    """Points per whole yuan of each order, then the orders counted into the members' activity."""
    known = await known_members(session=session, tenant_id=tenant_id, member_ids={order.member_id for order in orders})
    orders = [order for order in orders if order.member_id in known]
    if not orders:
        return
    policy = await policy_of(session=session, tenant_id=tenant_id)
    if not imported or policy.rules.history_earns_points:
        earnings = [
            Earning(
                member_id=order.member_id,
                reason="order",
                points=policy.points_for("per_yuan") * (order.amount_fen // 100),
                source=f"order:{order.order_id}",
                at=order.placed_at,
                order_id=order.order_id,
                order_amount_fen=order.amount_fen,
            )
            for order in orders
        ]
        await batch.earn_all(
            session=session, outbox=outbox, tenant_id=tenant_id, policy=policy, members=known, earnings=earnings
        )
    await lifecycle.record_orders(
        session=session,
        outbox=outbox,
        tenant_id=tenant_id,
        orders=[(known[order.member_id], order.amount_fen, order.placed_at) for order in orders],
    )


async def _participated(
    session: AsyncSession, outbox: Outbox, tenant_id: str, member_id: uuid.UUID, earn: "_Earn", policies: Policies
) -> None:
    member = await known_member(session=session, tenant_id=tenant_id, member_id=member_id)
    if member is None:
        return
    await _earn(session, outbox, tenant_id, member.id, earn, policies)
    await lifecycle.record_participation(session=session, outbox=outbox, member=member, at=earn.at)


@dataclass(frozen=True)
class _Earn:
    """What an event would earn by the tenant's rules: the action, its source (so it earns once), when; and
    whether it may (imported history earns only if the tenant says so)."""

    action: str
    source: str
    at: datetime
    earns: bool


async def _earn(
    session: AsyncSession, outbox: Outbox, tenant_id: str, member_id: uuid.UUID, earn: _Earn, policies: Policies
) -> None:
    if not earn.earns:
        return
    member = await known_member(session=session, tenant_id=tenant_id, member_id=member_id)
    if member is None:
        return
    policy = await policies.of(tenant_id)
    earning = Earning(
        member_id=member.id, reason=earn.action, points=policy.points_for(earn.action), source=earn.source, at=earn.at
    )
    await points.earn(session=session, outbox=outbox, tenant_id=tenant_id, earning=earning, policy=policy)
