"""The arithmetic and file format of OpenAI's ADM evaluator (guided-diffusion `evaluations/evaluator.py`).

ADM's published FID/sFID/IS/precision/recall come from TensorFlow code whose details move the numbers:

- statistics are `np.mean` (float32 when the activations are float32) and `np.cov` (N-1, float64), and
  FID is the TTUR `frechet_distance` (scipy `sqrtm`, eps*I retry when not finite, imaginary check);
- IS is the mean (no std) over consecutive chunks of 5,000 images, unshuffled, the last partial chunk
  counting as a whole one, computed in float32 from the softmax of the bias-free logits;
- precision/recall compare squared distances computed in float16 (`DistanceBlock`), recomputed in float32
  only for a 10,000 x 10,000 block holding a non-finite value; radii are each point's 4th smallest
  squared distance (itself included), and membership is `<=`.

The float16 distances are reproduced step by step: inputs rounded to float16, squared norms summed the
way Eigen reduces a float16 row on an x86 CPU (8-lane packets, 4 accumulators, halves of more than 1,024
values reduced separately; bit-exact against TensorFlow 2.21 CPU), the product of the float16 inputs
rounded from float64 to float16 (TensorFlow's matmul agrees on all but ~1e-4 of entries, each off by one
float16 ulp), then `|u|^2 - 2 u.v + |v|^2` with a float16 rounding after every operation, clamped at 0.
On 10,000 x 10,000 pool3-like sets this changed 2 of 200 million pair decisions and no point's membership,
where exact float64 distances changed 430 of 20,000 memberships. TensorFlow on a GPU (ADM's published runs)
reduces float16 with float32 accumulators instead; summing the norms that way changed 83 of 6,000
memberships against TensorFlow's CPU result at 3,000 x 3,000, so ADM's own precision/recall move by about
that much between CPU and GPU. Only the CPU arithmetic could be checked here, and only it is reproduced.
"""

from __future__ import annotations

import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.linalg
import torch

from ganeval.atomic import atomic_write
from ganeval.errors import InputError, StatisticsError, check
from ganeval.metrics.gaussian import ArrayLike, resolve_device
from ganeval.protocols.stylegan import split_score

IS_SPLIT_SIZE = 5000
NHOOD_SIZES = (3,)
BATCH_SIZE = 10000  # ManifoldEstimator's row_batch_size and col_batch_size
FID_EPS = 1e-6
IMAG_ATOL = 1e-3
STATS_KEYS = ("mu", "sigma", "mu_s", "sigma_s")
# Eigen's reduction of a float16 row on x86 (TensorFlow's CPU reduce_sum): the packet width, the number of
# packet accumulators, and the length above which a row is split in halves reduced separately.
EIGEN_PACKET = 8
EIGEN_UNROLL = 4
EIGEN_LEAF = 1024
_TILE = 2048  # rows of one float64 product at a time: a 10,000-column tile is 160 MB


