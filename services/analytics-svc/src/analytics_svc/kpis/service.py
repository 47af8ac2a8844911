"""KPIs' use cases: a KPI per period of a range, and several KPIs over trailing windows at once (a
dashboard's last 7 and last 30 days), read from one load of the ledger rather than one per KPI and window."""

import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.kpis.catalogue import CATALOGUE, REPURCHASE, repurchase_rate, unit_of
from analytics_svc.kpis.ledger import Granularity, Period, load, periods
from analytics_svc.kpis.models import ALL
from analytics_svc.kpis.schemas import CommunityKpis, KpiWindow
from qunyun_shared.problems import InvalidInput

MAX_WINDOWS = 4
MAX_WINDOW_DAYS = 366


async def series(
    *,
    session: AsyncSession,
    tenant_id: str,
    name: str,
    start: date,
    end: date,
    granularity: Granularity | Literal["whole"],
    community_id: uuid.UUID | None = None,
) -> list[tuple[Period, float | None]]:
    """The KPI's value for each period of the range."""
    unit_of(name)
    spans = periods(start, end, granularity)
    if name == REPURCHASE.name:
        return [
            (span, await repurchase_rate(session=session, tenant_id=tenant_id, period=span, community_id=community_id))
            for span in spans
        ]
    kpi = CATALOGUE[name]
    ledger = await load(
        session=session,
        tenant_id=tenant_id,
        community_id=community_id or ALL,
        start=start - timedelta(kpi.lookback_days),
        end=end,
        kinds=kpi.reads,
    )
    return [(span, kpi.compute(ledger, span)) for span in spans]


async def community_kpis(
    *,
    session: AsyncSession,
    tenant_id: str,
    community_id: uuid.UUID,
    names: Sequence[str],
    days: Sequence[int],
    end: date,
) -> CommunityKpis:
    """The KPIs `names` of a community over windows of `days` days, each ending on `end`."""
    _check(days)
    names = list(dict.fromkeys(names))
    units = {name: unit_of(name) for name in names}
    spans = [Period(end - timedelta(length - 1), end) for length in days]
    measured = [CATALOGUE[name] for name in names if name in CATALOGUE]
    # The widest window less the longest trailing lookback: the one range every value is read from.
    first = min(span.start for span in spans) - timedelta(max((kpi.lookback_days for kpi in measured), default=0))
    reads = sorted({kind for kpi in measured for kind in kpi.reads})
    ledger = await load(
        session=session, tenant_id=tenant_id, community_id=community_id, start=first, end=end, kinds=reads
    )
    windows = [
        KpiWindow(
            days=length,
            start=span.start,
            end=span.end,
            values={
                name: (
                    await repurchase_rate(session=session, tenant_id=tenant_id, period=span, community_id=community_id)
                    if name == REPURCHASE.name
                    else CATALOGUE[name].compute(ledger, span)
                )
                for name in names
            },
        )
        for length, span in zip(days, spans, strict=True)
    ]
    return CommunityKpis(community_id=community_id, units=units, windows=windows)


def _check(days: Sequence[int]) -> None:
    """Refuses no window, too many, a repeated one, or one out of range."""
    if not 1 <= len(days) <= MAX_WINDOWS or len(set(days)) != len(days):
        raise InvalidInput(f"Ask for 1 to {MAX_WINDOWS} different windows.", field="days")
    if not all(1 <= length <= MAX_WINDOW_DAYS for length in days):
        raise InvalidInput(f"A window is 1 to {MAX_WINDOW_DAYS} days long.", field="days")
