"""Nearest rows of one feature set in another, with their indices: the geometry of the memorization metrics.

AuthPct, C_T and the copies view ask, for each generated row, which TRAIN rows are nearest and how far
they are, and, for each TRAIN row, how far its own nearest neighbour is. `ganeval.metrics.knn` answers
the same kind of question for precision/recall, and its approach is reused here: distances exist only one
`block` x `block` tile at a time (memory independent of the set sizes), each tile is screened in float64
with |x|^2 + |y|^2 - 2 x.y, and the final candidates are measured again with the exact distance, so an
exact copy is at distance exactly 0 and equal distances compare equal on every machine and block size.
Exact ties in distance are broken by the smaller TRAIN index (what torch's `min` returns on the CPU).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ganeval.errors import check
from ganeval.metrics.gaussian import ArrayLike, as_feature_matrix, resolve_device
from ganeval.metrics.knn import (
    DEFAULT_BLOCK,
    SCREEN_TOLERANCE,
    Features,
    exact_distances,
    kth_neighbour_radii,
    screened_squares,
)

_EXTRA_CANDIDATES = 8  # kept beyond the k nearest per row, so near-ties rarely need a second scan


@dataclass(frozen=True)
class Neighbours:
    """For each query row, its k nearest reference rows, nearest first: indices (m, k) and exact distances."""

    indices: np.ndarray
    distances: np.ndarray


def _features(rows: ArrayLike | Features, name: str, device: torch.device) -> Features:
    if isinstance(rows, Features):
        return rows
    return Features.of(as_feature_matrix(rows, name), device)


def nearest_rows(
    queries: ArrayLike | Features,
    reference: ArrayLike | Features,
    k: int = 1,
    *,
    device: str | torch.device | None = None,
    block: int = DEFAULT_BLOCK,
) -> Neighbours:
    """The k nearest `reference` rows of every `queries` row, by exact Euclidean distance (float64)."""
    dev = resolve_device(device)
    q = _features(queries, "query features", dev)
    ref = _features(reference, "reference features", dev)
    check(q.host.shape[1] == ref.host.shape[1], "the two feature sets differ in dimension")
    n = len(ref)
    check(1 <= k <= n, f"asked for the {k} nearest of {n} reference rows; need 1 <= k <= {n}")
    keep = min(n, k + _EXTRA_CANDIDATES)
    indices = np.empty((len(q), k), dtype=np.int64)
    distances = np.empty((len(q), k))
    top_norm = ref.norms.max()
    for i0 in range(0, len(q), block):
        i1 = min(len(q), i0 + block)
        best = torch.empty((i1 - i0, 0), dtype=torch.float64, device=dev)
        best_idx = torch.empty((i1 - i0, 0), dtype=torch.long, device=dev)
        for j0 in range(0, n, block):
            j1 = min(n, j0 + block)
            squares, _ = screened_squares(q, ref, i0, i1, j0, j1)
            values = torch.cat([best, squares], dim=1)
            index = torch.cat([best_idx, torch.arange(j0, j1, device=dev).expand(i1 - i0, -1)], dim=1)
            best, picked = torch.topk(values, min(keep, values.shape[1]), dim=1, largest=False, sorted=True)
            best_idx = torch.gather(index, 1, picked)
        # Twice any pair's screening error: every true k nearest lies within 2x this of the k-th screened value.
        tolerance = (2.0 * SCREEN_TOLERANCE * (q.norms[i0:i1] + top_norm)).cpu().numpy()
        best_np, idx_np = best.cpu().numpy(), best_idx.cpu().numpy()
        for r in range(i1 - i0):
            candidates = idx_np[r, best_np[r] <= best_np[r, k - 1] + 2.0 * tolerance[r]]
            if len(candidates) == keep and keep < n:
                candidates = np.arange(n)  # more near-ties than were kept: decide over the whole reference set
            exact = exact_distances(q.host[np.full(len(candidates), i0 + r)], ref.host[candidates])
            order = np.lexsort((candidates, exact))[:k]  # by distance, then by index
            indices[i0 + r], distances[i0 + r] = candidates[order], exact[order]
    return Neighbours(indices, distances)


def own_nearest_distances(
    rows: ArrayLike | Features, *, device: str | torch.device | None = None, block: int = DEFAULT_BLOCK
) -> np.ndarray:
    """Each row's exact distance to its nearest other row of the same set (0 for a duplicated row)."""
    features = _features(rows, "features", resolve_device(device))
    check(len(features) >= 2, f"a nearest neighbour other than itself needs at least 2 rows, got {len(features)}")
    return kth_neighbour_radii(features, (1,), block)[1]
