"""The Python API and the only orchestration: inputs -> statistics or features -> metrics.

Two inputs are always `real, fake`: the reference first (real images, a named reference `"ref:NAME"`, a
statistics file), the generated set second. The Inception Score rates the generated set: the second input
when two are given, the only one when one is. Inputs are anything `ganeval.sources.as_source` accepts
(image folders, zip and tar archives, `.npy`/`.npz` image arrays, dataset names such as
`"mnist:test[:1000]"`, uint8 tensors N x C x H x W and arrays N x H x W x C, an `ImageSource`), a
statistics file (FID only), or a named reference. Pass `extractor=` to reuse a loaded network across calls.
"""

from __future__ import annotations

import os
from dataclasses import fields
from typing import Any

from ganeval.config import (
    KEY_FID,
    KEY_FID_PER_CLASS,
    KEY_INTRA_FID,
    KEY_IS_MEAN,
    KEY_IS_STD,
    KEY_KID_MEAN,
    KEY_KID_STD,
    Settings,
    make_settings,
)
from ganeval.errors import check
from ganeval.extractor import InceptionExtractor
from ganeval.inputs import Input, Obtained, Pipeline, SkippedFilesWarning, StoreOptions, resolve_input
from ganeval.labels import input_classes
from ganeval.results import TWO_SIDED, compute_metrics, needs, parse_metrics
from ganeval.statsfile import LoadedStats, save_stats

__all__ = [
    "SkippedFilesWarning",
    "StoreOptions",
    "compute_stats",
    "fid",
    "inception_score",
    "intra_fid",
    "kid",
    "score",
]

EXTRACTOR_SETTINGS = ("mode", "precision", "weights", "device", "batch_size")


def split_options(options: dict[str, Any]) -> tuple[dict[str, Any], StoreOptions]:
    """Separate the `StoreOptions` fields (cache, force, ...) from the `Settings` fields."""
    store_fields = {f.name for f in fields(StoreOptions)}
    store = StoreOptions(**{k: options.pop(k) for k in list(options) if k in store_fields})
    return options, store


def make_pipeline(
    extractor: InceptionExtractor | None, settings: Settings | None, options: dict[str, Any]
) -> tuple[Pipeline, Settings]:
    """The pipeline for `options` (Settings and StoreOptions fields), refusing an `extractor` whose own
    settings contradict the ones given explicitly."""
    options, store = split_options(dict(options))
    resolved = make_settings(settings, **options)
    if extractor is not None:
        explicit = {k: options[k] for k in EXTRACTOR_SETTINGS if k in options}
        if settings is not None:
            defaults = Settings()
            explicit.update(
                {k: getattr(settings, k) for k in EXTRACTOR_SETTINGS if getattr(settings, k) != getattr(defaults, k)}
            )
        if explicit:
            extractor.check_agrees(**explicit)
    return Pipeline(resolved, store, extractor), resolved


def _at_least_two(item: Input) -> None:
    n = item.count()
    check(n is None or n >= 2, f"{item.label}: need at least 2 images, got {n}")


def intra_fid(real: Any, fake: Any, **options: Any) -> tuple[float, dict[str, float]]:
    """intra-FID (the mean of the per-class FIDs) and the per-class FIDs (see `score` for classes)."""
    result = score(real, fake, ("intra_fid",), **options)
    return float(result[KEY_INTRA_FID]), result[KEY_FID_PER_CLASS]


