"""Mean and covariance of feature vectors, the sufficient statistics of FID.

Statistics are accumulated in float64 with batched (Chan et al.) merges, so memory does not grow with
the number of images and the result does not depend on the batch size beyond round-off.
"""

from __future__ import annotations

import numpy as np
import torch

from ganeval.errors import InputError, StatisticsError, check
from ganeval.metrics.stats import GaussianStats

ArrayLike = torch.Tensor | np.ndarray


def resolve_device(device: str | torch.device | None) -> torch.device:
    """The device heavy linear algebra runs on: the one asked for, else CUDA when present, else CPU."""
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def as_feature_matrix(
    features: ArrayLike,
    name: str = "features",
    device: str | torch.device | None = None,
    check_finite: bool = True,
) -> torch.Tensor:
    """`features` as a finite (n, d) float64 tensor, on `device` or where it already lives.

    Converting before any arithmetic keeps float32 network outputs from losing precision in sums.
    `check_finite=False` skips the finiteness test, which on a GPU waits for the features to exist.
    """
    if isinstance(features, np.ndarray):
        check(features.dtype.kind in "fiu", f"{name} must be real numbers, got dtype {features.dtype}")
        arr = features.astype(np.float64, copy=not features.flags.writeable)
        features = torch.from_numpy(arr)
    check(
        isinstance(features, torch.Tensor),
        f"{name} must be a torch.Tensor or numpy array, got {type(features).__name__}",
    )
    x = features
    check(x.dim() == 2, f"{name} must be a 2-D (n, d) matrix, got shape {tuple(x.shape)}")
    check(
        not x.is_complex() and x.dtype != torch.bool,
        f"{name} must be real numbers, got dtype {x.dtype}",
    )
    x = x.to(device=device if device is not None else x.device, dtype=torch.float64)
    if check_finite:
        check(bool(torch.isfinite(x).all()), f"{name} contain NaN or Inf")
    return x


class GaussianAccumulator:
    """Streaming float64 mean and centred scatter matrix of (b, d) feature batches.

    State is (n, mean, m2) with m2 = sum of outer products of deviations from the mean; it lives on the
    device of the first batch, so accumulation stays on the GPU when the features are there.
    """

    def __init__(self) -> None:
        self.n = 0
        self.mean: torch.Tensor | None = None
        self.m2: torch.Tensor | None = None

    @classmethod
    def from_stats(cls, stats: GaussianStats, device: str | torch.device | None = None) -> GaussianAccumulator:
        """The state that `stats` summarise (scatter = covariance x (n - 1)), to merge more samples into."""
        acc = cls()
        mean = torch.from_numpy(np.array(stats.mu, dtype=np.float64)).to(device or "cpu")
        m2 = torch.from_numpy(np.array(stats.sigma, dtype=np.float64) * (stats.n - 1)).to(mean.device)
        acc.n, acc.mean, acc.m2 = stats.n, mean, m2
        return acc

    @property
    def dim(self) -> int | None:
        """Feature dimension, or None before the first non-empty batch."""
        return None if self.mean is None else int(self.mean.shape[0])

    def _combine(self, n_b: int, mean_b: torch.Tensor, m2_b: torch.Tensor) -> None:
        """Merge another partial state into this one (Chan, Golub & LeVeque pairwise update)."""
        if n_b == 0:
            return
        if self.mean is None or self.m2 is None:
            self.n, self.mean, self.m2 = n_b, mean_b.clone(), m2_b.clone()
            return
        check(
            mean_b.shape == self.mean.shape,
            f"feature dimension {mean_b.shape[0]} does not match the {self.mean.shape[0]} seen before",
        )
        mean_b = mean_b.to(self.mean.device)
        m2_b = m2_b.to(self.m2.device)
        n_a = self.n
        total = n_a + n_b
        delta = mean_b - self.mean
        self.mean = self.mean + delta * (n_b / total)
        self.m2 = self.m2 + m2_b + torch.outer(delta, delta) * (n_a * n_b / total)
        self.n = total

    def update(self, features: ArrayLike, check_finite: bool = True) -> None:
        """Add a (b, d) batch of features (any real dtype; converted to float64).

        With `check_finite=False` (the GPU loop, which must not wait on each batch) a NaN or Inf is
        caught when the statistics are computed instead.
        """
        device = self.mean.device if self.mean is not None else None
        x = as_feature_matrix(features, device=device, check_finite=check_finite)
        if x.shape[0] == 0:
            return
        batch_mean = x.mean(dim=0)
        centred = x - batch_mean
        self._combine(x.shape[0], batch_mean, centred.T @ centred)

    def merge(self, other: GaussianAccumulator) -> None:
        """Fold in another accumulator's samples, as if its batches had been added here."""
        if other.mean is None or other.m2 is None:
            return
        self._combine(other.n, other.mean, other.m2)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Plain tensors (n, mean, m2) to gather across ranks; an empty accumulator has d = 0."""
        if self.mean is None or self.m2 is None:
            return {
                "n": torch.tensor(0, dtype=torch.int64),
                "mean": torch.zeros(0, dtype=torch.float64),
                "m2": torch.zeros(0, 0, dtype=torch.float64),
            }
        return {"n": torch.tensor(self.n, dtype=torch.int64), "mean": self.mean, "m2": self.m2}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Replace this accumulator's state with one from `state_dict`."""
        n = int(state["n"])
        mean = torch.as_tensor(state["mean"], dtype=torch.float64)
        m2 = torch.as_tensor(state["m2"], dtype=torch.float64).to(mean.device)
        check(n >= 0, f"state has negative sample count {n}", StatisticsError)
        if n == 0:
            self.n, self.mean, self.m2 = 0, None, None
            return
        d = mean.shape[0] if mean.dim() == 1 else -1
        check(d >= 1, f"state mean must be 1-D and non-empty, got shape {tuple(mean.shape)}", StatisticsError)
        check(m2.shape == (d, d), f"state m2 must be ({d}, {d}), got {tuple(m2.shape)}", StatisticsError)
        self.n, self.mean, self.m2 = n, mean.clone(), m2.clone()

    def compute(self) -> GaussianStats:
        """Mean and unbiased (N-1) covariance as float64 numpy arrays on the CPU."""
        if self.n < 2 or self.mean is None or self.m2 is None:
            raise InputError(f"need at least 2 images, got {self.n}")
        check(
            bool(torch.isfinite(self.mean).all() and torch.isfinite(self.m2).all()),
            "the features contain NaN or Inf (the network produced non-finite outputs)",
        )
        sigma = self.m2 / (self.n - 1)
        # Round-off in the scatter products can leave sigma a few ulps off symmetric; make it exact.
        sigma = (sigma + sigma.T) * 0.5
        return GaussianStats(mu=self.mean.cpu().numpy(), sigma=sigma.cpu().numpy(), n=self.n)


def gaussian_stats(features: ArrayLike) -> GaussianStats:
    """Statistics of a whole (n, d) feature matrix at once."""
    acc = GaussianAccumulator()
    acc.update(features)
    return acc.compute()
