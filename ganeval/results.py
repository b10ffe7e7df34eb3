"""From what each side of an evaluation holds to the result dictionary: the one place metric values are
computed from features, shared by `ganeval.score`, `Scorer.compute` and the benchmark.

The convention: the real set (the reference) and the generated (fake) set. FID and KID compare the two,
the Inception Score rates the generated set. KID draws each subset from the generated set first, as
torch-fidelity does with its generated `input1`, so the values agree with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ganeval.config import (
    KEY_FID,
    KEY_IS_MEAN,
    KEY_IS_STD,
    KEY_KID_MEAN,
    KEY_KID_STD,
    KEY_N_FAKE,
    KEY_N_REAL,
    METRICS,
    Settings,
)
from ganeval.errors import InputError

TWO_SIDED = frozenset({"fid", "kid"})  # metrics that compare the real set with the generated one


@dataclass(frozen=True)
class Needs:
    """What one side of an evaluation must provide: float64 statistics, pool3 rows, classifier logits."""

    stats: bool = False
    features: bool = False
    logits: bool = False

    @property
    def anything(self) -> bool:
        return self.stats or self.features or self.logits


def parse_metrics(metrics: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    names = [m.strip().lower() for m in (metrics.split(",") if isinstance(metrics, str) else metrics)]
    names = [m for m in names if m]
    unknown = [m for m in names if m not in METRICS]
    if unknown or not names:
        raise InputError(f"unknown metric(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(METRICS)}")
    return tuple(dict.fromkeys(names))


def needs(metrics: tuple[str, ...]) -> tuple[Needs, Needs]:
    """(what the real side must provide, what the generated side must provide) for `metrics`."""
    features = "kid" in metrics
    real = Needs(stats="fid" in metrics, features=features)
    fake = Needs(stats="fid" in metrics, features=features, logits="is" in metrics)
    return real, fake


def compute_metrics(metrics: tuple[str, ...], real: Any, fake: Any, settings: Settings) -> dict[str, Any]:
    """The result dictionary of `metrics` from the two sides.

    `real` and `fake` have the attributes `n`, `stats`, `pool3` and `logits` (what `needs` asked for);
    `real` may be None when only the generated set is rated.
    """
    from ganeval.metrics.fid import frechet_distance
    from ganeval.metrics.isc import inception_score
    from ganeval.metrics.kid import kernel_inception_distance

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
    return result
