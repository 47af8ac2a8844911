"""KPIs: the catalogue, time series, a breakdown by community, and CSV export."""

import csv
import io
import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from analytics_svc.communities import service as communities
from analytics_svc.dependencies import IdempotentRoute
from analytics_svc.kpis import service as kpis
from analytics_svc.kpis.catalogue import every_kpi, unit_of
from analytics_svc.kpis.ledger import Granularity
from analytics_svc.kpis.schemas import KpiBreakdown, KpiByCommunity, KpiDefinition, KpiPoint, KpiSeries
from qunyun_shared.dependencies import CurrentIdentity, DbSession

router = APIRouter(prefix="/analytics/kpis", tags=["kpis"], route_class=IdempotentRoute)

Start = Annotated[date, Query(alias="from", description="First day (reporting zone Asia/Shanghai).")]
End = Annotated[date, Query(alias="to", description="Last day, inclusive.")]


@router.get("", summary="The KPIs and their definitions")
async def catalogue() -> list[KpiDefinition]:
    return [KpiDefinition(name=k.name, unit=k.unit, definition=k.definition) for k in every_kpi()]


@router.get("/{kpi}", summary="A KPI per day, week or month, for the tenant or one community")
async def kpi_series(
    kpi: str,
    start: Start,
    end: End,
    session: DbSession,
    caller: CurrentIdentity,
    granularity: Granularity = "day",
    community_id: uuid.UUID | None = None,
) -> KpiSeries:
    return await _series(session, caller.tenant_id, kpi, start, end, granularity, community_id)


@router.get("/{kpi}/export", summary="The same series as CSV", response_class=Response)
async def kpi_export(
    kpi: str,
    start: Start,
    end: End,
    session: DbSession,
    caller: CurrentIdentity,
    granularity: Granularity = "day",
    community_id: uuid.UUID | None = None,
) -> Response:
    series = await _series(session, caller.tenant_id, kpi, start, end, granularity, community_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["start", "end", kpi])
    writer.writerows([p.start.isoformat(), p.end.isoformat(), _cell(p.value)] for p in series.points)
    filename = f"{kpi}_{start.isoformat()}_{end.isoformat()}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/{kpi}/by-community", summary="A KPI over the whole range for each of the tenant's communities")
async def kpi_by_community(
    kpi: str, start: Start, end: End, session: DbSession, caller: CurrentIdentity
) -> KpiBreakdown:
    unit = unit_of(kpi)
    values = []
    for community_id in await communities.communities_of(session=session, tenant_id=caller.tenant_id):
        [(_, value)] = await kpis.series(
            session=session,
            tenant_id=caller.tenant_id,
            name=kpi,
            start=start,
            end=end,
            granularity="whole",
            community_id=community_id,
        )
        values.append(KpiByCommunity(community_id=community_id, value=value))
    values.sort(key=lambda v: (v.value is None, -(v.value or 0)))
    return KpiBreakdown(kpi=kpi, unit=unit, start=start, end=end, communities=values)


def _cell(value: float | None) -> str:
    """Counts as integers, rates to six places, an undefined value empty."""
    if value is None:
        return ""
    return str(int(value)) if value.is_integer() else str(round(value, 6))


async def _series(
    session: DbSession,
    tenant_id: str,
    kpi: str,
    start: date,
    end: date,
    granularity: Granularity,
    community_id: uuid.UUID | None,
) -> KpiSeries:
    if community_id is not None:
        await communities.require_community(session=session, tenant_id=tenant_id, community_id=community_id)
    points = await kpis.series(
        session=session,
        tenant_id=tenant_id,
        name=kpi,
        start=start,
        end=end,
        granularity=granularity,
        community_id=community_id,
    )
    return KpiSeries(
        kpi=kpi,
        unit=unit_of(kpi),
        granularity=granularity,
        community_id=community_id,
        points=[KpiPoint(start=p.start, end=p.end, value=v) for p, v in points],
    )
