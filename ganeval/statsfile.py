"""Statistics files: mu and sigma in float64 plus the settings that produced them, so a mismatch is caught.

Format (`.npz`, readable by pytorch-fid, which reads only `mu` and `sigma`):
- `mu` float64 (d,); `sigma` float64 (d, d) -- or, in the compact forms, `sigma_triu`, the upper
  triangle row by row: float64 (exact, half the size; cache entries) or float32 (reference_stats/,
  FID changes by ~1e-6 relative);
- `n` int64, the number of images; `meta` a JSON string: format, features (the space; absent in files of
  ganeval 0.2, which are Inception's), weights_sha256 (Inception: its trunk), mode, layer, ganeval_version,
  source, source_fingerprint, created, and anything else recorded.

Files with only `mu` and `sigma` (pytorch-fid's `--save-stats`) load too, flagged as carrying no
metadata: nothing about them can be checked, and their image count is unknown.
"""

from __future__ import annotations

import datetime
import json
import os
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ganeval._version import __version__
from ganeval.atomic import atomic_write
from ganeval.errors import StatisticsError, check
from ganeval.metrics.stats import GaussianStats

STATS_FORMAT = "ganeval-stats/1"
STORAGES = ("full", "triu", "triu32")
SETTING_KEYS = ("features", "weights_sha256", "mode", "layer")
LAYER_DIMS = {"pool3": 2048, "mixed_6/conv": 2023}  # Inception's layers; other spaces' depend on the weights
SYMMETRY_TOLERANCE = 1e-8


class NoMetadataWarning(UserWarning):
    """A statistics file without ganeval metadata: its settings cannot be checked."""


class SettingsMismatchWarning(UserWarning):
    """A statistics file computed with other settings is used anyway (force)."""


@dataclass(frozen=True)
class LoadedStats:
    """Statistics read from a file; `meta` is None for files without metadata (then `n` is unknown)."""

    stats: GaussianStats
    meta: dict[str, Any] | None
    path: str

    @property
    def n(self) -> int | None:
        return None if self.meta is None else self.stats.n


def stats_metadata(
    *,
    weights_sha256: str,
    mode: str,
    layer: str,
    source: str,
    source_fingerprint: str | None,
    features: str = "inception",
    **extra: Any,
) -> dict[str, Any]:
    """The metadata every statistics file and cache entry carries."""
    return {
        "format": STATS_FORMAT,
        "features": features,
        "weights_sha256": weights_sha256,
        "mode": mode,
        "layer": layer,
        "ganeval_version": __version__,
        "source": source,
        "source_fingerprint": source_fingerprint,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        **extra,
    }


def stats_arrays(stats: GaussianStats, meta: dict[str, Any], storage: str = "full") -> dict[str, np.ndarray]:
    """The arrays of a statistics file in one of `STORAGES`."""
    check(storage in STORAGES, f"unknown storage {storage!r}; choose from {', '.join(STORAGES)}", StatisticsError)
    arrays = {"mu": stats.mu, "n": np.int64(stats.n), "meta": np.array(json.dumps({**meta, "storage": storage}))}
    if storage == "full":
        arrays["sigma"] = stats.sigma
    else:
        upper = stats.sigma[np.triu_indices(stats.dim)]
        arrays["sigma_triu"] = upper.astype(np.float32) if storage == "triu32" else upper
    return arrays


def save_stats(path: str | os.PathLike, stats: GaussianStats, meta: dict[str, Any], storage: str = "full") -> Path:
    """Write a statistics file atomically (compressed for `triu32`); returns its path."""
    arrays = stats_arrays(stats, meta, storage)
    save = np.savez_compressed if storage == "triu32" else np.savez
    return atomic_write(path, lambda f: save(f, **arrays))


