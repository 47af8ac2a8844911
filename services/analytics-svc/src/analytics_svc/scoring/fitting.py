"""A tenant's model fitted on all its members: the RFM quintiles, and on the per-day purchase summary
(analytics_svc.scoring.summary) the BG/NBD purchase model and the Gamma-Gamma spend model, with what each
fit reached. Computation on arrays only: the refit runs it in a worker thread, off the event loop."""

import dataclasses
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from analytics_svc.scoring import lifetime_value, rfm
from analytics_svc.scoring.roster import Roster
from analytics_svc.scoring.summary import Summary

# Fewer repeat buyers than this and a purchase model would be noise; scoring falls back on silence.
MIN_REPEAT_BUYERS = 50


@dataclass(frozen=True)
class Totals:
    """The summary the models were fitted on, in sums: who bought, who bought again (on another day), and
    the repeat buyers whose repeat days came to something (those the spend model learns from)."""

    observed_until: date
    buyers: int
    repeat_buyers: int
    repeat_purchases: int  # sum of frequency
    recency_days: int  # sum of recency
    age_days: int  # sum of T
    spend_buyers: int

    @classmethod
    def of(cls, purchases: Summary, observed_until: date) -> "Totals":
        bought = purchases.bought
        return cls(
            observed_until=observed_until,
            buyers=int(bought.sum()),
            repeat_buyers=int((purchases.frequency[bought] > 0).sum()),
            repeat_purchases=int(purchases.frequency[bought].sum()),
            recency_days=int(purchases.recency[bought].sum()),
            age_days=int(purchases.T[bought].sum()),
            spend_buyers=int(_spent(purchases).sum()),
        )


@dataclass(frozen=True)
class TenantFit:
    """A fit's results: parameters of the models that converged, and where each attempted fit stopped."""

    breaks: rfm.Breakpoints
    totals: Totals
    purchases: lifetime_value.BetaGeoParams | None = None
    spend: lifetime_value.GammaGammaParams | None = None
    purchases_fit: lifetime_value.Optimum | None = None
    spend_fit: lifetime_value.Optimum | None = None

    def diagnostics(self) -> dict[str, Any]:
        return {
            "purchases": _as_dict(self.purchases_fit),
            "spend": _as_dict(self.spend_fit),
        }


def fit(everyone: Roster, observed_until: date) -> TenantFit:
    """Fits the tenant's model on all its members, as summarised up to the day `observed_until`."""
    members = everyone.history
    purchases = members.purchases
    fitted = TenantFit(
        breaks=rfm.Breakpoints.of(rfm.silent_days(members), members.orders, members.spend_fen),
        totals=Totals.of(purchases, observed_until),
    )
    if fitted.totals.repeat_buyers < MIN_REPEAT_BUYERS:
        return fitted
    try:
        buyers = purchases.of_buyers()
        beta_geo = lifetime_value.fit_beta_geo(frequency=buyers.frequency, recency=buyers.recency, T=buyers.T)
    except lifetime_value.ModelDidNotConverge as failed:
        return dataclasses.replace(fitted, purchases_fit=failed.optimum)
    fitted = dataclasses.replace(fitted, purchases=beta_geo.params, purchases_fit=beta_geo.optimum)
    spent = _spent(purchases)
    try:
        gamma_gamma = lifetime_value.fit_gamma_gamma(
            frequency=purchases.frequency[spent], monetary_value=purchases.monetary_value[spent]
        )
    except lifetime_value.ModelDidNotConverge as failed:
        return dataclasses.replace(fitted, spend_fit=failed.optimum)
    return dataclasses.replace(fitted, spend=gamma_gamma.params, spend_fit=gamma_gamma.optimum)


def _spent(purchases: Summary) -> np.ndarray[Any, np.dtype[np.bool_]]:
    # Repeat buyers whose repeat days were all refunded spent nothing the spend model could take.
    with np.errstate(invalid="ignore"):
        spent: np.ndarray[Any, np.dtype[np.bool_]] = purchases.bought & (np.nan_to_num(purchases.frequency) > 0)
        return spent & (purchases.monetary_value > 0)


def _as_dict(optimum: lifetime_value.Optimum | None) -> dict[str, Any] | None:
    return None if optimum is None else dataclasses.asdict(optimum)
