"""The statistics and feature cache: each source's statistics (FID) and features (KID...) per view, computed once.

Location: `$GANEVAL_CACHE`, else `$GANEVAL_HOME/cache` (default `~/.cache/ganeval/cache`). An entry's
name is a readable label plus a hash of everything that determines its content: the source
fingerprint, the feature space, the weights sha256 (Inception: of its trunk), the preprocessing mode, the
layer, the skip-bad rule, what is
stored, the cache format and ganeval's major.minor version. Entries are written atomically
(`ganeval.atomic`), so a killed run leaves no corrupt entry and concurrent writers of one entry each
leave a complete one. An entry that cannot be read counts as absent and is recomputed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import warnings
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ganeval._version import __version__
from ganeval.atomic import TMP_PREFIX, atomic_write
from ganeval.errors import GanevalError, InputError
from ganeval.metrics.stats import GaussianStats
from ganeval.paths import cache_dir
from ganeval.statsfile import LoadedStats, stats_arrays, stats_from_arrays

CACHE_FORMAT = 2  # 2: the feature space is part of every key
KINDS = ("stats", "features")
STALE_TMP_SECONDS = 3600.0  # temporary files older than this belong to dead writers
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNITS = {"": 86400.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


class CacheWarning(UserWarning):
    """The cache could not be read or written; the run goes on without it."""


@dataclass(frozen=True)
class CacheKey:
    """Everything that determines a source's features, apart from what is stored."""

    source_fingerprint: str
    weights_sha256: str
    mode: str
    layer: str
    skip_bad: bool = False
    space: str = "inception"

    def digest(self, kind: str) -> str:
        fields = {**asdict(self), "kind": kind, "format": CACHE_FORMAT, "version": _major_minor()}
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:32]


def _major_minor() -> str:
    return ".".join(__version__.split(".")[:2])


def _view_slug(key: CacheKey) -> str:
    """The readable part naming the view: `tf-pool3` for Inception, `dinov2-vit-l-14-edm2-cls` for others."""
    view = f"{key.mode}-{key.layer}" if key.space == "inception" else f"{key.space}-{key.mode}-{key.layer}"
    return re.sub(r"[^A-Za-z0-9_.+-]+", "_", view)


def _slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("._-")[-60:] or "source"


@dataclass(frozen=True)
class CacheEntry:
    path: Path
    kind: str
    size: int
    mtime: float
    meta: dict[str, Any] | None


class Cache:
    """One cache folder; every method is safe to call from several processes at once."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root) if root is not None else cache_dir()

    def path_for(self, key: CacheKey, kind: str, label: str) -> Path:
        return self.root / f"{_slug(label)}-{kind}-{_view_slug(key)}-{key.digest(kind)}.npz"

    def find(self, key: CacheKey, kind: str) -> Path | None:
        """The entry for `key` and `kind` under any label, or None."""
        if not self.root.is_dir():
            return None
        return next(iter(sorted(self.root.glob(f"*-{kind}-{_view_slug(key)}-{key.digest(kind)}.npz"))), None)

    def get_stats(self, key: CacheKey) -> LoadedStats | None:
        arrays = self._read(self.find(key, "stats"))
        if arrays is None:
            return None
        try:
            return stats_from_arrays(arrays, str(self.find(key, "stats")))
        except GanevalError as exc:
            warnings.warn(f"ignoring a bad cache entry: {exc}", CacheWarning, stacklevel=2)
            return None

    def put_stats(self, key: CacheKey, label: str, stats: GaussianStats, meta: dict[str, Any]) -> Path | None:
        # triu float64: exact (computed covariances are exactly symmetric) at half the size.
        arrays = stats_arrays(stats, meta, storage="triu")
        return self._write(self.path_for(key, "stats", label), arrays)

    def get_features(self, key: CacheKey) -> tuple[np.ndarray, dict[str, Any]] | None:
        arrays = self._read(self.find(key, "features"))
        if arrays is None:
            return None
        features, meta = arrays.get("features"), _meta(arrays)
        if features is None or meta is None or features.ndim != 2 or not np.isfinite(features).all():
            warnings.warn("ignoring a bad feature cache entry", CacheWarning, stacklevel=2)
            return None
        return features, meta

    def put_features(self, key: CacheKey, label: str, features: np.ndarray, meta: dict[str, Any]) -> Path | None:
        arrays = {"features": np.asarray(features, dtype=np.float32), "meta": np.array(json.dumps(meta))}
        return self._write(self.path_for(key, "features", label), arrays)

    def _read(self, path: Path | None) -> dict[str, np.ndarray] | None:
        if path is None:
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                return {k: data[k] for k in data.files}
        except FileNotFoundError:
            return None  # removed by a concurrent `cache clear`
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            warnings.warn(f"ignoring unreadable cache entry {path}: {exc}", CacheWarning, stacklevel=3)
            return None

    def _write(self, path: Path, arrays: dict[str, np.ndarray]) -> Path | None:
        try:
            return atomic_write(path, lambda f: np.savez(f, **arrays))
        except OSError as exc:
            warnings.warn(f"could not write cache entry {path}: {exc}", CacheWarning, stacklevel=3)
            return None

    def entries(self) -> list[CacheEntry]:
        """Complete entries, oldest first (temporary files of running or dead writers are left out)."""
        found = []
        for path in sorted(self.root.glob("*.npz")) if self.root.is_dir() else []:
            kind = next((k for k in KINDS if f"-{k}-" in path.name), None)
            try:
                st = path.stat()
            except OSError:
                continue  # removed meanwhile
            try:
                with np.load(path, allow_pickle=False) as data:
                    meta = _meta({"meta": data["meta"]}) if "meta" in data.files else None
            except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile):
                meta = None
            if kind is not None:
                found.append(CacheEntry(path, kind, st.st_size, st.st_mtime, meta))
        return sorted(found, key=lambda e: e.mtime)

    def clear(self, older_than: float | None = None) -> tuple[int, int]:
        """Remove entries (those not modified for `older_than` seconds) and stale temporary files.

        Returns (entries removed, bytes freed).
        """
        now = time.time()
        removed = freed = 0
        for entry in self.entries():
            if older_than is None or now - entry.mtime > older_than:
                removed, freed = removed + _unlink(entry.path), freed + entry.size
        for tmp in self.root.glob(f"{TMP_PREFIX}*") if self.root.is_dir() else []:
            try:
                if now - tmp.stat().st_mtime > STALE_TMP_SECONDS:
                    freed += tmp.stat().st_size
                    _unlink(tmp)
            except OSError:
                continue
        return removed, freed


def _meta(arrays: dict[str, np.ndarray]) -> dict[str, Any] | None:
    try:
        meta = json.loads(str(arrays["meta"]))
    except (KeyError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def _unlink(path: Path) -> int:
    try:
        path.unlink()
        return 1
    except FileNotFoundError:
        return 0


def parse_age(text: str) -> float:
    """`"30m"`, `"12h"`, `"7d"`, `"2w"` (a bare number is days) -> seconds."""
    match = _AGE.match(text)
    if match is None:
        raise InputError(f"cannot read the age {text!r}: use a number with s, m, h, d or w, e.g. 7d")
    return float(match[1]) * _UNITS[match[2]]
