"""CMMD (Jayasumana et al. 2024): the maximum mean discrepancy of CLIP embeddings with a Gaussian kernel.

CMMD = 1000 * (mean k(x, x') + mean k(y, y') - 2 mean k(x, y)), k(a, b) = exp(-|a - b|^2 / (2 sigma^2)),
sigma = 10, on L2-normalised embeddings: the biased estimate, diagonals included, as the reference code
computes it. The reference computes in float32 (JAX); this computes in float64, blockwise, so memory does
not grow with N^2 (the difference is measured in tests/test_cmmd.py).
"""

from __future__ import annotations

import torch

from ganeval.errors import check
from ganeval.metrics.gaussian import ArrayLike, as_feature_matrix, resolve_device

SIGMA = 10.0
SCALE = 1000.0
BLOCK = 4096


def _normalised(x: torch.Tensor) -> torch.Tensor:
    return x / torch.linalg.vector_norm(x, dim=1, keepdim=True)


def kernel_mean(x: torch.Tensor, y: torch.Tensor, sigma: float = SIGMA, block: int = BLOCK) -> float:
    """The mean of exp(-|x_i - y_j|^2 / (2 sigma^2)) over all pairs, block by block, in float64."""
    gamma = 1.0 / (2.0 * sigma**2)
    x_sq, y_sq = (x * x).sum(1), (y * y).sum(1)
    total = torch.zeros((), dtype=torch.float64, device=x.device)
    for i in range(0, len(x), block):
        for j in range(0, len(y), block):
            d2 = x_sq[i : i + block, None] + y_sq[None, j : j + block] - 2.0 * x[i : i + block] @ y[j : j + block].T
            total += torch.exp(-gamma * d2).sum()
    return float(total / (len(x) * len(y)))


def cmmd(
    real: ArrayLike,
    fake: ArrayLike,
    sigma: float = SIGMA,
    scale: float = SCALE,
    device: str | torch.device | None = None,
) -> float:
    """CMMD between real and generated CLIP embeddings (rows), normalised here to unit length."""
    dev = resolve_device(device)
    x = _normalised(as_feature_matrix(real, "real embeddings", dev))
    y = _normalised(as_feature_matrix(fake, "generated embeddings", dev))
    check(x.shape[1] == y.shape[1], f"embedding sizes differ: {x.shape[1]} and {y.shape[1]}")
    check(min(len(x), len(y)) >= 1, "CMMD needs at least one embedding on each side")
    return scale * (kernel_mean(x, x, sigma) + kernel_mean(y, y, sigma) - 2.0 * kernel_mean(x, y, sigma))
