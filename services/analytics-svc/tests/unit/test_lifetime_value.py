"""The lifetime-value models against the `lifetimes` package on its CDNOW sample (2,357 customers, time in
weeks), against the published fits, and against properties the models imply."""

from dataclasses import astuple
from typing import NamedTuple

import numpy as np
import pandas as pd
import pytest
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value
from scipy import integrate, stats
from scipy.special import hyp2f1

from analytics_svc.scoring import lifetime_value as ltv

pytestmark = pytest.mark.unit

# Both fits maximise the same likelihood to scipy's tolerance of 1e-7 on its gradient, from the same
# start for BG/NBD (they agree to ~1e-14) and different ones for Gamma-Gamma (~3e-7): 1e-5 leaves room
# for another scipy, and still fails at any difference in the formulas.
FIT_RTOL = 1e-5
# Predictions from one set of parameters differ only by rounding (observed < 1e-12).
PREDICTION_RTOL = 1e-9
WEEKS_PER_MONTH = 4.345  # lifetimes' freq="W"


class Cdnow(NamedTuple):
    frequency: pd.Series
    recency: pd.Series
    T: pd.Series
    monetary_value: pd.Series

    def histories(self) -> dict[str, np.ndarray]:
        return {
            "frequency": self.frequency.to_numpy(float),
            "recency": self.recency.to_numpy(float),
            "T": self.T.to_numpy(float),
        }


@pytest.fixture(scope="module")
def cdnow() -> Cdnow:
    summary = load_cdnow_summary_data_with_monetary_value()
    return Cdnow(summary["frequency"], summary["recency"], summary["T"], summary["monetary_value"])


@pytest.fixture(scope="module")
def reference(cdnow: Cdnow) -> BetaGeoFitter:
    return BetaGeoFitter().fit(cdnow.frequency, cdnow.recency, cdnow.T)


@pytest.fixture(scope="module")
def reference_spend(cdnow: Cdnow) -> GammaGammaFitter:
    repeat = cdnow.frequency > 0
    return GammaGammaFitter().fit(cdnow.frequency[repeat], cdnow.monetary_value[repeat])


@pytest.fixture(scope="module")
def purchases(cdnow: Cdnow) -> ltv.BetaGeoParams:
    return ltv.fit_beta_geo(**cdnow.histories()).params


@pytest.fixture(scope="module")
def spend(cdnow: Cdnow) -> ltv.GammaGammaParams:
    return ltv.fit_gamma_gamma(
        frequency=cdnow.frequency.to_numpy(float), monetary_value=cdnow.monetary_value.to_numpy(float)
    ).params


def relative_error(ours: np.ndarray, theirs: pd.Series | np.ndarray) -> float:
    theirs = np.asarray(theirs, dtype=float)
    return float(np.max(np.abs(ours - theirs) / np.abs(theirs)))


@pytest.mark.parametrize("penalizer_coef", [0.0, 0.1])
def test_beta_geo_fit_matches_lifetimes(cdnow: Cdnow, penalizer_coef: float) -> None:
    theirs = BetaGeoFitter(penalizer_coef=penalizer_coef).fit(cdnow.frequency, cdnow.recency, cdnow.T).params_
    ours = ltv.fit_beta_geo(**cdnow.histories(), penalizer_coef=penalizer_coef).params
    np.testing.assert_allclose(astuple(ours), theirs[["r", "alpha", "a", "b"]], rtol=FIT_RTOL)


def test_beta_geo_fit_matches_the_paper(purchases: ltv.BetaGeoParams) -> None:
    # Fader, Hardie & Lee (2005), section 5, on the same 2,357 CDNOW customers.
    np.testing.assert_allclose(astuple(purchases), (0.243, 4.414, 0.793, 2.426), atol=5e-4)


def test_log_likelihood_matches_lifetimes(cdnow: Cdnow) -> None:
    # Away from the maximum, so that the test checks the function rather than the fit.
    params = ltv.BetaGeoParams(r=0.5, alpha=2.0, a=1.5, b=0.7)
    histories = cdnow.histories()
    theirs = BetaGeoFitter._negative_log_likelihood(
        np.log(astuple(params)),
        histories["frequency"],
        histories["recency"],
        histories["T"],
        weights=np.ones(len(cdnow.T)),
        penalizer_coef=0.0,
    )
    ours = ltv.log_likelihood(params, **histories)
    assert -ours.mean() == pytest.approx(theirs, rel=PREDICTION_RTOL)


@pytest.mark.parametrize("weeks", [30, 90])
def test_expected_purchases_match_lifetimes(
    cdnow: Cdnow, purchases: ltv.BetaGeoParams, reference: BetaGeoFitter, weeks: int
) -> None:
    theirs = reference.conditional_expected_number_of_purchases_up_to_time(
        weeks, cdnow.frequency, cdnow.recency, cdnow.T
    )
    assert relative_error(ltv.expected_purchases(purchases, weeks, **cdnow.histories()), theirs) < FIT_RTOL


