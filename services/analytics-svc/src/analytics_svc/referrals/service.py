"""What referrals bring (裂变): invitations sent, joins and first orders per inviter, the depth of the
invitation tree, and the viral coefficient of the tenant, of each community and of each referral campaign.
Definitions: docs/kpis.md.

The K-factor is referred first joins per member already there: i·c, invitations sent per member times
the joins each brings, without needing to know which invitation a joiner answered."""

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import cast

from sqlalchemy import Table, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.activity import midnight
from analytics_svc.ingestion.models import MemberCommunity, MemberFacts
from analytics_svc.referrals.models import CampaignRun, InvitationFact
from qunyun_shared.db import upsert
from qunyun_shared.events import Envelope
from qunyun_shared.events.campaign import CampaignEndedV1, CampaignStartedV1
from qunyun_shared.problems import InvalidInput

REFERRAL = "referral"  # the campaign kind measured here


@dataclass(frozen=True)
class Inviter:
    member_id: uuid.UUID
    invites_sent: int
    joins: int
    first_orders: int


@dataclass(frozen=True)
class Reach:
    """What invitations did within a scope: a community, or a referral campaign's run."""

    invites_sent: int
    referred_joins: int
    members_before: int
    k_factor: float | None  # referred_joins / members_before


@dataclass(frozen=True)
class CommunityReach:
    community_id: uuid.UUID
    reach: Reach


@dataclass(frozen=True)
class CampaignReach:
    campaign_id: uuid.UUID
    name: str | None
    # The part of the campaign's run inside the range asked for.
    start: datetime
    end: datetime
    reach: Reach


@dataclass(frozen=True)
class Referrals:
    inviters: list[Inviter]  # the most joins first
    invites_sent: int
    referred_joins: int
    tree_depth: int  # the longest chain of invitations among the tenant's members
    k_factor: float | None  # referred joins per member at the start of the range
    communities: list[CommunityReach]  # the most referred joins first
    campaigns: list[CampaignReach]  # by start


@dataclass(frozen=True)
class _Sent:
    inviter_id: uuid.UUID
    community_id: uuid.UUID
    sent_at: datetime


@dataclass(frozen=True)
class _Join:
    at: datetime
    invited: bool


def _reach(joins: Sequence[_Join], invitations: Sequence[datetime], start: datetime, end: datetime) -> Reach:
    referred = sum(1 for j in joins if j.invited and start <= j.at < end)
    before = sum(1 for j in joins if j.at < start)
    return Reach(
        invites_sent=sum(1 for sent in invitations if start <= sent < end),
        referred_joins=referred,
        members_before=before,
        k_factor=referred / before if before else None,
    )


async def referrals(*, session: AsyncSession, tenant_id: str, start: date, end: date, limit: int = 100) -> Referrals:
    """Who brought whom in [start, end], the depth of the tenant's invitation tree, and the viral coefficient
    of the tenant, its communities and the referral campaigns that ran in the range."""
    if end < start:
        raise InvalidInput(f"The range ends ({end}) before it starts ({start}).", field="to")
    since, until = midnight(start), midnight(end + timedelta(1))
    links = (
        await session.execute(
            select(
                MemberFacts.member_id, MemberFacts.inviter_id, MemberFacts.first_joined_at, MemberFacts.first_order_at
            ).where(MemberFacts.tenant_id == tenant_id, MemberFacts.first_joined_at.is_not(None))
        )
    ).all()
    sent = [
        _Sent(*row)
        for row in await session.execute(
            select(InvitationFact.inviter_id, InvitationFact.community_id, InvitationFact.sent_at).where(
                InvitationFact.tenant_id == tenant_id, InvitationFact.sent_at >= since, InvitationFact.sent_at < until
            )
        )
    ]
    joins = [_Join(link.first_joined_at, link.inviter_id is not None) for link in links]
    invited = [
        (link.inviter_id, link.first_order_at is not None)
        for link in links
        if link.inviter_id is not None and since <= link.first_joined_at < until
    ]
    sent_at = [s.sent_at for s in sent]
    brand = _reach(joins, sent_at, since, until)
    return Referrals(
        inviters=_inviters(invited, sent)[:limit],
        invites_sent=brand.invites_sent,
        referred_joins=brand.referred_joins,
        tree_depth=_depth({link.member_id: link.inviter_id for link in links}),
        k_factor=brand.k_factor,
        communities=await _communities(session, tenant_id, sent, since, until),
        campaigns=await _campaigns(session, tenant_id, joins, sent_at, since, until),
    )


