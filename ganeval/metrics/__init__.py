"""Metrics on feature matrices: FID, Inception Score, KID, the k-NN metrics, CMMD and the memorization and
sample-size metrics, matching the reference implementations, and the mode metrics of samples from a mixture.

Names are imported on first use, so that reading statistics (`ganeval.metrics.stats`) never imports torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "GaussianAccumulator": "ganeval.metrics.gaussian",
    "GaussianStats": "ganeval.metrics.stats",
    "RankDeficientWarning": "ganeval.metrics.fid",
    "fid_from_features": "ganeval.metrics.fid",
    "frechet_distance": "ganeval.metrics.fid",
    "gaussian_stats": "ganeval.metrics.gaussian",
    "inception_score": "ganeval.metrics.isc",
    "kernel_inception_distance": "ganeval.metrics.kid",
    "ModeScores": "ganeval.metrics.modes",
    "mode_scores": "ganeval.metrics.modes",
    "cmmd": "ganeval.metrics.cmmd",
    "nearest_rows": "ganeval.metrics.neighbours",
    "own_nearest_distances": "ganeval.metrics.neighbours",
    "authpct": "ganeval.metrics.memorization",
    "ct": "ganeval.metrics.memorization",
    "ct_cells": "ganeval.metrics.memorization",
    "find_copies": "ganeval.metrics.memorization",
    "fd_inf": "ganeval.metrics.fd_inf",
    "vendi": "ganeval.metrics.vendi",
    "vendi_per_class": "ganeval.metrics.vendi",
    "sw": "ganeval.metrics.sliced_wasserstein",
    "mifid": "ganeval.metrics.mifid",
    "memorization_distance": "ganeval.metrics.mifid",
    "rarity": "ganeval.metrics.rarity",
    "bootstrap_indices": "ganeval.metrics.bootstrap",
    "interval": "ganeval.metrics.bootstrap",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
