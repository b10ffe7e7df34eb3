"""One input of a metric -> its statistics, feature rows or logits in each view the metrics read: from a
statistics file, a named reference, the cache, or one pass of the networks, in that order of preference.

Networks are loaded only when something has to be computed; the weights' digest that cache keys and
statistics checks need is read from the weights file without building the network. Every view missing
from the cache is computed in one pass over the images (`ganeval.extractor.extract_side`).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from ganeval.cache import Cache, CacheKey
from ganeval.config import PRECISION_ALIASES, Settings
from ganeval.errors import InputError, StatisticsError, WeightsError, check
from ganeval.extractor import FEATURE_LAYER, Extracted, Extractor, InceptionExtractor, SideState, extract_side
from ganeval.features.spaces import SPACES, get_space
from ganeval.features.views import View
from ganeval.features.weights import file_digest, remembered_digest
from ganeval.features.weights import resolve as resolve_weights_file
from ganeval.inception.precision import FAST, protocol
from ganeval.inception.weights import read_state_dict, trunk_digest
from ganeval.metrics.gaussian import GaussianStats
from ganeval.references import REF_PREFIX, Reference, Registry, committed_file, load_registry, verify_reference
from ganeval.results import Needs
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
    """A resolved input: images (`source`), precomputed statistics (`loaded`), or both: a suite's reference
    file bundles statistics of named views (`bundled`: ADM's reference batches, EDM2's .pkl files), which
    are used instead of recomputing them, as the suite does.

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
        bundled: dict[View, GaussianStats] | None = None,
    ):
        self.label, self.loaded, self.reference, self.cacheable = label, loaded, reference, cacheable
        self._source, self._opener, self._count = source, opener, count
        self.bundled = bundled or {}

    @property
    def has_images(self) -> bool:
        return self.loaded is None and (self._source is not None or self._opener is not None)

    @property
    def source(self) -> ImageSource:
        if self._source is None:
            if self._opener is None:
                raise InputError(f"{self.label} is a statistics file: it holds no images")
            self._source = self._opener()
        return self._source

    @property
    def skipped_files(self) -> int:
        """Non-image files left out of an opened source (a reference not opened has none to report)."""
        return self._source.skipped if self._source is not None else 0

    def count(self) -> int | None:
        """The number of images, known without opening a reference's data; None for statistics files."""
        if self.loaded is not None:
            return self.loaded.n
        if not self.has_images:
            return self._count
        return self._count if self._source is None and self._count is not None else len(self.source)


@dataclass
class Obtained:
    """What one input provides in one view."""

    n: int | None
    stats: GaussianStats | None = None
    features: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    meta: dict[str, Any] | None = None  # the metadata of what was loaded or computed
    class_stats: dict[str, GaussianStats] | None = None  # intra-FID: each class's statistics
    classes: Any = None  # intra-FID: the class of each row of `features` (numpy strings)


def resolve_input(obj: Any, label: str, store: StoreOptions, value_range: tuple[float, float] | None) -> Input:
    """Statistics file, `ref:NAME[slice]`, or anything `as_source` takes (path, dataset, array...)."""
    if isinstance(obj, LoadedStats):
        return Input(label=obj.path, loaded=obj)
    if isinstance(obj, str) and obj.startswith(REF_PREFIX):
        return _reference_input(obj[len(REF_PREFIX) :], store)
    if isinstance(obj, (str, os.PathLike)) and os.path.isfile(obj):
        from ganeval.protocols.files import suite_file_input

        suite = suite_file_input(os.fspath(obj), store)
        if suite is not None:
            return suite
        if is_stats_file(obj):
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


def _trunk_digest(path: str) -> str:
    return trunk_digest(read_state_dict(path))


def local_weights_digest(network: str = "inception", weights: str | None = None) -> str | None:
    """The digest of the weights `network` would use, if they are on disk (never downloads): Inception's
    trunk sha256 (shared by its canonical and converted files), another network's file sha256."""
    try:
        path = resolve_weights_file(network, weights, download=False)
        if network == "inception":  # the trunk's digest, shared by the canonical file and its conversions
            return remembered_digest(path, "inception-trunk", _trunk_digest)
        return file_digest(path)
    except (WeightsError, OSError):
        return None


