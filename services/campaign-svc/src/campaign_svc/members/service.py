"""What campaigns know of members, kept from the events of member-svc, content-svc and analytics-svc.
Events about erased members change nothing: a late redelivery must not bring their data back."""

import uuid
from collections import Counter
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, case, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc.db import ERASED_MEMBERS
from campaign_svc.exceptions import MemberNotFound
from campaign_svc.members.models import Member
from qunyun_shared.db import insert_rows, one_of, upsert
from qunyun_shared.erasure import erased_among
from qunyun_shared.events.analytics import MemberChurnRiskV1
from qunyun_shared.events.content import ContentEngagedV1
from qunyun_shared.events.member import (
    MemberBirthdaySetV1,
    MemberConsentChangedV1,
    MemberJoinedV1,
    MemberLevelChangedV1,
)


async def record_joins(*, session: AsyncSession, joins: Sequence[tuple[str, MemberJoinedV1]]) -> None:
    """Counts joins; a member's earliest join fixes the inviter and the join time, whichever arrives first
    (imported history may arrive after the member's live joins)."""
    erased = await erased_among(session, ERASED_MEMBERS, (j.member_id for _, j in joins))
    first_joins: dict[uuid.UUID, tuple[str, MemberJoinedV1]] = {}
    joins_per_member: Counter[uuid.UUID] = Counter()
    for tenant_id, join in joins:
        if join.member_id in erased:
            continue
        earliest = first_joins.get(join.member_id)
        if earliest is None or join.joined_at < earliest[1].joined_at:
            first_joins[join.member_id] = (tenant_id, join)
        joins_per_member[join.member_id] += 1
    if not first_joins:
        return
    # Sorted, so concurrent consumers lock rows in one order and cannot deadlock.
    rows = [
        {
            "member_id": member_id,
            "tenant_id": tenant_id,
            "inviter_id": join.inviter_id,
            "first_joined_at": join.joined_at,
            "communities_joined": joins_per_member[member_id],
        }
        for member_id, (tenant_id, join) in sorted(first_joins.items())
    ]
    table = Member.__table__
    statement = upsert(session, table)
    # A member first seen through another event has no join facts yet; an earlier join arriving later
    # replaces them.
    earlier = or_(table.c.first_joined_at.is_(None), statement.excluded.first_joined_at < table.c.first_joined_at)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.member_id],
            set_={
                "communities_joined": table.c.communities_joined + statement.excluded.communities_joined,
                "inviter_id": case((earlier, statement.excluded.inviter_id), else_=table.c.inviter_id),
                "first_joined_at": case((earlier, statement.excluded.first_joined_at), else_=table.c.first_joined_at),
            },
        ),
        rows,
    )


async def record_consent(
    *, session: AsyncSession, tenant_id: str, consent: MemberConsentChangedV1, at: datetime
) -> None:
    """Keeps a member's marketing consent."""
    if consent.purpose == "marketing":
        await _update(session, tenant_id, consent.member_id, marketing_consent=consent.granted, consent_changed_at=at)


async def record_level(*, session: AsyncSession, tenant_id: str, change: MemberLevelChangedV1) -> None:
    """Keeps a member's level."""
    await _update(session, tenant_id, change.member_id, level=change.to_level)


async def record_birthday(*, session: AsyncSession, tenant_id: str, birthday: MemberBirthdaySetV1) -> None:
    """Keeps a member's birthday (month and day)."""
    await _update(session, tenant_id, birthday.member_id, birthday=birthday.birthday)


async def record_churn_risk(*, session: AsyncSession, tenant_id: str, risk: MemberChurnRiskV1) -> None:
    """Keeps a member's churn-risk flag as analytics-svc judged it: raised, or cleared (`flagged` false)."""
    await _update(session, tenant_id, risk.member_id, churn_risk=risk.flagged)


async def record_engagements(*, session: AsyncSession, engaged: Sequence[tuple[str, ContentEngagedV1]]) -> None:
    """Counts members' engagement with content, a batch at once; each member's latest engagement stays the
    last, whatever arrives after it (imported history). As one at a time: a member first seen here is kept
    under the tenant of their first event, and events of another tenant about them change nothing."""
    erased = await erased_among(session, ERASED_MEMBERS, (e.member_id for _, e in engaged))
    engaged = [(tenant_id, e) for tenant_id, e in engaged if e.member_id not in erased]
    if not engaged:
        return
    kept = dict(
        (
            await session.execute(
                select(Member.member_id, Member.tenant_id).where(
                    one_of(session, Member.member_id, {e.member_id for _, e in engaged})
                )
            )
        ).all()
    )
    counts: dict[uuid.UUID, list[Any]] = {}  # member: tenant, engagements, latest
    for tenant_id, e in engaged:
        if kept.setdefault(e.member_id, tenant_id) == tenant_id:
            count = counts.setdefault(e.member_id, [tenant_id, 0, e.occurred_at])
            count[1], count[2] = count[1] + 1, max(count[2], e.occurred_at)
    if not counts:
        return
    # Sorted, so concurrent consumers lock rows in one order and cannot deadlock.
    rows = [
        {"member_id": member_id, "tenant_id": tenant_id, "engagements": n, "last_engaged_at": latest}
        for member_id, (tenant_id, n, latest) in sorted(counts.items())
    ]
    table = cast(Table, Member.__table__)
    statement, parameters = insert_rows(session, table, rows)
    given = statement.excluded
    later = or_(table.c.last_engaged_at.is_(None), table.c.last_engaged_at < given.last_engaged_at)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.member_id],
            set_={
                "engagements": table.c.engagements + given.engagements,
                "last_engaged_at": case((later, given.last_engaged_at), else_=table.c.last_engaged_at),
            },
        ),
        parameters,
    )


async def _update(session: AsyncSession, tenant_id: str, member_id: uuid.UUID, **values: Any) -> None:
    """Applies facts to a member, creating the member if this is the first event about them."""
    if await erased_among(session, ERASED_MEMBERS, [member_id]):
        return
    table = Member.__table__
    await session.execute(
        upsert(session, table).values(member_id=member_id, tenant_id=tenant_id).on_conflict_do_nothing()
    )
    await session.execute(
        update(Member).where(Member.member_id == member_id, Member.tenant_id == tenant_id).values(**values)
    )


async def refused_for_history(
    *, session: AsyncSession, tenant_id: str, member_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """Why history of some of the members cannot be imported: erased, or known as another tenant's. A member
    not known yet is not refused: member-svc's events about them may still be on their way."""
    if not member_ids:
        return {}
    erased = await erased_among(session, ERASED_MEMBERS, member_ids)
    foreign = await session.scalars(
        select(Member.member_id).where(one_of(session, Member.member_id, member_ids), Member.tenant_id != tenant_id)
    )
    refused = {member_id: f"No member {member_id} in this tenant." for member_id in foreign}
    return refused | {member_id: f"Member {member_id} was erased: nothing of theirs is kept." for member_id in erased}


async def get_member(*, session: AsyncSession, tenant_id: str, member_id: uuid.UUID) -> Member:
    """What campaigns know of one of the tenant's members."""
    member = await session.get(Member, member_id)
    if member is None or member.tenant_id != tenant_id:
        raise MemberNotFound(f"No member {member_id} is known to campaigns yet.")
    return member