def numpy_statistics(activations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ADM's (and clean-fid's) `np.mean` and `np.cov(rowvar=False)`: the mean keeps the input's dtype (float32
    for network activations), the covariance is float64 with N-1."""
    x = np.asarray(activations)
    check(x.ndim == 2 and x.shape[0] >= 2, f"activations must be (n >= 2, d), got shape {x.shape}")
    check(x.dtype.kind == "f", f"activations must be floating point, got dtype {x.dtype}")
    return np.mean(x, axis=0), np.cov(x, rowvar=False)


def _sqrtm(product: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        # ADM and clean-fid test finiteness themselves; scipy's conditioning note changes nothing.
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        return scipy.linalg.sqrtm(product)


def ttur_frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, eps: float = FID_EPS
) -> float:
    """FID as TTUR's `frechet_distance`, which ADM's `FIDStatistics` and clean-fid copy: the principal root of
    the (non-symmetric) product from scipy, retried with eps*I on both covariances when it is not finite.

    Operations and dtypes follow the original, so float32 means stay float32 in the mean term. Where the
    original raises ValueError for an imaginary diagonal above 1e-3 this raises StatisticsError.
    """
    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    check(mu1.shape == mu2.shape, f"mean vectors differ in shape: {mu1.shape} and {mu2.shape}", StatisticsError)
    check(sigma1.shape == sigma2.shape, f"covariances differ: {sigma1.shape} and {sigma2.shape}", StatisticsError)
    diff = mu1 - mu2
    covmean = _sqrtm(sigma1.dot(sigma2))
    if not np.isfinite(covmean).all():
        warnings.warn(f"singular covariance product: adding {eps} to both diagonals, as ADM does", stacklevel=2)
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = _sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        worst = float(np.max(np.abs(covmean.imag)))
        check(
            np.allclose(np.diagonal(covmean).imag, 0, atol=IMAG_ATOL),
            f"matrix square root has an imaginary component {worst:.3g}; a covariance is not PSD",
            StatisticsError,
        )
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def softmax_float32(logits: np.ndarray) -> np.ndarray:
    """Softmax in float32 as TensorFlow forms it: exp(x - max) times the reciprocal of its sum."""
    x = np.asarray(logits, dtype=np.float32)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e * (np.float32(1) / e.sum(axis=1, keepdims=True))


def adm_inception_score(logits: np.ndarray, split_size: int = IS_SPLIT_SIZE) -> float:
    """ADM's Inception Score from (N, classes) bias-free logits: the mean over chunks of `split_size` rows in
    order, where a last partial chunk weighs as much as a full one; float32 throughout, as ADM computes it."""
    check(isinstance(split_size, int) and split_size >= 1, f"split_size must be a positive integer, got {split_size}")
    preds = softmax_float32(logits)
    check(preds.ndim == 2 and len(preds) >= 1, f"logits must be (n >= 1, classes), got shape {preds.shape}")
    return float(np.mean([split_score(preds[i : i + split_size]) for i in range(0, len(preds), split_size)]))


def eigen_row_sums(x: np.ndarray) -> np.ndarray:
    """Row sums of a float16 or float32 matrix rounded as Eigen accumulates them in that dtype on x86 (AVX):
    4 packet accumulators of 8 lanes, added in turn, their lanes summed in float32 and rounded once, plus the
    values past the last whole packet summed apart; rows longer than 1,024 are split in halves, reduced
    separately and added. Bit-exact for float16 against TensorFlow 2.21's CPU `reduce_sum`; for float32 the
    order of the final lane sum may differ from Eigen's, a float32 ulp at most."""
    dtype = x.dtype
    n, m = x.shape
    if m > EIGEN_LEAF:
        half = m // 2
        return (eigen_row_sums(x[:, :half]).astype(np.float32) + eigen_row_sums(x[:, half:])).astype(dtype)
    step = EIGEN_PACKET * EIGEN_UNROLL
    acc = np.zeros((EIGEN_UNROLL, n, EIGEN_PACKET), dtype)
    full = m // step * step
    for j in range(0, full, step):
        block = x[:, j : j + step].reshape(n, EIGEN_UNROLL, EIGEN_PACKET).transpose(1, 0, 2)
        acc = (acc.astype(np.float32) + block).astype(dtype)
    packets = m // EIGEN_PACKET * EIGEN_PACKET
    for j in range(full, packets, EIGEN_PACKET):
        acc[0] = (acc[0].astype(np.float32) + x[:, j : j + EIGEN_PACKET]).astype(dtype)
    total = acc[0]
    for u in range(1, EIGEN_UNROLL):
        total = (total.astype(np.float32) + acc[u]).astype(dtype)
    rest = np.zeros(n, dtype)  # Eigen adds the last values one by one into a separate scalar
    for j in range(packets, m):
        rest = (rest.astype(np.float32) + x[:, j]).astype(dtype)
    lanes = total.astype(np.float32).sum(axis=1, dtype=np.float32).astype(dtype)
    return (rest.astype(np.float32) + lanes).astype(dtype)


def _product(u: np.ndarray, v: np.ndarray, dtype: type, device: torch.device) -> torch.Tensor:
    """u @ v.T in float64 on `device`, rounded to float32 and then to `dtype` (as a float32-accumulating GEMM)."""
    out = []
    tv = torch.from_numpy(v.astype(np.float64)).to(device)
    for i in range(0, len(u), _TILE):
        tu = torch.from_numpy(u[i : i + _TILE].astype(np.float64)).to(device)
        out.append((tu @ tv.T).to(torch.float32).to(torch.float16 if dtype == np.float16 else torch.float32))
    return torch.cat(out)


def _squared_distances(u: np.ndarray, v: np.ndarray, dtype: type, device: torch.device) -> torch.Tensor:
    """ADM's `_batch_pairwise_distances` in `dtype`: max(|u|^2 - 2 u.v + |v|^2, 0), rounded after each step."""
    with np.errstate(over="ignore"):  # values beyond float16 become inf, as in TensorFlow (then the fallback)
        u, v = u.astype(dtype), v.astype(dtype)
        norm_u = torch.from_numpy(eigen_row_sums(u * u)).to(device)[:, None]
        norm_v = torch.from_numpy(eigen_row_sums(v * v)).to(device)[None, :]
    d = (norm_u - 2 * _product(u, v, dtype, device)) + norm_v
    return torch.maximum(d, torch.zeros((), dtype=d.dtype, device=device))


