"""Improved precision and recall (Kynkäänniemi et al. 2019) and density and coverage (Naeem et al. 2020).

Each real and each generated point gets a ball: the distance to its k-th nearest neighbour in its own set.

- precision: the share of generated points inside at least one real ball (`<=`, k = 3 by default:
  torch-fidelity's `prc` and StyleGAN's `pr50k3`); recall: the share of real points inside a generated ball.
- density: the number of real balls holding each generated point, averaged and divided by k (`<`, k = 5:
  the `prdc` package); coverage: the share of real points whose ball holds a generated point.

Precision and density measure fidelity (how much of the generated set lies on the real manifold), recall
and coverage diversity (how much of the real manifold the generated set reaches). The geometry is
`ganeval.metrics.knn`'s: blockwise, exact at ties, independent of block size and machine.
"""

from __future__ import annotations

import numpy as np
import torch

from ganeval.errors import check
from ganeval.metrics.gaussian import ArrayLike, as_feature_matrix, resolve_device
from ganeval.metrics.knn import DEFAULT_BLOCK, Ball, Features, cross_balls, kth_neighbour_radii

PR_K = 3
DC_K = 5


def subsample(features: torch.Tensor, n: int | None, seed: int) -> torch.Tensor:
    """At most `n` rows, drawn without replacement by a generator seeded with `seed` (all rows when None)."""
    if n is None or len(features) <= n:
        return features
    order = np.random.RandomState(seed).choice(len(features), n, replace=False)
    return features[torch.from_numpy(np.sort(order)).to(features.device)]


def precision_recall_density_coverage(
    real: ArrayLike,
    fake: ArrayLike,
    *,
    pr_k: int | None = PR_K,
    dc_k: int | None = DC_K,
    knn_samples: int | None = None,
    seed: int = 2020,
    device: str | torch.device | None = None,
    block: int = DEFAULT_BLOCK,
) -> dict[str, float]:
    """The metrics of one pass over the pairs: precision and recall when `pr_k` is given, density and
    coverage when `dc_k` is; `knn_samples` caps each set by a seeded subsample (None: every point)."""
    check(pr_k is not None or dc_k is not None, "give pr_k, dc_k or both")
    dev = resolve_device(device)
    real_rows = subsample(as_feature_matrix(real, "real features"), knn_samples, seed)
    fake_rows = subsample(as_feature_matrix(fake, "generated features"), knn_samples, seed + 1)
    check(real_rows.shape[1] == fake_rows.shape[1], "real and generated features differ in dimension")
    r, f = Features.of(real_rows, dev), Features.of(fake_rows, dev)
    real_ks = tuple(k for k in (pr_k, dc_k) if k is not None)
    real_radii = kth_neighbour_radii(r, tuple(sorted(set(real_ks))), block)
    balls: list[Ball] = []
    if pr_k is not None:
        fake_radii = kth_neighbour_radii(f, (pr_k,), block)[pr_k]
        balls += [Ball(real_radii[pr_k], "cols", strict=False), Ball(fake_radii, "rows", strict=False)]
    if dc_k is not None:
        balls += [Ball(real_radii[dc_k], "cols", strict=True)]
    answers = iter(cross_balls(f, r, balls, block))  # rows: generated points, columns: real points
    out: dict[str, float] = {}
    if pr_k is not None:
        in_real_balls, in_fake_balls = next(answers), next(answers)
        out["precision"] = float(in_real_balls.row_any.mean())
        out["recall"] = float(in_fake_balls.col_any.mean())
    if dc_k is not None:
        strict = next(answers)
        out["density"] = float((1.0 / dc_k) * strict.row_count.mean())  # prdc's order of operations
        out["coverage"] = float(strict.col_any.mean())
    return out
