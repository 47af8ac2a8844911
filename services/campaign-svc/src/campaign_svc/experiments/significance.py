"""The statistics of A/B tests: conversion rates with Wilson intervals, the two-proportion z-test, the
rule that declares a winner, and the deterministic assignment of members to variants. Pure functions."""

import hashlib
import math
import uuid
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from statistics import NormalDist

# Below this many conversions or non-conversions in a group the normal approximation behind both the
# z-test and the interval is too rough to trust a p-value.
MIN_OUTCOMES = 5


@dataclass(frozen=True)
class Arm:
    """What one variant has observed so far."""

    key: str
    exposures: int
    conversions: int

    def __post_init__(self) -> None:
        if not 0 <= self.conversions <= self.exposures:
            raise ValueError(f"{self.key}: {self.conversions} conversions of {self.exposures} exposures")


@dataclass(frozen=True)
class ZTest:
    z: float
    p_value: float


@dataclass(frozen=True)
class Verdict:
    """The winner's key, or None and why there is none."""

    winner: str | None
    reason: str | None
    threshold: float


def wilson_interval(conversions: int, exposures: int, alpha: float = 0.05) -> tuple[float, float]:
    """The (1 - alpha) Wilson score interval of a conversion rate."""
    # Wilson rather than the textbook p +- z*se: that one collapses to a zero-width interval at 0 or 100%
    # and leaves [0, 1] for the small rates that conversions usually are.
    if exposures <= 0 or not 0 <= conversions <= exposures:
        raise ValueError(f"{conversions} conversions of {exposures} exposures")
    z = NormalDist().inv_cdf(1 - alpha / 2)
    rate = conversions / exposures
    z2_n = z * z / exposures
    centre = (rate + z2_n / 2) / (1 + z2_n)
    half_width = z / (1 + z2_n) * math.sqrt(rate * (1 - rate) / exposures + z2_n / (4 * exposures))
    return max(0.0, centre - half_width), min(1.0, centre + half_width)


def two_proportion_z_test(control: Arm, treatment: Arm) -> ZTest:
    """Two-sided z-test with pooled variance of treatment's rate against control's; z > 0 when treatment's
    rate is higher."""
    if control.exposures == 0 or treatment.exposures == 0:
        raise ValueError("a z-test needs exposures in both groups")
    pooled = (control.conversions + treatment.conversions) / (control.exposures + treatment.exposures)
    variance = pooled * (1 - pooled) * (1 / control.exposures + 1 / treatment.exposures)
    if variance == 0:
        # Both groups all converted or none did: the same rate, no evidence of a difference.
        return ZTest(z=0.0, p_value=1.0)
    difference = treatment.conversions / treatment.exposures - control.conversions / control.exposures
    z = difference / math.sqrt(variance)
    return ZTest(z=z, p_value=math.erfc(abs(z) / math.sqrt(2)))


def verdict(arms: Sequence[Arm], alpha: float) -> Verdict:
    """Names the best-converting arm the winner only if it beats every other arm at p < alpha / (k - 1)."""
    if len(arms) < 2:
        raise ValueError("a verdict needs at least two arms")
    # Bonferroni: the best arm is compared with k - 1 others, and each comparison is a chance of a false
    # winner, so each must clear alpha / (k - 1) for the whole claim to hold at alpha.
    threshold = alpha / (len(arms) - 1)
    thin = [arm for arm in arms if min(arm.conversions, arm.exposures - arm.conversions) < MIN_OUTCOMES]
    if thin:
        counts = ", ".join(f"{a.key} ({a.conversions} of {a.exposures})" for a in thin)
        reason = f"insufficient data: each variant needs {MIN_OUTCOMES} conversions and non-conversions; {counts}"
        return Verdict(winner=None, reason=reason, threshold=threshold)
    best = max(arms, key=lambda arm: arm.conversions / arm.exposures)
    for other in arms:
        if other is best:
            continue
        test = two_proportion_z_test(other, best)
        if test.p_value >= threshold:
            reason = f"not significant: {best.key} vs {other.key} p = {test.p_value:.4g}, needs p < {threshold:.4g}"
            return Verdict(winner=None, reason=reason, threshold=threshold)
    return Verdict(winner=best.key, reason=None, threshold=threshold)


def assign(experiment_id: uuid.UUID, member_id: uuid.UUID, variants: Sequence[tuple[str, int]]) -> str:
    """The key of the variant a member sees: a hash of experiment and member, bucketed by the (key, weight)
    pairs' cumulative weights in their declared order."""
    # A hash rather than a stored draw: every replica and every retry agrees without coordination, and
    # including the experiment keeps one member's arms independent across experiments.
    if not variants or any(weight <= 0 for _, weight in variants):
        raise ValueError("assignment needs variants, each with a positive weight")
    bounds = list(accumulate(weight for _, weight in variants))
    digest = hashlib.sha256(f"{experiment_id}:{member_id}".encode()).digest()
    # 256 bits modulo a total of at most 100,000: the modulo bias is far below anything measurable.
    bucket = int.from_bytes(digest, "big") % bounds[-1]
    return variants[bisect_right(bounds, bucket)][0]
