"""Writing a full recompute's scores while ingestion goes on.

The recompute reads its members once, fits and scores them, and only then writes; meanwhile events keep
rescoring members. So the scores are written in chunks of members in member id order, each chunk's rows
locked first, in the order ingestion locks them (two writers taking rows in opposite orders deadlock),
and a member is written only if their scores are still those the recompute read (`scored_at` unchanged):
a member an event rescored since keeps the newer scores. Which members were written comes back from the
UPDATE itself, so only those changes are announced.
"""

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, update
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.models import MemberFacts

CHUNK = 20_000
FACTS = cast(Table, MemberFacts.__table__)


@dataclass(frozen=True)
class Rescored:
    """A member's new scores (column values, `number` among them), and the `scored_at` of the scores the
    recompute read and replaces."""

    member_id: uuid.UUID
    replaces: datetime | None
    scores: dict[str, Any]


async def write_scores(session: AsyncSession, rescored: Sequence[Rescored]) -> set[int]:
    """Writes the scores of members not rescored since they were read; returns the numbers written."""
    ordered = sorted(rescored, key=lambda r: r.member_id)
    chunks = [ordered[start : start + CHUNK] for start in range(0, len(ordered), CHUNK)]
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        # SQLite's single writer holds the database from the first write on: nothing to lock row by row.
        return {number for chunk in chunks for number in await _write_one_by_one(session, chunk)}
    return await _write_copied(session, chunks)


async def _write_one_by_one(session: AsyncSession, chunk: Sequence[Rescored]) -> list[int]:
    """One guarded UPDATE ... RETURNING per member: an executemany would not say which rows it changed."""
    written = []
    for member in chunk:
        values = {name: value for name, value in member.scores.items() if name != "number"}
        number = await session.scalar(
            update(FACTS)
            .where(FACTS.c.number == member.scores["number"], FACTS.c.scored_at.is_not_distinct_from(member.replaces))
            .values(values)
            .returning(FACTS.c.number)
        )
        if number is not None:
            written.append(number)
    return written


async def _write_copied(session: AsyncSession, chunks: Sequence[Sequence[Rescored]]) -> set[int]:
    """On PostgreSQL each chunk is COPYed into a scratch table and applied by one UPDATE, in the session's
    transaction: a million single-row updates would take minutes."""
    if not chunks:
        return set()
    driver = (await (await session.connection()).get_raw_connection()).driver_connection
    assert driver is not None  # a checked-out connection has its driver's
    columns = list(chunks[0][0].scores)
    await driver.execute(
        f"CREATE TEMP TABLE rescored ON COMMIT DROP AS SELECT {', '.join(columns)}, scored_at AS replaces "
        "FROM member_facts WITH NO DATA;"
        "ALTER TABLE rescored ALTER COLUMN churn_reasons TYPE text"  # COPY has no JSON codec; cast below
    )
    assignments = ", ".join(
        f"{c} = s.{c}::json" if c == "churn_reasons" else f"{c} = s.{c}" for c in columns if c != "number"
    )
    written: set[int] = set()
    for chunk in chunks:
        records = [
            (*(json.dumps(v) if c == "churn_reasons" else v for c, v in r.scores.items()), r.replaces) for r in chunk
        ]
        await driver.execute("TRUNCATE rescored")
        await driver.copy_records_to_table("rescored", records=records, columns=[*columns, "replaces"])
        # The chunk's rows locked in member id order (a member erased meanwhile has none left to lock).
        await driver.execute(
            "SELECT count(*) FROM (SELECT FROM member_facts m JOIN rescored s ON m.number = s.number "
            "ORDER BY m.member_id FOR UPDATE OF m) AS locked"
        )
        rows = await driver.fetch(
            f"UPDATE member_facts m SET {assignments} FROM rescored s "
            "WHERE m.number = s.number AND m.scored_at IS NOT DISTINCT FROM s.replaces RETURNING m.number"
        )
        written.update(row["number"] for row in rows)
    await driver.execute("DROP TABLE rescored")  # a second recompute may come in this transaction
    return written
