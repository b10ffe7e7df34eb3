"""Streaming mean/covariance: agrees with numpy, independent of batching, mergeable across workers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganeval.errors import InputError, StatisticsError
from ganeval.metrics import GaussianAccumulator, GaussianStats, gaussian_stats

N, D = 500, 64
TOL = 1e-12


def rel_err(actual: np.ndarray, expected: np.ndarray) -> float:
    """Largest absolute deviation relative to the largest reference entry."""
    return float(np.max(np.abs(actual - expected)) / np.max(np.abs(expected)))


@pytest.fixture(scope="module")
def features() -> np.ndarray:
    # Non-negative, correlated, with a mean far from zero so naive sum-of-squares would lose digits.
    rng = np.random.default_rng(0)
    mixing = rng.standard_normal((16, D)) / 4
    z = rng.standard_normal((N, 16)) @ mixing + 0.5 * rng.standard_normal((N, D))
    return np.abs(z) + 3.0


def accumulate(x: np.ndarray | torch.Tensor, batch_size: int) -> GaussianAccumulator:
    acc = GaussianAccumulator()
    for start in range(0, len(x), batch_size):
        acc.update(x[start : start + batch_size])
    return acc


def test_one_shot_matches_numpy(features):
    stats = gaussian_stats(features)
    assert stats.n == N and stats.dim == D
    assert stats.mu.dtype == np.float64 and stats.sigma.dtype == np.float64
    assert rel_err(stats.mu, np.mean(features, axis=0)) < TOL
    assert rel_err(stats.sigma, np.cov(features, rowvar=False)) < TOL
    assert np.array_equal(stats.sigma, stats.sigma.T)


@pytest.mark.parametrize("batch_size", [1, 7, 64])
def test_batch_size_does_not_matter(features, batch_size):
    one_shot = gaussian_stats(features)
    stats = accumulate(features, batch_size).compute()
    assert stats.n == N
    assert rel_err(stats.mu, one_shot.mu) < TOL
    assert rel_err(stats.sigma, one_shot.sigma) < TOL
    assert rel_err(stats.sigma, np.cov(features, rowvar=False)) < TOL


def test_float32_tensor_batches_are_widened(features):
    x32 = torch.from_numpy(features.astype(np.float32))
    stats = accumulate(x32, 100).compute()
    expected = np.cov(x32.numpy().astype(np.float64), rowvar=False)
    assert rel_err(stats.sigma, expected) < TOL


def test_merge_equals_concatenation(features):
    left, right = accumulate(features[:123], 50), accumulate(features[123:], 64)
    left.merge(right)
    merged, whole = left.compute(), gaussian_stats(features)
    assert merged.n == N
    assert rel_err(merged.mu, whole.mu) < TOL
    assert rel_err(merged.sigma, whole.sigma) < TOL


def test_merge_with_empty_is_identity(features):
    acc = GaussianAccumulator()
    acc.merge(accumulate(features, 100))
    acc.merge(GaussianAccumulator())
    assert rel_err(acc.compute().sigma, gaussian_stats(features).sigma) < TOL


def test_state_dict_combines_ranks(features):
    # Stand-in for a distributed gather: three ranks' states rebuilt and merged on one process.
    states = [accumulate(part, 32).state_dict() for part in np.array_split(features, 3)]
    total = GaussianAccumulator()
    for state in states:
        rank = GaussianAccumulator()
        rank.load_state_dict(state)
        total.merge(rank)
    assert int(states[0]["n"]) + int(states[1]["n"]) + int(states[2]["n"]) == N
    assert rel_err(total.compute().sigma, gaussian_stats(features).sigma) < TOL
    empty = GaussianAccumulator()
    empty.load_state_dict(GaussianAccumulator().state_dict())
    assert empty.n == 0 and empty.dim is None


@pytest.mark.parametrize("n", [0, 1])
def test_fewer_than_two_samples(features, n):
    acc = GaussianAccumulator()
    acc.update(features[:n])
    with pytest.raises(InputError, match=f"need at least 2 images, got {n}"):
        acc.compute()


def test_update_rejects_bad_batches(features):
    acc = accumulate(features, 100)
    with pytest.raises(InputError, match="does not match"):
        acc.update(features[:, :10])
    bad = features[:5].copy()
    bad[2, 3] = np.nan
    with pytest.raises(InputError, match="NaN"):
        acc.update(bad)
    with pytest.raises(InputError, match="2-D"):
        acc.update(features[0])
    assert acc.n == N


def test_gaussian_stats_validation():
    mu, sigma = np.zeros(3), np.eye(3)
    assert GaussianStats(mu, sigma, 10).dim == 3
    with pytest.raises(StatisticsError, match="mu must be 1-D"):
        GaussianStats(np.zeros((3, 1)), sigma, 10)
    with pytest.raises(StatisticsError, match=r"sigma must have shape \(3, 3\)"):
        GaussianStats(mu, np.eye(4), 10)
    with pytest.raises(StatisticsError, match="mu contains NaN"):
        GaussianStats(np.array([0.0, np.nan, 0.0]), sigma, 10)
    bad_sigma = np.eye(3)
    bad_sigma[0, 1] = np.inf
    with pytest.raises(StatisticsError, match="sigma contains NaN or Inf"):
        GaussianStats(mu, bad_sigma, 10)
    with pytest.raises(StatisticsError, match="at least 2 samples, got n=1"):
        GaussianStats(mu, sigma, 1)
