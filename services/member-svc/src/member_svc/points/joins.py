"""What a run of one tenant's `member.joined` does, at once: join points once per member, referral points once
per invitee to whoever first brought them in, and those inviters made loyal with their tags judged again —
what the joins handled one at a time do, in a few statements for the run (a history import brings a join per
membership, 100,000s of them)."""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.members import lifecycle
from member_svc.members.models import Member
from member_svc.members.service import known_members
from member_svc.points import batch
from member_svc.points import service as points
from member_svc.points.policy import Policy
from member_svc.points.service import Earning
from qunyun_shared.events.member import MemberJoinedV1
from qunyun_shared.outbox import Outbox


@dataclass(frozen=True)
class _Join:
    member: Member
    inviter: Member | None  # whoever brought the member in, if known here
    at: datetime


async def record_joins(
    *, session: AsyncSession, outbox: Outbox, tenant_id: str, joins: Sequence[MemberJoinedV1], policy: Policy | None
) -> None:
    """Applies the tenant's joins in their order; `policy` is the tenant's when they earn points, None when
    they do not (imported history, by default). Joins of members unknown here or erased are moot."""
    known = await known_members(session=session, tenant_id=tenant_id, member_ids={j.member_id for j in joins})
    invited_by = {member.invited_by for member in known.values() if member.invited_by is not None}
    inviters = await known_members(session=session, tenant_id=tenant_id, member_ids=invited_by)
    for part in _parts(joins, known, inviters, earning=policy is not None):
        if policy is not None:
            await _earn(session, outbox, tenant_id, policy, part, known | inviters)
        brought = {join.inviter.id: join.inviter for join in part if join.inviter is not None}
        await lifecycle.record_referrals(
            session=session, outbox=outbox, tenant_id=tenant_id, inviters=list(brought.values())
        )


def _parts(
    joins: Sequence[MemberJoinedV1],
    known: Mapping[uuid.UUID, Member],
    inviters: Mapping[uuid.UUID, Member],
    *,
    earning: bool,
) -> list[list[_Join]]:
    """The joins of known members, in parts handled one after the other. An inviter's tags are judged on the
    points they had at their referral: when joins earn, a member's join after they brought someone in within a
    part starts a new one, so that the join's points come after that judgement, as one at a time."""
    parts: list[list[_Join]] = [[]]
    referred: set[uuid.UUID] = set()
    for joined in joins:
        member = known.get(joined.member_id)
        if member is None:
            continue
        if earning and member.id in referred:
            parts.append([])
            referred.clear()
        inviter = inviters.get(member.invited_by) if member.invited_by is not None else None
        parts[-1].append(_Join(member, inviter, joined.joined_at))
        if inviter is not None:
            referred.add(inviter.id)
    return [part for part in parts if part]


async def _earn(
    session: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    policy: Policy,
    part: Sequence[_Join],
    members: Mapping[uuid.UUID, Member],
) -> None:
    """Join and referral points in the joins' order, each source once."""
    earnings: list[Earning] = []
    for join in part:
        member_id = join.member.id
        earnings.append(Earning(member_id, "join", policy.points_for("join"), f"join:{member_id}", join.at))
        if join.inviter is not None:
            referral = policy.points_for("referral")
            earnings.append(Earning(join.inviter.id, "referral", referral, f"referral:{member_id}", join.at))
    if policy.daily_limit("join") is None and policy.daily_limit("referral") is None:
        await batch.earn_all(
            session=session, outbox=outbox, tenant_id=tenant_id, policy=policy, members=members, earnings=earnings
        )
        return
    for earning in earnings:  # a tenant's daily limit on them is counted one earning at a time
        await points.earn(session=session, outbox=outbox, tenant_id=tenant_id, earning=earning, policy=policy)
