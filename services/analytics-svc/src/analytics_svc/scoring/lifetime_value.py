"""Customer lifetime value from purchase histories: how many more purchases, how likely still a customer,
and what that is worth.

Two probability models, fitted by maximum likelihood on a tenant's members, each member summarised as
frequency (repeat purchases), recency (age at the last purchase) and T (age), in one time unit:

- BG/NBD (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way: An Alternative to the
  Pareto/NBD Model", Marketing Science 24(2)): while alive, a customer buys as a Poisson process with a
  gamma(r, alpha) distributed rate, and after each purchase drops out with a beta(a, b) distributed
  probability. Gives expected purchases in the next t periods and the probability of being alive.
- Gamma-Gamma (Fader & Hardie 2013, "The Gamma-Gamma Model of Monetary Value"): a customer's spends
  are gamma(p, nu) around their own mean, with nu gamma(q, v) across customers, independent of
  purchasing. Gives the expected average spend of a customer's future purchases.

Formulas, numerics and the lifetime value's monthly discounting follow the `lifetimes` package
(BetaGeoFitter, GammaGammaFitter), which the unit tests check this module against.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, NamedTuple, TypeVar

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from scipy.special import digamma, expit, gammaln, hyp2f1

Floats = npt.NDArray[np.float64]
# What `lifetimes` counts as a month when T is in days (its freq="D").
DAYS_PER_MONTH = 30.0
_TOLERANCE = 1e-7  # lifetimes' default for scipy.optimize.minimize
# A mean log-likelihood this flat in every log parameter is as good as its maximum.
_FLAT_GRADIENT = 1e-4


@dataclass(frozen=True)
class BetaGeoParams:
    """Fitted BG/NBD parameters; alpha is in the time unit of the data it was fitted on."""

    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class GammaGammaParams:
    """Fitted Gamma-Gamma parameters; v is in the currency of the data it was fitted on."""

    p: float
    q: float
    v: float


@dataclass(frozen=True)
class Optimum:
    """Where a fit's maximiser stopped: the log-likelihood there (summed over the customers, without any
    penalty), after how many iterations, and whether that is a maximum (the optimiser's message says why
    not)."""

    customers: int
    log_likelihood: float
    iterations: int
    converged: bool
    message: str


P = TypeVar("P", BetaGeoParams, GammaGammaParams)


@dataclass(frozen=True)
class Fitted(Generic[P]):
    params: P
    optimum: Optimum


class ModelDidNotConverge(Exception):
    """The likelihood's maximiser stopped short of a maximum."""

    def __init__(self, optimum: Optimum) -> None:
        super().__init__(optimum.message)
        self.optimum = optimum


def fit_beta_geo(
    *, frequency: Floats, recency: Floats, T: Floats, penalizer_coef: float = 0.0
) -> Fitted[BetaGeoParams]:
    """Fits the BG/NBD model to customers' purchase histories."""
    # As lifetimes does: time in units of the oldest customer's age keeps alpha near 1 whatever the unit,
    # and the penalty applies to the parameters on that scale.
    scale = 1.0 / float(np.max(T))
    x, t_x, age = _Counts.of(frequency), _floats(recency) * scale, _floats(T) * scale

    def likelihood(log_params: Floats) -> tuple[Floats, Floats]:
        return _beta_geo_likelihood(BetaGeoParams(*np.exp(log_params)), x, t_x, age)

    # lifetimes' start; the fit converges to the same maximum from it.
    (r, alpha, a, b), optimum = _most_likely(likelihood, penalizer_coef, start=np.full(4, 0.1))
    # The likelihood of the data in its own unit of time differs from the scaled one by the Jacobian.
    rescaled = optimum.log_likelihood + float(np.sum(x.each)) * np.log(scale)
    optimum = Optimum(optimum.customers, rescaled, optimum.iterations, optimum.converged, optimum.message)
    return Fitted(BetaGeoParams(r=r, alpha=alpha / scale, a=a, b=b), optimum)


def log_likelihood(params: BetaGeoParams, *, frequency: Floats, recency: Floats, T: Floats) -> Floats:
    """Each customer's BG/NBD log-likelihood (FHL 2005, eq. 6)."""
    return _beta_geo_likelihood(params, _Counts.of(frequency), _floats(recency), _floats(T))[0]