class Pipeline:
    """Settings, the lazily loaded networks, and the cache, shared by the inputs of one evaluation.

    `extractors` are loaded networks to use where they fit a view (same network and mode); the others are
    built on first need. `networks` names every network the evaluation reads, so that a single weights file
    is known to be unambiguous.
    """

    def __init__(
        self,
        settings: Settings,
        store: StoreOptions,
        extractors: Extractor | Sequence[Extractor] | None = None,
        networks: Sequence[str] = (),
    ):
        self.settings = settings
        self.store = store
        if isinstance(extractors, Extractor) or hasattr(extractors, "run"):
            extractors = [extractors]
        self._extractors: list[Extractor] = list(extractors or [])
        self.networks = tuple(sorted(set(networks)))
        self.cache = Cache(store.cache_dir)
        self._digests: dict[str, str] = {e.network: e.weights_sha256 for e in self._extractors}

    @property
    def extractor(self) -> Extractor:
        """The Inception extractor (the default view's), loaded on first use."""
        return self.extractor_for(View("inception", FEATURE_LAYER, self.settings.mode_for("inception")))

    def loaded(self) -> list[Extractor]:
        return list(self._extractors)

    def extractor_for(self, view: View) -> Extractor:
        """The loaded network serving `view`, built (and its weights fetched) on first need."""
        for extractor in self._extractors:
            if extractor.network == view.network and extractor.mode == view.mode:
                return extractor
        s = self.settings
        weights = s.weights_for(view.network, self.networks or (view.network,))
        if view.network == "inception":
            extractor: Extractor = InceptionExtractor(weights, view.mode, s.device, s.batch_size, s.precision)
        else:
            from ganeval.features.registry import build_extractor

            extractor = build_extractor(
                view.space, weights, view.mode, s.device, s.batch_size, s.precision, download=self.store.download
            )
        self._extractors.append(extractor)
        self._digests[view.network] = extractor.weights_sha256
        return extractor

    def protocol(self, view: View) -> str:
        """The mode results of `view` are filed under: marked `+fast` for the fast arithmetic."""
        for extractor in self._extractors:
            if extractor.network == view.network and extractor.mode == view.mode:
                return extractor.protocol
        if view.network == "inception":
            return protocol(view.mode, self.settings.precision)
        return f"{view.mode}+fast" if PRECISION_ALIASES.get(self.settings.precision, self.settings.precision) in FAST \
            else view.mode  # fmt: skip

    def digest(self, network: str, required: bool) -> str | None:
        """The network's weights digest; when `required`, loads (or fetches) the weights if needed."""
        if network not in self._digests:
            found = local_weights_digest(network, self.settings.weights_for(network, self.networks or (network,)))
            if found is not None:
                self._digests[network] = found
        if network not in self._digests and required:
            space = next(s.name for s in SPACES.values() if s.network == network)
            mode = self.settings.mode_for(space)
            return self.extractor_for(View(space, get_space(space).layer, mode)).weights_sha256
        return self._digests.get(network)

    def wanted(self, view: View, required: bool) -> dict[str, Any]:
        """The settings a statistics file must have been computed with to serve `view`."""
        wanted = {"features": view.space, "weights_sha256": self.digest(view.network, required),
                  "mode": self.protocol(view), "layer": view.layer}  # fmt: skip
        extractor = next((e for e in self._extractors if e.network == view.network), None)
        if view.space != "inception" and extractor is not None and view.layer == extractor.layer:
            wanted["dim"] = extractor.dim
        return wanted

    def obtain_classes(self, item: Input, classes: Any, view: View) -> dict[str, GaussianStats]:
        """Each class's statistics in `view`, one subset of `item`'s images per class, each cached like any input."""
        from ganeval.labels import class_subsets

        out = {}
        for name, subset in class_subsets(item.source, classes, item.label).items():
            part = Input(label=f"{item.label}{{class {name}}}", source=subset, cacheable=item.cacheable)
            out[name] = self.obtain(part, {view: Needs(stats=True)})[view].stats
        return out

    def obtain(self, item: Input, needs: Mapping[View, Needs]) -> dict[View, Obtained]:
        """What `item` provides in each view of `needs`, computing everything missing in one pass."""
        if item.loaded is not None:
            return {view: self._from_file(item, view, need) for view, need in needs.items()}
        out: dict[View, Obtained] = {}
        missing: dict[View, Needs] = {}
        for view, need in needs.items():
            got, meta = Obtained(n=None), None
            if need.stats and view in item.bundled:
                got.stats = item.bundled[view]
                need = Needs(features=need.features, logits=need.logits)
            if not item.has_images:
                check(
                    not need.anything,
                    f"{item.label} holds statistics of {', '.join(v.label for v in item.bundled) or 'no view'} "
                    f"only; {view.label} {'rows' if need.features else 'statistics'} need the images",
                )
                out[view] = got
                continue
            if need.stats and item.reference is not None and self._is_registered_view(item, view):
                got.stats, meta = self._committed(item, view)
            key = self._cache_key(item, view)
            if key is not None:
                if need.stats and got.stats is None and (hit := self.cache.get_stats(key)) is not None:
                    got.stats, meta = hit.stats, hit.meta
                if need.features and (hit_f := self.cache.get_features(key)) is not None:
                    got.features, meta = torch.from_numpy(hit_f[0]), hit_f[1]
            got.meta = meta
            out[view] = got
            lacking = Needs(stats=need.stats and got.stats is None, features=need.features and got.features is None,
                            logits=need.logits)  # fmt: skip
            if lacking.anything:
                missing[view] = lacking
        if missing:
            self._compute(item, out, missing)
        else:
            _warn_skipped(item.label, item.skipped_files, next(iter(out.values())).meta or {})
        for view, got in out.items():
            self._verified(item, view, got)
        return out

    def _from_file(self, item: Input, view: View, need: Needs) -> Obtained:
        if need.features or need.logits:
            raise InputError(
                f"{item.label} is a statistics file (mu and sigma only): metrics on feature rows (KID, precision, "
                "CMMD...) and IS need the images; give the images instead"
            )
        check_settings(item.loaded, self.wanted(view, required=False), self.store.force)
        return Obtained(item.loaded.n, stats=item.loaded.stats, meta=item.loaded.meta)

    def _is_registered_view(self, item: Input, view: View) -> bool:
        """Whether `view` is the one a named reference's fingerprint and committed file describe."""
        _, ref, _ = item.reference
        return view.space == "inception" and view.layer == ref.layer and view.mode == ref.mode

    def _verified(self, item: Input, view: View, got: Obtained) -> None:
        """`got` with its count, a reference's statistics checked against the registry in its own view."""
        if not item.has_images:
            got.n = got.stats.n if got.stats is not None else item.count()
            return
        meta = got.meta
        got.n = int(meta["n"]) if meta and "n" in meta else (got.stats.n if got.stats is not None else None)
        if got.n is None and got.features is not None:
            got.n = len(got.features)
        if item.reference is not None and got.stats is not None and self._is_registered_view(item, view):
            registry, ref, part = item.reference
            if self.protocol(view) == ref.mode:
                verify_reference(registry, ref, part, got.stats, self.store.force)

    def _cache_key(self, item: Input, view: View) -> CacheKey | None:
        """The key of `item`'s cached results in `view`, or None when it is not cached.

        `max_pixels` changes which images are refused, never the pixels of those decoded: without skip_bad a
        refused image is an error and nothing is cached, so the key leaves it out (and a raised limit reuses
        what a run with the default computed). With skip_bad it decides which images are counted, so an
        explicit limit is folded into the source part of the key (CacheKey has no field of its own for it).

        A distributed run neither reads nor writes the cache: a rank that hits while another misses would
        leave the other waiting in a collective, and the ranks' file systems need not be the same.
        """
        if not item.cacheable or self.settings.distributed or not item.source.cacheable:
            return None
        fingerprint = item.source.fingerprint
        if self.settings.skip_bad and self.store.max_pixels is not None:
            fingerprint = f"{fingerprint};max_pixels={self.store.max_pixels}"
        return CacheKey(fingerprint, self.digest(view.network, True), self.protocol(view), view.layer,
                        self.settings.skip_bad, view.space)  # fmt: skip

    def _committed(self, item: Input, view: View) -> tuple[GaussianStats | None, dict[str, Any] | None]:
        registry, ref, part = item.reference
        path = committed_file(registry, ref) if part is None else None
        if path is None:
            return None, None
        loaded = load_stats(path)
        try:
            check_settings(loaded, self.wanted(view, required=True), force=False)
        except StatisticsError:
            return None, None  # built with other weights or settings: compute our own instead
        return loaded.stats, loaded.meta

    def _compute(self, item: Input, out: dict[View, Obtained], missing: dict[View, Needs]) -> None:
        """One pass over `item`'s images for every view in `missing`, cached where `item` is cacheable."""
        s = self.settings
        desc = item.label
        plan = {view: self.extractor_for(view) for view in missing}
        if s.distributed:
            from ganeval.distributed import distributed_extract_side

            side = distributed_extract_side(plan, item.source, missing, workers=s.workers, skip_bad=s.skip_bad,
                                            progress=s.progress, desc=desc)  # fmt: skip
        else:
            side = extract_side(plan, item.source, SideState(missing), workers=s.workers, skip_bad=s.skip_bad,
                                progress=s.progress, desc=desc)  # fmt: skip
        first = True
        for view, lacking in missing.items():
            extracted = side.extracted(view)
            meta = self._metadata(item, view, extracted)
            if first:
                _warn_skipped(item.label, item.source.skipped, meta)
                first = False
            got = out[view]
            got.meta = meta
            if lacking.stats:
                got.stats = extracted.stats
            if lacking.features:
                got.features = extracted.features
            got.logits = extracted.logits
            key = self._cache_key(item, view)
            if key is not None and lacking.stats and extracted.stats is not None:
                self.cache.put_stats(key, item.label, extracted.stats, meta)
            if key is not None and lacking.features and extracted.features is not None:
                self.cache.put_features(key, item.label, extracted.features.numpy(), meta)

    def _metadata(self, item: Input, view: View, extracted: Extracted) -> dict[str, Any]:
        extractor = self.extractor_for(view)
        extra = {"reference": item.reference[1].name} if item.reference is not None else {}
        return stats_metadata(
            features=view.space,
            weights_sha256=extractor.weights_sha256,
            mode=extractor.protocol,
            layer=view.layer,
            source=item.label,
            source_fingerprint=item.source.fingerprint if item.source.cacheable else None,
            n=extracted.n,
            skip_bad=self.settings.skip_bad,
            n_skipped_bad=extracted.report.n_skipped_bad,
            bad_examples=extracted.report.bad_examples[:3],
            precision=extractor.precision,
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