def test_expected_purchases_of_frequent_buyers_survive_overflow(
    purchases: ltv.BetaGeoParams, reference: BetaGeoFitter
) -> None:
    history = {"frequency": np.array([50.0, 500, 2000]), "recency": np.full(3, 38.0), "T": np.full(3, 38.86)}
    weeks = 520.0
    r, alpha, a, b, x = purchases.r, purchases.alpha, purchases.a, purchases.b, history["frequency"]
    # The series itself overflows for the frequent ones, so this reaches Euler's transformation.
    assert np.isinf(hyp2f1(r + x, b + x, a + b + x - 1, weeks / (alpha + 38.86 + weeks))).any()
    theirs = reference.conditional_expected_number_of_purchases_up_to_time(weeks, *history.values())
    assert relative_error(ltv.expected_purchases(purchases, weeks, **history), theirs) < FIT_RTOL


def test_probability_alive_matches_lifetimes(
    cdnow: Cdnow, purchases: ltv.BetaGeoParams, reference: BetaGeoFitter
) -> None:
    theirs = reference.conditional_probability_alive(cdnow.frequency, cdnow.recency, cdnow.T)
    assert relative_error(ltv.probability_alive(purchases, **cdnow.histories()), theirs) < FIT_RTOL


def test_gamma_gamma_fit_matches_lifetimes_and_the_paper(
    spend: ltv.GammaGammaParams, reference_spend: GammaGammaFitter
) -> None:
    np.testing.assert_allclose(astuple(spend), reference_spend.params_[["p", "q", "v"]], rtol=FIT_RTOL)
    # Fader & Hardie (2013) print p = 6.25, q = 3.74, gamma = 15.44 for these 946 repeat buyers.
    np.testing.assert_allclose(astuple(spend), (6.25, 3.74, 15.44), atol=1e-2)


def test_expected_average_value_matches_lifetimes(
    cdnow: Cdnow, spend: ltv.GammaGammaParams, reference_spend: GammaGammaFitter
) -> None:
    theirs = reference_spend.conditional_expected_average_profit(cdnow.frequency, cdnow.monetary_value)
    ours = ltv.expected_average_value(
        spend, frequency=cdnow.frequency.to_numpy(float), monetary_value=cdnow.monetary_value.to_numpy(float)
    )
    assert relative_error(ours, theirs) < FIT_RTOL


@pytest.mark.parametrize(("freq", "periods_per_month"), [("W", WEEKS_PER_MONTH), ("D", ltv.DAYS_PER_MONTH)])
def test_lifetime_value_matches_lifetimes(
    cdnow: Cdnow,
    purchases: ltv.BetaGeoParams,
    spend: ltv.GammaGammaParams,
    reference: BetaGeoFitter,
    reference_spend: GammaGammaFitter,
    freq: str,
    periods_per_month: float,
) -> None:
    theirs = reference_spend.customer_lifetime_value(reference, *cdnow, time=12, discount_rate=0.01, freq=freq)
    ours = ltv.lifetime_value(
        purchases,
        spend,
        **cdnow.histories(),
        monetary_value=cdnow.monetary_value.to_numpy(float),
        months=12,
        discount_rate=0.01,
        periods_per_month=periods_per_month,
    )
    assert relative_error(ours, theirs) < FIT_RTOL


def test_fits_follow_the_units_of_time_and_money(
    cdnow: Cdnow, purchases: ltv.BetaGeoParams, spend: ltv.GammaGammaParams
) -> None:
    histories = {name: values * 7 if name != "frequency" else values for name, values in cdnow.histories().items()}
    in_days = ltv.fit_beta_geo(**histories).params
    np.testing.assert_allclose(
        astuple(in_days), (purchases.r, purchases.alpha * 7, purchases.a, purchases.b), rtol=FIT_RTOL
    )
    in_cents = ltv.fit_gamma_gamma(
        frequency=cdnow.frequency.to_numpy(float), monetary_value=cdnow.monetary_value.to_numpy(float) * 100
    ).params
    np.testing.assert_allclose(astuple(in_cents), (spend.p, spend.q, spend.v * 100), rtol=FIT_RTOL)


def test_a_fit_that_finds_no_maximum_is_refused() -> None:
    with pytest.raises(ltv.ModelDidNotConverge) as refused:
        ltv.fit_beta_geo(frequency=np.array([1.0, 2, 0]), recency=np.array([1.0, np.nan, 0]), T=np.array([3.0, 4, 5]))
    assert not refused.value.optimum.converged and refused.value.optimum.message


