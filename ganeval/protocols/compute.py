"""Each protocol's metric arithmetic on what the sides of an evaluation hold (statistics, rows, logits).

Every function takes (real, fake, settings) for one metric's view and returns the result keys, the keys
ganeval's own arithmetic would give (`ganeval.results`), so tables and records stay comparable.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ganeval.errors import check
from ganeval.protocols.adm import adm_inception_score, adm_precision_recall, ttur_frechet_distance
from ganeval.protocols.cleanfid import cleanfid_kid
from ganeval.protocols.stylegan import (
    nvlabs_frechet_distance,
    stylegan_inception_score,
    stylegan_kid,
    stylegan_precision_recall,
)


def _key(settings: Any, metric: str) -> str:
    return getattr(settings, "_metric", None) or metric


def adm_fd(real: Any, fake: Any, settings: Any, metric: str = "fid") -> dict[str, float]:
    """ADM's FID and sFID: the TTUR Frechet distance of (sample, reference) statistics (np.cov, N-1)."""
    return {metric: ttur_frechet_distance(fake.stats.mu, fake.stats.sigma, real.stats.mu, real.stats.sigma)}


def adm_is(real: Any, fake: Any, settings: Any, metric: str = "is") -> dict[str, float]:
    """ADM's Inception Score: chunks of 5,000 in order, mean only (no spread is reported)."""
    return {"is_mean": adm_inception_score(_numpy(fake.logits))}


def adm_pr(real: Any, fake: Any, settings: Any, metric: str = "pr") -> dict[str, float]:
    precision, recall = adm_precision_recall(real.features, fake.features)
    return {"precision": precision, "recall": recall}


def nvlabs_fd(real: Any, fake: Any, settings: Any, metric: str = "fid") -> dict[str, float]:
    """EDM2's FID and FD_DINOv2: float64 statistics with N-1, scipy sqrtm of (generated, reference)."""
    return {metric: nvlabs_frechet_distance(fake.stats.mu, fake.stats.sigma, real.stats.mu, real.stats.sigma)}


def _biased(stats: Any) -> np.ndarray:
    """StyleGAN's covariance (divided by N) from an N-1 covariance."""
    check(stats.n is not None and stats.n >= 2, "StyleGAN's FID needs the image count of both statistics")
    return stats.sigma * (stats.n - 1) / stats.n


def stylegan_fd(real: Any, fake: Any, settings: Any, metric: str = "fid") -> dict[str, float]:
    return {metric: nvlabs_frechet_distance(fake.stats.mu, _biased(fake.stats), real.stats.mu, _biased(real.stats))}


def stylegan_kd(real: Any, fake: Any, settings: Any, metric: str = "kid") -> dict[str, float]:
    """kid50k_full's estimate; StyleGAN draws its subsets unseeded, here seeded by --seed (no spread reported)."""
    value = stylegan_kid(real.features, fake.features, settings.kid_subsets, settings.kid_subset_size, settings.seed)
    return {"kid_mean": value}


def stylegan_pr(real: Any, fake: Any, settings: Any, metric: str = "pr") -> dict[str, float]:
    precision, recall = stylegan_precision_recall(real.features, fake.features, nhood_size=settings.pr_k)
    return {"precision": precision, "recall": recall}


def stylegan_is(real: Any, fake: Any, settings: Any, metric: str = "is") -> dict[str, float]:
    mean, std = stylegan_inception_score(_numpy(fake.logits), settings.is_splits)
    return {"is_mean": mean, "is_std": std}


def cleanfid_fd(real: Any, fake: Any, settings: Any, metric: str = "fid") -> dict[str, float]:
    """clean-fid's FID (and CLIP-FID): the TTUR distance of (first folder, second folder) statistics."""
    return {metric: ttur_frechet_distance(real.stats.mu, real.stats.sigma, fake.stats.mu, fake.stats.sigma)}


def cleanfid_kd(real: Any, fake: Any, settings: Any, metric: str = "kid") -> dict[str, float]:
    """clean-fid's KID (its kernel_distance; unseeded there, seeded by --seed here; no spread reported)."""
    value = cleanfid_kid(_numpy(real.features), _numpy(fake.features), settings.kid_subsets,
                         settings.kid_subset_size, settings.seed)  # fmt: skip
    return {"kid_mean": value}


def _numpy(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)
