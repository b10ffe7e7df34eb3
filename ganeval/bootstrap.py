"""Bootstrap intervals for every metric of a call, from the features already extracted (no further pass).

Each of B resamples draws the generated rows with replacement (seeded by `seed`), and the real rows where
the real side holds them (a statistics file stays as it is; per-class real statistics and the training set
stay fixed: they describe the data, not the sample); every metric is computed again on the resample. The
result gains `<key>_ci` = [2.5 %, 97.5 %] percentiles and `<key>_se` (the standard deviation of the B values)
for each numeric key. None of the reference suites offers this; papers need it to tell two models apart.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ganeval.metrics.bootstrap import bootstrap_indices, interval


@dataclass
class Resampled:
    """One view of a side, resampled: what the metrics read."""

    n: int
    stats: Any = None
    features: Any = None
    logits: Any = None
    classes: Any = None
    class_stats: Any = None


def _resample(side: Any, rows: np.ndarray) -> Any:
    import torch

    from ganeval.metrics.gaussian import gaussian_stats
    from ganeval.results import Side

    views = {}
    for view, got in side.views.items():
        index = torch.from_numpy(rows).to(got.features.device)
        features = got.features[index]
        classes = getattr(got, "classes", None)
        views[view] = Resampled(
            len(rows),
            gaussian_stats(features) if got.stats is not None else None,
            features,
            got.logits[index.to(got.logits.device)] if got.logits is not None else None,
            classes[rows] if classes is not None else None,
            getattr(got, "class_stats", None),
        )
    return Side(len(rows), views)


def _resamplable(side: Any) -> bool:
    return side is not None and bool(side.views) and all(v.features is not None for v in side.views.values())


def intervals(
    metrics: tuple[str, ...], real: Any, fake: Any, settings: Any, train: Any, compute: Callable[..., dict]
) -> dict[str, Any]:
    """{`<key>_ci`: [low, high], `<key>_se`: se} for every float result of `compute` over the resamples."""
    b = settings.bootstrap
    plain = replace(settings, bootstrap=0)
    fake_rows = bootstrap_indices(fake.n, b, settings.seed)
    real_rows = bootstrap_indices(real.n, b, settings.seed + 1) if _resamplable(real) else None
    values: dict[str, list[float]] = {}
    for i in range(b):
        real_b = _resample(real, real_rows[i]) if real_rows is not None else real
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # repeated rows make small sets rank-deficient: said once already
            out = compute(metrics, real_b, _resample(fake, fake_rows[i]), plain, train)
        for key, value in out.items():
            if isinstance(value, float) and not key.startswith("n_"):
                values.setdefault(key, []).append(value)
    result: dict[str, Any] = {}
    for key, samples in values.items():
        (low, high), se = interval(np.asarray(samples))
        result[f"{key}_ci"], result[f"{key}_se"] = [low, high], se
    result["bootstrap"] = {"resamples": b, "seed": settings.seed, "real_resampled": real_rows is not None}
    return result
