"""Inception Score from classifier logits, with torch-fidelity 0.4.0's split protocol.

IS = exp(E_x KL(p(y|x) || p(y))), estimated on `splits` disjoint chunks; the spread over chunks is
reported as the std. Which images land in which chunk depends on a seeded shuffle, so the seed and
the chunk boundaries must match the reference for the numbers to agree.
"""

from __future__ import annotations

import numpy as np
import torch

from ganeval.errors import check
from ganeval.metrics.gaussian import ArrayLike, as_feature_matrix


def inception_score(logits: ArrayLike, splits: int = 10, seed: int = 2020, shuffle: bool = True) -> tuple[float, float]:
    """(mean, std with ddof 0) of the Inception Score over `splits` chunks of the (N, classes) logits.

    The shuffle is `np.random.RandomState(seed).permutation(N)` and chunk i holds rows
    [i*N//splits, (i+1)*N//splits), as in torch-fidelity; softmax is taken in float64.
    """
    check(isinstance(splits, int) and splits >= 1, f"splits must be a positive integer, got {splits!r}")
    x = as_feature_matrix(logits, name="logits")
    n = x.shape[0]
    check(n >= splits, f"Inception Score needs at least as many images as splits: got {n} < {splits}")
    if shuffle:
        order = np.random.RandomState(seed).permutation(n)
        x = x[torch.from_numpy(order).to(x.device)]
    p = torch.softmax(x, dim=1)
    log_p = torch.log_softmax(x, dim=1)
    scores = []
    for i in range(splits):
        lo, hi = i * n // splits, (i + 1) * n // splits
        p_chunk, log_p_chunk = p[lo:hi], log_p[lo:hi]
        log_marginal = p_chunk.mean(dim=0, keepdim=True).log()
        mean_kl = (p_chunk * (log_p_chunk - log_marginal)).sum(dim=1).mean()
        scores.append(float(mean_kl.exp()))
    return float(np.mean(scores)), float(np.std(scores))
