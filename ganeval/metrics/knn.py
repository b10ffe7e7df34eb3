"""k-nearest-neighbour geometry of feature sets, blockwise in bounded memory, with exact decisions.

Precision/recall (Kynkäänniemi et al. 2019) and density/coverage (Naeem et al. 2020) ask, for pairs of
points, whether one lies inside the other's k-NN ball: `d(x, y) <= r` or `d(x, y) < r`. Two things make
a plain implementation wrong or fragile:

- Memory. N x N distances are 10 GB in float32 at N = 50,000. Here distances exist only one block of
  `block` x `block` at a time (128 MiB in float64 at the default 4096), whatever N is.
- Ties. Duplicated images give exact ties (a distance equal to a radius), which is where `<=` and `<`
  differ, and the fast formula |x|^2 + |y|^2 - 2 x.y carries round-off that depends on the block shape,
  the BLAS and the device. So every block is screened with that formula in float64, and every pair whose
  screened value lies within `SCREEN_TOLERANCE` x (|x|^2 + |y|^2) of its threshold is decided again from
  the exact distance: the float64 square root of the sum of squared differences, computed by one numpy
  expression per pair whatever block it came from. Identical rows are then at distance exactly 0, equal
  distances compare equal, and no result depends on the block size or the machine.

Radii are the distance to the k-th nearest neighbour counting the point itself as the first (distance
0), i.e. the (k+1)-th smallest distance: torch-fidelity's `kthvalue(k + 1)` and prdc's `k + 1`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ganeval.errors import check

# Round-off of the screening formula in float64 is below d * eps ~ 2.3e-13 of |x|^2 + |y|^2 for d = 2048;
# pairs closer than this to a decision are decided exactly (almost none, unless rows are duplicated).
SCREEN_TOLERANCE = 1e-9
DEFAULT_BLOCK = 4096
_EXTRA_CANDIDATES = 8  # kept beyond the k+1 nearest per row, so near-ties rarely need a second scan


def exact_distances(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Distances between the rows x[i] and y[i] (float64), computed row by row in one fixed order."""
    diff = np.asarray(x, dtype=np.float64) - np.asarray(y, dtype=np.float64)
    return np.sqrt(np.square(diff).sum(axis=1))


@dataclass(frozen=True)
class Features:
    """A feature matrix on its compute device (float64) with squared norms, and a host copy for exact checks."""

    rows: torch.Tensor
    norms: torch.Tensor
    host: np.ndarray

    @classmethod
    def of(cls, features: torch.Tensor | np.ndarray, device: torch.device) -> Features:
        host = np.ascontiguousarray(torch.as_tensor(features).detach().cpu().numpy(), dtype=np.float64)
        rows = torch.from_numpy(host).to(device)
        return cls(rows, (rows * rows).sum(dim=1), host)

    def __len__(self) -> int:
        return len(self.host)


def screened_squares(a: Features, b: Features, i0: int, i1: int, j0: int, j1: int):
    """(squared distances by the fast formula, their tolerance) for the block a[i0:i1] x b[j0:j1]."""
    na, nb = a.norms[i0:i1, None], b.norms[None, j0:j1]
    squares = na + nb - 2.0 * (a.rows[i0:i1] @ b.rows[j0:j1].T)
    return squares, SCREEN_TOLERANCE * (na + nb)


def kth_neighbour_radii(features: Features, ks: tuple[int, ...], block: int = DEFAULT_BLOCK) -> dict[int, np.ndarray]:
    """For each k of `ks`, the exact distance of every row to its k-th nearest neighbour (itself counted
    first, at 0), from one blockwise pass."""
    n = len(features)
    for k in ks:
        check(1 <= k < n, f"k-NN radii need 1 <= k < the number of points; got k={k} for {n} points")
    keep = min(n, max(ks) + 1 + _EXTRA_CANDIDATES)
    radii = {k: np.empty(n) for k in ks}
    device = features.rows.device
    for i0 in range(0, n, block):
        i1 = min(n, i0 + block)
        best = torch.empty((i1 - i0, 0), dtype=torch.float64, device=device)
        best_idx = torch.empty((i1 - i0, 0), dtype=torch.long, device=device)
        for j0 in range(0, n, block):
            j1 = min(n, j0 + block)
            squares, _ = screened_squares(features, features, i0, i1, j0, j1)
            values = torch.cat([best, squares], dim=1)
            index = torch.cat([best_idx, torch.arange(j0, j1, device=device).expand(i1 - i0, -1)], dim=1)
            best, picked = torch.topk(values, min(keep, values.shape[1]), dim=1, largest=False, sorted=True)
            best_idx = torch.gather(index, 1, picked)
        # Screening errors of both points' pairs, twice: bounds every candidate's error against the k-th.
        tolerance = (2.0 * SCREEN_TOLERANCE * (features.norms[i0:i1] + features.norms.max())).cpu().numpy()
        rows = _exact_kth(features, i0, best.cpu().numpy(), best_idx.cpu().numpy(), tolerance, ks)
        for k in ks:
            radii[k][i0:i1] = rows[k]
    return radii


