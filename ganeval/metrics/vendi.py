"""Vendi score (Friedman & Dieng 2023): the effective number of distinct samples in a set.

With a similarity kernel K (n x n, K_ii = 1), the eigenvalues of K / n sum to 1; the exponential of their
Shannon entropy (order q = 1) is 1 when all samples are identical and n when they are mutually orthogonal.
The kernel here is the linear one on L2-normalised rows (cosine similarity), as in dgm-eval and the
`vendi-score` package's `score_dual`: K / n = X X^T / n has the nonzero eigenvalues of X^T X / n, so the
smaller of the two matrices is decomposed (d x d when there are more rows than dimensions).
"""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np
import torch

from ganeval.errors import check
from ganeval.metrics.gaussian import ArrayLike, as_feature_matrix, resolve_device


def unit_rows(x: torch.Tensor) -> torch.Tensor:
    """Rows scaled to unit length; all-zero rows stay zero (sklearn's `normalize`, which the references use)."""
    norms = torch.linalg.vector_norm(x, dim=1, keepdim=True)
    return x / torch.where(norms == 0, torch.ones_like(norms), norms)


def entropy_exp(eigenvalues: torch.Tensor, size: int) -> float:
    """exp(-sum p log p) over the eigenvalues above round-off, `size` x eps x the largest (below it they are
    zeros, which the n x n and d x d forms give as different tiny values)."""
    p = eigenvalues[eigenvalues > size * torch.finfo(torch.float64).eps * float(eigenvalues.abs().max())]
    return float(torch.exp(-(p * torch.log(p)).sum()))


def vendi(rows: ArrayLike, *, device: str | torch.device | None = None) -> float:
    """Vendi score (q = 1, cosine kernel) of the rows: between 1 (all alike) and min(n, d)."""
    x = as_feature_matrix(rows, "features", device=resolve_device(device))
    n, d = x.shape
    check(n >= 1 and d >= 1, f"the Vendi score needs at least one row and one dimension, got shape {(n, d)}")
    x = unit_rows(x)
    gram = x.T @ x if n > d else x @ x.T
    return entropy_exp(torch.linalg.eigvalsh(gram / n), max(n, d))


def vendi_per_class(
    rows: ArrayLike, classes: ArrayLike | list, *, device: str | torch.device | None = None
) -> dict[Hashable, float]:
    """The Vendi score of each class's rows, by class label in sorted order (dgm-eval's per-class scores)."""
    labels = np.asarray(classes.cpu() if isinstance(classes, torch.Tensor) else classes)
    x = as_feature_matrix(rows, "features")
    check(labels.ndim == 1 and len(labels) == len(x), f"need one class per row: {len(labels)} classes, {len(x)} rows")
    return {label.item(): vendi(x[torch.from_numpy(labels == label)], device=device) for label in np.unique(labels)}
