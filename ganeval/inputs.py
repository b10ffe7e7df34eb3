"""One input of a metric -> its pool3 statistics, features or logits: from a statistics file, a named
reference, the cache, or a pass of the network, in that order of preference.

The network is loaded only when something has to be computed; the weights' trunk hash that cache keys
and statistics checks need is read from the weights file without building the network.
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ganeval.cache import Cache, CacheKey
from ganeval.config import Settings
from ganeval.distributed import distributed_extract
from ganeval.errors import InputError, StatisticsError, WeightsError, check
from ganeval.extractor import FEATURE_LAYER, Extracted, InceptionExtractor
from ganeval.inception.precision import protocol
from ganeval.inception.store import resolve_weights
from ganeval.inception.weights import read_state_dict, trunk_digest
from ganeval.metrics.gaussian import GaussianStats
from ganeval.references import REF_PREFIX, Reference, Registry, committed_file, load_registry, verify_reference
from ganeval.sources import ImageSource, as_source, is_stats_file, parse_dataset, split_slice
from ganeval.sources.slicing import SliceSource, slice_label
from ganeval.statsfile import LoadedStats, check_settings, load_stats, stats_metadata


class SkippedFilesWarning(UserWarning):
    """Files were left out of an evaluation (not images, or undecodable with skip_bad)."""


@dataclass(frozen=True)
class StoreOptions:
    """How inputs are found and remembered (beside `Settings`, which says how images become numbers).

    cache: True caches every source, False none, None (the API default) only named datasets and
    references, the real data evaluated again and again; generated samples change every time.
    """

    cache: bool | None = None
    cache_dir: str | None = None  # None: ganeval.cache.cache_dir()
    force: bool = False  # use statistics whose settings or fingerprint disagree (with a warning)
    verify: bool = False  # folder and zip fingerprints hash file contents
    data_root: str | None = None  # named datasets; None: ganeval.sources.datasets.resolve_data_root
    download: bool = True  # fetch missing named datasets with torchvision
    max_pixels: int | None = None  # refuse larger images from folders and archives; None: PIL's limit, 0: none


class Input:
    """A resolved input: images (`source`) or precomputed statistics (`loaded`).

    A named reference opens its images only when they are needed: FID against a committed statistics
    file reads no data at all.
    """

    def __init__(
        self,
        label: str,
        source: ImageSource | None = None,
        loaded: LoadedStats | None = None,
        reference: tuple[Registry, Reference, str | None] | None = None,
        cacheable: bool = False,
        opener: Callable[[], ImageSource] | None = None,
        count: int | None = None,
    ):
        self.label, self.loaded, self.reference, self.cacheable = label, loaded, reference, cacheable
        self._source, self._opener, self._count = source, opener, count

    @property
    def has_images(self) -> bool:
        return self.loaded is None

    @property
    def source(self) -> ImageSource:
        if self._source is None:
            if self._opener is None:
                raise InputError(f"{self.label} is a statistics file: it holds no images")
            self._source = self._opener()
        return self._source

    def count(self) -> int | None:
        """The number of images, known without opening a reference's data; None for statistics files."""
        if self.loaded is not None:
            return self.loaded.n
        return self._count if self._source is None and self._count is not None else len(self.source)


@dataclass
class Obtained:
    n: int | None
    stats: GaussianStats | None = None
    pool3: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    meta: dict[str, Any] | None = None  # the metadata of what was loaded or computed
    class_stats: dict[str, GaussianStats] | None = None  # intra-FID: each class's statistics
    classes: Any = None  # intra-FID: the class of each row of `pool3` (numpy strings)


def resolve_input(obj: Any, label: str, store: StoreOptions, value_range: tuple[float, float] | None) -> Input:
    """Statistics file, `ref:NAME[slice]`, or anything `as_source` takes (path, dataset, array...)."""
    if isinstance(obj, LoadedStats):
        return Input(label=obj.path, loaded=obj)
    if isinstance(obj, str) and obj.startswith(REF_PREFIX):
        return _reference_input(obj[len(REF_PREFIX) :], store)
    if isinstance(obj, (str, os.PathLike)) and os.path.isfile(obj) and is_stats_file(obj):
        return Input(label=os.fspath(obj), loaded=load_stats(obj))
    source = as_source(
        obj,
        value_range=value_range,
        verify=store.verify,
        data_root=store.data_root,
        download=store.download,
        max_pixels=store.max_pixels,
    )
    named = isinstance(obj, str) and parse_dataset(split_slice(obj)[0]) is not None and not os.path.exists(obj)
    text = os.fspath(obj) if isinstance(obj, (str, os.PathLike)) else label
    return Input(label=text, source=source, cacheable=store.cache is True or (store.cache is None and named))


