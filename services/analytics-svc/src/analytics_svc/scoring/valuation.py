"""A member's scores as of the moment they are asked for: RFM, churn score, probability alive and
lifetime value, from the member's facts and their tenant's fitted model. Computed on read, they never go
stale between refits; the segment and churn flag beside them are the decisions the last rescore made
(`scored_at`), which the refit moves and announces.
"""

from datetime import datetime

import numpy as np

from analytics_svc.ingestion.models import MemberFacts
from analytics_svc.scoring import lifetime_value, roster
from analytics_svc.scoring.models import TenantModel
from analytics_svc.scoring.schemas import MemberScores
from analytics_svc.scoring.segments import Fit

LTV_MONTHS = 12
MONTHLY_DISCOUNT = 0.01


def member_scores(facts: MemberFacts, model: TenantModel | None, now: datetime) -> MemberScores:
    """The member's scores against the tenant's model; none before the tenant's first fit."""
    decided = {
        "member_id": facts.member_id,
        "segment": facts.segment,
        "churn_flagged": facts.churn_flagged,
        "orders": facts.orders,
        "spend_fen": facts.spend_fen,
        "last_active_at": facts.last_active_at,
        "scored_at": facts.scored_at,
    }
    if model is None:
        return MemberScores(**decided, churn_reasons=[])
    fit, member = Fit.of(model), roster.of_facts([facts], now)
    scores = fit.score(member.history)
    alive, value = float(scores.probability_alive[0]), lifetime_values(member, fit)[0]
    return MemberScores(
        **decided,
        recency_score=int(scores.recency[0]),
        frequency_score=int(scores.frequency[0]),
        monetary_score=int(scores.monetary[0]),
        churn_score=round(float(scores.churn_score[0]), 4),
        churn_reasons=scores.reasons(0) if facts.churn_flagged else [],
        probability_alive=None if np.isnan(alive) else alive,
        lifetime_value_fen=None if np.isnan(value) else int(value),
    )


def lifetime_values(members: roster.Roster, fit: Fit) -> lifetime_value.Floats:
    """Each member's expected spend over the next LTV_MONTHS, discounted; NaN without both models or a
    purchase."""
    purchases = members.history.purchases
    values = np.full(purchases.bought.shape, np.nan)
    if fit.purchases is None or fit.spend is None:
        return values
    buyers = purchases.of_buyers()
    values[purchases.bought] = lifetime_value.lifetime_value(
        fit.purchases,
        fit.spend,
        frequency=buyers.frequency,
        recency=buyers.recency,
        T=buyers.T,
        monetary_value=purchases.monetary_value[purchases.bought],
        months=LTV_MONTHS,
        discount_rate=MONTHLY_DISCOUNT,
    )
    return values
