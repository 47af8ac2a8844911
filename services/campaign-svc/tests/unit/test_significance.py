"""A/B test statistics checked against numbers worked out independently of the code under test."""

import uuid
from collections import Counter

import pytest

from campaign_svc.experiments.significance import Arm, assign, two_proportion_z_test, verdict, wilson_interval

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("conversions", "exposures", "low", "high"),
    [
        # Newcombe, "Two-sided confidence intervals for the single proportion", Statistics in Medicine
        # 17 (1998) 857-872, Table I, method 3 (Wilson score, no continuity correction), 95%.
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0000, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_the_wilson_interval_matches_newcombes_table(conversions: int, exposures: int, low: float, high: float) -> None:
    assert wilson_interval(conversions, exposures) == pytest.approx((low, high), abs=0.00006)


def test_the_wilson_interval_by_hand_at_another_level() -> None:
    # 81/263 at 90%: z = 1.644854, z^2/n = 2.705543/263 = 0.0102872, p = 0.3079848;
    # centre = (p + z^2/2n) / (1 + z^2/n) = 0.3131284 / 1.0102872 = 0.3099400;
    # half = z / (1 + z^2/n) * sqrt(p(1-p)/n + z^2/4n^2) = 1.6281049 * sqrt(0.00081038 + 0.00000978) = 0.0466264.
    assert wilson_interval(81, 263, alpha=0.10) == pytest.approx((0.2633136, 0.3565663), abs=1e-6)


def test_a_rate_of_all_or_nothing_still_has_an_interval_inside_zero_and_one() -> None:
    low, high = wilson_interval(29, 29)
    assert 0.85 < low < high == 1.0
    with pytest.raises(ValueError):
        wilson_interval(1, 0)


def test_the_z_test_agrees_with_the_chi_square_of_the_two_by_two_table() -> None:
    # Control 200 of 1000, treatment 250 of 1000. Pearson's chi-square without continuity correction on
    # [[250, 750], [200, 800]] is N(ad - bc)^2 / (r1 r2 c1 c2) = 2000 * 50000^2 / (1000 * 1000 * 450 * 1550)
    # = 7.16846, and the pooled z-test's z is its square root, 2.67740; R's
    # prop.test(c(250, 200), c(1000, 1000), correct = FALSE) reports X-squared = 7.1685, p-value = 0.007420.
    test = two_proportion_z_test(Arm("a", 1000, 200), Arm("b", 1000, 250))
    assert test.z == pytest.approx(2.67740, abs=1e-5)
    assert test.z**2 == pytest.approx(2000 * 50_000**2 / (1000 * 1000 * 450 * 1550))
    assert test.p_value == pytest.approx(0.007420, abs=1e-6)


def test_the_z_test_is_signed_two_sided_and_calibrated() -> None:
    worse = two_proportion_z_test(Arm("a", 1000, 250), Arm("b", 1000, 200))
    assert worse.z == pytest.approx(-2.67740, abs=1e-5)
    assert worse.p_value == pytest.approx(0.007420, abs=1e-6)
    # Unequal groups, by hand: pooled (30 + 60) / (300 + 400) = 0.128571; se = sqrt(0.128571 * 0.871429
    # * (1/300 + 1/400)) = 0.025565; z = (0.15 - 0.10) / 0.025565 = 1.95580; 2 * (1 - Phi(1.95580)) = 0.05049.
    unequal = two_proportion_z_test(Arm("a", 300, 30), Arm("b", 400, 60))
    assert (unequal.z, unequal.p_value) == pytest.approx((1.95580, 0.05049), abs=5e-5)
    assert two_proportion_z_test(Arm("a", 50, 0), Arm("b", 80, 0)).p_value == 1.0


def test_a_clear_difference_wins() -> None:
    # 100/1000 vs 150/1000: pooled 0.125, se = sqrt(0.125 * 0.875 * 0.002) = 0.014790, z = 3.3806, p = 0.00072.
    outcome = verdict([Arm("control", 1000, 100), Arm("bold", 1000, 150)], alpha=0.05)
    assert (outcome.winner, outcome.reason) == ("bold", None)


def test_the_control_can_be_the_winner() -> None:
    assert verdict([Arm("control", 1000, 150), Arm("bold", 1000, 100)], alpha=0.05).winner == "control"


def test_an_insignificant_difference_declares_no_winner() -> None:
    # 100/1000 vs 110/1000: z = 0.729, p = 0.466.
    outcome = verdict([Arm("control", 1000, 100), Arm("bold", 1000, 110)], alpha=0.05)
    assert outcome.winner is None
    assert outcome.reason is not None and outcome.reason.startswith("not significant")


def test_bonferroni_raises_the_bar_for_more_variants() -> None:
    # 200/1000 vs 240/1000: pooled 0.22, se = sqrt(0.22 * 0.78 * 0.002) = 0.018526, z = 2.1592, p = 0.0308:
    # below 0.05 for two variants, not below 0.05 / 2 = 0.025 for three.
    two = verdict([Arm("a", 1000, 200), Arm("b", 1000, 240)], alpha=0.05)
    three = verdict([Arm("a", 1000, 200), Arm("b", 1000, 240), Arm("c", 1000, 200)], alpha=0.05)
    assert (two.winner, two.threshold) == ("b", 0.05)
    assert (three.winner, three.threshold) == (None, 0.025)


def test_the_best_must_beat_every_other_variant() -> None:
    # b beats the control clearly (p = 0.0007) but not c, which converts almost as well.
    outcome = verdict([Arm("a", 1000, 100), Arm("b", 1000, 150), Arm("c", 1000, 148)], alpha=0.05)
    assert outcome.winner is None
    assert outcome.reason is not None and "b vs c" in outcome.reason


@pytest.mark.parametrize(
    "arms",
    [
        [Arm("a", 40, 3), Arm("b", 40, 30)],  # 3 conversions in a
        [Arm("a", 40, 10), Arm("b", 40, 37)],  # 3 non-conversions in b
        [Arm("a", 1000, 100), Arm("b", 0, 0)],  # b never shown
    ],
)
def test_too_few_outcomes_for_the_normal_approximation_is_insufficient_data(arms: list[Arm]) -> None:
    outcome = verdict(arms, alpha=0.05)
    assert outcome.winner is None
    assert outcome.reason is not None and outcome.reason.startswith("insufficient data")


def test_impossible_counts_are_refused() -> None:
    with pytest.raises(ValueError):
        Arm("a", 10, 11)
    with pytest.raises(ValueError):
        verdict([Arm("a", 10, 5)], alpha=0.05)


def test_assignment_follows_the_hash_and_the_declared_order() -> None:
    experiment = uuid.UUID(int=1)
    # `printf %s 00000000-0000-0000-0000-000000000001:00000000-0000-0000-0000-000000000002 | sha256sum` is
    # 4899549e...ea07686d, which is 9 modulo 100; member ...04 hashes to 988333ed...4d608ef4, 8 modulo 100.
    # With weights 9, 1, 90 in that order, buckets 0-8 are "a", 9 is "b", 10-99 are "c".
    assert 0x4899549E45F8BE781DEA1E36467A6E8B446C0429CC541EC1771CFD9CEA07686D % 100 == 9
    variants = [("a", 9), ("b", 1), ("c", 90)]
    assert assign(experiment, uuid.UUID(int=2), variants) == "b"
    assert assign(experiment, uuid.UUID(int=4), variants) == "a"
    assert assign(experiment, uuid.UUID(int=2), [("c", 90), ("a", 9), ("b", 1)]) == "c"


def test_assignment_is_deterministic_and_independent_across_experiments() -> None:
    variants = [("a", 1), ("b", 1)]
    members = [uuid.UUID(int=i) for i in range(1_000)]
    first, second = uuid.uuid4(), uuid.uuid4()
    in_first = [assign(first, m, variants) for m in members]
    assert in_first == [assign(first, m, variants) for m in members]
    agreeing = sum(a == assign(second, m, variants) for a, m in zip(in_first, members, strict=True))
    # Independent coin flips agree about half the time (sd 16 of 1000).
    assert 400 < agreeing < 600


def test_assignment_spreads_members_by_weight() -> None:
    experiment = uuid.UUID("6f1c3c52-8a5e-4d3b-9b0e-3f2a1c9d7e10")
    variants = [("control", 10), ("short", 20), ("long", 70)]
    counts = Counter(assign(experiment, uuid.UUID(int=i), variants) for i in range(20_000))
    # The share of a 10% arm over 20,000 members has sd sqrt(0.1 * 0.9 / 20000) = 0.0021: 0.01 is ~5 sd.
    shares = {key: count / 20_000 for key, count in counts.items()}
    assert shares == pytest.approx({"control": 0.1, "short": 0.2, "long": 0.7}, abs=0.01)


def test_assignment_needs_positive_weights() -> None:
    for variants in ([], [("a", 1), ("b", 0)]):
        with pytest.raises(ValueError):
            assign(uuid.uuid4(), uuid.uuid4(), variants)
