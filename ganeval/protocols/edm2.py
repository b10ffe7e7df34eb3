"""The arithmetic and reference files of NVlabs EDM2 (`calculate_metrics.py`: FID and FD_DINOv2).

EDM2 accumulates float64 sums per batch (sum x and sum x x^T), then mu = sum / N and
sigma = (sum x x^T - N mu mu^T) / (N - 1); FD is StyleGAN3's (scipy `sqrtm` of sigma_gen @ sigma_ref, real
part). A folder of images is split with `np.array_split` into ceil(N / 64) near-equal batches, so the
summation order, and the last bits, follow from N alone; multi-GPU runs sum per-rank partials in another
order (round-off only).

Reference files are pickles of `{'num_images': N, 'fid': {'mu', 'sigma'}, 'fd_dinov2': {'mu', 'sigma'}}`
(metrics optional), or EDM1's `.npz` with `mu` and `sigma`, read as the 'fid' entry. A pickle can run any
code when loaded, so they are read here by an unpickler that admits numpy arrays, dtypes and scalars and
nothing else (plain dicts, strings and numbers need no admission).
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ganeval.atomic import atomic_write
from ganeval.errors import StatisticsError, check
from ganeval.metrics.gaussian import ArrayLike
from ganeval.protocols.stylegan import nvlabs_frechet_distance

MAX_BATCH_SIZE = 64
METRICS = ("fid", "fd_dinov2")
# What pickled numpy arrays, dtypes and scalars refer to (numpy 1 spells numpy._core as numpy.core).
_ADMITTED = {
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),  # protocol 2 pickles carry array bytes as latin-1 text
}


def edm2_file_batches(num_images: int, max_batch_size: int = MAX_BATCH_SIZE) -> list[np.ndarray]:
    """The image indices of each batch, as `calculate_stats_for_files` splits a folder on one GPU."""
    check(num_images >= 2, f"EDM2 needs at least 2 images, got {num_images}")
    return np.array_split(np.arange(num_images), max((num_images - 1) // max_batch_size + 1, 1))


def edm2_image_subset(num_available: int, num_images: int | None, seed: int = 0) -> np.ndarray:
    """Which of a folder's images (in sorted file-name order) `--num`/`--seed` select: all when there are no
    more than `num_images`, else a seeded shuffle's first `num_images`, sorted (`ImageFolderDataset`)."""
    order = np.arange(num_available)
    if num_images is not None and num_available > num_images:
        np.random.RandomState(seed % (1 << 31)).shuffle(order)
        order = np.sort(order[:num_images])
    return order