def score(
    real: Any,
    fake: Any = None,
    metrics: str | tuple[str, ...] | list[str] = ("fid",),
    *,
    extractor: InceptionExtractor | None = None,
    value_range: tuple[float, float] | None = None,
    settings: Settings | None = None,
    real_labels: Any = None,
    fake_labels: Any = None,
    **options: Any,
) -> dict[str, Any]:
    """Several metrics in one pass over each input; returns the result keys of `ganeval.config`.

    `real` is the reference, `fake` the generated set; with one input (`fake` None) that input is the
    generated set, which only the Inception Score can rate alone. Options are the fields of
    `ganeval.config.Settings` (mode, batch_size, device, workers, weights, seed, ...) and of
    `ganeval.inputs.StoreOptions` (cache, force, verify, data_root, download, max_pixels). A statistics file
    gives FID only; its count is None when the file does not record it. intra-FID needs classes:
    labelled datasets and folders with one subfolder per class carry them, other inputs take
    `real_labels` / `fake_labels` (numbers or names, one per image).
    """
    pipeline, resolved = make_pipeline(extractor, settings, options)
    wanted = parse_metrics(metrics)
    if fake is None:
        two_sided = sorted(TWO_SIDED.intersection(wanted))
        check(
            not two_sided,
            f"{', '.join(m.upper() for m in two_sided)} compare the real set with a generated one: give both "
            "(REAL FAKE)",
        )
        real, fake = None, real
    real_needs, fake_needs = needs(wanted)
    real_item = resolve_input(real, "real", pipeline.store, value_range) if real is not None else None
    fake_item = resolve_input(fake, "fake", pipeline.store, value_range)
    if fake_needs.classes:  # labels before any pass, so a missing one costs nothing
        real_classes = input_classes(real, real_item, pipeline.store, real_labels)
        fake_classes = input_classes(fake, fake_item, pipeline.store, fake_labels)
    for item in (real_item, fake_item):  # before any pass over the other input, not after it
        if item is not None:
            _at_least_two(item)
    if fake_needs.logits:
        check(fake_item.has_images, f"{fake_item.label} is a statistics file: the Inception Score needs images")
        pipeline.extractor.require_head()
    got_real = None
    if real_item is not None:  # a real set no metric reads is only counted (a reference without its data)
        got_real = Obtained(real_item.count())
        if real_needs.stats or real_needs.features:
            got_real = pipeline.obtain(real_item, **real_needs.pipeline_parts())
        if real_needs.classes:
            got_real.class_stats = pipeline.obtain_classes(real_item, real_classes)
    got_fake = pipeline.obtain(fake_item, **fake_needs.pipeline_parts())
    if fake_needs.classes:
        got_fake.classes = fake_classes
    return compute_metrics(wanted, got_real, got_fake, resolved)


def compute_stats(
    source: Any,
    output: str | os.PathLike | None = None,
    *,
    extractor: InceptionExtractor | None = None,
    value_range: tuple[float, float] | None = None,
    settings: Settings | None = None,
    storage: str = "full",
    **options: Any,
) -> LoadedStats:
    """pool3 statistics of one input (through the cache), written to `output` when given.

    The file holds float64 `mu` and `sigma` (pytorch-fid reads it) plus `n` and the metadata that
    later loads check; `storage="triu32"` is the compact form of the committed reference statistics.
    """
    pipeline, _ = make_pipeline(extractor, settings, options)
    item = resolve_input(source, "source", pipeline.store, value_range)
    got = pipeline.obtain(item, stats=True)
    path = str(output) if output is not None else item.label
    if output is not None:
        check(got.meta is not None, f"{item.label} carries no metadata to write; it is a statistics file already")
        save_stats(output, got.stats, got.meta, storage=storage)
    return LoadedStats(stats=got.stats, meta=got.meta, path=path)


def fid(real: Any, fake: Any, **options: Any) -> float:
    """Fréchet Inception Distance between the real and the generated set (see `score`)."""
    return float(score(real, fake, ("fid",), **options)[KEY_FID])


def kid(real: Any, fake: Any, **options: Any) -> tuple[float, float]:
    """Kernel Inception Distance (mean, std over subsets) between the real and the generated set."""
    result = score(real, fake, ("kid",), **options)
    return float(result[KEY_KID_MEAN]), float(result[KEY_KID_STD])


def inception_score(fake: Any, **options: Any) -> tuple[float, float]:
    """Inception Score (mean, std over splits) of a generated set; needs weights with the classifier head."""
    result = score(fake, None, ("is",), **options)
    return float(result[KEY_IS_MEAN]), float(result[KEY_IS_STD])
