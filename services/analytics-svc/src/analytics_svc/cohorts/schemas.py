"""Response models of cohort matrices and the funnel."""

from datetime import date

from pydantic import BaseModel, Field

from qunyun_shared.schemas import Read


class CohortRowRead(BaseModel):
    cohort_start: date
    cohort_end: date
    members: int
    values: list[float | None] = Field(description="Per period from the cohort's own on: a share, or fen.")


class FunnelStepRead(Read):
    step: str
    members: int
    conversion: float | None = Field(description="From the step before.")
    median_days: float | None = Field(description="Median days from the step before, for those who made it.")