def adm_distance_block(u: ArrayLike, v: ArrayLike, device: str | torch.device | None = None) -> torch.Tensor:
    """`DistanceBlock.pairwise_distances`: squared distances between the rows of u and of v in float16, or in
    float32 when any float16 value of the block is not finite; float32 on `device`."""
    dev = resolve_device(device)
    u, v = _as_float32(u, "u"), _as_float32(v, "v")
    d = _squared_distances(u, v, np.float16, dev)
    if not bool(torch.isfinite(d).all()):
        d = _squared_distances(u, v, np.float32, dev)
    return d.to(torch.float32)


def _as_float32(x: ArrayLike, name: str) -> np.ndarray:
    arr = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    check(arr.ndim == 2, f"{name} must be a 2-D (n, d) matrix, got shape {arr.shape}")
    check(arr.dtype.kind in "fiu", f"{name} must be real numbers, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.float32)


def adm_manifold_radii(
    features: ArrayLike,
    nhood_sizes: tuple[int, ...] = NHOOD_SIZES,
    row_batch_size: int = BATCH_SIZE,
    col_batch_size: int = BATCH_SIZE,
    clamp_to_percentile: float | None = None,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """`ManifoldEstimator.manifold_radii`: (N, len(nhood_sizes)) float32 squared radii, the k-th smallest
    squared distance counting from 0 (the point itself, at its computed distance) for each k; radii above the
    `clamp_to_percentile` percentile become 0."""
    x = _as_float32(features, "features")
    n = len(x)
    check(all(1 <= k < n for k in nhood_sizes), f"nhood sizes {nhood_sizes} need more than {max(nhood_sizes)} points")
    radii = np.zeros((n, len(nhood_sizes)), dtype=np.float32)
    keep = max(nhood_sizes) + 1
    for r0 in range(0, n, row_batch_size):
        rows = x[r0 : r0 + row_batch_size]
        nearest = None  # the `keep` smallest per row so far: one block in memory, not a whole row batch
        for c0 in range(0, n, col_batch_size):
            block = adm_distance_block(rows, x[c0 : c0 + col_batch_size], device)
            candidates = block if nearest is None else torch.cat([nearest, block], dim=1)
            nearest = torch.topk(candidates, min(keep, candidates.shape[1]), dim=1, largest=False, sorted=True).values
        radii[r0 : r0 + len(rows)] = nearest[:, list(nhood_sizes)].cpu().numpy()
    if clamp_to_percentile is not None:
        max_distances = np.percentile(radii, clamp_to_percentile, axis=0)
        radii[radii > max_distances] = 0
    return radii


@dataclass(frozen=True)
class Membership:
    """Per point and neighbourhood size: whether a reference point lies in some sample's ball (recall), and
    whether a sample lies in some reference point's ball (precision)."""

    ref_in_samples: np.ndarray
    samples_in_ref: np.ndarray

    @property
    def precision(self) -> np.ndarray:
        return np.mean(self.samples_in_ref.astype(np.float64), axis=0)

    @property
    def recall(self) -> np.ndarray:
        return np.mean(self.ref_in_samples.astype(np.float64), axis=0)


def adm_membership(
    ref: ArrayLike,
    radii_ref: np.ndarray,
    samples: ArrayLike,
    radii_samples: np.ndarray,
    row_batch_size: int = BATCH_SIZE,
    col_batch_size: int = BATCH_SIZE,
    device: str | torch.device | None = None,
) -> Membership:
    """`ManifoldEstimator.evaluate_pr`: blocks of reference rows x sample columns (the distance block is
    oriented that way, which changes its float16 rounding), `d <= radius` of the ball's owner."""
    a, b = _as_float32(ref, "ref"), _as_float32(samples, "samples")
    dev = resolve_device(device)
    r_a = torch.from_numpy(np.asarray(radii_ref, dtype=np.float32)).to(dev)
    r_b = torch.from_numpy(np.asarray(radii_samples, dtype=np.float32)).to(dev)
    check(r_a.shape[0] == len(a) and r_b.shape[0] == len(b), "radii must have one row per point")
    a_in = torch.zeros((len(a), r_b.shape[1]), dtype=torch.bool, device=dev)
    b_in = torch.zeros((len(b), r_a.shape[1]), dtype=torch.bool, device=dev)
    for i0 in range(0, len(a), row_batch_size):
        for j0 in range(0, len(b), col_batch_size):
            d = adm_distance_block(a[i0 : i0 + row_batch_size], b[j0 : j0 + col_batch_size], dev)[..., None]
            a_in[i0 : i0 + len(d)] |= (d <= r_b[None, j0 : j0 + d.shape[1]]).any(dim=1)
            b_in[j0 : j0 + d.shape[1]] |= (d <= r_a[i0 : i0 + len(d), None]).any(dim=0)
    return Membership(ref_in_samples=a_in.cpu().numpy(), samples_in_ref=b_in.cpu().numpy())


def adm_precision_recall(
    ref: ArrayLike, samples: ArrayLike, device: str | torch.device | None = None
) -> tuple[float, float]:
    """`Evaluator.compute_prec_recall`: (precision, recall) with k = 3 and ADM's batch sizes."""
    radii_ref = adm_manifold_radii(ref, device=device)
    radii_samples = adm_manifold_radii(samples, device=device)
    m = adm_membership(ref, radii_ref, samples, radii_samples, device=device)
    return float(m.precision[0]), float(m.recall[0])


@dataclass(frozen=True)
class AdmBatch:
    """An ADM batch file: `arr_0`, N x H x W x 3 uint8 images, streamed on demand; a reference batch also holds
    pool3 statistics (mu, sigma) and spatial ones (mu_s, sigma_s) that ADM uses instead of recomputing."""

    path: Path
    num_images: int
    image_shape: tuple[int, int, int]
    stats: tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None

    def iter_images(self, batch_size: int = 64) -> Iterator[np.ndarray]:
        """The images in order, `batch_size` at a time, without loading the whole array."""
        check(batch_size >= 1, f"batch_size must be positive, got {batch_size}")
        per_image = int(np.prod(self.image_shape))
        with zipfile.ZipFile(self.path) as zf, zf.open("arr_0.npy") as f:
            _read_npy_header(f)
            for start in range(0, self.num_images, batch_size):
                count = min(batch_size, self.num_images - start)
                data = f.read(count * per_image)
                check(len(data) == count * per_image, f"{self.path}: arr_0 is truncated", InputError)
                yield np.frombuffer(data, dtype=np.uint8).reshape(count, *self.image_shape)


def _read_npy_header(f) -> tuple[tuple[int, ...], bool, np.dtype]:
    version = np.lib.format.read_magic(f)
    check(version in ((1, 0), (2, 0)), f"unsupported .npy version {version} for arr_0")
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    return read(f)


def read_adm_batch(path: str | Path) -> AdmBatch:
    """Open an ADM `.npz` batch: check `arr_0` (uint8, N x H x W x 3, C order) and read the statistics when
    `mu` is present (then all four must be, as ADM reads them all)."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            check("arr_0.npy" in names, f"{path}: no arr_0 in the batch file", InputError)
            with zf.open("arr_0.npy") as f:
                shape, fortran, dtype = _read_npy_header(f)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable .npz batch ({exc})") from exc
    check(dtype == np.uint8, f"{path}: arr_0 must be uint8 images, got {dtype}")
    check(len(shape) == 4 and shape[3] == 3, f"{path}: arr_0 must be N x H x W x 3, got shape {shape}")
    check(not fortran, f"{path}: arr_0 is stored in Fortran order, which ADM does not stream")
    stats = None
    if "mu.npy" in names:
        missing = [k for k in STATS_KEYS if f"{k}.npy" not in names]
        check(not missing, f"{path}: has mu but not {', '.join(missing)}", StatisticsError)
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in STATS_KEYS}
        for mu, sigma in (("mu", "sigma"), ("mu_s", "sigma_s")):
            d = arrays[mu].shape[0] if arrays[mu].ndim == 1 else -1
            check(arrays[sigma].shape == (d, d), f"{path}: {mu} and {sigma} shapes do not match", StatisticsError)
        stats = ((arrays["mu"], arrays["sigma"]), (arrays["mu_s"], arrays["sigma_s"]))
    return AdmBatch(path=path, num_images=int(shape[0]), image_shape=tuple(shape[1:]), stats=stats)


def write_adm_batch(
    path: str | Path,
    images: np.ndarray,
    mu: np.ndarray | None = None,
    sigma: np.ndarray | None = None,
    mu_s: np.ndarray | None = None,
    sigma_s: np.ndarray | None = None,
) -> Path:
    """Write an ADM batch `.npz` (uncompressed `np.savez`, which ADM streams): `arr_0` and, for a reference
    batch, all four statistics. The file is written atomically at exactly `path`."""
    images = np.asarray(images)
    check(images.dtype == np.uint8, f"images must be uint8, got {images.dtype}")
    check(images.ndim == 4 and images.shape[3] == 3, f"images must be N x H x W x 3, got shape {images.shape}")
    given = {k: v for k, v in zip(STATS_KEYS, (mu, sigma, mu_s, sigma_s), strict=True) if v is not None}
    check(len(given) in (0, 4), "give all of mu, sigma, mu_s, sigma_s (ADM reads all four when mu is present)")
    arrays = {"arr_0": np.ascontiguousarray(images), **{k: np.asarray(v) for k, v in given.items()}}
    return atomic_write(path, lambda f: np.savez(f, **arrays))
