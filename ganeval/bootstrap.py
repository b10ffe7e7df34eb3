"""Bootstrap intervals for every metric of a call, from the features already extracted (no further pass).

Each of B resamples draws the generated rows with replacement (seeded by `seed`), and the real rows where
the real side holds them (a statistics file stays as it is; per-class real statistics and the training set
stay fixed: they describe the data, not the sample); every metric is computed again on the resample. The
result gains `<key>_ci`, a 95 % interval, and `<key>_se` (the standard deviation of the B values) for each
numeric key. With `bootstrap_interval="auto"` the Fréchet distances get the basic interval (the percentiles
reflected about the full-sample value: FID's resamples carry its 1/N bias) and the other metrics the normal
one (value +- 1.96 se); in docs/validity.md these held the full-set value near the nominal rate where the
plain percentile interval of FID never did. None of the reference suites offers intervals; papers need them
to tell two models apart.
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


# Keys of Fréchet distances (and MiFID, one divided by a distance): biased upwards by about c / N, and their
# resamples, with fewer distinct rows, sit above the estimate by about as much; `auto` gives them the basic
# interval (which then holds the full-set value) and every other metric the normal one (centred on the
# estimate: KID's and the k-NN metrics' resamples are shifted by the repeated rows alone).
FRECHET_KEYS = frozenset({"fid", "fd", "sfid", "fd_dinov2", "intra_fid", "intra_fd", "mifid"})


def method_for(key: str, setting: str) -> str:
    """The interval method of one result key under the `bootstrap_interval` setting."""
    if setting != "auto":
        return setting
    return "basic" if key in FRECHET_KEYS else "normal"


def intervals(
    metrics: tuple[str, ...],
    real: Any,
    fake: Any,
    settings: Any,
    train: Any,
    compute: Callable[..., dict],
    estimates: dict[str, Any],
) -> dict[str, Any]:
    """{`<key>_ci`: [low, high], `<key>_se`: se} for every float result of `compute` over the resamples;
    `estimates` are the full-sample results (the basic interval is reflected about them)."""
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
    methods: dict[str, str] = {}
    for key, samples in values.items():
        method = method_for(key, settings.bootstrap_interval)
        if method != "percentile" and not isinstance(estimates.get(key), float):
            method = "percentile"  # no full-sample value to centre on
        methods[key] = method
        (low, high), se = interval(np.asarray(samples), estimates.get(key), method)
        result[f"{key}_ci"], result[f"{key}_se"] = [low, high], se
    result["bootstrap"] = {"resamples": b, "seed": settings.seed, "real_resampled": real_rows is not None,
                           "interval": settings.bootstrap_interval, "methods": methods}  # fmt: skip
    return result
