"""Memorization-informed FID (MiFID, Kaggle's "Generative Dog Images" 2019; torchmetrics' `mifid`).

FID rewards a generator that returns its training images. MiFID divides FID by a memorization distance:
the mean, over rows of one set, of the minimum cosine distance 1 - |cos| to the rows of the other, between
the generated rows and the rows the model may have copied (TRAIN when known, Kaggle's setting; REAL
otherwise, torchmetrics' setting: the caller passes the rows). A distance of `cosine_distance_eps` (0.1)
or more means no memorization and counts as 1, leaving FID unchanged; below it, FID is multiplied by up
to 1 / distance. Rows summing to exactly 0 are left out of the distance, as both references do.
"""

from __future__ import annotations

import torch

from ganeval.errors import check
from ganeval.metrics.fid import frechet_distance
from ganeval.metrics.gaussian import ArrayLike, GaussianStats, as_feature_matrix, gaussian_stats, resolve_device

COSINE_DISTANCE_EPS = 0.1  # torchmetrics' default cosine_distance_eps, Kaggle's threshold
DIVISOR_EPS = 10e-15  # added to the distance before dividing (torchmetrics and Kaggle)
FID_FLOOR = 1e-8  # torchmetrics returns 0 for FIDs at or below this
ORIENTATIONS = ("torchmetrics", "kaggle")
DEFAULT_BLOCK = 8192


def _unit_nonzero(x: torch.Tensor) -> torch.Tensor:
    kept = x[x.sum(dim=1) != 0]
    return kept / torch.linalg.vector_norm(kept, dim=1, keepdim=True)


def memorization_distance(
    fake: ArrayLike,
    copied: ArrayLike,
    *,
    orientation: str = "torchmetrics",
    device: str | torch.device | None = None,
    block: int = DEFAULT_BLOCK,
) -> float:
    """Mean minimum cosine distance 1 - |cos| between generated and copied rows, before thresholding.

    "torchmetrics": for each copied row, its minimum distance to the generated rows, averaged over copied
    rows (torchmetrics passes the real features first). "kaggle": for each generated row, its minimum
    distance to the copied rows, averaged over generated rows (Kaggle's `cosine_distance(generated, public)`).
    Computed `block` rows at a time, so memory stays at block x (other set) similarities.
    """
    check(orientation in ORIENTATIONS, f"unknown orientation {orientation!r}; expected {' or '.join(ORIENTATIONS)}")
    dev = resolve_device(device)
    f = _unit_nonzero(as_feature_matrix(fake, "generated features", device=dev))
    c = _unit_nonzero(as_feature_matrix(copied, "copied features", device=dev))
    check(f.shape[1] == c.shape[1], f"generated and copied features differ in dimension ({f.shape[1]}, {c.shape[1]})")
    check(min(len(f), len(c)) >= 1, "the memorization distance needs nonzero generated and copied rows")
    outer, inner = (c, f) if orientation == "torchmetrics" else (f, c)
    total = torch.zeros((), dtype=torch.float64, device=dev)
    for i in range(0, len(outer), block):
        total += (1.0 - torch.abs(outer[i : i + block] @ inner.T)).min(dim=1).values.sum()
    return float(total / len(outer))


def mifid(
    real: ArrayLike | GaussianStats,
    fake: ArrayLike,
    copied: ArrayLike | None = None,
    *,
    cosine_distance_eps: float = COSINE_DISTANCE_EPS,
    orientation: str = "torchmetrics",
    device: str | torch.device | None = None,
    block: int = DEFAULT_BLOCK,
) -> float:
    """FID(REAL, FAKE) / (distance + 1e-14), the distance set to 1 when it is >= `cosine_distance_eps`; 0 when
    FID <= 1e-8 (torchmetrics). `copied` defaults to the REAL rows (torchmetrics), which must then be rows."""
    check(0 < cosine_distance_eps <= 1, f"cosine_distance_eps must lie in (0, 1], got {cosine_distance_eps}")
    if copied is None:
        check(not isinstance(real, GaussianStats), "give the copied rows (TRAIN or REAL) when REAL is statistics")
        copied = real
    fid = frechet_distance(real if isinstance(real, GaussianStats) else gaussian_stats(real), gaussian_stats(fake))
    if fid <= FID_FLOOR:
        return 0.0
    distance = memorization_distance(fake, copied, orientation=orientation, device=device, block=block)
    return memorization_informed(fid, distance, cosine_distance_eps)


def memorization_informed(fid: float, distance: float, cosine_distance_eps: float = COSINE_DISTANCE_EPS) -> float:
    """MiFID from an FID and a memorization distance already computed: FID / (distance + 1e-14), the distance
    counted as 1 when it is >= `cosine_distance_eps`; 0 when FID <= 1e-8 (torchmetrics)."""
    if fid <= FID_FLOOR:
        return 0.0
    return fid / ((distance if distance < cosine_distance_eps else 1.0) + DIVISOR_EPS)
