"""From what each side of an evaluation holds to the result dictionary: the one place metric values are
computed from features, shared by `ganeval.score`, `Scorer.compute` and the benchmark.

The convention: the real set (the reference) and the generated (fake) set. FID, KID, precision/recall,
density/coverage and intra-FID compare the two, the Inception Score rates the generated set. KID draws
each subset from the generated set first, as torch-fidelity does with its generated `input1`, so the
values agree with it. Every metric reads the one pool3 pass of each side.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ganeval.config import (
    KEY_COVERAGE,
    KEY_DENSITY,
    KEY_FID,
    KEY_FID_PER_CLASS,
    KEY_INTRA_FID,
    KEY_IS_MEAN,
    KEY_IS_STD,
    KEY_KID_MEAN,
    KEY_KID_STD,
    KEY_N_FAKE,
    KEY_N_REAL,
    KEY_PRECISION,
    KEY_RECALL,
    METRICS,
    Settings,
)
from ganeval.errors import InputError, check

TWO_SIDED = frozenset({"fid", "kid", "pr", "dc", "intra_fid"})  # metrics comparing the real and generated sets
ROWS = frozenset({"kid", "pr", "dc"})  # metrics that read the pool3 rows of both sides


@dataclass(frozen=True)
class Needs:
    """What one side of an evaluation must provide: float64 statistics, pool3 rows, classifier logits."""

    stats: bool = False
    features: bool = False
    logits: bool = False
    classes: bool = False  # per-class statistics (intra-FID): the real side's through the cache, the fake's rows

    @property
    def anything(self) -> bool:
        return self.stats or self.features or self.logits or self.classes

    def pipeline_parts(self) -> dict[str, bool]:
        """What one pass over the input must keep (a generated side's classes need its rows)."""
        return {"stats": self.stats, "features": self.features, "logits": self.logits}


def parse_metrics(metrics: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    names = [m.strip().lower() for m in (metrics.split(",") if isinstance(metrics, str) else metrics)]
    names = [m for m in names if m]
    unknown = [m for m in names if m not in METRICS]
    if unknown or not names:
        raise InputError(f"unknown metric(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(METRICS)}")
    return tuple(dict.fromkeys(names))


def needs(metrics: tuple[str, ...]) -> tuple[Needs, Needs]:
    """(what the real side must provide, what the generated side must provide) for `metrics`."""
    rows = bool(ROWS.intersection(metrics))
    per_class = "intra_fid" in metrics
    real = Needs(stats="fid" in metrics, features=rows, classes=per_class)
    fake = Needs(stats="fid" in metrics, features=rows or per_class, logits="is" in metrics, classes=per_class)
    return real, fake


def compute_metrics(metrics: tuple[str, ...], real: Any, fake: Any, settings: Settings) -> dict[str, Any]:
    """The result dictionary of `metrics` from the two sides.

    `real` and `fake` have the attributes `n`, `stats`, `pool3` and `logits` (what `needs` asked for), and
    for intra-FID `class_stats` ({class: statistics}, the real side) or `classes` (one per row, the
    generated side); `real` may be None when only the generated set is rated.
    """
    from ganeval.metrics.fid import frechet_distance
    from ganeval.metrics.isc import inception_score
    from ganeval.metrics.kid import kernel_inception_distance
    from ganeval.metrics.prdc import precision_recall_density_coverage

    result: dict[str, Any] = {}
    if real is not None:
        result[KEY_N_REAL] = real.n
    result[KEY_N_FAKE] = fake.n
    if "fid" in metrics:
        result[KEY_FID] = frechet_distance(
            real.stats, fake.stats, method=settings.fid_method, names=("real", "generated")
        )
    if "kid" in metrics:
        result[KEY_KID_MEAN], result[KEY_KID_STD] = kernel_inception_distance(
            fake.pool3,
            real.pool3,
            subsets=settings.kid_subsets,
            subset_size=settings.kid_subset_size,
            degree=settings.kid_degree,
            seed=settings.seed,
        )
    if "is" in metrics:
        result[KEY_IS_MEAN], result[KEY_IS_STD] = inception_score(
            fake.logits, splits=settings.is_splits, seed=settings.seed
        )
    if "pr" in metrics or "dc" in metrics:
        knn = precision_recall_density_coverage(
            real.pool3,
            fake.pool3,
            pr_k=settings.pr_k if "pr" in metrics else None,
            dc_k=settings.dc_k if "dc" in metrics else None,
            knn_samples=settings.knn_samples,
            seed=settings.seed,
        )
        keys = {"precision": KEY_PRECISION, "recall": KEY_RECALL, "density": KEY_DENSITY, "coverage": KEY_COVERAGE}
        result.update({keys[k]: v for k, v in knn.items()})
    if "intra_fid" in metrics:
        per_class = intra_fid(real.class_stats, fake.pool3, fake.classes, settings)
        result[KEY_INTRA_FID] = float(np.mean(list(per_class.values())))
        result[KEY_FID_PER_CLASS] = per_class
    return result


def intra_fid(real_stats: dict[str, Any], fake_rows: Any, fake_classes: np.ndarray, settings: Settings) -> dict:
    """FID of each class of the real statistics against the generated rows of that class."""
    from ganeval.metrics.fid import RankDeficientWarning, frechet_distance
    from ganeval.metrics.gaussian import gaussian_stats

    fake_classes = np.asarray(fake_classes)
    missing = sorted(set(real_stats) - set(fake_classes.tolist()))
    extra = sorted(set(fake_classes.tolist()) - set(real_stats))
    check(not extra, f"intra-FID: generated classes {', '.join(extra)} have no real images ({', '.join(real_stats)})")
    check(not missing, f"intra-FID: no generated images of class(es) {', '.join(missing)}")
    out, small = {}, []
    for c, stats in real_stats.items():
        rows = np.flatnonzero(fake_classes == c)
        check(len(rows) >= 2, f"intra-FID: class {c} has {len(rows)} generated image(s); it needs at least 2")
        fake = gaussian_stats(fake_rows[torch.from_numpy(rows).to(fake_rows.device)])
        if min(stats.n, fake.n) <= stats.dim:
            small.append(c)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RankDeficientWarning)  # said once below, for all classes
            out[c] = frechet_distance(stats, fake, method=settings.fid_method)
    if small:
        warnings.warn(
            f"intra-FID: {len(small)} of {len(out)} classes have no more images than the {stats.dim} feature "
            "dimensions on one side: their FIDs are biased and unstable; use more images per class",
            RankDeficientWarning,
            stacklevel=3,
        )
    return out
