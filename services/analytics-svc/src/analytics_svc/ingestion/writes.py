"""What a consumer batch adds, written back in a few statements: its members' facts, the day's counts, the
day's member sets, content items' posts and counters, and invitations sent. Rows are written in key order,
the one order every replica takes them in, and created by upserts: another replica may be creating the
same row at the same moment."""

import uuid
from collections import Counter
from collections.abc import Collection, Mapping, Sequence, Set
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any, cast

from pyroaring import BitMap
from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.ingestion.models import ContentFact
from analytics_svc.ingestion.records import FACTS, MEMBERSHIPS, ORDERS, MemberRecord, MembershipRecord, OrderRecord
from analytics_svc.kpis.models import DailyCount, DailyMembers
from analytics_svc.referrals.models import InvitationFact
from qunyun_shared.db import insert_rows, one_of_keys, update_rows, upsert

CountKey = tuple[str, uuid.UUID, str, date]  # tenant, community (or ALL), metric or kind, day
COUNTS = cast(Table, DailyCount.__table__)
MEMBER_SETS = cast(Table, DailyMembers.__table__)
CONTENT = cast(Table, ContentFact.__table__)
INVITATIONS = cast(Table, InvitationFact.__table__)
# What a batch changes of a member: the facts its events add to, and the segment and churn flag rescoring
# decided on them (scoring.segments.rescore).
MEMBER_FACTS = [c.name for c in FACTS.columns if c.name not in {"number", "member_id", "tenant_id"}]

CONTENT_COUNTERS = {
    "view": "views",
    "complete": "completes",
    "like": "likes",
    "comment": "comments",
    "share": "shares",
    "click": "clicks",
}
ZEROS = dict.fromkeys(CONTENT_COUNTERS.values(), 0)


@dataclass(frozen=True)
class Post:
    """What `content.posted` says of an item."""

    community_id: uuid.UUID | None
    content_type: str
    source: str
    posted_at: datetime


UNPOSTED = dict.fromkeys(Post.__dataclass_fields__)


async def write_members(*, session: AsyncSession, members: Collection[MemberRecord]) -> dict[uuid.UUID, int]:
    """Writes the facts and decisions of the batch's members: the new ones inserted in member id order, the
    others updated. Returns every member's number."""
    stored = [m for m in members if m.number is not None]
    await update_rows(session, FACTS, [{"number": m.number} | _facts(m) for m in stored], key="number")
    numbers = {m.member_id: m.number for m in stored if m.number is not None}
    new = sorted((m for m in members if m.number is None), key=lambda m: m.member_id.int)
    if new:
        rows = [{"member_id": m.member_id, "tenant_id": m.tenant_id} | _facts(m) for m in new]
        statement, parameters = insert_rows(session, FACTS, rows)
        inserted = await session.execute(statement.returning(FACTS.c.member_id, FACTS.c.number), parameters)
        numbers |= {member_id: number for member_id, number in inserted}
        for member in new:
            member.number = numbers[member.member_id]
    return numbers


def _facts(member: MemberRecord) -> dict[str, Any]:
    return {name: getattr(member, name) for name in MEMBER_FACTS}


async def write_memberships(*, session: AsyncSession, memberships: Collection[MembershipRecord]) -> None:
    """The first joins of communities the batch made or moved earlier: whatever else was read is written
    back by no one, so an erasure meanwhile of an inviter it names stays done."""
    await _upsert_records(session, MEMBERSHIPS, memberships, changing=("first_joined_at", "inviter_id"))


async def write_orders(*, session: AsyncSession, orders: Collection[OrderRecord]) -> None:
    """The orders the batch placed, and the payment and refunds of those it read: the rest of a stored order
    (its inviter, which an erasure may have removed meanwhile) is left as it is."""
    await _upsert_records(session, ORDERS, orders, changing=("paid_at", "refunded_fen"))


async def _upsert_records(
    session: AsyncSession, table: Table, records: Collection[Any], *, changing: Sequence[str]
) -> None:
    """Inserts the records as rows of `table`, or sets the `changing` columns of the rows there, in key
    order."""
    if not records:
        return
    names = [c.name for c in table.columns]
    key = [c.name for c in table.primary_key.columns]
    rows = sorted(({name: getattr(r, name) for name in names} for r in records), key=lambda row: _order(row, key))
    statement, parameters = insert_rows(session, table, rows)
    await session.execute(
        statement.on_conflict_do_update(index_elements=key, set_={name: statement.excluded[name] for name in changing}),
        parameters,
    )


