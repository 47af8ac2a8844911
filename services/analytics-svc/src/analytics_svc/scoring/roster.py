"""Members as scoring reads them: one array per fact, times as days before the moment scored.

A recompute reads a whole tenant, a million members and more, so on PostgreSQL each column comes back as
one array (a Python row per member would cost more than the scoring itself); elsewhere, and for the
members one batch touched, rows are turned into the same arrays here. Times travel as microseconds since
the epoch on both paths, so both give the same days to the last bit; the first and last payment travel as
their days in the reporting zone, from which the BG/NBD summary is made (analytics_svc.scoring.summary).
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc import activity
from analytics_svc.ingestion.models import MemberFacts
from analytics_svc.scoring import rfm, summary

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
DAY = timedelta(days=1) / MICROSECOND
TIMES = ("first_joined_at", "last_active_at", "engagement_at")
# The first and last payment by their day in the reporting zone, as days since the epoch: the BG/NBD
# summary counts in whole days.
DAYS = ("first_order_at", "last_order_at")
AMOUNTS = ("orders", "purchase_days", "spend_fen", "first_day_fen", "engagement_fast", "engagement_slow")
IDENTITY = ("number", "member_id", "segment", "churn_flagged", "scored_at", "rescore_marked_at")


@dataclass(frozen=True)
class Roster:
    """Members to score, with the segment and churn flag they were last given and when (`scored_at`, in
    microseconds since the epoch: what a refit's guarded write compares), and when imported history last
    marked them for rescoring (`marked`, likewise; None if it has not since they were scored)."""

    numbers: list[int]
    member_ids: list[uuid.UUID]
    segments: npt.NDArray[np.str_]  # "" before the first scoring
    scored_at: list[int | None]
    marked: list[int | None]
    history: rfm.Members  # what scoring reads of them

    def __len__(self) -> int:
        return len(self.numbers)


def of_facts(facts: Sequence[Any], now: datetime) -> Roster:
    """The roster of these members: MemberFacts, or rows of its columns."""
    return _roster(
        numbers=[f.number for f in facts],
        member_ids=[f.member_id for f in facts],
        segments=np.array([f.segment or "" for f in facts], dtype=str),
        scored_at=[None if f.scored_at is None else _microseconds(f.scored_at) for f in facts],
        marked=[None if f.rescore_marked_at is None else _microseconds(f.rescore_marked_at) for f in facts],
        flagged=np.array([bool(f.churn_flagged) for f in facts], dtype=bool),
        times={c: np.array([_microseconds_or_nan(getattr(f, c)) for f in facts], dtype=float) for c in TIMES},
        days={c: np.array([_day_or_nan(getattr(f, c)) for f in facts], dtype=float) for c in DAYS},
        amounts={c: np.array([getattr(f, c) or 0 for f in facts], dtype=float) for c in AMOUNTS},
        now=now,
    )


async def of_tenant(*, session: AsyncSession, tenant_id: str, now: datetime) -> Roster:
    """All of the tenant's members."""
    if (await session.connection()).dialect.name != "postgresql":
        columns = [getattr(MemberFacts, c) for c in (*IDENTITY, *TIMES, *DAYS, *AMOUNTS)]
        return of_facts((await session.execute(select(*columns).where(MemberFacts.tenant_id == tenant_id))).all(), now)
    arrays = (await session.execute(_COLUMN_ARRAYS, {"tenant_id": tenant_id})).one()._mapping
    if arrays["number"] is None:  # no members: array_agg of nothing is NULL
        return of_facts([], now)
    return _roster(
        numbers=arrays["number"],
        member_ids=arrays["member_id"],
        segments=np.array(arrays["segment"], dtype=str),
        scored_at=arrays["scored_at"],
        marked=arrays["rescore_marked_at"],
        flagged=np.array(arrays["churn_flagged"], dtype=bool),
        times={c: np.array(arrays[c], dtype=float) for c in TIMES},
        days={c: np.array(arrays[c], dtype=float) for c in DAYS},
        amounts={c: np.array(arrays[c], dtype=float) for c in AMOUNTS},
        now=now,
    )


def in_microseconds(column: str) -> str:
    """SQL for a timestamp column in microseconds since the epoch, exactly as _microseconds counts them in
    Python: a refit's guarded write compares the one with the other."""
    return f"(extract(epoch FROM {column}) * 1000000)"


# All aggregates of one query see the rows in the same order, so the arrays line up member by member.
_COLUMN_ARRAYS = text(
    "SELECT array_agg(number) AS number, array_agg(member_id) AS member_id, "
    "array_agg(coalesce(segment, '')) AS segment, array_agg(churn_flagged) AS churn_flagged, "
    f"array_agg({in_microseconds('scored_at')}::bigint) AS scored_at, "
    f"array_agg({in_microseconds('rescore_marked_at')}::bigint) AS rescore_marked_at, "
    + ", ".join(f"array_agg(coalesce({in_microseconds(c)}::float8, 'NaN')) AS {c}" for c in TIMES)
    + ", "
    + ", ".join(
        f"array_agg(coalesce((({c} AT TIME ZONE '{activity.REPORT_ZONE.key}')::date - DATE '1970-01-01')::float8, "
        f"'NaN')) AS {c}"
        for c in DAYS
    )
    + ", "
    + ", ".join(f"array_agg(coalesce({c}, 0)::float8) AS {c}" for c in AMOUNTS)
    + " FROM member_facts WHERE tenant_id = :tenant_id"
)


def moment(microseconds: int) -> datetime:
    return EPOCH + microseconds * MICROSECOND


def _microseconds(moment: datetime) -> int:
    return (moment - EPOCH) // MICROSECOND


def _microseconds_or_nan(moment: datetime | None) -> float:
    return np.nan if moment is None else _microseconds(moment)


def _day_or_nan(moment: datetime | None) -> float:
    return np.nan if moment is None else summary.day_number(activity.day_of(moment))


def _roster(
    *,
    numbers: list[int],
    member_ids: list[uuid.UUID],
    segments: npt.NDArray[np.str_],
    scored_at: list[int | None],
    marked: list[int | None],
    flagged: npt.NDArray[np.bool_],
    times: dict[str, rfm.Floats],
    days: dict[str, rfm.Floats],
    amounts: dict[str, rfm.Floats],
    now: datetime,
) -> Roster:
    now_us = _microseconds(now)

    def days_since(column: str) -> rfm.Floats:
        days: rfm.Floats = (now_us - times[column]) / DAY
        return days

    engaged_seconds = np.nan_to_num(days_since("engagement_at"), nan=0.0).clip(min=0.0) * 86_400

    def decayed(column: str, half_life: timedelta) -> rfm.Floats:
        now_counts: rfm.Floats = amounts[column] * np.exp(-np.log(2) * engaged_seconds / half_life.total_seconds())
        return now_counts

    history = rfm.Members(
        days_since_active=days_since("last_active_at"),
        days_since_joined=days_since("first_joined_at"),
        orders=amounts["orders"],
        spend_fen=amounts["spend_fen"],
        engagement_fast=decayed("engagement_fast", activity.FAST_HALF_LIFE),
        engagement_slow=decayed("engagement_slow", activity.SLOW_HALF_LIFE),
        churn_flagged=flagged,
        purchases=summary.Summary.of(
            purchase_days=amounts["purchase_days"],
            first_day=days["first_order_at"],
            last_day=days["last_order_at"],
            spend_fen=amounts["spend_fen"],
            first_day_fen=amounts["first_day_fen"],
            today=summary.day_number(activity.day_of(now)),
        ),
    )
    return Roster(numbers, member_ids, segments, scored_at, marked, history)
