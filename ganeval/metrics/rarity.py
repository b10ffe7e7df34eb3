"""Rarity score (Han et al. 2023): how uncommon each generated image is, judged by the REAL data around it.

Every REAL row owns a k-NN ball (radius: the distance to its k-th nearest REAL neighbour, itself counted
first at 0, k = 3). Dense regions of the data have small balls and sparse, rare regions large ones. A
generated row's rarity is the smallest radius among the REAL balls that contain it (strictly: d < radius,
as the authors' `is_in_ball` tests radius - d > 0); the minimum keeps one large ball from overstating it.
A generated row inside no ball lies off the REAL manifold, where rarity means nothing: the authors' code
gives it 0 and leaves it out of its ranking; here it gets NaN and is left out of the mean and the ranking.
Membership is decided like precision's (`ganeval.metrics.knn`): blockwise, exact near the radius.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ganeval.errors import check
from ganeval.metrics.gaussian import ArrayLike, as_feature_matrix, resolve_device
from ganeval.metrics.knn import DEFAULT_BLOCK, Features, exact_distances, kth_neighbour_radii, screened_squares

RARITY_K = 3


@dataclass(frozen=True)
class Rarity:
    """Per generated row its score (NaN outside every REAL ball), the mean over scored rows (NaN if none),
    and the scored rows' indices from rarest to commonest (ties in row order)."""

    scores: np.ndarray
    mean: float
    rarest: np.ndarray


def smallest_containing_radius(fake: Features, real: Features, radii: np.ndarray, block: int) -> np.ndarray:
    """Per FAKE row, the smallest radius of a REAL ball holding it strictly (inf when none does)."""
    dev = fake.rows.device
    radius = torch.from_numpy(radii).to(dev)
    out = np.full(len(fake), np.inf)
    for i0 in range(0, len(fake), block):
        i1 = min(len(fake), i0 + block)
        best = torch.full((i1 - i0,), float("inf"), dtype=torch.float64, device=dev)
        for j0 in range(0, len(real), block):
            j1 = min(len(real), j0 + block)
            squares, tolerance = screened_squares(fake, real, i0, i1, j0, j1)
            limit = radius[None, j0:j1] ** 2
            sure = squares < limit - tolerance  # inside whatever the round-off
            best = torch.minimum(best, torch.where(sure, radius[None, j0:j1], torch.inf).min(dim=1).values)
            unsure = ((squares <= limit + tolerance) & ~sure).nonzero().cpu().numpy()
            if len(unsure):
                r, c = unsure[:, 0] + i0, unsure[:, 1] + j0
                inside = exact_distances(fake.host[r], real.host[c]) < radii[c]
                np.minimum.at(out, r[inside], radii[c[inside]])
        out[i0:i1] = np.minimum(out[i0:i1], best.cpu().numpy())
    return out


def rarity(
    real: ArrayLike,
    fake: ArrayLike,
    k: int = RARITY_K,
    *,
    device: str | torch.device | None = None,
    block: int = DEFAULT_BLOCK,
) -> Rarity:
    """Rarity scores of the FAKE rows against the REAL rows' k-NN balls."""
    dev = resolve_device(device)
    r = as_feature_matrix(real, "REAL features")
    f = as_feature_matrix(fake, "generated features")
    check(r.shape[1] == f.shape[1], f"REAL and generated features differ in dimension ({r.shape[1]}, {f.shape[1]})")
    check(k >= 1 and len(r) > k, f"rarity with k={k} needs more than {k} REAL rows, got {len(r)}")
    real_f, fake_f = Features.of(r, dev), Features.of(f, dev)
    radii = kth_neighbour_radii(real_f, (k,), block)[k]
    smallest = smallest_containing_radius(fake_f, real_f, radii, block)
    scores = np.where(np.isfinite(smallest), smallest, np.nan)
    scored = np.flatnonzero(np.isfinite(scores))
    rarest = scored[np.argsort(-scores[scored], kind="stable")]
    return Rarity(scores, float(scores[scored].mean()) if len(scored) else float("nan"), rarest)