def _order(row: Mapping[str, Any], key: Sequence[str]) -> list[Any]:
    """The row's place in key order, UUIDs compared as the integers they are (in C, not UUID.__lt__)."""
    return [value.int if isinstance(value, uuid.UUID) else value for value in map(row.__getitem__, key)]


async def write_counts(*, session: AsyncSession, counts: Counter[CountKey]) -> None:
    """Adds the batch's counts to the days' counts (a count the batch took back as much as it added
    changes nothing)."""
    rows = [
        {"tenant_id": t, "community_id": c, "metric": m, "day": d, "value": v}
        for (t, c, m, d), v in sorted(counts.items())
        if v
    ]
    if not rows:
        return
    statement, parameters = insert_rows(session, COUNTS, rows)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=list(COUNTS.primary_key.columns), set_={"value": COUNTS.c.value + statement.excluded.value}
        ),
        parameters,
    )


async def write_member_sets(
    *,
    session: AsyncSession,
    sets: Mapping[CountKey, Set[uuid.UUID]],
    numbers: Mapping[uuid.UUID, int],
    unsets: Mapping[CountKey, Set[uuid.UUID]] | None = None,
) -> None:
    """Adds the batch's members (by their numbers) to each day's set, after taking out those `unsets` names:
    the row is created if need be, then locked, merged and written, so two consumers changing one set do
    not lose each other's changes."""
    unsets = unsets or {}
    keys = sorted(key for key in sets.keys() | unsets.keys() if sets.get(key) or unsets.get(key))
    if not keys:
        return
    table = MEMBER_SETS
    empty = BitMap().serialize()
    rows = [{"tenant_id": t, "community_id": c, "kind": k, "day": d, "members": empty} for t, c, k, d in keys]
    statement, parameters = insert_rows(session, table, rows)
    await session.execute(statement.on_conflict_do_nothing(), parameters)
    key_columns = (table.c.tenant_id, table.c.community_id, table.c.kind, table.c.day)
    stored = await session.execute(
        select(table)
        .where(one_of_keys(session, key_columns, keys))
        .order_by(*table.primary_key.columns)
        .with_for_update()
    )
    merged = []
    for row in stored:
        key = (row.tenant_id, row.community_id, row.kind, row.day)
        bitmap = BitMap.deserialize(row.members)
        if taken_out := unsets.get(key):
            bitmap.difference_update(BitMap(numbers[m] for m in taken_out))
        bitmap.update(numbers[m] for m in sets.get(key, ()))
        merged.append(row._asdict() | {"members": bitmap.serialize()})
    # Every row is there and locked: the upsert only updates them, in key order.
    statement, parameters = insert_rows(session, table, merged)
    await session.execute(
        statement.on_conflict_do_update(index_elements=key_columns, set_={"members": statement.excluded.members}),
        parameters,
    )


async def write_content(
    *,
    session: AsyncSession,
    posts: Mapping[tuple[str, uuid.UUID], Post],
    engaged: Counter[tuple[str, uuid.UUID, str]],
) -> None:
    """Each item's post and its engagements, in one upsert: an item whose post has not come in yet gets a
    row of counters, which its post fills in later; an item of another tenant is left alone."""
    rows: dict[uuid.UUID, dict[str, Any]] = {}
    for (tenant_id, content_id), post in posts.items():
        rows[content_id] = {"content_id": content_id, "tenant_id": tenant_id} | asdict(post) | ZEROS
    for (tenant_id, content_id, action), times in engaged.items():
        row = rows.setdefault(content_id, {"content_id": content_id, "tenant_id": tenant_id} | UNPOSTED | ZEROS)
        if row["tenant_id"] == tenant_id:
            row[CONTENT_COUNTERS[action]] += times
    if not rows:
        return
    statement, parameters = insert_rows(session, CONTENT, [rows[content_id] for content_id in sorted(rows)])
    excluded = statement.excluded
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[CONTENT.c.content_id],
            set_={column: CONTENT.c[column] + excluded[column] for column in CONTENT_COUNTERS.values()}
            | {column: func.coalesce(excluded[column], CONTENT.c[column]) for column in UNPOSTED},
            where=CONTENT.c.tenant_id == excluded.tenant_id,
        ),
        parameters,
    )


async def write_invitations(*, session: AsyncSession, invitations: Sequence[Mapping[str, Any]]) -> None:
    """Adds the invitations sent; one already in (a redelivery) stays as it is."""
    if invitations:
        await session.execute(upsert(session, INVITATIONS).on_conflict_do_nothing(), invitations)
