"""RFM scores, value segments and churn risk, computed on arrays: the same code scores the members one
batch of events touched and all of a tenant's members in a full recompute. Definitions: docs/kpis.md.
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from analytics_svc.activity import FAST_HALF_LIFE, SLOW_HALF_LIFE
from analytics_svc.scoring import lifetime_value
from analytics_svc.scoring.summary import Summary

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

SEGMENTS = ("high_value", "potential", "ordinary", "churn_risk")
# Hysteresis: a member is flagged at FLAG_AT and cleared only below CLEAR_BELOW, so a score hovering
# around one threshold does not flap the flag (and the win-back campaigns it drives).
FLAG_AT, CLEAR_BELOW = 0.7, 0.5
# New members are not judged before they have had time to be active.
GRACE_DAYS = 14.0
# How fast silence turns into risk: a month without activity is 63% of the silence part.
SILENCE_SCALE_DAYS = 30.0
SILENCE_WEIGHT, FADING_WEIGHT, DEAD_WEIGHT = 0.45, 0.25, 0.30


@dataclass(frozen=True)
class Breakpoints:
    """The tenant's quintile edges: recency in days since the last activity (fewer is better), orders
    and spend among members who bought."""

    recency_days: tuple[float, ...]
    orders: tuple[float, ...]
    spend_fen: tuple[float, ...]

    @classmethod
    def of(cls, recency_days: Floats, orders: Floats, spend_fen: Floats) -> "Breakpoints":
        edges = (0.2, 0.4, 0.6, 0.8)
        bought = orders > 0

        def quintiles(values: Floats) -> tuple[float, ...]:
            return tuple(float(q) for q in np.quantile(values, edges)) if values.size else (0.0,) * 4

        return cls(quintiles(recency_days), quintiles(orders[bought]), quintiles(spend_fen[bought]))


@dataclass(frozen=True)
class Members:
    """What scoring reads of each member, one array element per member; times are days before `now`."""

    days_since_active: Floats  # NaN: never active
    days_since_joined: Floats  # NaN: never joined
    orders: Floats
    spend_fen: Floats
    engagement_fast: Floats  # decayed to now
    engagement_slow: Floats
    churn_flagged: npt.NDArray[np.bool_]
    purchases: Summary  # the BG/NBD summary, in days


@dataclass(frozen=True)
class Scores:
    recency: Ints
    frequency: Ints
    monetary: Ints
    churn_score: Floats
    churn_flagged: npt.NDArray[np.bool_]
    probability_alive: Floats  # NaN without a purchase model or a purchase
    segment: npt.NDArray[np.str_]
    silence: Floats  # whole days
    trend: Floats  # NaN without engagement

    def reasons(self, member: int) -> list[str]:
        """Why the member at this index is at risk, in words: asked only of the few a refit newly flags,
        never of a million."""
        silence, trend, alive = (float(a[member]) for a in (self.silence, self.trend, self.probability_alive))
        reasons = []
        if silence >= 14:
            reasons.append(f"silent for {silence:.0f} days")
        if trend == trend and trend < 0.8:  # not NaN
            reasons.append(f"engagement down {100 * (1 - trend):.0f}% against the last month")
        if alive == alive and alive < 0.5:
            reasons.append(f"probability still a customer {alive:.2f}")
        return reasons or ["low activity overall"]


def score(members: Members, breaks: Breakpoints, purchases: lifetime_value.BetaGeoParams | None) -> Scores:
    bought = members.orders > 0
    silence = silent_days(members)
    recency = 5 - np.searchsorted(np.asarray(breaks.recency_days), silence, side="left").astype(np.int64)
    frequency = np.where(bought, 1 + np.searchsorted(np.asarray(breaks.orders), members.orders, side="left"), 1)
    monetary = np.where(bought, 1 + np.searchsorted(np.asarray(breaks.spend_fen), members.spend_fen, side="left"), 1)

    alive = np.full(members.orders.shape, np.nan)
    if purchases is not None and members.purchases.bought.any():
        buyers = members.purchases.of_buyers()
        alive[members.purchases.bought] = lifetime_value.probability_alive(
            purchases, frequency=buyers.frequency, recency=buyers.recency, T=buyers.T
        )
    trend = _trend(members.engagement_fast, members.engagement_slow)
    silent_part = 1.0 - np.exp(-silence / SILENCE_SCALE_DAYS)
    fading_part = np.clip(1.0 - np.nan_to_num(trend, nan=1.0), 0.0, 1.0)
    dead_part = np.where(np.isnan(alive), silent_part, 1.0 - alive)
    churn = np.clip(SILENCE_WEIGHT * silent_part + FADING_WEIGHT * fading_part + DEAD_WEIGHT * dead_part, 0.0, 1.0)
    judged = np.nan_to_num(members.days_since_joined, nan=np.inf) >= GRACE_DAYS
    flagged = judged & np.where(members.churn_flagged, churn >= CLEAR_BELOW, churn >= FLAG_AT)

    segment = np.full(members.orders.shape, "ordinary", dtype="<U10")
    segment[recency >= 4] = "potential"
    segment[(recency >= 3) & (frequency >= 2) & (monetary >= 3)] = "potential"
    segment[(recency >= 3) & (frequency >= 4) & (monetary >= 4)] = "high_value"
    segment[flagged] = "churn_risk"
    return Scores(recency, frequency, monetary, churn, flagged, alive, segment, silence, trend)


def silent_days(members: Members) -> Floats:
    """Whole days since the member was last active (since joining, if never): whole, so that quintiles
    fitted on a young tenant, whose members are all hours old, still rank the members of the days after."""
    silence = np.where(np.isnan(members.days_since_active), members.days_since_joined, members.days_since_active)
    whole: Floats = np.floor(np.nan_to_num(silence, nan=0.0))
    return whole


def _trend(fast: Floats, slow: Floats) -> Floats:
    """The last week's engagement against the last month's, 1 when steady (see activity.engagement_trend)."""
    steady = FAST_HALF_LIFE / SLOW_HALF_LIFE
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(slow > 0, (fast / slow) / steady, np.nan)