def expected_purchases(
    params: BetaGeoParams, t: float | Floats, *, frequency: Floats, recency: Floats, T: Floats
) -> Floats:
    """Each customer's expected number of purchases in the next t periods (FHL 2005, eq. 10)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, age = _floats(frequency), _floats(recency), _floats(T)
    hyp_a, hyp_b, hyp_c = r + x, b + x, a + b + x - 1
    z = t / (alpha + age + t)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        hyp = hyp2f1(hyp_a, hyp_b, hyp_c, z)
        # Arrays even for one member's scalars, so that the overflow repair below can assign into them.
        log_hyp, hyp_sign = np.array(np.log(np.abs(hyp))), np.array(np.sign(hyp))
        # The series overflows for frequent buyers over long horizons; Euler's transformation
        # 2F1(a, b; c; z) = (1 - z)^(c - a - b) 2F1(c - a, c - b; c; z) stays finite, as in lifetimes.
        overflowed = ~np.isfinite(hyp)
        if overflowed.any():
            a_, b_, c_, z_ = (np.broadcast_to(v, log_hyp.shape)[overflowed] for v in (hyp_a, hyp_b, hyp_c, z))
            euler = hyp2f1(c_ - a_, c_ - b_, c_, z_)
            log_hyp[overflowed] = np.log(np.abs(euler)) + (c_ - a_ - b_) * np.log1p(-z_)
            hyp_sign[overflowed] = np.sign(euler)
    # With a + b < 1 the series is negative for members without a repeat purchase (its c is negative),
    # where lifetimes' log of it gives NaN; carrying the sign gives the value eq. 10 defines.
    hyp_term = hyp_sign * np.exp(log_hyp + (r + x) * np.log((alpha + age) / (alpha + t + age)))
    bought = hyp_c / (a - 1) * (1 - hyp_term)
    dropped_odds = np.where(x > 0, a / (b + x - 1) * ((alpha + age) / (alpha + t_x)) ** (r + x), 0.0)
    return np.asarray(bought / (1 + dropped_odds), dtype=np.float64)


def probability_alive(params: BetaGeoParams, *, frequency: Floats, recency: Floats, T: Floats) -> Floats:
    """Each customer's probability of still being a customer (Fader, Hardie & Lee 2008, note 021)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, age = _floats(frequency), _floats(recency), _floats(T)
    log_dropped_odds = (r + x) * np.log((alpha + age) / (alpha + t_x)) + np.log(a / (b + np.maximum(x, 1) - 1))
    # Customers drop out only right after a purchase, so one who never bought again cannot have left.
    return np.asarray(np.where(x == 0, 1.0, expit(-log_dropped_odds)), dtype=np.float64)


def fit_gamma_gamma(
    *, frequency: Floats, monetary_value: Floats, penalizer_coef: float = 0.0
) -> Fitted[GammaGammaParams]:
    """Fits the Gamma-Gamma model to repeat buyers' average spends; customers without a repeat purchase
    have no spend to learn from and are left out."""
    repeat = _floats(frequency) > 0
    x, m = _Counts.of(_floats(frequency)[repeat]), _floats(monetary_value)[repeat]

    def likelihood(log_params: Floats) -> tuple[Floats, Floats]:
        return _gamma_gamma_likelihood(GammaGammaParams(*np.exp(log_params)), x, m)

    # lifetimes' start, with v in the currency's magnitude so fen and yuan start alike.
    (p, q, v), optimum = _most_likely(likelihood, penalizer_coef, start=np.array([0.1, 0.1, 0.1 + np.log(np.mean(m))]))
    return Fitted(GammaGammaParams(p=p, q=q, v=v), optimum)


def expected_average_value(params: GammaGammaParams, *, frequency: Floats, monetary_value: Floats) -> Floats:
    """Each customer's expected average spend per future purchase (Fader & Hardie 2013, eq. 5)."""
    p, q, v = params.p, params.q, params.v
    x = _floats(frequency)
    # A weighted average of the population's mean spend and the customer's own, leaning on the customer's
    # the more purchases they made.
    own_weight = p * x / (p * x + q - 1)
    return np.asarray((1 - own_weight) * (v * p / (q - 1)) + own_weight * _floats(monetary_value), dtype=np.float64)


def lifetime_value(
    purchases: BetaGeoParams,
    spend: GammaGammaParams,
    *,
    frequency: Floats,
    recency: Floats,
    T: Floats,
    monetary_value: Floats,
    months: int = 12,
    discount_rate: float = 0.01,
    periods_per_month: float = DAYS_PER_MONTH,
) -> Floats:
    """Each customer's expected spend over the next `months`, discounted at `discount_rate` a month, as
    lifetimes' GammaGammaFitter.customer_lifetime_value (periods_per_month is its freq: 30 for days, 4.345
    for weeks)."""
    history = {"frequency": frequency, "recency": recency, "T": T}
    value = expected_average_value(spend, frequency=frequency, monetary_value=monetary_value)
    total = np.zeros_like(value)
    bought_before = np.zeros_like(value)  # nothing is bought in no time
    for month in range(1, months + 1):
        bought_by = expected_purchases(purchases, month * periods_per_month, **history)
        total += value * (bought_by - bought_before) / (1 + discount_rate) ** month
        bought_before = bought_by
    return total


class _Counts(NamedTuple):
    """Customers' repeat purchases, with the few distinct counts among them, so that the likelihoods'
    costly functions of the count alone (gammaln, digamma) run once per count, not once per customer."""

    each: Floats
    distinct: Floats
    which: npt.NDArray[np.intp]

    @classmethod
    def of(cls, frequency: Floats) -> "_Counts":
        distinct, which = np.unique(_floats(frequency), return_inverse=True)
        return cls(distinct[which], distinct, which)

    def apply(self, function: Callable[[Floats], Floats]) -> Floats:
        return function(self.distinct)[self.which]


