"""The arithmetic of StyleGAN2-ADA / StyleGAN3 `metrics/` (fid50k_full, kid50k_full, pr50k3, is50k) and its
JSONL result lines.

Where its numbers part from ganeval's defaults:

- FID: features captured in float32, summed in float64 per batch of 64 (`FeatureStats`), and the covariance
  is the raw second moment minus the outer mean, divided by N (not N-1); FD from scipy's `sqrtm` of
  sigma_gen @ sigma_real, real part taken, no retry and no imaginary check.
- KID: 100 subsets of min(n_real, n_gen, 1000) drawn from numpy's global RNG (never seeded by
  calc_metrics.py, so its KID varies between runs), generated rows first; polynomial kernel in float32; the
  estimate is t / num_subsets / m with t summing (off-diagonal K_xx + K_yy) / (m - 1) - 2 sum(K_xy) / m.
- precision/recall: features (VGG16 for pr50k3) in float16, distances by `torch.cdist` in float16 in column
  chunks, radius the (k+1)-th smallest in float32 rounded back to float16, `<=`, and the fraction as a
  float32 mean. The float16 distances depend on the device's cdist; on the same device they are the same.
- IS: softmax of the bias-free logits in float32, 10 consecutive unshuffled splits, mean and std (ddof 0)
  computed by numpy in float32.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Mapping

import numpy as np
import scipy.linalg
import torch

from ganeval.errors import InputError, StatisticsError, check
from ganeval.metrics.gaussian import ArrayLike, resolve_device

BATCH_SIZE = 64
KID_SUBSETS = 100
KID_MAX_SUBSET_SIZE = 1000
PR_NHOOD = 3
PR_BATCH_SIZE = 10000
IS_SPLITS = 10


def _float32(x: ArrayLike, name: str) -> np.ndarray:
    arr = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    check(arr.ndim == 2, f"{name} must be a 2-D (n, d) matrix, got shape {arr.shape}")
    check(arr.dtype.kind in "fiu", f"{name} must be real numbers, got dtype {arr.dtype}")
    return np.asarray(arr, dtype=np.float32)


def stylegan_statistics(
    features: ArrayLike, batch_size: int = BATCH_SIZE, max_items: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """`FeatureStats.get_mean_cov`: float64 sums of the float32 features per batch, mean = sum / N and
    cov = sum(x x^T) / N - mean mean^T (the biased, divide-by-N covariance)."""
    x = _float32(features, "features")
    if max_items is not None:
        x = x[:max_items]
    check(len(x) >= 1, "statistics need at least one feature vector")
    raw_mean = np.zeros(x.shape[1], dtype=np.float64)
    raw_cov = np.zeros((x.shape[1], x.shape[1]), dtype=np.float64)
    for i in range(0, len(x), batch_size):
        x64 = x[i : i + batch_size].astype(np.float64)
        raw_mean += x64.sum(axis=0)
        raw_cov += x64.T @ x64
    mean = raw_mean / len(x)
    return mean, raw_cov / len(x) - np.outer(mean, mean)


def nvlabs_frechet_distance(
    mu_gen: np.ndarray, sigma_gen: np.ndarray, mu_real: np.ndarray, sigma_real: np.ndarray
) -> float:
    """FD as StyleGAN3's `compute_fid` and EDM2's `calculate_metrics_from_stats` form it: |mu_gen - mu_real|^2
    + tr(sigma_gen + sigma_real - 2 sqrtm(sigma_gen @ sigma_real)), the real part; argument order matters in
    the last bits. A non-finite result (where they would report nan) raises StatisticsError."""
    check(np.shape(mu_gen) == np.shape(mu_real), "mean vectors differ in shape", StatisticsError)
    check(np.shape(sigma_gen) == np.shape(sigma_real), "covariances differ in shape", StatisticsError)
    mean_term = np.square(mu_gen - mu_real).sum()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        root = scipy.linalg.sqrtm(np.dot(sigma_gen, sigma_real))
    value = float(np.real(mean_term + np.trace(sigma_gen + sigma_real - root * 2)))
    check(np.isfinite(value), "FD is not finite: the matrix square root failed", StatisticsError)
    return value


def stylegan_fid(real_features: ArrayLike, gen_features: ArrayLike, batch_size: int = BATCH_SIZE) -> float:
    """fid50k_full's arithmetic on two feature matrices."""
    mu_real, sigma_real = stylegan_statistics(real_features, batch_size)
    mu_gen, sigma_gen = stylegan_statistics(gen_features, batch_size)
    return nvlabs_frechet_distance(mu_gen, sigma_gen, mu_real, sigma_real)