def load_stats(path: str | os.PathLike) -> LoadedStats:
    """Read and validate a statistics file (ganeval's or pytorch-fid's)."""
    path = os.fspath(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise StatisticsError(f"cannot read statistics file {path}: {exc}") from None
    return stats_from_arrays(arrays, path)


def stats_from_arrays(arrays: dict[str, np.ndarray], path: str) -> LoadedStats:
    """Validate the arrays of a statistics file: keys, shapes, finiteness, symmetry, metadata."""
    check("mu" in arrays, f"{path} is not a statistics file: it has no 'mu' array", StatisticsError)
    mu = np.asarray(arrays["mu"], dtype=np.float64)
    check(mu.ndim == 1 and mu.size > 0, f"{path}: mu must be a non-empty vector, got shape {mu.shape}", StatisticsError)
    sigma = _read_sigma(arrays, mu.shape[0], path)
    meta = _read_meta(arrays, path)
    if meta is None:
        n = int(arrays["n"]) if "n" in arrays else mu.shape[0] + 1  # unknown: a placeholder that warns of nothing
    else:
        check("n" in arrays, f"{path}: ganeval statistics file without 'n'", StatisticsError)
        n = int(arrays["n"])
    try:
        stats = GaussianStats(mu=mu, sigma=sigma, n=n)
    except StatisticsError as exc:
        raise StatisticsError(f"{path}: {exc}") from None
    return LoadedStats(stats=stats, meta=meta, path=path)


def _read_sigma(arrays: dict[str, np.ndarray], d: int, path: str) -> np.ndarray:
    if "sigma_triu" in arrays:
        upper = np.asarray(arrays["sigma_triu"], dtype=np.float64)
        expected = d * (d + 1) // 2
        check(upper.shape == (expected,), f"{path}: sigma_triu must have {expected} values", StatisticsError)
        sigma = np.empty((d, d))
        rows, cols = np.triu_indices(d)
        sigma[rows, cols] = upper
        sigma[cols, rows] = upper
        return sigma
    check("sigma" in arrays, f"{path} is not a statistics file: it has no 'sigma' array", StatisticsError)
    sigma = np.asarray(arrays["sigma"], dtype=np.float64)
    check(sigma.shape == (d, d), f"{path}: sigma must be ({d}, {d}) to match mu, got {sigma.shape}", StatisticsError)
    check(bool(np.isfinite(sigma).all()), f"{path}: sigma contains NaN or Inf", StatisticsError)
    scale = float(np.abs(sigma).max()) or 1.0
    asymmetry = float(np.abs(sigma - sigma.T).max()) / scale
    check(
        asymmetry <= SYMMETRY_TOLERANCE,
        f"{path}: sigma is not symmetric (relative asymmetry {asymmetry:.1e}), so it is not a covariance",
        StatisticsError,
    )
    return sigma


def _read_meta(arrays: dict[str, np.ndarray], path: str) -> dict[str, Any] | None:
    if "meta" not in arrays:
        return None
    try:
        meta = json.loads(str(arrays["meta"]))
    except ValueError:
        raise StatisticsError(f"{path}: its 'meta' entry is not JSON") from None
    check(isinstance(meta, dict), f"{path}: its 'meta' entry is not a JSON object", StatisticsError)
    check(
        meta.get("format") == STATS_FORMAT,
        f"{path}: unknown statistics format {meta.get('format')!r} (this ganeval reads {STATS_FORMAT})",
        StatisticsError,
    )
    return meta


def check_settings(loaded: LoadedStats, wanted: dict[str, Any], force: bool = False) -> None:
    """Refuse statistics computed with settings other than `wanted` (keys of SETTING_KEYS; None = any).

    Differences in the recorded settings are named, and can be overridden with `force` (a warning then); the
    feature dimension (`wanted["dim"]`, else the layer's known one) must fit always.
    """
    if loaded.meta is None:
        warnings.warn(
            f"{loaded.path} carries no metadata (a pytorch-fid file?): its space, weights, preprocessing mode and "
            "layer cannot be checked, and its image count is unknown",
            NoMetadataWarning,
            stacklevel=2,
        )
    else:
        recorded = {"features": "inception", **loaded.meta}  # files of ganeval 0.2 hold Inception's statistics
        mismatches = [
            f"{key}={_short(recorded.get(key))} (requested {_short(value)})"
            for key, value in wanted.items()
            if key in SETTING_KEYS and value is not None and recorded.get(key) != value
        ]
        if mismatches:
            message = f"{loaded.path} was computed with {', '.join(mismatches)}"
            if not force:
                raise StatisticsError(f"{message}; recompute it with these settings, or pass --force to use it anyway")
            warnings.warn(f"{message}; used anyway (--force)", SettingsMismatchWarning, stacklevel=2)
    layer = wanted.get("layer")
    dim = wanted.get("dim") or LAYER_DIMS.get(layer)
    check(
        dim is None or loaded.stats.dim == dim,
        f"{loaded.path} holds {loaded.stats.dim}-d statistics but {wanted.get('features', 'inception')} {layer} "
        f"features are {dim}-d",
        StatisticsError,
    )


def _short(value: Any) -> str:
    text = str(value)
    return text[:12] if len(text) == 64 and all(c in "0123456789abcdef" for c in text) else text


def stats_fingerprint(stats: GaussianStats) -> dict[str, float | int]:
    """n, trace(sigma) and |mu| to 6 significant digits: enough to tell a wrong network, mode or data."""
    return {
        "n": stats.n,
        "trace_sigma": float(f"{np.trace(stats.sigma):.6g}"),
        "mu_norm": float(f"{np.linalg.norm(stats.mu):.6g}"),
    }


def fingerprint_mismatch(actual: dict[str, Any], expected: dict[str, Any], rtol: float) -> list[str]:
    """The fields of `expected` that `actual` misses by more than `rtol` (n must be equal)."""
    wrong = []
    for key, want in expected.items():
        have = actual.get(key)
        ok = have == want if key == "n" else have is not None and abs(have - want) <= rtol * abs(want)
        if not ok:
            wrong.append(f"{key} {have} (expected {want})")
    return wrong
