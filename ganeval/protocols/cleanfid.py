"""clean-fid's KID and FID arithmetic (`cleanfid.fid.kernel_distance`, `fid_from_feats`, `frechet_distance`).

KID is the MMD-GAN subset estimator StyleGAN3 also uses (`kernel_distance(feats1, feats2)` draws from feats2
first, like StyleGAN3 draws generated rows first), computed in the features' own dtype (float32 from its
extractor), 100 subsets of up to 1,000, from numpy's global RNG, which clean-fid never seeds.

Its FID differs from ganeval's default (`ganeval.metrics.fid.frechet_distance`, method "eig") in that:

- statistics are `np.mean` of the float32 features (a float32 mean, float32 round-off in the mean term) and
  `np.cov` (N-1, float64), not streamed float64 sums;
- the trace term is scipy's Schur `sqrtm` of the non-symmetric product, retried with 1e-6 on both diagonals
  when not finite, and an imaginary diagonal above 1e-3 raises; ganeval takes float64 eigenvalues of a
  symmetric similar matrix, exact for n <= d;
- the result is returned as computed: slightly negative values are not clamped, identical statistics are
  not short-circuited to 0, and no warning is given for n <= d.

Feature extraction differs too (its "clean" PIL bicubic resize, and its own reference statistics), which is
the feature space's business, not this module's.
"""

from __future__ import annotations

import numpy as np
import torch

from ganeval.errors import check
from ganeval.metrics.gaussian import ArrayLike
from ganeval.protocols.adm import numpy_statistics, ttur_frechet_distance
from ganeval.protocols.stylegan import KID_MAX_SUBSET_SIZE, KID_SUBSETS, subset_kid


def _features(x: ArrayLike, name: str) -> np.ndarray:
    arr = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    check(arr.ndim == 2, f"{name} must be a 2-D (n, d) matrix, got shape {arr.shape}")
    check(arr.dtype.kind == "f", f"{name} must be floating point (clean-fid computes in their dtype), got {arr.dtype}")
    return arr


def cleanfid_kid(
    feats1: ArrayLike,
    feats2: ArrayLike,
    num_subsets: int = KID_SUBSETS,
    max_subset_size: int = KID_MAX_SUBSET_SIZE,
    seed: int | np.random.RandomState = 0,
) -> float:
    """`kernel_distance(feats1, feats2)` (feats1: the reference or first folder); `seed` makes the draws those
    after `np.random.seed(seed)`."""
    rng = seed if isinstance(seed, np.random.RandomState) else np.random.RandomState(seed)
    return subset_kid(_features(feats1, "feats1"), _features(feats2, "feats2"), num_subsets, max_subset_size, rng)


def cleanfid_fid(feats1: ArrayLike, feats2: ArrayLike) -> float:
    """`fid_from_feats(feats1, feats2)`: numpy statistics of each, then the TTUR Frechet distance."""
    mu1, sigma1 = numpy_statistics(_features(feats1, "feats1"))
    mu2, sigma2 = numpy_statistics(_features(feats2, "feats2"))
    return ttur_frechet_distance(mu1, sigma1, mu2, sigma2)