def subset_kid(
    real: np.ndarray, gen: np.ndarray, num_subsets: int, max_subset_size: int, rng: np.random.RandomState
) -> float:
    """The MMD-GAN subset KID estimator that StyleGAN3 and clean-fid share, in the features' own dtype: per
    subset, `m` generated rows then `m` real rows drawn without replacement from `rng`."""
    check(num_subsets >= 1 and max_subset_size >= 2, "KID needs num_subsets >= 1 and max_subset_size >= 2")
    check(real.shape[1] == gen.shape[1], f"feature dimensions differ: {real.shape[1]} and {gen.shape[1]}")
    dim = real.shape[1]
    size = min(real.shape[0], gen.shape[0], max_subset_size)
    check(size >= 2, f"KID needs at least 2 rows on each side, got {real.shape[0]} and {gen.shape[0]}")

    def kernel(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        return (u @ v.T / dim + 1) ** 3

    total = 0  # becomes a numpy scalar of the features' dtype, as in the originals
    for _ in range(num_subsets):
        g = gen[rng.choice(gen.shape[0], size, replace=False)]
        r = real[rng.choice(real.shape[0], size, replace=False)]
        within = kernel(g, g) + kernel(r, r)
        off_diagonal = within.sum() - np.diag(within).sum()
        total += off_diagonal / (size - 1) - kernel(g, r).sum() * 2 / size
    return float(total / num_subsets / size)


def stylegan_kid(
    real_features: ArrayLike,
    gen_features: ArrayLike,
    num_subsets: int = KID_SUBSETS,
    max_subset_size: int = KID_MAX_SUBSET_SIZE,
    seed: int | np.random.RandomState = 0,
) -> float:
    """kid50k_full's estimate on float32 features; `seed` makes the draws those after `np.random.seed(seed)`."""
    rng = seed if isinstance(seed, np.random.RandomState) else np.random.RandomState(seed)
    real, gen = _float32(real_features, "real_features"), _float32(gen_features, "gen_features")
    return subset_kid(real, gen, num_subsets, max_subset_size, rng)


def _distances(rows: torch.Tensor, cols: torch.Tensor, col_batch_size: int, num_gpus: int) -> torch.Tensor:
    """`compute_distances`: the columns zero-padded to a multiple of the chunk count (a multiple of num_gpus),
    `torch.cdist` per chunk in the features' dtype, the padding cut off again."""
    num_cols = cols.shape[0]
    chunks = ((num_cols - 1) // col_batch_size // num_gpus + 1) * num_gpus
    padded = torch.nn.functional.pad(cols, [0, 0, 0, -num_cols % chunks])
    parts = [torch.cdist(rows[None], chunk[None])[0] for chunk in padded.chunk(chunks)]
    return torch.cat(parts, dim=1)[:, :num_cols]


def _pr_fraction(manifold: torch.Tensor, probes: torch.Tensor, k: int, rows: int, cols: int, num_gpus: int) -> float:
    kth = [
        _distances(batch, manifold, cols, num_gpus).to(torch.float32).kthvalue(k + 1).values.to(torch.float16)
        for batch in manifold.split(rows)
    ]
    radii = torch.cat(kth)
    inside = [(_distances(batch, manifold, cols, num_gpus) <= radii).any(dim=1) for batch in probes.split(rows)]
    return float(torch.cat(inside).to(torch.float32).mean())


def stylegan_precision_recall(
    real_features: ArrayLike,
    gen_features: ArrayLike,
    nhood_size: int = PR_NHOOD,
    row_batch_size: int = PR_BATCH_SIZE,
    col_batch_size: int = PR_BATCH_SIZE,
    num_gpus: int = 1,
    device: str | torch.device | None = None,
) -> tuple[float, float]:
    """pr50k3's (precision, recall) with its float16 distances on `device` (`num_gpus` only sets the column
    chunking that many GPUs would use; the work runs on one device)."""
    dev = resolve_device(device)
    real = torch.from_numpy(_float32(real_features, "real_features")).to(torch.float16).to(dev)
    gen = torch.from_numpy(_float32(gen_features, "gen_features")).to(torch.float16).to(dev)
    check(real.shape[1] == gen.shape[1], f"feature dimensions differ: {real.shape[1]} and {gen.shape[1]}")
    check(min(len(real), len(gen)) > nhood_size, f"precision/recall need more than {nhood_size} points per set")
    args = (nhood_size, row_batch_size, col_batch_size, num_gpus)
    return _pr_fraction(real, gen, *args), _pr_fraction(gen, real, *args)


def stylegan_inception_score(logits: ArrayLike, num_splits: int = IS_SPLITS) -> tuple[float, float]:
    """is50k's (mean, std) from bias-free logits: float32 softmax (what its detector returns with
    `no_output_bias=True`), split i holding rows [i N // splits, (i+1) N // splits)."""
    x = torch.as_tensor(_float32(logits, "logits"))
    probs = torch.softmax(x, dim=1).numpy()
    n = len(probs)
    check(n >= num_splits, f"Inception Score needs at least as many images as splits: {n} < {num_splits}")
    scores = [split_score(probs[i * n // num_splits : (i + 1) * n // num_splits]) for i in range(num_splits)]
    return float(np.mean(scores)), float(np.std(scores))


def split_score(p: np.ndarray) -> np.floating:
    """exp(mean KL(p(y|x) || p(y))) of one split as improved-gan computes it, which StyleGAN3 and ADM both
    copy: in the dtype of `p` (float32 in both)."""
    marginal = np.mean(p, axis=0, keepdims=True)
    per_image = np.sum(p * (np.log(p) - np.log(marginal)), axis=1)
    return np.exp(np.mean(per_image))


def format_time(seconds: float) -> str:
    """dnnlib's `format_time`: whole seconds rounded half to even, then 's', 'm ss', 'h mm ss' or 'd hh mm'."""
    s = int(np.rint(seconds))
    if s < 60:
        return f"{s}s"
    if s < 60 * 60:
        return f"{s // 60}m {s % 60:02}s"
    if s < 24 * 60 * 60:
        return f"{s // 3600}h {(s // 60) % 60:02}m {s % 60:02}s"
    return f"{s // 86400}d {(s // 3600) % 24:02}h {(s // 60) % 60:02}m"


def stylegan_jsonl_line(
    metric: str,
    results: Mapping[str, float],
    total_time: float,
    snapshot_pkl: str | None = None,
    num_gpus: int = 1,
    run_dir: str | None = None,
    timestamp: float | None = None,
) -> str:
    """One line of `metric-<metric>.jsonl` as `report_metric` writes it (no trailing newline): keys in its
    order, `snapshot_pkl` relative to `run_dir` when both are given, `timestamp` the current time unless given."""
    check(isinstance(metric, str) and metric != "", "metric must be a non-empty name")
    check(all(isinstance(k, str) for k in results), "result names must be strings", InputError)
    if run_dir is not None and snapshot_pkl is not None:
        snapshot_pkl = os.path.relpath(snapshot_pkl, run_dir)
    line = {
        "results": dict(results),
        "metric": metric,
        "total_time": total_time,
        "total_time_str": format_time(total_time),
        "num_gpus": num_gpus,
        "snapshot_pkl": snapshot_pkl,
        "timestamp": time.time() if timestamp is None else timestamp,
    }
    return json.dumps(line)
