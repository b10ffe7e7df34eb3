"""Bootstrap resampling of feature rows: how much a metric would move with another sample of the same size.

A metric computed on N rows is one draw of a random quantity; recomputing it on B resamples of the rows
(drawn with replacement) shows its spread. The draws come from one seeded generator, so an interval is
reproducible, and each resample is a row of indices, so every metric can be recomputed on the same rows.
"""

from __future__ import annotations

import numpy as np

from ganeval.errors import check

INTERVAL = (2.5, 97.5)  # percentiles of the central 95% interval


def bootstrap_indices(n: int, b: int, seed: int) -> np.ndarray:
    """(b, n) row indices in 0 .. n-1, each row one resample of n drawn with replacement by
    `np.random.default_rng(seed)`."""
    check(n >= 1 and b >= 1, f"bootstrap needs at least one row and one resample, got n={n}, b={b}")
    return np.random.default_rng(seed).integers(0, n, size=(b, n))


def interval(values: np.ndarray | list[float]) -> tuple[tuple[float, float], float]:
    """((2.5th, 97.5th percentile), standard error) of a metric's values over resamples; the standard error
    is their standard deviation with ddof = 1 (the bootstrap estimate of the metric's own)."""
    v = np.asarray(values, dtype=np.float64)
    check(v.ndim == 1 and len(v) >= 2, f"an interval needs at least 2 resampled values, got {v.size}")
    check(bool(np.isfinite(v).all()), "the resampled values contain NaN or Inf")
    low, high = np.percentile(v, INTERVAL)
    return (float(low), float(high)), float(v.std(ddof=1))
