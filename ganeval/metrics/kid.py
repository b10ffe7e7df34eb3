"""Kernel Inception Distance: unbiased MMD^2 with a cubic polynomial kernel, averaged over subsets.

The subsets are drawn exactly as torch-fidelity 0.4.0 draws them (one seeded numpy RandomState, for
each subset first the indices into A, then into B), so values agree; the kernels are computed with
torch in float64, on the GPU when there is one.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from ganeval.errors import check
from ganeval.metrics.gaussian import ArrayLike, as_feature_matrix, resolve_device


def polynomial_kernel(x: torch.Tensor, y: torch.Tensor, degree: int, gamma: float, coef0: float) -> torch.Tensor:
    """k(x, y) = (gamma <x, y> + coef0)^degree for all row pairs."""
    return (x @ y.T * gamma + coef0) ** degree


def unbiased_mmd2(k_xx: torch.Tensor, k_yy: torch.Tensor, k_xy: torch.Tensor) -> float:
    """Unbiased MMD^2 estimate: within-set means exclude the diagonal, the cross term keeps it."""
    m = k_xx.shape[0]
    within = (k_xx.sum() - k_xx.diagonal().sum()) + (k_yy.sum() - k_yy.diagonal().sum())
    return float(within / (m * (m - 1)) - 2.0 * k_xy.sum() / (m * m))


def kernel_inception_distance(
    features_a: ArrayLike,
    features_b: ArrayLike,
    subsets: int = 100,
    subset_size: int = 1000,
    degree: int = 3,
    gamma: float | None = None,
    coef0: float = 1.0,
    seed: int = 2020,
    device: str | torch.device | None = None,
) -> tuple[float, float]:
    """(mean, std with ddof 0) of the unbiased MMD^2 over `subsets` random subsets of `subset_size`.

    Unlike torch-fidelity, a subset size larger than the smaller set is capped (with a warning) rather
    than refused, so small sample sets still give a number. `gamma` defaults to 1/d.
    """
    check(isinstance(subsets, int) and subsets >= 1, f"subsets must be a positive integer, got {subsets!r}")
    check(
        isinstance(subset_size, int) and subset_size >= 2,
        f"subset_size must be an integer >= 2, got {subset_size!r}",
    )
    check(isinstance(degree, int) and degree >= 1, f"degree must be a positive integer, got {degree!r}")
    dev = resolve_device(device)
    a = as_feature_matrix(features_a, name="features_a", device=dev)
    b = as_feature_matrix(features_b, name="features_b", device=dev)
    n_a, n_b = a.shape[0], b.shape[0]
    check(
        a.shape[1] == b.shape[1],
        f"feature dimensions differ: {a.shape[1]} for features_a, {b.shape[1]} for features_b",
    )
    check(min(n_a, n_b) >= 2, f"KID needs at least 2 images on each side, got {n_a} and {n_b}")
    if subset_size > min(n_a, n_b):
        warnings.warn(
            f"KID subset size {subset_size} exceeds the number of images ({n_a} and {n_b}); "
            f"capped at {min(n_a, n_b)}, so values are not comparable with subset size {subset_size}",
            stacklevel=2,
        )
        subset_size = min(n_a, n_b)
    if gamma is None:
        gamma = 1.0 / a.shape[1]
    rng = np.random.RandomState(seed)
    mmds = np.zeros(subsets)
    for i in range(subsets):
        idx_a = torch.from_numpy(rng.choice(n_a, subset_size, replace=False)).to(dev)
        idx_b = torch.from_numpy(rng.choice(n_b, subset_size, replace=False)).to(dev)
        x, y = a[idx_a], b[idx_b]
        mmds[i] = unbiased_mmd2(
            polynomial_kernel(x, x, degree, gamma, coef0),
            polynomial_kernel(y, y, degree, gamma, coef0),
            polynomial_kernel(x, y, degree, gamma, coef0),
        )
    return float(np.mean(mmds)), float(np.std(mmds))
