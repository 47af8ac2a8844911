"""Percentiles of latency samples, the one way every suite reports them."""

import math


def percentile(samples: list[float], share: float) -> float:
    """The nearest-rank percentile: the smallest sample with at least `share` of them at or below it."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def summary(samples_ms: list[float], digits: int = 2) -> dict[str, float]:
    """p50, p95 and p99 of samples in milliseconds."""
    return {f"p{round(share * 100)}_ms": round(percentile(samples_ms, share), digits) for share in (0.50, 0.95, 0.99)}