def _reference_input(spec: str, store: StoreOptions) -> Input:
    registry = load_registry()
    name, part = split_slice(spec)
    ref = registry.get(name)
    label = slice_label(part, ref.n) if part is not None else None
    count = len(range(ref.n)[part]) if part is not None else ref.n
    check(count > 0, f"slice {label} of reference {name} selects no images")

    def open_images() -> ImageSource:
        source = as_source(ref.source, data_root=store.data_root, download=store.download, max_pixels=store.max_pixels)
        check(
            len(source) == ref.n,
            f"reference {name} is {ref.n} images of {ref.source}, but {ref.source} holds {len(source)}",
        )
        return SliceSource(source, part) if part is not None else source

    return Input(
        label=f"{name}{label or ''}",
        reference=(registry, ref, label),
        cacheable=store.cache is not False,
        opener=open_images,
        count=count,
    )


@functools.lru_cache(maxsize=8)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    return trunk_digest(read_state_dict(path))


def local_weights_digest(weights: str | None) -> str | None:
    """Trunk sha256 of the weights that would be used, if they are on disk (never downloads)."""
    try:
        path = resolve_weights(weights, download=False)
        st = Path(path).stat()
    except (WeightsError, OSError):
        return None
    return _file_digest(str(path), st.st_size, st.st_mtime_ns)


