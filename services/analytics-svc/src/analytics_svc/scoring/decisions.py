"""Writing a full recompute's segments and churn flags while ingestion goes on (a batch writes its own
members' with their facts: ingestion.writes.write_members).

The recompute reads its members once, fits and scores them, and only then writes the members whose
segment or churn flag it changed; meanwhile events keep rescoring members. So the decisions are written
in chunks in member id order, each chunk's rows locked first, in the order ingestion locks them (two
writers taking rows in opposite orders deadlock), and a member is written only if they are still as the
recompute read them (`scored_at` unchanged): a member an event rescored since keeps the newer decision.
Which members were written comes back from the UPDATE itself, so only those changes are announced.
A decision also takes back the mark imported history left on its member (analytics_svc.scoring.marks),
if the mark is still the one read: a member marked again meanwhile keeps the newer mark and is rescored
again on the facts it marks.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.ingestion.records import FACTS
from analytics_svc.scoring.roster import in_microseconds, moment

CHUNK = 20_000


@dataclass(frozen=True)
class Decision:
    """A member's new segment and churn flag, the `scored_at` (microseconds since the epoch) of the
    decision the recompute read and replaces, and the mark it read (`rescore_marked_at`, likewise), which
    it takes back."""

    number: int
    member_id: uuid.UUID
    replaces: int | None
    segment: str
    churn_flagged: bool
    unmarks: int | None = None


async def write_decisions(*, session: AsyncSession, decisions: Sequence[Decision], now: datetime) -> set[int]:
    """Writes the decisions of members not rescored since they were read; returns the numbers written."""
    ordered = sorted(decisions, key=lambda d: d.member_id)
    chunks = [ordered[start : start + CHUNK] for start in range(0, len(ordered), CHUNK)]
    if (await session.connection()).dialect.name != "postgresql":
        # SQLite's single writer holds the database from the first write on: nothing to lock row by row.
        return {number for chunk in chunks for number in await _write_one_by_one(session, chunk, now)}
    written: set[int] = set()
    for chunk in chunks:
        written.update(await _write_chunk(session, chunk, now))
    return written


async def _write_one_by_one(session: AsyncSession, chunk: Sequence[Decision], now: datetime) -> list[int]:
    """One guarded UPDATE ... RETURNING per member: an executemany would not say which rows it changed."""
    written = []
    for decision in chunk:
        replaces = None if decision.replaces is None else moment(decision.replaces)
        unmarks = None if decision.unmarks is None else moment(decision.unmarks)
        marked = FACTS.c.rescore_marked_at
        number = await session.scalar(
            update(FACTS)
            .where(FACTS.c.number == decision.number, FACTS.c.scored_at.is_not_distinct_from(replaces))
            .values(
                segment=decision.segment,
                churn_flagged=decision.churn_flagged,
                scored_at=now,
                rescore_marked_at=case((marked.is_not_distinct_from(unmarks), None), else_=marked),
            )
            .returning(FACTS.c.number)
        )
        if number is not None:
            written.append(number)
    return written


# The chunk's rows locked in member id order (a member erased meanwhile has none left to lock), then
# updated from column arrays in one statement: qunyun_shared.db.update_rows's, with the guard and RETURNING.
_LOCK = text(
    "SELECT count(*) FROM (SELECT FROM member_facts WHERE number = ANY(CAST(:numbers AS integer[])) "
    "ORDER BY member_id FOR UPDATE) AS locked"
)
_UPDATE = text(
    "UPDATE member_facts m SET segment = d.segment, churn_flagged = d.churn_flagged, scored_at = :now, "
    f"rescore_marked_at = CASE WHEN {in_microseconds('m.rescore_marked_at')}::bigint IS NOT DISTINCT FROM d.unmarks "
    "THEN NULL ELSE m.rescore_marked_at END "
    "FROM unnest(CAST(:numbers AS integer[]), CAST(:segments AS text[]), CAST(:flags AS boolean[]), "
    "CAST(:replaces AS bigint[]), CAST(:unmarks AS bigint[])) AS d(number, segment, churn_flagged, replaces, unmarks) "
    "WHERE m.number = d.number "
    f"AND {in_microseconds('m.scored_at')}::bigint IS NOT DISTINCT FROM d.replaces "
    "RETURNING m.number"
)


async def _write_chunk(session: AsyncSession, chunk: Sequence[Decision], now: datetime) -> list[int]:
    numbers = [d.number for d in chunk]
    await session.execute(_LOCK, {"numbers": numbers})
    found = await session.scalars(
        _UPDATE,
        {
            "numbers": numbers,
            "segments": [d.segment for d in chunk],
            "flags": [d.churn_flagged for d in chunk],
            "replaces": [d.replaces for d in chunk],
            "unmarks": [d.unmarks for d in chunk],
            "now": now,
        },
    )
    return list(found)
