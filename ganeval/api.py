"""The Python API and the only orchestration: inputs -> statistics or features -> metrics.

Inputs `a` and `b` are anything `ganeval.sources.as_source` accepts (image folders, zip and tar
archives, `.npy`/`.npz` image arrays, dataset names such as `"mnist:test[:1000]"`, uint8 tensors
N x C x H x W and arrays N x H x W x C, an `ImageSource`), a statistics file (FID only), or a named
reference `"ref:fashion-mnist-test"`. Pass `extractor=` to reuse a loaded network across calls.
"""

from __future__ import annotations

import os
from dataclasses import fields
from typing import Any

from ganeval.config import (
    KEY_FID,
    KEY_IS_MEAN,
    KEY_IS_STD,
    KEY_KID_MEAN,
    KEY_KID_STD,
    KEY_N_A,
    KEY_N_B,
    METRICS,
    Settings,
    make_settings,
)
from ganeval.errors import InputError, check
from ganeval.extractor import InceptionExtractor
from ganeval.inputs import Pipeline, SkippedFilesWarning, StoreOptions, resolve_input
from ganeval.metrics.fid import frechet_distance
from ganeval.metrics.inception_score import inception_score as _inception_score
from ganeval.metrics.kid import kernel_inception_distance
from ganeval.statsfile import LoadedStats, save_stats

__all__ = ["SkippedFilesWarning", "StoreOptions", "compute_stats", "fid", "inception_score", "kid", "score"]


def make_extractor(settings: Settings) -> InceptionExtractor:
    return InceptionExtractor.from_settings(settings)


def parse_metrics(metrics: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    names = [m.strip().lower() for m in (metrics.split(",") if isinstance(metrics, str) else metrics)]
    names = [m for m in names if m]
    unknown = [m for m in names if m not in METRICS]
    if unknown or not names:
        raise InputError(f"unknown metric(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(METRICS)}")
    return tuple(dict.fromkeys(names))


def _split_options(options: dict[str, Any]) -> tuple[dict[str, Any], StoreOptions]:
    """Separate the `StoreOptions` fields (cache, force, ...) from the `Settings` fields."""
    store_fields = {f.name for f in fields(StoreOptions)}
    store = StoreOptions(**{k: options.pop(k) for k in list(options) if k in store_fields})
    return options, store


def score(
    a: Any,
    b: Any = None,
    metrics: str | tuple[str, ...] | list[str] = ("fid",),
    *,
    extractor: InceptionExtractor | None = None,
    value_range: tuple[float, float] | None = None,
    settings: Settings | None = None,
    **options: Any,
) -> dict[str, float | int | None]:
    """Compute several metrics in one pass over each input; returns the result keys of `ganeval.config`.

    FID and KID compare `a` with `b`; the Inception Score is computed on `a`. Options are the fields of
    `ganeval.config.Settings` (mode, batch_size, device, workers, weights, seed, ...) and of
    `ganeval.inputs.StoreOptions` (cache, force, verify, data_root, download, max_pixels). An input that is a
    statistics file gives FID only; its count is None when the file does not record it.
    """
    options, store = _split_options(options)
    settings = make_settings(settings, **options)
    wanted = parse_metrics(metrics)
    needs_b = "fid" in wanted or "kid" in wanted
    if needs_b and b is None:
        raise InputError("FID and KID compare two inputs; give a second one")
    input_a = resolve_input(a, "A", store, value_range)
    input_b = resolve_input(b, "B", store, value_range) if needs_b else None
    for item in (input_a, input_b):  # before any pass over the other input, not after it
        if item is not None and item.source is not None:
            check(len(item.source) >= 2, f"{item.label}: need at least 2 images, got {len(item.source)}")
    pipeline = Pipeline(settings, store, extractor)
    if "is" in wanted:
        if input_a.loaded is not None:
            pipeline.obtain(input_a, logits=True)  # raises: a statistics file has no logits
        pipeline.extractor.require_head()

    got_a = pipeline.obtain(input_a, stats="fid" in wanted, features="kid" in wanted, logits="is" in wanted)
    result: dict[str, float | int | None] = {KEY_N_A: got_a.n}
    if "is" in wanted:
        result[KEY_IS_MEAN], result[KEY_IS_STD] = _inception_score(
            got_a.logits, splits=settings.is_splits, seed=settings.seed
        )
    if input_b is not None:
        got_b = pipeline.obtain(input_b, stats="fid" in wanted, features="kid" in wanted)
        result[KEY_N_B] = got_b.n
        if "fid" in wanted:
            result[KEY_FID] = frechet_distance(got_a.stats, got_b.stats, method=settings.fid_method)
        if "kid" in wanted:
            result[KEY_KID_MEAN], result[KEY_KID_STD] = kernel_inception_distance(
                got_a.pool3,
                got_b.pool3,
                subsets=settings.kid_subsets,
                subset_size=settings.kid_subset_size,
                degree=settings.kid_degree,
                seed=settings.seed,
            )
    return result


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
    later loads check; `storage="triu32"` is the compact form of `reference_stats/`.
    """
    options, store = _split_options(options)
    settings = make_settings(settings, **options)
    item = resolve_input(source, "A", store, value_range)
    got = Pipeline(settings, store, extractor).obtain(item, stats=True)
    path = str(output) if output is not None else item.label
    if output is not None:
        check(got.meta is not None, f"{item.label} carries no metadata to write; it is a statistics file already")
        save_stats(output, got.stats, got.meta, storage=storage)
    return LoadedStats(stats=got.stats, meta=got.meta, path=path)


def fid(a: Any, b: Any, **options: Any) -> float:
    """Fréchet Inception Distance between two image sets (see `score` for inputs and options)."""
    return float(score(a, b, ("fid",), **options)[KEY_FID])


def kid(a: Any, b: Any, **options: Any) -> tuple[float, float]:
    """Kernel Inception Distance (mean, std over subsets) between two image sets."""
    result = score(a, b, ("kid",), **options)
    return float(result[KEY_KID_MEAN]), float(result[KEY_KID_STD])


def inception_score(a: Any, **options: Any) -> tuple[float, float]:
    """Inception Score (mean, std over splits) of one image set; needs weights with the classifier head."""
    result = score(a, None, ("is",), **options)
    return float(result[KEY_IS_MEAN]), float(result[KEY_IS_STD])
