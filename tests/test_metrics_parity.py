"""FID, IS and KID on feature matrices agree with torch-fidelity 0.4.0 and pytorch-fid 0.3.0."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from pytorch_fid.fid_score import calculate_frechet_distance
from torch_fidelity.metric_fid import KEY_METRIC_FID, fid_features_to_statistics, fid_statistics_to_metric
from torch_fidelity.metric_isc import KEY_METRIC_ISC_MEAN, KEY_METRIC_ISC_STD, isc_features_to_metric
from torch_fidelity.metric_kid import KEY_METRIC_KID_MEAN, KEY_METRIC_KID_STD, kid_features_to_metric

import ganeval.metrics.fid as fid_module
from ganeval.errors import InputError, StatisticsError
from ganeval.metrics import (
    GaussianStats,
    RankDeficientWarning,
    fid_from_features,
    frechet_distance,
    gaussian_stats,
    inception_score,
    kernel_inception_distance,
)

PARITY = 1e-8


def rel(actual: float, expected: float) -> float:
    return abs(actual - expected) / abs(expected)


def pool3_like(n: int, d: int, seed: int, shift: float) -> np.ndarray:
    """Non-negative correlated features in the 0-3ish range of Inception pool3 activations."""
    rng = np.random.default_rng(seed)
    mixing = rng.standard_normal((64, d)) / 8
    z = rng.standard_normal((n, 64)) @ mixing + 0.5 * rng.standard_normal((n, d)) + shift
    return np.maximum(z, 0.0)


def tf_fid(a: GaussianStats, b: GaussianStats) -> float:
    out = fid_statistics_to_metric({"mu": a.mu, "sigma": a.sigma}, {"mu": b.mu, "sigma": b.sigma}, verbose=False)
    return out[KEY_METRIC_FID]


def pf_fid(a: GaussianStats, b: GaussianStats) -> float:
    # pytorch-fid 0.3.0 calls scipy.linalg.sqrtm(..., disp=False); scipy 1.16/1.17 still accept it
    # with a DeprecationWarning, which is silenced here. On scipy >= 1.18 that call would fail.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(calculate_frechet_distance(a.mu, a.sigma, b.mu, b.sigma))


# ---------------------------------------------------------------------------------------------- FID


@pytest.fixture(scope="module")
def stats_2048() -> tuple[GaussianStats, GaussianStats]:
    return gaussian_stats(pool3_like(2500, 2048, 1, 0.0)), gaussian_stats(pool3_like(2500, 2048, 2, 0.2))


@pytest.fixture(scope="module")
def fids_2048(stats_2048) -> dict[str, float]:
    """The expensive d=2048 decompositions, done once: ours by both methods and both references."""
    a, b = stats_2048
    return {
        "eig": frechet_distance(a, b, method="eig"),
        "sqrtm": frechet_distance(a, b, method="sqrtm"),
        "torch-fidelity": tf_fid(a, b),
        "pytorch-fid": pf_fid(a, b),
    }


@pytest.fixture(scope="module")
def features_64() -> tuple[np.ndarray, np.ndarray]:
    return pool3_like(400, 64, 3, 0.0), pool3_like(400, 64, 4, 0.3)


@pytest.mark.parametrize("method", ["eig", "sqrtm"])
@pytest.mark.parametrize("reference", ["torch-fidelity", "pytorch-fid"])
def test_fid_parity_d2048(fids_2048, method, reference):
    assert fids_2048[reference] > 1.0
    assert rel(fids_2048[method], fids_2048[reference]) < PARITY


@pytest.mark.parametrize("method", ["eig", "sqrtm"])
def test_fid_parity_d64(features_64, method):
    a, b = (gaussian_stats(x) for x in features_64)
    ours = frechet_distance(a, b, method=method)
    assert tf_fid(a, b) > 0.1
    assert rel(ours, tf_fid(a, b)) < PARITY
    assert rel(ours, pf_fid(a, b)) < PARITY
    assert rel(fid_from_features(*features_64, method=method), tf_fid(a, b)) < PARITY


def test_statistics_match_torch_fidelity(features_64):
    ours = gaussian_stats(features_64[0])
    theirs = fid_features_to_statistics(torch.from_numpy(features_64[0]))
    assert np.max(np.abs(ours.mu - theirs["mu"])) < 1e-12 * np.max(np.abs(theirs["mu"]))
    assert np.max(np.abs(ours.sigma - theirs["sigma"])) < 1e-12 * np.max(np.abs(theirs["sigma"]))


@pytest.mark.parametrize("method", ["eig", "sqrtm"])
def test_identical_inputs_give_zero(features_64, method):
    a = gaussian_stats(features_64[0])
    fid = frechet_distance(a, a, method=method)
    assert 0.0 <= fid < 1e-6


@pytest.mark.parametrize("method", ["eig", "sqrtm"])
def test_rank_deficient_warns(features_64, method):
    few = gaussian_stats(features_64[0][:50])
    with pytest.warns(RankDeficientWarning, match="n=50 samples in d=64"):
        fid = frechet_distance(few, gaussian_stats(features_64[1]), method=method)
    assert fid > 0.0


def test_full_rank_does_not_warn(features_64):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RankDeficientWarning)
        fid_from_features(*features_64)


def test_dimension_mismatch(features_64):
    a = gaussian_stats(features_64[0])
    b = gaussian_stats(features_64[1][:, :32])
    with pytest.raises(StatisticsError, match="dimension 64 .* dimension 32"):
        frechet_distance(a, b)


def test_unknown_method(features_64):
    a = gaussian_stats(features_64[0])
    with pytest.raises(InputError, match="unknown FID method 'svd'"):
        frechet_distance(a, a, method="svd")


def test_round_off_negative_is_clamped_and_large_negative_raises(features_64, monkeypatch):
    a, b = (gaussian_stats(x) for x in features_64)
    positive = float((a.mu - b.mu) @ (a.mu - b.mu) + np.trace(a.sigma) + np.trace(b.sigma))
    monkeypatch.setattr(fid_module, "trace_sqrt_product_eig", lambda *_: positive / 2 * (1 + 1e-9))
    assert frechet_distance(a, b) == 0.0
    monkeypatch.setattr(fid_module, "trace_sqrt_product_eig", lambda *_: positive)
    with pytest.raises(StatisticsError, match="negative"):
        frechet_distance(a, b)
    monkeypatch.setattr(fid_module, "trace_sqrt_product_eig", lambda *_: float("nan"))
    with pytest.raises(StatisticsError, match="not finite"):
        frechet_distance(a, b)


def test_indefinite_covariance_is_refused():
    """Covariances that are not PSD cannot come from data: both methods refuse them."""
    c = GaussianStats(np.zeros(2), np.diag([-1.0, 1.0]), 10)
    eye = GaussianStats(np.zeros(2), np.eye(2), 10)
    with pytest.raises(StatisticsError, match="first covariance is not positive semi-definite"):
        frechet_distance(c, eye, method="eig")
    with pytest.raises(StatisticsError, match="second covariance is not positive semi-definite"):
        frechet_distance(eye, c, method="eig")
    with pytest.raises(StatisticsError, match="imaginary diagonal"):
        frechet_distance(c, eye, method="sqrtm")


def test_identical_rank_deficient_sets_give_exactly_zero():
    """n << d: a general eigensolver scatters the zero eigenvalues and the anchors go negative; eig does not."""
    x = np.abs(np.random.default_rng(3).normal(size=(3, 2048)))
    with pytest.warns(RankDeficientWarning):
        assert frechet_distance(gaussian_stats(x), gaussian_stats(x)) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("swap", [False, True])
def test_a_collapsed_set_has_the_closed_form_fid(swap):
    """A generator that collapsed to one image has Sigma = 0: FID = |mu_a - mu_b|^2 + tr(Sigma_other) exactly
    (eig), and the sqrtm method gives what pytorch-fid gives (its eps offset for a singular product)."""
    rows = np.abs(np.random.default_rng(5).normal(size=(8, 256)))
    constant = np.repeat(rows[:1] + 0.5, 6, axis=0)
    a, b = gaussian_stats(constant), gaussian_stats(rows)
    expected = float((a.mu - b.mu) @ (a.mu - b.mu) + np.trace(b.sigma))
    pair = (b, a) if swap else (a, b)
    with pytest.warns(RankDeficientWarning):
        assert frechet_distance(*pair) == pytest.approx(expected, rel=1e-9)
    with pytest.warns(RankDeficientWarning):
        ours = frechet_distance(*pair, method="sqrtm")
    theirs = calculate_frechet_distance(pair[0].mu, pair[0].sigma, pair[1].mu, pair[1].sigma)
    assert ours == pytest.approx(theirs, rel=1e-9)


def test_sqrtm_retries_with_offset_when_root_is_not_finite(features_64, monkeypatch):
    a, b = (gaussian_stats(x) for x in features_64)
    real_sqrtm = fid_module.scipy.linalg.sqrtm
    seen = []

    def flaky_sqrtm(product):
        seen.append(product)
        return np.full_like(product, np.nan) if len(seen) == 1 else real_sqrtm(product)

    monkeypatch.setattr(fid_module.scipy.linalg, "sqrtm", flaky_sqrtm)
    fid = frechet_distance(a, b, method="sqrtm")
    offset = np.eye(64) * 1e-6
    assert len(seen) == 2
    assert np.allclose(seen[1], (a.sigma + offset) @ (b.sigma + offset), rtol=0, atol=1e-15)
    assert not np.array_equal(seen[0], seen[1])
    assert rel(fid, tf_fid(a, b)) < 1e-4


# ----------------------------------------------------------------------------------------------- IS


@pytest.fixture(scope="module")
def logits() -> torch.Tensor:
    """float32 logits over 1008 classes, each image confident in one of 40 classes, so IS is ~tens."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((500, 1008))
    x[np.arange(500), rng.integers(0, 40, 500)] += 8.0
    return torch.from_numpy(x.astype(np.float32))


