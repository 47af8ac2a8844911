"""The members a consumer batch is about: their facts locked for the batch (new ones made in memory, their
rows written with the batch's other writes), and the erased ones left out.

Replicas consume different partitions, and one member's events are on several (their own, their
orders', their posts'), so two replicas may meet the same member at once: a new member's lock is taken
before their row is looked for again and written, and every row is locked in member id order.
Erasure runs concurrently too; see `load` for how the two are kept apart.
"""

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc import locks
from analytics_svc.db import ERASED_MEMBERS
from analytics_svc.ingestion.records import FACTS, MEMBERSHIPS, MemberRecord, MembershipRecord
from qunyun_shared.db import one_of
from qunyun_shared.erasure import erased_among
from qunyun_shared.events import Envelope
from qunyun_shared.events.campaign import OrderPlacedV1
from qunyun_shared.events.content import ContentModeratedV1, ContentPostedV1, SurveyAnsweredV1
from qunyun_shared.events.member import MemberJoinedV1

Member = tuple[str, uuid.UUID]  # tenant, member


@dataclass(frozen=True)
class Loaded:
    facts: dict[uuid.UUID, MemberRecord]
    erased: set[uuid.UUID]


async def load(*, session: AsyncSession, events: Sequence[Envelope]) -> Loaded:
    """The facts of the members the events add to, locked (new ones, whose rows the batch writes, held by
    their members' locks), and which of these and of the members they only name (inviters) are erased.

    A member with a row is kept from their erasure by the row: erasure deletes it, which waits for the
    batch's lock, or the batch's lock waits for erasure and finds no row. A member new to analytics, or one
    only named, has no row to lock: for them both sides take the member's lock first, and so does another
    replica about to write a new member's row."""
    adding = {(e.tenantid, m) for e in events if (m := member_of(e)) is not None}
    naming = {(e.tenantid, m) for e in events if (m := _inviter_named(e)) is not None}
    ids = {member_id for _, member_id in adding}
    known = await _known(session, ids)
    await locks.hold_members(session=session, members={m for m in adding if m[1] not in known} | set(naming))
    erased = await erased_among(session, ERASED_MEMBERS, ids | {member_id for _, member_id in naming})
    # Rows another replica wrote while this batch waited for their members' locks.
    known |= await _known(session, ids - known - erased)
    facts = await _locked(session, known - erased)
    new: dict[uuid.UUID, MemberRecord] = {}
    for tenant_id, member_id in sorted(adding, key=_by_id):
        if member_id not in known and member_id not in erased:
            new.setdefault(member_id, MemberRecord.new(member_id=member_id, tenant_id=tenant_id))
    return Loaded(facts=facts | new, erased=erased | (known - erased - facts.keys()))


async def communities_of(
    *, session: AsyncSession, member_ids: Collection[uuid.UUID]
) -> dict[tuple[uuid.UUID, uuid.UUID], MembershipRecord]:
    """The communities these members have joined, by (member, community); the members' rows are locked,
    so no one else adds to them meanwhile."""
    if not member_ids:
        return {}
    found = await session.execute(select(MEMBERSHIPS).where(one_of(session, MEMBERSHIPS.c.member_id, member_ids)))
    return {(row.member_id, row.community_id): MembershipRecord(**row._mapping) for row in found}


def member_of(envelope: Envelope) -> uuid.UUID | None:
    """The member whose facts the event adds to, if any."""
    match envelope.data:
        case ContentPostedV1() as posted:
            return posted.author_member_id if posted.source == "UGC" else None
        case SurveyAnsweredV1() | ContentModeratedV1():
            return None
        case _:
            member_id = getattr(envelope.data, "member_id", None)
            return member_id if isinstance(member_id, uuid.UUID) else None


def _inviter_named(envelope: Envelope) -> uuid.UUID | None:
    """The member the event names as an inviter, if any."""
    match envelope.data:
        case MemberJoinedV1() as joined:
            return joined.inviter_id
        case OrderPlacedV1() as placed:
            return placed.attribution.inviter_id
        case _:
            return None


async def _known(session: AsyncSession, member_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
    if not member_ids:
        return set()
    return set(await session.scalars(select(FACTS.c.member_id).where(one_of(session, FACTS.c.member_id, member_ids))))


async def _locked(session: AsyncSession, member_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, MemberRecord]:
    """The members' facts as committed now, locked in member id order: the order every writer of member
    rows (ingestion, the refit, erasure) takes them in, so none waits on another that waits on it."""
    if not member_ids:
        return {}
    found = await session.execute(
        select(FACTS)
        .where(one_of(session, FACTS.c.member_id, member_ids))
        .order_by(FACTS.c.member_id)
        .with_for_update()
    )
    return {row.member_id: MemberRecord(*row) for row in found}


def _by_id(member: Member) -> int:
    return member[1].int  # UUID order, compared in C
