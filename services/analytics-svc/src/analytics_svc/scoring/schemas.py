"""Request and response models of members' scores, segments, the tenant's fitted model and its refits."""

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from analytics_svc.scoring.fitting import MIN_REPEAT_BUYERS
from analytics_svc.scoring.models import RefitJob, TenantModel
from qunyun_shared.schemas import Read


class MemberScores(BaseModel):
    """Scores are computed as of the request against the tenant's last fitted model (none before its
    first fit); the segment and churn flag are what the last rescore decided, at `scored_at`."""

    member_id: uuid.UUID
    segment: str | None
    recency_score: int | None = None
    frequency_score: int | None = None
    monetary_score: int | None = None
    churn_score: float | None = None
    churn_flagged: bool
    churn_reasons: list[str] = Field(description="Why the member is flagged, as of now; empty unless flagged.")
    probability_alive: float | None = Field(default=None, description="None without a purchase model or a purchase.")
    lifetime_value_fen: int | None = Field(
        default=None, description="Expected spend over the next 12 months, discounted; None without both models."
    )
    orders: int
    spend_fen: int
    last_active_at: datetime | None
    scored_at: datetime | None = Field(description="When the segment and churn flag were last decided.")


class SegmentCount(BaseModel):
    segment: str
    members: int


class BreakpointsRead(Read):
    """The RFM quintile edges (20th, 40th, 60th and 80th percentiles)."""

    recency_days: list[float] = Field(description="Days since the last activity, over every member.")
    orders: list[float] = Field(description="Paid orders, over the members who bought.")
    spend_fen: list[float] = Field(description="Net spend, over the members who bought.")


class SummaryRead(Read):
    """The per-day purchase summary the models were fitted on (lifetimes' summary_data_from_transaction_data
    with freq="D"), in totals: a purchase is a day (Asia/Shanghai) with a paid order."""

    observed_until: date = Field(description="The summary's last day: T runs from each first purchase day to it.")
    buyers: int = Field(description="Members with a paid order.")
    repeat_buyers: int = Field(description="Buyers who paid on more than one day (frequency > 0).")
    repeat_purchases: int = Field(description="Sum of frequency: purchase days after each buyer's first.")
    recency_days: int = Field(description="Sum of recency: days from each buyer's first purchase day to their last.")
    age_days: int = Field(description="Sum of T: days from each buyer's first purchase day to observed_until.")
    spend_buyers: int = Field(description="Repeat buyers whose repeat days came to more than nothing (Gamma-Gamma's).")


class FitRead(Read):
    """Where a model's maximum-likelihood fit stopped."""

    customers: int = Field(description="Members the model was fitted on.")
    converged: bool = Field(description="Whether the fit reached a maximum; if not, the model is not used.")
    log_likelihood: float = Field(description="Summed over the members, at the parameters reached (time in days).")
    iterations: int
    message: str = Field(description="The optimiser's last word.")


class BetaGeoRead(Read):
    """BG/NBD (Fader, Hardie & Lee 2005): purchase rates gamma(r, alpha) with alpha in days, dropout after each
    purchase beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float


class GammaGammaRead(Read):
    """Gamma-Gamma (Fader & Hardie 2013): spend per purchase day gamma(p, nu), nu gamma(q, v) with v in fen."""

    p: float
    q: float
    v: float


class PurchaseModelRead(Read):
    params: BetaGeoRead | None = Field(description="None when the fit did not converge.")
    fit: FitRead | None = Field(description="None for a fit made before fits kept their diagnostics.")


class SpendModelRead(Read):
    params: GammaGammaRead | None = Field(description="None when the fit did not converge.")
    fit: FitRead | None = Field(description="None for a fit made before fits kept their diagnostics.")


class TenantModelRead(Read):
    """The tenant's model as the last refit fitted it, which scoring uses until the next."""

    fitted_at: datetime
    members: int = Field(description="Members the RFM quintiles were fitted on: all of the tenant's.")
    summary: SummaryRead | None = Field(description="None for a fit made before fits kept their summary.")
    breakpoints: BreakpointsRead
    purchase_model: PurchaseModelRead | None = Field(
        description="BG/NBD; None when not fitted: fewer repeat buyers than min_repeat_buyers."
    )
    spend_model: SpendModelRead | None = Field(description="Gamma-Gamma; None when not fitted (no purchase model).")
    min_repeat_buyers: int = Field(default=MIN_REPEAT_BUYERS, description="Repeat buyers the models need.")

    @classmethod
    def of(cls, model: TenantModel) -> "TenantModelRead":
        fits: dict[str, Any] = model.diagnostics or {}
        return cls.model_validate(
            {
                "fitted_at": model.fitted_at,
                "members": model.members,
                "summary": model.summary,
                "breakpoints": model.breakpoints,
                "purchase_model": _model(model.purchases, fits.get("purchases")),
                "spend_model": _model(model.spend, fits.get("spend")),
            }
        )


def _model(params: dict[str, float] | None, fit: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if params is None and fit is None else {"params": params, "fit": fit}


class RefitJobRead(Read):
    """A refit of the tenant's model, run in the background: poll it until it has succeeded or failed."""

    id: uuid.UUID
    status: Literal["queued", "running", "succeeded", "failed"]
    created_at: datetime
    started_at: datetime | None = Field(description="When a worker first took it on.")
    finished_at: datetime | None
    attempts: int = Field(description="Workers that took it on: more than one if one stopped (a restart) midway.")
    result: TenantModelRead | None = Field(description="The model it fitted, once succeeded.")
    error: str | None = Field(description="Why it failed, once failed.")

    @classmethod
    def of(cls, job: RefitJob) -> "RefitJobRead":
        return cls.model_validate(job)