def edm2_statistics(
    features: ArrayLike, batches: Iterable[np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray, int]:
    """(mu, sigma, N) from float64 sums over `batches` (row indices into `features`; by default the folder
    split of `edm2_file_batches`), in EDM2's operation order."""
    x = torch.as_tensor(features.detach().cpu() if isinstance(features, torch.Tensor) else np.asarray(features))
    check(x.dim() == 2, f"features must be a 2-D (n, d) matrix, got shape {tuple(x.shape)}")
    check(x.is_floating_point(), f"features must be floating point, got dtype {x.dtype}")
    cum_mu = torch.zeros(x.shape[1], dtype=torch.float64)
    cum_sigma = torch.zeros(x.shape[1], x.shape[1], dtype=torch.float64)
    n = 0
    for idx in edm2_file_batches(len(x)) if batches is None else batches:
        batch = x[torch.as_tensor(idx, dtype=torch.long)].to(torch.float64)
        cum_mu += batch.sum(0)
        cum_sigma += batch.T @ batch
        n += len(batch)
    check(n >= 2, f"EDM2 needs at least 2 images, got {n}")
    mu = cum_mu / n
    sigma = (cum_sigma - torch.outer(mu, mu) * n) / (n - 1)
    return mu.numpy(), sigma.numpy(), n


def edm2_frechet_distance(
    mu_gen: np.ndarray, sigma_gen: np.ndarray, mu_ref: np.ndarray, sigma_ref: np.ndarray
) -> float:
    """`calculate_metrics_from_stats` for one metric (generated statistics first)."""
    return nvlabs_frechet_distance(mu_gen, sigma_gen, mu_ref, sigma_ref)


@dataclass(frozen=True)
class Edm2Reference:
    """An EDM2 reference: (mu, sigma) per metric name, and the image count when the file records it."""

    stats: dict[str, tuple[np.ndarray, np.ndarray]]
    num_images: int | None


# What a truncated or malformed file raises while loading (refused globals raise StatisticsError themselves).
_READ_ERRORS = (OSError, ValueError, EOFError, TypeError, KeyError, IndexError, AttributeError, pickle.UnpicklingError)
# Where this numpy keeps what a pickle calls numpy.core or numpy._core.
_CORE = "numpy._core" if int(np.__version__.split(".")[0]) >= 2 else "numpy.core"


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        for spelling in ("numpy.core", "numpy._core"):
            if module == spelling or module.startswith(spelling + "."):
                module = "numpy._core" + module[len(spelling) :]
        if (module, name) not in _ADMITTED:
            raise StatisticsError(f"refusing to load {module}.{name} from a reference pickle (only numpy arrays)")
        if module.startswith("numpy._core"):
            module = _CORE + module[len("numpy._core") :]
        return super().find_class(module, name)


def _stats_entry(path: Path, metric: object, entry: object) -> tuple[np.ndarray, np.ndarray]:
    check(isinstance(metric, str), f"{path}: metric names must be strings, got {metric!r}", StatisticsError)
    check(
        isinstance(entry, Mapping) and {"mu", "sigma"} <= set(entry),
        f"{path}: {metric} lacks mu/sigma",
        StatisticsError,
    )
    mu, sigma = entry["mu"], entry["sigma"]
    for name, arr in (("mu", mu), ("sigma", sigma)):
        ok = isinstance(arr, np.ndarray) and arr.dtype.kind in "fiu"
        check(ok, f"{path}: {metric}.{name} is not a numeric array", StatisticsError)
    d = mu.shape[0] if mu.ndim == 1 else -1
    check(sigma.shape == (d, d), f"{path}: {metric} has mu {mu.shape} and sigma {sigma.shape}", StatisticsError)
    check(bool(np.isfinite(mu).all() and np.isfinite(sigma).all()), f"{path}: {metric} is not finite", StatisticsError)
    return mu, sigma


def read_edm2_reference(path: str | Path) -> Edm2Reference:
    """Read an EDM2 `.pkl` reference (only numpy arrays admitted) or an EDM1 `.npz` (its 'fid' entry)."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as z:
                data = {"fid": {k: z[k] for k in z.files}}
        else:
            with open(path, "rb") as f:
                data = _ArrayUnpickler(f).load()
    except _READ_ERRORS as exc:
        raise StatisticsError(f"{path}: not a readable EDM2 reference ({exc})") from exc
    check(isinstance(data, dict), f"{path}: an EDM2 reference is a dict, got {type(data).__name__}", StatisticsError)
    num_images = data.get("num_images")
    check(
        num_images is None or (isinstance(num_images, (int, np.integer)) and num_images >= 2),
        f"{path}: num_images must be an integer >= 2, got {num_images!r}",
        StatisticsError,
    )
    stats = {m: _stats_entry(path, m, e) for m, e in data.items() if m != "num_images"}
    check(bool(stats), f"{path}: holds no statistics", StatisticsError)
    return Edm2Reference(stats=stats, num_images=None if num_images is None else int(num_images))


def write_edm2_reference(
    path: str | Path, stats_by_metric: Mapping[str, tuple[np.ndarray, np.ndarray]], num_images: int
) -> Path:
    """Write a reference EDM2 reads: a pickle of plain dicts and float64 arrays, `num_images` first; or, for a
    `.npz` path, EDM1's `mu`/`sigma` of the single metric 'fid'."""
    path = Path(path)
    check(isinstance(num_images, int) and num_images >= 2, f"num_images must be an integer >= 2, got {num_images!r}")
    entries = {
        m: _stats_entry(path, m, {"mu": np.asarray(mu), "sigma": np.asarray(s)})
        for m, (mu, s) in stats_by_metric.items()
    }
    check(bool(entries), "no statistics to write")
    arrays = {m: {"mu": mu.astype(np.float64), "sigma": s.astype(np.float64)} for m, (mu, s) in entries.items()}
    if path.suffix.lower() == ".npz":
        check(set(arrays) == {"fid"}, "an .npz reference holds only 'fid' (EDM2 reads it as that)", StatisticsError)
        return atomic_write(path, lambda f: np.savez(f, **arrays["fid"]))
    data = {"num_images": num_images, **arrays}
    return atomic_write(path, lambda f: pickle.dump(data, f, protocol=4))
