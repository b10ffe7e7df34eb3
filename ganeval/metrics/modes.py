"""Mode metrics of samples from a known Gaussian mixture: the 2-D protocol of the Unrolled GAN, VEEGAN and
PacGAN papers, which makes mode collapse countable without a feature network.

Each sample is assigned to its nearest mode. It is *high quality* when it lies within `threshold` standard
deviations of that mode (3, as in VEEGAN and PacGAN). A mode is *covered* when at least `min_count`
high-quality samples are assigned to it (PacGAN's rule, 20 at its 2,500 samples; VEEGAN counts a mode with
any sample). The *reverse KL* is KL(p || uniform) of the histogram of nearest modes over all samples:
0 when every mode gets the same share, log K when all samples sit at one mode.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ganeval.errors import check

HIGH_QUALITY_STDS = 3.0
MIN_COUNT = 20
SAMPLES = 2500  # the papers' sample count per evaluation

KEY_MODES_COVERED = "modes_covered"
KEY_HIGH_QUALITY = "high_quality"
KEY_REVERSE_KL = "reverse_kl"


@dataclass(frozen=True)
class ModeScores:
    modes_covered: int
    high_quality: float  # share of samples, in [0, 1]
    reverse_kl: float
    counts: np.ndarray  # high-quality samples per mode

    def as_dict(self) -> dict[str, float]:
        return {KEY_MODES_COVERED: self.modes_covered, KEY_HIGH_QUALITY: self.high_quality,
                KEY_REVERSE_KL: self.reverse_kl}  # fmt: skip


def nearest_modes(samples: np.ndarray, means: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each sample (N x D) the index of its nearest mode among `means` (K x D) and the distance to it."""
    distances = np.linalg.norm(samples[:, None, :] - means[None, :, :], axis=2)
    index = distances.argmin(axis=1)
    return index, distances[np.arange(len(samples)), index]


def mode_scores(
    samples: np.ndarray,
    means: np.ndarray,
    std: float,
    threshold: float = HIGH_QUALITY_STDS,
    min_count: int = MIN_COUNT,
) -> ModeScores:
    """Modes covered, the share of high-quality samples and the reverse KL of samples from a mixture of
    isotropic Gaussians with centres `means` and standard deviation `std`."""
    samples = np.asarray(samples, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    check(samples.ndim == 2 and len(samples) >= 1, f"samples must be an N x D array, got shape {samples.shape}")
    check(means.ndim == 2 and means.shape[1] == samples.shape[1], "means must be K x D with the samples' D")
    check(bool(np.isfinite(samples).all()), "samples contain NaN or Inf")
    check(std > 0 and threshold > 0 and min_count >= 1, "std and threshold must be positive, min_count >= 1")
    index, distance = nearest_modes(samples, means)
    good = distance <= threshold * std
    counts = np.bincount(index[good], minlength=len(means))
    share = np.bincount(index, minlength=len(means)) / len(samples)
    nonzero = share > 0
    reverse_kl = float(np.sum(share[nonzero] * np.log(share[nonzero] * len(means))))
    return ModeScores(int((counts >= min_count).sum()), float(good.mean()), max(reverse_kl, 0.0), counts)
