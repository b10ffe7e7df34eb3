"""FD-infinity (Chong & Forsyth 2020): the Frechet distance an infinite generated sample would have.

FD computed on N generated rows is biased upwards, by roughly a constant over N that depends on the model,
so FIDs of models evaluated at one N can rank differently at another. FD of subsets of several sizes N_i
against the full REAL statistics, fitted by least squares as a line in 1/N, gives the value at 1/N = 0
(FD-infinity) and the slope (how much of the FD at N is sample-size bias).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ganeval.errors import check
from ganeval.metrics.fid import frechet_distance
from ganeval.metrics.gaussian import ArrayLike, GaussianStats, as_feature_matrix, gaussian_stats

FD_INF_POINTS = 15  # dgm-eval's num_points
FD_INF_MAX_START = 5000  # the smallest subset is N/10, at most 5000 (dgm-eval)


@dataclass(frozen=True)
class FDInfinity:
    """FD-infinity (the fit at 1/N = 0), the slope of FD against 1/N, and the subset sizes and FDs fitted."""

    fd_inf: float
    slope: float
    sizes: np.ndarray
    fds: np.ndarray


def fd_inf_sizes(n: int, points: int = FD_INF_POINTS) -> np.ndarray:
    """dgm-eval's subset sizes: `points` from min(5000, max(n // 10, 2)) to n, evenly spaced, truncated to int."""
    check(n >= 3, f"FD-infinity needs at least 3 generated rows (subsets of 2 or more rows, two sizes), got {n}")
    return np.linspace(min(FD_INF_MAX_START, max(n // 10, 2)), n, points).astype(np.int32).astype(np.int64)


def draw_subsets(n: int, sizes: Sequence[int], seed: int) -> list[np.ndarray]:
    """Row indices of one subset per size, without replacement, from one `np.random.default_rng(seed)`:
    dgm-eval's draws when its (unseeded) generator is replaced by `default_rng(seed)`."""
    rng = np.random.default_rng(seed)
    return [rng.choice(n, int(size), replace=False) for size in sizes]


def line_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(intercept, slope) of the least-squares line through (x, y), from centred sums."""
    xc = x - x.mean()
    slope = float(xc @ (y - y.mean()) / (xc @ xc))
    return float(y.mean() - slope * x.mean()), slope


def fd_inf(
    real: ArrayLike | GaussianStats,
    fake: ArrayLike,
    *,
    points: int = FD_INF_POINTS,
    sizes: Sequence[int] | None = None,
    seed: int = 0,
    subsets: Sequence[ArrayLike] | None = None,
    method: str = "eig",
) -> FDInfinity:
    """FD-infinity of the FAKE rows against all REAL rows (or REAL's statistics).

    Subsets are drawn without replacement by `draw_subsets(len(fake), sizes, seed)`; `sizes` defaults to
    dgm-eval's `fd_inf_sizes` (Chong & Forsyth used 5,000 to 50,000). dgm-eval draws from an unseeded
    generator, so its value changes from run to run; to reproduce a given run pass its row indices as
    `subsets` (one index array per size, which then fixes the sizes too). FDs use `frechet_distance`
    with `method` ("eig", or "sqrtm" for dgm-eval's and pytorch-fid's scipy root).
    """
    real_stats = real if isinstance(real, GaussianStats) else gaussian_stats(real)
    rows = as_feature_matrix(fake, "generated features")
    n = len(rows)
    if subsets is None:
        sizes = fd_inf_sizes(n, points) if sizes is None else np.asarray(sizes, dtype=np.int64)
        check(sizes.ndim == 1 and len(sizes) >= 2, "FD-infinity needs subsets of at least two sizes")
        check(int(sizes.min()) >= 2, f"FD-infinity subsets need at least 2 rows each, got a size of {sizes.min()}")
        check(
            int(sizes.max()) <= n,
            f"FD-infinity subsets of up to {sizes.max()} rows need as many generated rows, got {n}",
        )
        subsets = draw_subsets(n, sizes, seed)
    picks = [np.asarray(s, dtype=np.int64) for s in subsets]
    check(all(p.ndim == 1 and len(p) >= 2 for p in picks), "every FD-infinity subset needs at least 2 row indices")
    check(all(p.min() >= 0 and p.max() < n for p in picks), f"FD-infinity subset indices must lie in 0 .. {n - 1}")
    sizes = np.array([len(p) for p in picks])
    check(len(np.unique(sizes)) >= 2, "FD-infinity needs subsets of at least two different sizes")
    fds = np.array(
        [frechet_distance(gaussian_stats(rows[torch.from_numpy(p)]), real_stats, method=method) for p in picks]
    )
    intercept, slope = line_fit(1.0 / sizes, fds)
    return FDInfinity(intercept, slope, sizes, fds)
