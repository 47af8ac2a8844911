"""Response models of the KPI catalogue, series, breakdowns and trailing windows."""

import uuid
from datetime import date

from pydantic import BaseModel, Field

from analytics_svc.kpis.ledger import Granularity


class KpiDefinition(BaseModel):
    name: str
    unit: str
    definition: str


class KpiPoint(BaseModel):
    start: date
    end: date
    value: float | None = Field(description="None where the KPI is undefined (a rate over zero members).")


class KpiSeries(BaseModel):
    kpi: str
    unit: str
    granularity: Granularity
    community_id: uuid.UUID | None
    points: list[KpiPoint]


class KpiByCommunity(BaseModel):
    community_id: uuid.UUID
    value: float | None


class KpiBreakdown(BaseModel):
    kpi: str
    unit: str
    start: date
    end: date
    communities: list[KpiByCommunity]


class KpiWindow(BaseModel):
    days: int
    start: date
    end: date
    values: dict[str, float | None] = Field(description="Per KPI; None where undefined (a rate over zero members).")


class CommunityKpis(BaseModel):
    community_id: uuid.UUID
    units: dict[str, str] = Field(description="Per KPI.")
    windows: list[KpiWindow] = Field(description="In the order the windows were asked for.")
