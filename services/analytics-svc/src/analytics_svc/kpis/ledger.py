"""The daily counts and member sets of a range, loaded once, which every KPI of a period is computed
from, and the periods of a range: days, ISO weeks or calendar months of the reporting zone."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from pyroaring import BitMap
from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.activity import KINDS
from analytics_svc.kpis.models import DailyCount, DailyMembers
from qunyun_shared.problems import InvalidInput

Granularity = Literal["day", "week", "month"]
# The longest range each granularity answers in one query: beyond it a chart has more points than pixels.
MAX_PERIODS: dict[str, int] = {"day": 400, "week": 260, "month": 120}
# A breakdown takes the range as one period; ten years at most.
MAX_WHOLE_DAYS = 3660


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    def days(self) -> list[date]:
        return [self.start + timedelta(n) for n in range((self.end - self.start).days + 1)]


class Ledger:
    """The counts and member sets of a range, loaded once, and what KPIs ask of them."""

    def __init__(
        self, counts: dict[tuple[str, date], int], sets: dict[tuple[str, date], BitMap], before: dict[str, int]
    ):
        self._counts, self._sets, self._before = counts, sets, before

    def total(self, metric: str, period: Period) -> int:
        return sum(self._counts.get((metric, day), 0) for day in period.days())

    def distinct(self, kind: str, period: Period) -> int:
        return len(self.members_of(kind, period))

    def members_of(self, kind: str, period: Period) -> BitMap:
        """The members (numbers) who did `kind` on some day of the period."""
        days = [self._sets[(kind, day)] for day in period.days() if (kind, day) in self._sets]
        return BitMap.union(*days) if days else BitMap()

    def members_at(self, day: date) -> int:
        """Members at the end of `day`: every join minus every leave until then."""
        joined = self._before.get("joins", 0) + sum(
            v for (m, d), v in self._counts.items() if m == "joins" and d <= day
        )
        left = self._before.get("leaves", 0) + sum(
            v for (m, d), v in self._counts.items() if m == "leaves" and d <= day
        )
        return joined - left


def periods(
    start: date, end: date, granularity: Granularity | Literal["whole"], limit: int | None = None
) -> list[Period]:
    """The periods covering [start, end], the first and last cut to the range; refuses a reversed or too
    long range."""
    if end < start:
        raise InvalidInput(f"The range ends ({end}) before it starts ({start}).", field="to")
    if granularity == "whole":
        if (end - start).days >= MAX_WHOLE_DAYS:
            raise InvalidInput(f"A breakdown covers at most {MAX_WHOLE_DAYS} days.", field="from")
        return [Period(start, end)]
    found: list[Period] = []
    cursor = start
    while cursor <= end:
        if granularity == "day":
            last = cursor
        elif granularity == "week":
            last = cursor + timedelta(6 - cursor.weekday())
        else:
            following = date(cursor.year + cursor.month // 12, cursor.month % 12 + 1, 1)
            last = following - timedelta(1)
        found.append(Period(cursor, min(last, end)))
        cursor = last + timedelta(1)
        most = limit or MAX_PERIODS[granularity]
        if len(found) > most:
            raise InvalidInput(
                f"{start}..{end} has more than {most} {granularity}s; choose a coarser granularity or a shorter range.",
                field="granularity",
            )
    return found


async def load(
    *,
    session: AsyncSession,
    tenant_id: str,
    community_id: uuid.UUID,
    start: date,
    end: date,
    kinds: Sequence[str] = KINDS,
) -> Ledger:
    """The counts of the range and the member sets of `kinds` in it."""
    in_range = and_(DailyCount.tenant_id == tenant_id, DailyCount.community_id == community_id)
    counts = await session.execute(
        select(DailyCount.metric, DailyCount.day, DailyCount.value).where(
            in_range, DailyCount.day >= start, DailyCount.day <= end
        )
    )
    before = await session.execute(
        select(DailyCount.metric, func.sum(DailyCount.value))
        .where(in_range, DailyCount.metric.in_(("joins", "leaves")), DailyCount.day < start)
        .group_by(DailyCount.metric)
    )
    sets = await session.execute(
        select(DailyMembers.kind, DailyMembers.day, DailyMembers.members).where(
            DailyMembers.tenant_id == tenant_id,
            DailyMembers.community_id == community_id,
            DailyMembers.kind.in_(kinds),
            DailyMembers.day >= start,
            DailyMembers.day <= end,
        )
    )
    return Ledger(
        counts={(metric, day): value for metric, day, value in counts},
        sets={(kind, day): BitMap.deserialize(members) for kind, day, members in sets},
        before={metric: int(total) for metric, total in before},
    )