def test_a_fit_says_the_log_likelihood_it_reached_in_the_data_s_own_units(cdnow: Cdnow) -> None:
    histories = cdnow.histories()
    for weeks_in in (1.0, 7.0):  # weeks, then days: the likelihood of the same data in another unit
        scaled = {name: values * weeks_in if name != "frequency" else values for name, values in histories.items()}
        fitted = ltv.fit_beta_geo(**scaled)
        optimum = fitted.optimum
        assert optimum.converged and optimum.customers == len(cdnow.T) and optimum.iterations > 0
        reached = ltv.log_likelihood(fitted.params, **scaled).sum()
        assert optimum.log_likelihood == pytest.approx(reached, rel=1e-9)
    spend = ltv.fit_gamma_gamma(
        frequency=histories["frequency"], monetary_value=cdnow.monetary_value.to_numpy(float)
    ).optimum
    assert spend.converged and spend.customers == int((cdnow.frequency > 0).sum())


def test_probability_alive_is_certain_only_without_repeat_purchases(purchases: ltv.BetaGeoParams) -> None:
    # BG/NBD customers drop out only right after a purchase; with purchases, the longer the silence
    # since the last one, the likelier they have gone.
    alive = ltv.probability_alive(
        purchases, frequency=np.array([0.0, 2, 2, 2]), recency=np.array([0.0, 38, 20, 5]), T=np.full(4, 38.86)
    )
    assert alive[0] == 1.0
    assert 1.0 > alive[1] > alive[2] > alive[3] > 0.0


def test_expected_purchases_start_at_zero_and_grow_with_the_horizon(cdnow: Cdnow, purchases: ltv.BetaGeoParams) -> None:
    horizons = np.array([0.0, 1, 10, 52, 520])[:, None]
    expected = ltv.expected_purchases(purchases, horizons, **{k: v[None, :] for k, v in cdnow.histories().items()})
    assert np.all(expected[0] == 0.0)
    assert np.all(np.diff(expected, axis=0) > 0)


@pytest.mark.parametrize(
    "params",
    [
        ltv.BetaGeoParams(r=0.243, alpha=4.414, a=0.793, b=2.426),
        # a + b < 1, where lifetimes returns NaN for customers without a repeat purchase.
        ltv.BetaGeoParams(r=0.30, alpha=5.16, a=0.25, b=0.54),
    ],
)
@pytest.mark.parametrize("weeks", [4.0, 52.0, 520.0])
def test_expected_purchases_without_repeats_integrate_over_dropout_probabilities(
    params: ltv.BetaGeoParams, weeks: float
) -> None:
    # A customer with no repeat purchase is alive, with a gamma(r, alpha + T) purchase rate and the prior
    # beta(a, b) dropout probability p, and then expects (1 - E[exp(-rate p t)]) / p purchases.
    age = 38.86

    def given_dropout(p: float) -> float:
        at_rate = 1 - ((params.alpha + age) / (params.alpha + age + p * weeks)) ** params.r
        return float(at_rate / p * stats.beta.pdf(p, params.a, params.b))

    integral, _ = integrate.quad(given_dropout, 0, 1, limit=200)
    ours = ltv.expected_purchases(params, weeks, frequency=np.zeros(1), recency=np.zeros(1), T=np.full(1, age))
    assert ours[0] == pytest.approx(integral, rel=1e-6)


def test_expected_average_value_shrinks_towards_the_population_mean(spend: ltv.GammaGammaParams) -> None:
    population_mean = spend.v * spend.p / (spend.q - 1)
    value = ltv.expected_average_value(spend, frequency=np.array([0.0, 1, 100]), monetary_value=np.full(3, 100.0))
    assert value[0] == pytest.approx(population_mean)
    assert population_mean < value[1] < value[2] < 100.0
    assert value[2] == pytest.approx(100.0, rel=0.01)


def test_lifetime_value_undiscounted_is_expected_spend(
    cdnow: Cdnow, purchases: ltv.BetaGeoParams, spend: ltv.GammaGammaParams
) -> None:
    histories, monetary_value = cdnow.histories(), cdnow.monetary_value.to_numpy(float)
    undiscounted = ltv.lifetime_value(
        purchases, spend, **histories, monetary_value=monetary_value, months=6, discount_rate=0.0, periods_per_month=4.0
    )
    value = ltv.expected_average_value(spend, frequency=histories["frequency"], monetary_value=monetary_value)
    np.testing.assert_allclose(undiscounted, value * ltv.expected_purchases(purchases, 24.0, **histories), rtol=1e-12)
    discounted = ltv.lifetime_value(
        purchases,
        spend,
        **histories,
        monetary_value=monetary_value,
        months=6,
        discount_rate=0.05,
        periods_per_month=4.0,
    )
    assert np.all(discounted < undiscounted)