def _beta_geo_likelihood(params: BetaGeoParams, x: _Counts, t_x: Floats, age: Floats) -> tuple[Floats, Floats]:
    """Each customer's log-likelihood, and its gradient in the log parameters (rows: r, alpha, a, b)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    n = x.each
    after_last = b + np.maximum(n, 1) - 1
    log_age, log_last = np.log(alpha + age), np.log(alpha + t_x)
    # The two ways to have made no purchase since t_x: alive throughout, or dropped out right at t_x
    # (possible only after a repeat purchase); summed in log space as lifetimes does.
    log_alive = -(r + n) * log_age
    log_dropped = np.where(n > 0, np.log(a) - np.log(after_last) - (r + n) * log_last, -np.inf)
    log_silence = np.logaddexp(log_alive, log_dropped)
    dropped = np.exp(log_dropped - log_silence)
    alive = 1 - dropped
    log_likelihood = (
        x.apply(
            lambda k: gammaln(r + k) - gammaln(r) + gammaln(a + b) + gammaln(b + k) - gammaln(b) - gammaln(a + b + k)
        )
        + r * np.log(alpha)
        + log_silence
    )
    by_r = x.apply(lambda k: digamma(r + k) - digamma(r)) + np.log(alpha) - alive * log_age - dropped * log_last
    by_alpha = r / alpha - (r + n) * (alive / (alpha + age) + dropped / (alpha + t_x))
    by_a = x.apply(lambda k: digamma(a + b) - digamma(a + b + k)) + dropped / a
    by_b = x.apply(lambda k: digamma(a + b) + digamma(b + k) - digamma(b) - digamma(a + b + k)) - dropped / after_last
    return log_likelihood, np.stack([r * by_r, alpha * by_alpha, a * by_a, b * by_b])


def _gamma_gamma_likelihood(params: GammaGammaParams, x: _Counts, m: Floats) -> tuple[Floats, Floats]:
    """Each repeat buyer's log-likelihood of their average spend, and its gradient in the log parameters."""
    p, q, v = params.p, params.q, params.v
    n = x.each
    log_total = np.log(n * m + v)
    log_likelihood = (
        x.apply(lambda k: gammaln(p * k + q) - gammaln(p * k) - gammaln(q) + p * k * np.log(k))
        + q * np.log(v)
        + (p * n - 1) * np.log(m)
        - (p * n + q) * log_total
    )
    by_p = n * (x.apply(lambda k: digamma(p * k + q) - digamma(p * k) + np.log(k)) + np.log(m) - log_total)
    by_q = x.apply(lambda k: digamma(p * k + q) - digamma(q)) + np.log(v) - log_total
    by_v = q / v - (p * n + q) / (n * m + v)
    return log_likelihood, np.stack([p * by_p, q * by_q, v * by_v])


def _penalised_mean(
    log_likelihood: Floats, gradient: Floats, params: Floats, penalizer_coef: float
) -> tuple[float, Floats]:
    """lifetimes' objective: the mean negative log-likelihood plus an L2 penalty on the parameters, with
    its gradient in the log parameters."""
    value = -float(np.mean(log_likelihood)) + penalizer_coef * float(np.sum(params**2))
    return value, -gradient.mean(axis=1) + 2 * penalizer_coef * params**2


def _most_likely(
    likelihood: Callable[[Floats], tuple[Floats, Floats]], penalizer_coef: float, *, start: Floats
) -> tuple[tuple[float, ...], Optimum]:
    """The parameters maximising the likelihood, a function of their logs (which keeps them positive)
    giving each customer's log-likelihood and its gradient, as lifetimes does: by minimising the mean
    negative log-likelihood plus an L2 penalty with BFGS, from lifetimes' start, to its tolerance."""

    def objective(log_params: Floats) -> tuple[float, Floats]:
        log_likelihood, gradient = likelihood(log_params)
        return _penalised_mean(log_likelihood, gradient, np.exp(log_params), penalizer_coef)

    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        result = minimize(objective, start, jac=True, method="BFGS", tol=_TOLERANCE)
        fitted = np.exp(result.x)
        reached = likelihood(result.x)[0]
    # BFGS reports "precision loss" whenever its last steps cannot improve a flat likelihood: right at the
    # maximum, or on a ridge towards one at infinity (Gamma-Gamma's p for members whose spends never vary,
    # BG/NBD's a and b for a dropout probability everyone shares), where predictions have settled though
    # the parameters have not. lifetimes refuses both; a tenant's refit should not.
    flat = bool(np.max(np.abs(result.jac)) <= _FLAT_GRADIENT)
    converged = bool((result.success or flat) and np.all(np.isfinite(fitted)))
    optimum = Optimum(
        customers=len(reached),
        log_likelihood=float(np.sum(reached)),
        iterations=int(result.nit),
        converged=converged,
        message=str(result.message),
    )
    if not converged:
        raise ModelDidNotConverge(optimum)
    return tuple(float(v) for v in fitted), optimum


def _floats(values: float | Floats) -> Floats:
    return np.asarray(values, dtype=np.float64)
