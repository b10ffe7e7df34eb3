"""The Python API and the only orchestration: sources -> extractor -> statistics -> metrics.

Inputs `a` and `b` are anything `ganeval.sources.as_source` accepts: image folders, uint8 tensors
(N x C x H x W) and arrays (N x H x W x C), or an `ImageSource`. Pass `extractor=` to reuse a loaded
network across calls (a training loop should).
"""

from __future__ import annotations

import warnings
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
from ganeval.errors import InputError
from ganeval.extractor import Extracted, InceptionExtractor
from ganeval.metrics.fid import frechet_distance
from ganeval.metrics.inception_score import inception_score as _inception_score
from ganeval.metrics.kid import kernel_inception_distance
from ganeval.sources import ImageSource, as_source


class SkippedFilesWarning(UserWarning):
    """Files were left out of an evaluation (not images, or undecodable with skip_bad)."""


def make_extractor(settings: Settings) -> InceptionExtractor:
    return InceptionExtractor(settings.weights, settings.mode, settings.device, settings.batch_size)


def parse_metrics(metrics: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    names = [m.strip().lower() for m in (metrics.split(",") if isinstance(metrics, str) else metrics)]
    names = [m for m in names if m]
    unknown = [m for m in names if m not in METRICS]
    if unknown or not names:
        raise InputError(f"unknown metric(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(METRICS)}")
    return tuple(dict.fromkeys(names))


def _extract(extractor: InceptionExtractor, source: ImageSource, settings: Settings, label: str, **wanted) -> Extracted:
    out = extractor.extract(
        source,
        workers=settings.workers,
        skip_bad=settings.skip_bad,
        progress=settings.progress,
        desc=label,
        **wanted,
    )
    skipped = getattr(source, "skipped", 0)
    if skipped:
        warnings.warn(f"{label}: {skipped} non-image file(s) ignored", SkippedFilesWarning, stacklevel=3)
    if out.report.n_skipped_bad:
        examples = ", ".join(out.report.bad_examples[:3])
        warnings.warn(
            f"{label}: {out.report.n_skipped_bad} undecodable image(s) skipped (e.g. {examples})",
            SkippedFilesWarning,
            stacklevel=3,
        )
    return out


def score(
    a: Any,
    b: Any = None,
    metrics: str | tuple[str, ...] | list[str] = ("fid",),
    *,
    extractor: InceptionExtractor | None = None,
    value_range: tuple[float, float] | None = None,
    settings: Settings | None = None,
    **options: Any,
) -> dict[str, float | int]:
    """Compute several metrics in one pass over each input; returns the result keys of `ganeval.config`.

    FID and KID compare `a` with `b`; the Inception Score is computed on `a`. Options are the fields of
    `ganeval.config.Settings` (mode, batch_size, device, workers, weights, seed, ...).
    """
    settings = make_settings(settings, **options)
    wanted = parse_metrics(metrics)
    needs_b = "fid" in wanted or "kid" in wanted
    if needs_b and b is None:
        raise InputError("FID and KID compare two inputs; give a second one")
    source_a = as_source(a, value_range=value_range)
    source_b = as_source(b, value_range=value_range) if needs_b else None
    extractor = extractor or make_extractor(settings)
    if "is" in wanted:
        extractor.require_head()

    feats_a = _extract(
        extractor,
        source_a,
        settings,
        "A",
        stats="fid" in wanted,
        keep_pool3="kid" in wanted,
        logits="is" in wanted,
    )
    result: dict[str, float | int] = {KEY_N_A: feats_a.n}
    if "is" in wanted:
        result[KEY_IS_MEAN], result[KEY_IS_STD] = _inception_score(
            feats_a.logits, splits=settings.is_splits, seed=settings.seed
        )
    if source_b is not None:
        feats_b = _extract(extractor, source_b, settings, "B", stats="fid" in wanted, keep_pool3="kid" in wanted)
        result[KEY_N_B] = feats_b.n
        if "fid" in wanted:
            result[KEY_FID] = frechet_distance(feats_a.stats, feats_b.stats, method=settings.fid_method)
        if "kid" in wanted:
            result[KEY_KID_MEAN], result[KEY_KID_STD] = kernel_inception_distance(
                feats_a.pool3,
                feats_b.pool3,
                subsets=settings.kid_subsets,
                subset_size=settings.kid_subset_size,
                degree=settings.kid_degree,
                seed=settings.seed,
            )
    return result


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
