"""Metrics on feature matrices: FID, Inception Score and KID, matching the reference implementations."""

from ganeval.metrics.fid import RankDeficientWarning, fid_from_features, frechet_distance
from ganeval.metrics.gaussian import GaussianAccumulator, GaussianStats, gaussian_stats
from ganeval.metrics.inception_score import inception_score
from ganeval.metrics.kid import kernel_inception_distance

__all__ = [
    "GaussianAccumulator",
    "GaussianStats",
    "RankDeficientWarning",
    "fid_from_features",
    "frechet_distance",
    "gaussian_stats",
    "inception_score",
    "kernel_inception_distance",
]