def _inviters(invited: Sequence[tuple[uuid.UUID, bool]], sent: Sequence[_Sent]) -> list[Inviter]:
    """From the range's referred joins, as (inviter, whether the joiner has ordered), and invitations sent."""
    invites = Counter(s.inviter_id for s in sent)
    joins = Counter(inviter for inviter, _ in invited)
    orders = Counter(inviter for inviter, ordered in invited if ordered)
    return sorted(
        (Inviter(m, invites[m], joins[m], orders[m]) for m in invites.keys() | joins.keys()),
        key=lambda i: (-i.joins, -i.first_orders, -i.invites_sent, str(i.member_id)),
    )


async def _communities(
    session: AsyncSession, tenant_id: str, sent: Sequence[_Sent], since: datetime, until: datetime
) -> list[CommunityReach]:
    """Each community invited to or joined by invitation in the range: its members new to it count as joins."""
    joins: dict[uuid.UUID, list[_Join]] = {}
    rows = await session.execute(
        select(MemberCommunity.community_id, MemberCommunity.first_joined_at, MemberCommunity.inviter_id).where(
            MemberCommunity.tenant_id == tenant_id, MemberCommunity.first_joined_at.is_not(None)
        )
    )
    for community_id, joined_at, inviter_id in rows:
        if joined_at is not None:  # the query's condition
            joins.setdefault(community_id, []).append(_Join(joined_at, inviter_id is not None))
    invitations: dict[uuid.UUID, list[datetime]] = {}
    for s in sent:
        invitations.setdefault(s.community_id, []).append(s.sent_at)
    reached = [
        CommunityReach(c, _reach(joins.get(c, []), invitations.get(c, []), since, until))
        for c in joins.keys() | invitations.keys()
    ]
    return sorted(
        (r for r in reached if r.reach.invites_sent or r.reach.referred_joins),
        key=lambda r: (-r.reach.referred_joins, -r.reach.invites_sent, str(r.community_id)),
    )


async def _campaigns(
    session: AsyncSession,
    tenant_id: str,
    joins: Sequence[_Join],
    invitations: Sequence[datetime],
    since: datetime,
    until: datetime,
) -> list[CampaignReach]:
    """Each referral campaign that ran in the range, over the part of its run inside it: the brand's first
    joins by invitation then, per member there when that part began."""
    runs = await session.scalars(
        select(CampaignRun)
        .where(
            CampaignRun.tenant_id == tenant_id,
            CampaignRun.kind == REFERRAL,
            CampaignRun.started_at < until,
            or_(CampaignRun.ended_at.is_(None), CampaignRun.ended_at > since),
        )
        .order_by(CampaignRun.started_at, CampaignRun.campaign_id)
    )
    reached = []
    for run in runs:
        assert run.started_at is not None  # the query's condition
        start, end = max(run.started_at, since), min(run.ended_at or until, until)
        reached.append(CampaignReach(run.campaign_id, run.name, start, end, _reach(joins, invitations, start, end)))
    return reached


def _depth(inviter_of: dict[uuid.UUID, uuid.UUID | None]) -> int:
    """The longest chain member -> inviter -> ...: 0 when no one was invited. Chains are walked once each,
    memoised; member-svc refuses cycles, and a cycle here would stop at its first repeat."""
    depth: dict[uuid.UUID, int] = {}
    for member in inviter_of:
        chain: list[uuid.UUID] = []
        cursor: uuid.UUID | None = member
        while cursor is not None and cursor not in depth and cursor not in chain:
            chain.append(cursor)
            cursor = inviter_of.get(cursor)
        base = depth.get(cursor, 0) if cursor is not None else -1
        for offset, node in enumerate(reversed(chain), start=1):
            depth[node] = base + offset
    return max(depth.values(), default=0)


async def record_campaign_runs(*, session: AsyncSession, events: Sequence[Envelope]) -> None:
    """Keeps when each campaign started and ended; the events' own times for those sent before the
    payloads said."""
    runs = cast(Table, CampaignRun.__table__)
    for envelope in events:
        match envelope.data:
            case CampaignStartedV1() as started:
                row = {"kind": started.kind, "name": started.name, "started_at": started.started_at or envelope.time}
                campaign_id = started.campaign_id
            case CampaignEndedV1() as ended:
                row = {"kind": ended.kind, "ended_at": ended.ended_at or envelope.time}
                campaign_id = ended.campaign_id
            case _:
                raise TypeError(f"{envelope.type} delivered to the campaign runs handler")
        insert = upsert(session, runs).values(campaign_id=campaign_id, tenant_id=envelope.tenantid, **row)
        await session.execute(insert.on_conflict_do_update(index_elements=[runs.c.campaign_id], set_=row))