class Pipeline:
    """Settings, the lazily loaded network, and the cache, shared by the inputs of one evaluation."""

    def __init__(self, settings: Settings, store: StoreOptions, extractor: InceptionExtractor | None = None):
        self.settings = settings
        self.store = store
        self._extractor = extractor
        # The protocol (mode, marked when the arithmetic is the fast one) files and checks every result.
        self.mode = extractor.protocol if extractor is not None else protocol(settings.mode, settings.precision)
        self.cache = Cache(store.cache_dir)
        self._digest: str | None = extractor.weights_sha256 if extractor is not None else None

    @property
    def extractor(self) -> InceptionExtractor:
        if self._extractor is None:
            self._extractor = InceptionExtractor.from_settings(self.settings)
            self._digest = self._extractor.weights_sha256
        return self._extractor

    def digest(self, required: bool) -> str | None:
        """The weights' trunk hash; when `required`, loads (or fetches) the weights if needed."""
        if self._digest is None:
            self._digest = local_weights_digest(self.settings.weights)
        if self._digest is None and required:
            return self.extractor.weights_sha256
        return self._digest

    def wanted(self, required: bool) -> dict[str, Any]:
        return {"weights_sha256": self.digest(required), "mode": self.mode, "layer": FEATURE_LAYER}

    def obtain_classes(self, item: Input, classes: Any) -> dict[str, GaussianStats]:
        """Each class's statistics, one subset of `item`'s images per class, each cached like any input."""
        from ganeval.labels import class_subsets

        out = {}
        for name, subset in class_subsets(item.source, classes, item.label).items():
            part = Input(label=f"{item.label}{{class {name}}}", source=subset, cacheable=item.cacheable)
            out[name] = self.obtain(part, stats=True).stats
        return out

    def obtain(self, item: Input, stats: bool = False, features: bool = False, logits: bool = False) -> Obtained:
        if item.loaded is not None:
            if features or logits:
                raise InputError(
                    f"{item.label} is a statistics file (mu and sigma only): KID and IS need image features, "
                    "give the images instead"
                )
            check_settings(item.loaded, self.wanted(required=False), self.store.force)
            return Obtained(item.loaded.n, stats=item.loaded.stats, meta=item.loaded.meta)
        return self._from_source(item, stats, features, logits)

    def _from_source(self, item: Input, stats: bool, features: bool, logits: bool) -> Obtained:
        out = Obtained(n=None)
        meta: dict[str, Any] | None = None
        if stats and item.reference is not None:
            out.stats, meta = self._committed(item)
            if out.stats is not None and not features and not logits:
                return self._verified(item, out, meta)  # the committed file is all that is needed: no data
        key = self._cache_key(item)
        if key is not None:
            if stats and out.stats is None and (hit := self.cache.get_stats(key)) is not None:
                out.stats, meta = hit.stats, hit.meta
            if features and (hit_f := self.cache.get_features(key)) is not None:
                out.pool3, meta = torch.from_numpy(hit_f[0]), hit_f[1]
        missing_stats, missing_features = stats and out.stats is None, features and out.pool3 is None
        if missing_stats or missing_features or logits:
            meta = self._compute(item, out, key, missing_stats, missing_features, logits)
        else:
            _warn_skipped(item.label, item.source.skipped, meta or {})
        return self._verified(item, out, meta)

    def _verified(self, item: Input, out: Obtained, meta: dict[str, Any] | None) -> Obtained:
        """`out` with its count and metadata, a reference's statistics checked against the registry."""
        out.n = int(meta["n"]) if meta and "n" in meta else (out.stats.n if out.stats is not None else None)
        if item.reference is not None and out.stats is not None:
            registry, ref, part = item.reference
            verify_reference(registry, ref, part, out.stats, self.store.force)
        out.meta = meta
        return out

    def _cache_key(self, item: Input) -> CacheKey | None:
        """The key of `item`'s cached results, or None when it is not cached.

        `max_pixels` changes which images are refused, never the pixels of those decoded: without skip_bad a
        refused image is an error and nothing is cached, so the key leaves it out (and a raised limit reuses
        what a run with the default computed). With skip_bad it decides which images are counted, so an
        explicit limit is folded into the source part of the key (CacheKey has no field of its own for it).

        A distributed run neither reads nor writes the cache: a rank that hits while another misses would
        leave the other waiting in a collective, and the ranks' file systems need not be the same.
        """
        if not item.cacheable or self.settings.distributed or not item.source.cacheable:
            return None  # distributed: ranks deciding hit or miss on their own could split up and hang
        fingerprint = item.source.fingerprint
        if self.settings.skip_bad and self.store.max_pixels is not None:
            fingerprint = f"{fingerprint};max_pixels={self.store.max_pixels}"
        return CacheKey(fingerprint, self.digest(True), self.mode, FEATURE_LAYER, self.settings.skip_bad)

    def _committed(self, item: Input) -> tuple[GaussianStats | None, dict[str, Any] | None]:
        registry, ref, part = item.reference
        path = committed_file(registry, ref) if part is None else None
        if path is None:
            return None, None
        loaded = load_stats(path)
        try:
            check_settings(loaded, self.wanted(required=True), force=False)
        except StatisticsError:
            return None, None  # built with other weights or settings: compute our own instead
        return loaded.stats, loaded.meta

    def _compute(
        self, item: Input, out: Obtained, key: CacheKey | None, stats: bool, features: bool, logits: bool
    ) -> dict[str, Any]:
        s = self.settings
        desc = f"building {item.label}" if item.reference is not None else item.label
        extract = functools.partial(distributed_extract, self.extractor) if s.distributed else self.extractor.extract
        extracted = extract(
            item.source,
            stats=stats,
            keep_pool3=features,
            logits=logits,
            workers=s.workers,
            skip_bad=s.skip_bad,
            progress=s.progress,
            desc=desc,
        )
        meta = self._metadata(item, extracted)
        _warn_skipped(item.label, item.source.skipped, meta)
        if stats:
            out.stats = extracted.stats
        if features:
            out.pool3 = extracted.pool3
        out.logits = extracted.logits
        if key is not None and stats and extracted.stats is not None:
            self.cache.put_stats(key, item.label, extracted.stats, meta)
        if key is not None and features and extracted.pool3 is not None:
            self.cache.put_features(key, item.label, extracted.pool3.numpy(), meta)
        return meta

    def _metadata(self, item: Input, extracted: Extracted) -> dict[str, Any]:
        extra = {"reference": item.reference[1].name} if item.reference is not None else {}
        return stats_metadata(
            weights_sha256=self.extractor.weights_sha256,
            mode=self.mode,
            layer=FEATURE_LAYER,
            source=item.label,
            source_fingerprint=item.source.fingerprint if item.source.cacheable else None,
            n=extracted.n,
            skip_bad=self.settings.skip_bad,
            n_skipped_bad=extracted.report.n_skipped_bad,
            bad_examples=extracted.report.bad_examples[:3],
            precision=self.extractor.precision,
            **extra,
        )


def _warn_skipped(label: str, skipped: int, meta: dict[str, Any]) -> None:
    if skipped:
        warnings.warn(f"{label}: {skipped} non-image file(s) ignored", SkippedFilesWarning, stacklevel=4)
    if meta.get("n_skipped_bad"):
        examples = ", ".join(meta.get("bad_examples", [])[:3])
        warnings.warn(
            f"{label}: {meta['n_skipped_bad']} undecodable image(s) skipped (e.g. {examples})",
            SkippedFilesWarning,
            stacklevel=4,
        )
