"""When a member entered the brand (from none of its communities to one) and left it (from one to none),
from their whole history of joins and leaves (membership_changes), not from the order the events came in.

History imported after live joins, or a merchant's rows published membership by membership (joined A,
left A, joined B before leaving A), arrive out of time order; a running count of communities would then
count the brand's joins and leaves on the wrong days, or twice. So a batch loads the histories of the
members it has joins or leaves of, adds its own changes, and counts for the tenant the difference between
the spells before and after.
"""

import uuid
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc import activity
from analytics_svc.ingestion.records import CHANGES
from qunyun_shared.db import insert_rows, one_of


class Change(NamedTuple):
    """A join or leave of one community, ordered by time; at the same moment joins come first, so that a
    member moving from one community to another at once stays in the brand throughout."""

    at: datetime
    left: bool
    community_id: uuid.UUID


@dataclass(frozen=True)
class Spells:
    """The moments a member entered and left the brand, and how many communities they are in at the end."""

    entered: list[datetime]
    left: list[datetime]
    memberships: int


def spells_of(changes: Iterable[Change]) -> Spells:
    """The member's spells in the brand from their changes in time order: a second join of a community they
    are in, or a leave of one they are not in (joined before analytics heard of it), changes nothing."""
    inside: set[uuid.UUID] = set()
    entered: list[datetime] = []
    left: list[datetime] = []
    for change in sorted(changes):
        if not change.left and change.community_id not in inside:
            if not inside:
                entered.append(change.at)
            inside.add(change.community_id)
        elif change.left and change.community_id in inside:
            inside.discard(change.community_id)
            if not inside:
                left.append(change.at)
    return Spells(entered, left, len(inside))


def brand_counts(before: Spells, after: Spells) -> Counter[tuple[str, date]]:
    """What the tenant's daily `joins` and `leaves` gain (or lose) when a member's spells change so."""
    counts: Counter[tuple[str, date]] = Counter()
    for metric, was, now in (("joins", before.entered, after.entered), ("leaves", before.left, after.left)):
        for at in was:
            counts[(metric, activity.day_of(at))] -= 1
        for at in now:
            counts[(metric, activity.day_of(at))] += 1
    return Counter({key: value for key, value in counts.items() if value})


async def histories_of(*, session: AsyncSession, member_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, set[Change]]:
    """The stored joins and leaves of these members (whose rows the batch holds locked)."""
    histories: dict[uuid.UUID, set[Change]] = defaultdict(set)
    if member_ids:
        found = await session.execute(select(CHANGES).where(one_of(session, CHANGES.c.member_id, member_ids)))
        for row in found:
            histories[row.member_id].add(Change(row.at, not row.joined, row.community_id))
    return histories


async def write_changes(
    *, session: AsyncSession, tenants: Mapping[uuid.UUID, str], changes: Mapping[uuid.UUID, set[Change]]
) -> None:
    """Adds the batch's joins and leaves to their members' histories (one already there stays as it is)."""
    rows = [
        {
            "member_id": member_id,
            "community_id": change.community_id,
            "at": change.at,
            "joined": not change.left,
            "tenant_id": tenants[member_id],
        }
        for member_id in sorted(changes, key=lambda m: m.int)
        for change in sorted(changes[member_id])
    ]
    if rows:
        statement, parameters = insert_rows(session, CHANGES, rows)
        await session.execute(statement.on_conflict_do_nothing(), parameters)