@pytest.mark.parametrize(("splits", "shuffle", "seed"), [(10, True, 2020), (7, True, 1), (10, False, 2020)])
def test_inception_score_parity(logits, splits, shuffle, seed):
    theirs = isc_features_to_metric(logits, splits=splits, shuffle=shuffle, rng_seed=seed)
    mean, std = inception_score(logits, splits=splits, seed=seed, shuffle=shuffle)
    assert theirs[KEY_METRIC_ISC_MEAN] > 5.0
    assert rel(mean, theirs[KEY_METRIC_ISC_MEAN]) < PARITY
    assert rel(std, theirs[KEY_METRIC_ISC_STD]) < PARITY


def test_inception_score_accepts_numpy(logits):
    assert inception_score(logits.numpy()) == inception_score(logits)


def test_inception_score_seed_changes_std(logits):
    assert inception_score(logits, seed=2020)[1] != inception_score(logits, seed=7)[1]


def test_inception_score_validation(logits):
    with pytest.raises(InputError, match="at least as many images as splits: got 5 < 10"):
        inception_score(logits[:5])
    with pytest.raises(InputError, match="2-D"):
        inception_score(logits[0])
    bad = logits[:20].clone()
    bad[3, 3] = float("inf")
    with pytest.raises(InputError, match="NaN or Inf"):
        inception_score(bad, splits=2)


