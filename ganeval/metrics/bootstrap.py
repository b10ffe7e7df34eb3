"""Bootstrap resampling of feature rows: how much a metric would move with another sample of the same size.

A metric computed on N rows is one draw of a random quantity; recomputing it on B resamples of the rows
(drawn with replacement) shows its spread. The draws come from one seeded generator, so an interval is
reproducible, and each resample is a row of indices, so every metric can be recomputed on the same rows.
"""

from __future__ import annotations

import numpy as np

from ganeval.errors import check

INTERVAL = (2.5, 97.5)  # percentiles of the central 95% interval
Z = 1.959963984540054  # the standard normal's 97.5th percentile
METHODS = ("percentile", "basic", "normal")


def bootstrap_indices(n: int, b: int, seed: int) -> np.ndarray:
    """(b, n) row indices in 0 .. n-1, each row one resample of n drawn with replacement by
    `np.random.default_rng(seed)`."""
    check(n >= 1 and b >= 1, f"bootstrap needs at least one row and one resample, got n={n}, b={b}")
    return np.random.default_rng(seed).integers(0, n, size=(b, n))


def interval(
    values: np.ndarray | list[float], estimate: float | None = None, method: str = "percentile"
) -> tuple[tuple[float, float], float]:
    """((low, high), standard error) of a metric from its values over resamples.

    `percentile`: the 2.5th and 97.5th percentiles. `basic`: those reflected about the full-sample
    `estimate`, (2 * estimate - p97.5, 2 * estimate - p2.5): when the resamples sit above the estimate by a
    bias (as FID's do, fewer distinct rows giving a larger value), the estimate sits above the metric's
    large-sample value by about as much, and the reflection removes it. `normal`: estimate +- 1.96 standard
    errors, centred on the estimate whatever the resamples' centre (for metrics whose resamples are shifted
    by the repeated rows themselves, as KID's and the k-NN metrics' are). The standard error is the standard
    deviation of the values with ddof = 1 (the bootstrap estimate of the metric's own).
    """
    v = np.asarray(values, dtype=np.float64)
    check(v.ndim == 1 and len(v) >= 2, f"an interval needs at least 2 resampled values, got {v.size}")
    check(bool(np.isfinite(v).all()), "the resampled values contain NaN or Inf")
    check(method in METHODS, f"unknown interval method {method!r}; expected {', '.join(METHODS)}")
    se = float(v.std(ddof=1))
    low, high = np.percentile(v, INTERVAL)
    if method != "percentile":
        check(estimate is not None and np.isfinite(estimate), f"the {method} interval needs the full-sample estimate")
        low, high = (
            (2 * estimate - high, 2 * estimate - low) if method == "basic" else (estimate - Z * se, estimate + Z * se)
        )
    return (float(low), float(high)), se
