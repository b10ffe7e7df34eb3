"""The sufficient statistics of FID as plain float64 arrays (numpy only, so statistics files, the cache and
the reference registry load them without importing torch)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ganeval.errors import StatisticsError, check


@dataclass(frozen=True)
class GaussianStats:
    """Sample mean `mu` (d,), covariance `sigma` (d, d) with N-1 denominator, from `n` samples."""

    mu: np.ndarray
    sigma: np.ndarray
    n: int

    def __post_init__(self) -> None:
        mu = np.asarray(self.mu, dtype=np.float64)
        sigma = np.asarray(self.sigma, dtype=np.float64)
        check(mu.ndim == 1, f"mu must be 1-D, got shape {mu.shape}", StatisticsError)
        d = mu.shape[0]
        check(d >= 1, "mu is empty", StatisticsError)
        check(
            sigma.shape == (d, d),
            f"sigma must have shape ({d}, {d}) to match mu, got {sigma.shape}",
            StatisticsError,
        )
        check(bool(np.isfinite(mu).all()), "mu contains NaN or Inf", StatisticsError)
        check(bool(np.isfinite(sigma).all()), "sigma contains NaN or Inf", StatisticsError)
        check(
            isinstance(self.n, (int, np.integer)) and not isinstance(self.n, bool),
            f"n must be an integer, got {self.n!r}",
            StatisticsError,
        )
        check(self.n >= 2, f"statistics need at least 2 samples, got n={self.n}", StatisticsError)
        object.__setattr__(self, "mu", mu)
        object.__setattr__(self, "sigma", sigma)
        object.__setattr__(self, "n", int(self.n))

    @property
    def dim(self) -> int:
        """Feature dimension d."""
        return int(self.mu.shape[0])