# ---------------------------------------------------------------------------------------------- KID


@pytest.fixture(scope="module")
def kid_features() -> tuple[torch.Tensor, torch.Tensor]:
    # float64 so torch-fidelity's numpy kernels run at the same precision as ours.
    return (
        torch.from_numpy(pool3_like(300, 2048, 6, 0.0)),
        torch.from_numpy(pool3_like(260, 2048, 7, 0.1)),
    )


def tf_kid(a: torch.Tensor, b: torch.Tensor, **kwargs) -> tuple[float, float]:
    # torch-fidelity's kernel options are named kid_kernel_poly_*; unknown names are silently ignored.
    out = kid_features_to_metric(a, b, verbose=False, **kwargs)
    return out[KEY_METRIC_KID_MEAN], out[KEY_METRIC_KID_STD]


@pytest.mark.parametrize(("degree", "gamma", "coef0", "seed"), [(3, None, 1.0, 2020), (2, 0.002, 0.5, 11)])
def test_kid_parity(kid_features, degree, gamma, coef0, seed):
    theirs = tf_kid(
        *kid_features,
        kid_subsets=20,
        kid_subset_size=100,
        kid_kernel_poly_degree=degree,
        kid_kernel_poly_gamma=gamma,
        kid_kernel_poly_coef0=coef0,
        rng_seed=seed,
    )
    ours = kernel_inception_distance(
        *kid_features, subsets=20, subset_size=100, degree=degree, gamma=gamma, coef0=coef0, seed=seed
    )
    assert theirs[0] > 1e-3 and theirs[1] > 0
    assert rel(ours[0], theirs[0]) < PARITY
    assert rel(ours[1], theirs[1]) < PARITY


def test_kid_subset_size_is_capped(kid_features):
    with pytest.warns(UserWarning, match="capped at 260"):
        capped = kernel_inception_distance(*kid_features, subsets=5, subset_size=1000)
    theirs = tf_kid(*kid_features, kid_subsets=5, kid_subset_size=260)
    assert rel(capped[0], theirs[0]) < PARITY
    assert rel(capped[1], theirs[1]) < PARITY


def test_kid_seed_reproducible(kid_features):
    first = kernel_inception_distance(*kid_features, subsets=5, subset_size=50, seed=3)
    again = kernel_inception_distance(*kid_features, subsets=5, subset_size=50, seed=3)
    other = kernel_inception_distance(*kid_features, subsets=5, subset_size=50, seed=4)
    assert first == again
    assert first != other


def test_kid_validation(kid_features):
    a, b = kid_features
    with pytest.raises(InputError, match="at least 2 images on each side, got 1 and 260"):
        kernel_inception_distance(a[:1], b, subsets=2, subset_size=10)
    with pytest.raises(InputError, match="feature dimensions differ: 2048 .* 100"):
        kernel_inception_distance(a, b[:, :100], subsets=2, subset_size=10)
