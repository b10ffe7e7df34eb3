"""Has the generator copied its training set? AuthPct, the C_T data-copying test, and the likeliest copies.

All three look at the distance from each generated (FAKE) row to its nearest TRAIN row, found blockwise
and exactly by `ganeval.metrics.neighbours`, and compare it with a scale of its own:

- AuthPct (Alaa et al. 2022, as dgm-eval computes it): the percentage of FAKE rows farther from their
  nearest TRAIN row than that TRAIN row is from its own nearest TRAIN neighbour. A copy is not authentic.
- C_T (Meehan et al. 2020, as dgm-eval computes it): per k-means cell of TRAIN, a Mann-Whitney test of
  whether FAKE rows lie closer to TRAIN than held-out REAL rows do, as a Z score, averaged over the cells
  weighted by REAL's shares. Near 0: no copying; strongly negative: copying; positive: underfitting.
- `find_copies`: the FAKE rows with the smallest AuthPct ratio, to look at with `ganeval.copies`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.stats
import torch

from ganeval.errors import check
from ganeval.metrics.gaussian import ArrayLike, as_feature_matrix, resolve_device
from ganeval.metrics.knn import DEFAULT_BLOCK, Features
from ganeval.metrics.neighbours import nearest_rows, own_nearest_distances

CT_CELLS = 3  # dgm-eval's KMeans(n_clusters=3)
CT_MIN_FAKE = 20  # a cell counts when it holds more than this many FAKE rows (dgm-eval: share > 20 / |FAKE|)
CT_PCA_DIM = 64  # features wider than this are projected on TRAIN's leading principal components first
KMEANS_RESTARTS = 10  # dgm-eval's n_init


def _pair(train: ArrayLike, fake: ArrayLike, device: torch.device) -> tuple[Features, Features]:
    t = as_feature_matrix(train, "TRAIN features")
    f = as_feature_matrix(fake, "generated features")
    check(t.shape[1] == f.shape[1], f"TRAIN and generated features differ in dimension ({t.shape[1]}, {f.shape[1]})")
    check(len(t) >= 2, f"TRAIN needs at least 2 rows for each to have a nearest neighbour, got {len(t)}")
    check(len(f) >= 1, "no generated features")
    return Features.of(t, device), Features.of(f, device)


def authpct(
    train: ArrayLike, fake: ArrayLike, *, device: str | torch.device | None = None, block: int = DEFAULT_BLOCK
) -> float:
    """Percentage (0-100) of FAKE rows whose nearest TRAIN row j is strictly nearer to its own nearest TRAIN
    neighbour than to them: authentic iff NN_TRAIN(j) < d(fake, j), dgm-eval's inequality, so an exact
    copy (distance 0) is never authentic and a tie counts as a copy. Of equally near TRAIN rows j is the
    first. dgm-eval measures distances in float32 with an N_TRAIN x N_TRAIN matrix; here they are exact
    float64 and blockwise, so the two agree except for pairs within float32 round-off of a tie."""
    dev = resolve_device(device)
    t, f = _pair(train, fake, dev)
    nearest = nearest_rows(f, t, 1, device=dev, block=block)
    own = own_nearest_distances(t, device=dev, block=block)
    authentic = own[nearest.indices[:, 0]] < nearest.distances[:, 0]
    return float(100.0 * authentic.mean())


@dataclass(frozen=True)
class Copies:
    """The likeliest copies, likeliest first: FAKE index (top,), its k nearest TRAIN indices and exact distances
    (top, k), and the ratio d(fake, nearest TRAIN row) / (that row's own nearest-neighbour distance)."""

    fake: np.ndarray
    train: np.ndarray
    distances: np.ndarray
    ratio: np.ndarray


def copy_ratios(nearest_distance: np.ndarray, own_distance: np.ndarray) -> np.ndarray:
    """AuthPct's ratio; a TRAIN row with a duplicate (own distance 0) gives 0 for an exact copy, inf otherwise."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = nearest_distance / own_distance
    return np.where(nearest_distance == 0, 0.0, ratio)


def find_copies(
    train_rows: ArrayLike,
    fake_rows: ArrayLike,
    top: int = 32,
    k: int = 3,
    *,
    device: str | torch.device | None = None,
    block: int = DEFAULT_BLOCK,
) -> Copies:
    """The `top` FAKE rows with the smallest copy ratio (ratio < 1: nearer its TRAIN row than any other TRAIN
    row is, the rows AuthPct calls not authentic), ties in FAKE order, each with its k nearest TRAIN rows."""
    dev = resolve_device(device)
    t, f = _pair(train_rows, fake_rows, dev)
    check(top >= 1, f"top must be at least 1, got {top}")
    check(k <= len(t), f"showing the {k} nearest TRAIN rows needs at least {k} TRAIN rows, got {len(t)}")
    nearest = nearest_rows(f, t, k, device=dev, block=block)
    own = own_nearest_distances(t, device=dev, block=block)
    ratio = copy_ratios(nearest.distances[:, 0], own[nearest.indices[:, 0]])
    order = np.argsort(ratio, kind="stable")[:top]
    return Copies(order, nearest.indices[order], nearest.distances[order], ratio[order])


# --- C_T -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cells:
    """The cell (0 .. cells-1) of every TRAIN, REAL and FAKE row."""

    train: np.ndarray
    real: np.ndarray
    fake: np.ndarray


@dataclass(frozen=True)
class CTCells:
    """C_T and its parts per cell: Z score (NaN where no FAKE row lies), whether the cell counts (more than
    `min_fake` FAKE rows), REAL's share of each cell (the weights), and the cells themselves."""

    value: float
    z: np.ndarray
    kept: np.ndarray
    real_share: np.ndarray
    cells: Cells


def principal_projection(train: np.ndarray, dims: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean, d x dims basis) of TRAIN's leading principal components, from its covariance (exact, not the
    randomized solver sklearn picks for large sets: distances only depend on the subspace, not the basis)."""
    mean = train.mean(axis=0)
    centred = train - mean
    _, vectors = np.linalg.eigh(centred.T @ centred)
    return mean, vectors[:, ::-1][:, :dims]


def kmeans_centres(rows: np.ndarray, cells: int, seed: int, restarts: int = KMEANS_RESTARTS) -> np.ndarray:
    """Lloyd's k-means from k-means++ starts drawn by `np.random.default_rng(seed)`; the centres of the
    start with the least within-cell sum of squares. An emptied cell restarts at the worst-fitted row."""
    check(len(rows) >= cells, f"k-means with {cells} cells needs at least {cells} TRAIN rows, got {len(rows)}")
    rng = np.random.default_rng(seed)
    best, best_inertia = rows[:cells], np.inf
    for _ in range(restarts):
        centres = rows[[rng.integers(len(rows))]]
        while len(centres) < cells:  # k-means++: next start with probability proportional to squared distance
            weights = _squared_distances(rows, centres).min(axis=1)
            pick = rng.choice(len(rows), p=weights / weights.sum()) if weights.sum() > 0 else rng.integers(len(rows))
            centres = np.vstack([centres, rows[pick]])
        labels = None
        for _ in range(300):
            squares = _squared_distances(rows, centres)
            new = squares.argmin(axis=1)
            if labels is not None and np.array_equal(new, labels):
                break
            labels = new
            for c in range(cells):
                members = rows[labels == c]
                centres[c] = members.mean(axis=0) if len(members) else rows[squares.min(axis=1).argmax()]
        inertia = _squared_distances(rows, centres).min(axis=1).sum()
        if inertia < best_inertia:
            best, best_inertia = centres.copy(), inertia
    return best


def _squared_distances(rows: np.ndarray, centres: np.ndarray) -> np.ndarray:
    return ((rows[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)


def _assign(rows: np.ndarray, centres: np.ndarray, block: int = 4096) -> np.ndarray:
    return np.concatenate(
        [_squared_distances(rows[i : i + block], centres).argmin(axis=1) for i in range(0, len(rows), block)]
    )


def mann_whitney_z(fake_distances: np.ndarray, real_distances: np.ndarray) -> float:
    """dgm-eval's Z score of the Mann-Whitney U of FAKE (first sample) against REAL, ties at average rank:
    (U - (n m / 2 - 0.5)) / sqrt(n m (n + m + 1) / 12). Negative when FAKE rows are nearer TRAIN."""
    m, n = len(fake_distances), len(real_distances)
    ranks = scipy.stats.rankdata(np.concatenate([fake_distances, real_distances]))
    u = ranks[:m].sum() - m * (m + 1) / 2.0
    return float((u - (n * m / 2.0 - 0.5)) / np.sqrt(n * m * (n + m + 1) / 12.0))


def ct_cells(
    train: ArrayLike,
    real: ArrayLike,
    fake: ArrayLike,
    *,
    cells: Cells | None = None,
    n_cells: int = CT_CELLS,
    seed: int = 0,
    min_fake: int = CT_MIN_FAKE,
    device: str | torch.device | None = None,
    block: int = DEFAULT_BLOCK,
) -> CTCells:
    """C_T of FAKE against the held-out REAL set, TRAIN being what may have been copied.

    Features wider than 64 are first projected on TRAIN's 64 leading principal components; TRAIN is cut into
    `n_cells` cells by seeded k-means (`kmeans_centres`; dgm-eval's sklearn KMeans is unseeded), each row
    joining its nearest centre, unless `cells` gives every row's cell (to reproduce another clustering).
    In each cell FAKE's and REAL's distances to the cell's nearest TRAIN row give a Mann-Whitney Z score; cells
    with more than `min_fake` FAKE rows are averaged, weighted by REAL's share. Every cell needs TRAIN and REAL
    rows (as in dgm-eval, which raises otherwise).
    """
    t, r, f = (
        as_feature_matrix(x, name).cpu().numpy()
        for x, name in ((train, "TRAIN features"), (real, "REAL features"), (fake, "generated features"))
    )
    check(t.shape[1] == r.shape[1] == f.shape[1], "TRAIN, REAL and generated features differ in dimension")
    check(
        min(len(t), len(r), len(f)) >= 1, f"C_T needs TRAIN, REAL and generated rows, got {len(t)}, {len(r)}, {len(f)}"
    )
    if t.shape[1] > CT_PCA_DIM:
        mean, basis = principal_projection(t, CT_PCA_DIM)
        t, r, f = ((x - mean) @ basis for x in (t, r, f))
    if cells is None:
        centres = kmeans_centres(t, n_cells, seed)
        cells = Cells(_assign(t, centres), _assign(r, centres), _assign(f, centres))
    labels = [np.asarray(c, dtype=np.int64) for c in (cells.train, cells.real, cells.fake)]
    check([len(x) for x in labels] == [len(t), len(r), len(f)], "cells must give one cell per TRAIN, REAL, FAKE row")
    count = int(labels[0].max()) + 1
    check(all(x.min() >= 0 and x.max() < count for x in labels), f"cells must be TRAIN's cells 0 .. {count - 1}")
    counts = [np.bincount(x, minlength=count) for x in labels]
    for name, c in zip(("TRAIN", "REAL"), counts[:2], strict=True):
        empty = np.flatnonzero(c == 0)
        check(
            len(empty) == 0,
            f"C_T cell {empty[0] if len(empty) else 0} holds no {name} rows "
            f"(rows per cell {c.tolist()}); use more {name} rows or fewer cells",
        )
    kept = counts[2] > min_fake
    check(
        kept.any(),
        f"no C_T cell holds more than {min_fake} generated rows "
        f"(rows per cell {counts[2].tolist()}); C_T needs more generated rows",
    )
    dev = resolve_device(device)
    z = np.full(count, np.nan)
    for c in np.flatnonzero(counts[2] > 0):
        cell_train = Features.of(torch.from_numpy(t[labels[0] == c]), dev)
        fake_d = nearest_rows(f[labels[2] == c], cell_train, 1, device=dev, block=block).distances[:, 0]
        real_d = nearest_rows(r[labels[1] == c], cell_train, 1, device=dev, block=block).distances[:, 0]
        z[c] = mann_whitney_z(fake_d, real_d)
    share = counts[1] / len(r)
    value = float(share[kept] @ z[kept] / share[kept].sum())
    return CTCells(value, z, kept, share, Cells(*labels))


def ct(
    train: ArrayLike,
    real: ArrayLike,
    fake: ArrayLike,
    *,
    cells: Cells | None = None,
    n_cells: int = CT_CELLS,
    seed: int = 0,
    min_fake: int = CT_MIN_FAKE,
    device: str | torch.device | None = None,
    block: int = DEFAULT_BLOCK,
) -> float:
    """The C_T statistic of `ct_cells`: about 0 without copying, strongly negative with it."""
    result = ct_cells(
        train, real, fake, cells=cells, n_cells=n_cells, seed=seed, min_fake=min_fake, device=device, block=block
    )
    return result.value