def _exact_kth(
    features: Features, i0: int, best: np.ndarray, best_idx: np.ndarray, tolerance: np.ndarray, ks: tuple[int, ...]
) -> dict[int, np.ndarray]:
    """Rows' exact (k+1)-th smallest distances from their screened nearest candidates.

    Every point whose exact distance is at most the (k+1)-th smallest has a screened value within twice the
    tolerance of the (k+1)-th smallest screened value, so those candidates hold the exact answer.
    """
    out = {k: np.empty(len(best)) for k in ks}
    k_max = max(ks)
    for r in range(len(best)):
        candidates = best_idx[r, best[r] <= best[r, k_max] + 2.0 * tolerance[r]]
        if len(candidates) == best.shape[1] and best.shape[1] < len(features):
            candidates = np.arange(len(features))  # more near-ties than were kept: decide over the whole row
        row = np.full(len(candidates), i0 + r)
        exact = np.sort(exact_distances(features.host[row], features.host[candidates]))
        for k in ks:
            out[k][r] = exact[k]
    return out


@dataclass(frozen=True)
class Ball:
    """One membership question asked of every (row, column) pair of a cross pass: is d(row, col) within the
    radius of the point that owns the ball (`radii` of the rows or of the columns), with `<=` or `<`."""

    radii: np.ndarray
    owner: str  # "rows" or "cols"
    strict: bool


@dataclass(frozen=True)
class BallAnswers:
    """For one `Ball`: per row, whether some pair holds and how many do; the same per column."""

    row_any: np.ndarray
    row_count: np.ndarray
    col_any: np.ndarray
    col_count: np.ndarray


def cross_balls(rows: Features, cols: Features, balls: list[Ball], block: int = DEFAULT_BLOCK) -> list[BallAnswers]:
    """Answer every `Ball` question for all rows x cols pairs in one blockwise pass, exactly."""
    n_rows, n_cols = len(rows), len(cols)
    device = rows.rows.device
    radii = [torch.from_numpy(b.radii).to(device) for b in balls]
    answers = [[np.zeros(n_rows, bool), np.zeros(n_rows, np.int64), np.zeros(n_cols, bool), np.zeros(n_cols, np.int64)]
               for _ in balls]  # fmt: skip
    for i0 in range(0, n_rows, block):
        i1 = min(n_rows, i0 + block)
        for j0 in range(0, n_cols, block):
            j1 = min(n_cols, j0 + block)
            squares, tolerance = screened_squares(rows, cols, i0, i1, j0, j1)
            for ball, radius, out in zip(balls, radii, answers, strict=True):
                limit = (radius[i0:i1, None] if ball.owner == "rows" else radius[None, j0:j1]) ** 2
                sure = squares < limit - tolerance  # holds whatever the round-off
                unsure = ((squares <= limit + tolerance) & ~sure).nonzero().cpu().numpy()
                _add(out, sure.any(dim=1).cpu().numpy(), sure.sum(dim=1).cpu().numpy(), i0, "row")
                _add(out, sure.any(dim=0).cpu().numpy(), sure.sum(dim=0).cpu().numpy(), j0, "col")
                if len(unsure):
                    r, c = unsure[:, 0] + i0, unsure[:, 1] + j0
                    d = exact_distances(rows.host[r], cols.host[c])
                    own = ball.radii[r] if ball.owner == "rows" else ball.radii[c]
                    holds = d < own if ball.strict else d <= own
                    np.logical_or.at(out[0], r, holds)
                    np.add.at(out[1], r, holds.astype(np.int64))
                    np.logical_or.at(out[2], c, holds)
                    np.add.at(out[3], c, holds.astype(np.int64))
    return [BallAnswers(*out) for out in answers]


def _add(out: list[np.ndarray], any_: np.ndarray, count: np.ndarray, start: int, axis: str) -> None:
    first = 0 if axis == "row" else 2
    out[first][start : start + len(any_)] |= any_
    out[first + 1][start : start + len(count)] += count
