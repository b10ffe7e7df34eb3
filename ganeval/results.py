"""The metric registry, and from what each side of an evaluation holds to the result dictionary: the one
place metric values are computed from features, shared by `ganeval.score`, `Scorer.compute` and the
benchmark.

Every metric reads one *view* (`ganeval.features.views.View`: a space, a layer, a preprocessing mode):
the metrics defined by their space read a fixed one (fid, kid, is, intra_fid: Inception pool3; sfid:
`inception-spatial`; fd_dinov2: DINOv2 ViT-L/14 in EDM2's mode; cmmd: CLIP ViT-L/14@336 in CMMD's mode);
the space-generic ones (fd, kd, pr, dc, intra_fd) read the `--features` space. Metrics of one view share
its pass; a pass feeds several views from one decode of each image.

The convention: the real set (the reference) and the generated (fake) set. KID draws each subset from the
generated set first, as torch-fidelity does with its generated `input1`, so the values agree with it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from ganeval.config import (
    KEY_COVERAGE,
    KEY_DENSITY,
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
from ganeval.features.spaces import get_space, parse_space
from ganeval.features.views import View


@dataclass(frozen=True)
class Needs:
    """What one side must provide of one view: float64 statistics, feature rows, classifier logits, classes."""

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

    def __or__(self, other: Needs) -> Needs:
        return Needs(*(a or b for a, b in zip(self.astuple(), other.astuple(), strict=True)))

    def astuple(self) -> tuple[bool, bool, bool, bool]:
        return self.stats, self.features, self.logits, self.classes


STATS, ROWS = Needs(stats=True), Needs(features=True)
STATS_ROWS = Needs(stats=True, features=True)


@dataclass(frozen=True)
class Metric:
    """A metric: the view it reads (`space` None: the --features space; `mode` None: the settings') and what
    it needs of each side (`real` None: it rates the generated set alone; `train`: of the training set, which
    `train_optional` metrics use when given)."""

    name: str
    space: str | None
    real: Needs | None
    fake: Needs
    mode: str | None = None
    train: Needs | None = None
    train_optional: bool = False

    @property
    def two_sided(self) -> bool:
        return self.real is not None

    @property
    def generic(self) -> bool:
        return self.space is None


CLASSES_REAL, CLASSES_FAKE = Needs(classes=True), Needs(features=True, classes=True)
REGISTRY: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("fid", "inception", STATS, STATS),
        Metric("is", "inception", None, Needs(logits=True)),
        Metric("kid", "inception", ROWS, ROWS),
        Metric("pr", None, ROWS, ROWS),
        Metric("dc", None, ROWS, ROWS),
        Metric("intra_fid", "inception", CLASSES_REAL, CLASSES_FAKE),
        Metric("fd", None, STATS, STATS),
        Metric("kd", None, ROWS, ROWS),
        Metric("intra_fd", None, CLASSES_REAL, CLASSES_FAKE),
        Metric("sfid", "inception-spatial", STATS, STATS),
        Metric("fd_dinov2", "dinov2-vit-l-14", STATS, STATS, mode="edm2"),
        Metric("cmmd", "clip-vit-l-14-336", ROWS, ROWS, mode="cmmd"),
        # Memorization, novelty and sample size (dgm-eval's definitions; ganeval.metrics.*), in --features.
        Metric("fd_inf", None, STATS, ROWS),
        Metric("vendi", None, None, ROWS),
        Metric("authpct", None, None, ROWS, train=ROWS),
        Metric("ct", None, ROWS, ROWS, train=ROWS),
        Metric("sw", None, ROWS, ROWS),
        Metric("mifid", None, STATS_ROWS, STATS_ROWS, train=ROWS, train_optional=True),
        Metric("rarity", None, ROWS, ROWS),
    )
}
NEEDS_TRAIN = frozenset(name for name, m in REGISTRY.items() if m.train is not None and not m.train_optional)
TWO_SIDED = frozenset(name for name, m in REGISTRY.items() if m.two_sided)
SPACE_GENERIC = frozenset(name for name, m in REGISTRY.items() if m.generic)


def parse_metrics(metrics: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    names = [m.strip().lower() for m in (metrics.split(",") if isinstance(metrics, str) else metrics)]
    names = [m for m in names if m]
    unknown = [m for m in names if m not in REGISTRY]
    if unknown or not names:
        raise InputError(f"unknown metric(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(METRICS)}")
    return tuple(dict.fromkeys(names))


def metric_view(name: str, settings: Settings) -> View:
    """The view metric `name` reads under `settings` (a fixed mode contradicted by a given one is refused)."""
    metric = REGISTRY[name]
    if metric.space is None:
        space, layer = parse_space(settings.features)
    else:
        space, layer = metric.space, get_space(metric.space).layer
    if metric.mode is None:
        return View(space, layer, settings.mode_for(space))
    given = dict(settings.modes)
    for key in (space, get_space(space).network):
        check(
            given.get(key, metric.mode) == metric.mode,
            f"{name} is defined in {space}'s {metric.mode!r} mode; --mode {key}={given.get(key)} contradicts it "
            f"(use --features {space} --metrics fd for another mode)",
        )
    return View(space, layer, metric.mode)


def views_of(metrics: tuple[str, ...], settings: Settings) -> dict[str, View]:
    return {m: metric_view(m, settings) for m in metrics}


def needs(
    metrics: tuple[str, ...], settings: Settings, train: bool = False
) -> tuple[dict[View, Needs], dict[View, Needs]] | tuple[dict[View, Needs], dict[View, Needs], dict[View, Needs]]:
    """(per view, what the real side must provide; what the generated side must provide), and with `train`
    what the training set must provide. Bootstrap intervals need the rows of every view."""
    from ganeval.protocols.registry import check_metrics

    check_metrics(settings.protocol, metrics)
    real: dict[View, Needs] = {}
    fake: dict[View, Needs] = {}
    training: dict[View, Needs] = {}
    rows = Needs(features=True) if settings.bootstrap else Needs()
    for name, view in views_of(metrics, settings).items():
        metric = REGISTRY[name]
        if metric.real is not None:
            real[view] = real.get(view, Needs()) | metric.real | rows
        fake[view] = fake.get(view, Needs()) | metric.fake | rows
        if metric.train is not None:
            training[view] = training.get(view, Needs()) | metric.train
    return (real, fake, training) if train else (real, fake)


@dataclass
class Side:
    """One side of an evaluation as the metrics read it: its image count and, per view, what was obtained
    (an object with `n`, `stats`, `features`, `logits`, and `class_stats` or `classes` for per-class metrics)."""

    n: int | None
    views: dict[View, Any]


def compute_metrics(
    metrics: tuple[str, ...], real: Side | None, fake: Side, settings: Settings, train: Side | None = None
) -> dict[str, Any]:
    """The result dictionary of `metrics` from the sides (`real` None: the generated set is rated alone;
    `train`: the training set, for the memorization metrics), with bootstrap intervals when asked."""
    result = _compute(metrics, real, fake, settings, train)
    if settings.bootstrap:
        from ganeval.bootstrap import intervals

        result.update(intervals(metrics, real, fake, settings, train, _compute, result))
    return result


def _compute(
    metrics: tuple[str, ...], real: Side | None, fake: Side, settings: Settings, train: Side | None
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    views = views_of(metrics, settings)
    if real is not None:
        result[KEY_N_REAL] = real.n
    result[KEY_N_FAKE] = fake.n
    if train is not None:
        result["n_train"] = train.n
    for name in metrics:
        view = views[name]
        metric = REGISTRY[name]
        if metric.train is not None and not metric.train_optional:
            check(train is not None, f"{name} compares the generated set with the training set: give --train INPUT")
        own_real = real.views.get(view) if real is not None else None
        own_train = train.views.get(view) if train is not None else None
        if name in MEMORIZATION:
            result.update(_memorization(name, own_real, fake.views[view], own_train, settings))
        else:
            result.update(_one(name, own_real, fake.views[view], settings))
    if SPACE_GENERIC.intersection(metrics):
        result["features"] = settings.features
    result["protocol"] = settings.protocol
    return result


MEMORIZATION = frozenset({"fd_inf", "vendi", "authpct", "ct", "sw", "mifid", "rarity"})
RAREST_SHOWN = 10  # indices of the rarest generated samples kept in the result


def _memorization(name: str, real: Any, fake: Any, train: Any, settings: Settings) -> dict[str, Any]:
    """The memorization, novelty and sample-size metrics (ganeval.metrics: fd_inf, vendi, memorization, ...)."""
    if name == "fd_inf":
        from ganeval.metrics.fd_inf import fd_inf

        fit = fd_inf(real.stats, fake.features, seed=settings.seed, method=settings.fid_method)
        return {"fd_inf": fit.fd_inf, "fd_inf_slope": fit.slope}
    if name == "vendi":
        from ganeval.metrics.vendi import vendi, vendi_per_class

        out: dict[str, Any] = {"vendi": vendi(fake.features)}
        if getattr(fake, "classes", None) is not None:
            out["vendi_per_class"] = {str(k): v for k, v in vendi_per_class(fake.features, fake.classes).items()}
        return out
    if name == "authpct":
        from ganeval.metrics.memorization import authpct

        return {"authpct": authpct(train.features, fake.features)}
    if name == "ct":
        from ganeval.metrics.memorization import ct

        return {"ct": ct(train.features, real.features, fake.features, seed=settings.seed)}
    if name == "sw":
        from ganeval.metrics.sliced_wasserstein import sw

        return {"sw": sw(real.features, fake.features)}
    if name == "mifid":
        from ganeval.metrics.fid import frechet_distance
        from ganeval.metrics.mifid import memorization_distance, memorization_informed

        # One distance pass and the call's own statistics: the result of metrics.mifid, computed once.
        distance = memorization_distance(fake.features, train.features if train is not None else real.features)
        return {"mifid": memorization_informed(frechet_distance(real.stats, fake.stats), distance),
                "mifid_copies": "train" if train is not None else "real", "mifid_distance": distance}  # fmt: skip
    from ganeval.metrics.rarity import rarity

    scores = rarity(real.features, fake.features)
    return {"rarity_mean": scores.mean, "rarity_scored": int(np.isfinite(scores.scores).sum()),
            "rarity_rarest": [int(i) for i in scores.rarest[:RAREST_SHOWN]]}  # fmt: skip


def _one(name: str, real: Any, fake: Any, settings: Settings) -> dict[str, Any]:
    from ganeval.protocols.registry import get_protocol

    protocol_arithmetic = get_protocol(settings.protocol).compute(name)
    if protocol_arithmetic is not None:
        return protocol_arithmetic(real, fake, settings, metric=name)
    from ganeval.metrics.fid import frechet_distance

    if name in ("fid", "fd", "sfid", "fd_dinov2"):
        return {name: frechet_distance(real.stats, fake.stats, method=settings.fid_method, names=("real", "generated"))}
    if name in ("kid", "kd"):
        from ganeval.metrics.kid import kernel_inception_distance

        mean, std = kernel_inception_distance(
            fake.features,
            real.features,
            subsets=settings.kid_subsets,
            subset_size=settings.kid_subset_size,
            degree=settings.kid_degree,
            seed=settings.seed,
        )
        return {KEY_KID_MEAN: mean, KEY_KID_STD: std} if name == "kid" else {"kd_mean": mean, "kd_std": std}
    if name == "is":
        from ganeval.metrics.isc import inception_score

        mean, std = inception_score(fake.logits, splits=settings.is_splits, seed=settings.seed)
        return {KEY_IS_MEAN: mean, KEY_IS_STD: std}
    if name in ("pr", "dc"):
        from ganeval.metrics.prdc import precision_recall_density_coverage

        knn = precision_recall_density_coverage(
            real.features,
            fake.features,
            pr_k=settings.pr_k if name == "pr" else None,
            dc_k=settings.dc_k if name == "dc" else None,
            knn_samples=settings.knn_samples,
            seed=settings.seed,
        )
        keys = {"precision": KEY_PRECISION, "recall": KEY_RECALL, "density": KEY_DENSITY, "coverage": KEY_COVERAGE}
        return {keys[k]: v for k, v in knn.items()}
    if name in ("intra_fid", "intra_fd"):
        per_class = intra_fid(real.class_stats, fake.features, fake.classes, settings)
        mean = float(np.mean(list(per_class.values())))
        if name == "intra_fid":
            return {KEY_INTRA_FID: mean, KEY_FID_PER_CLASS: per_class}
        return {"intra_fd": mean, "fd_per_class": per_class}
    if name == "cmmd":
        from ganeval.metrics.cmmd import cmmd

        return {"cmmd": cmmd(real.features, fake.features)}
    raise InputError(f"no computation registered for metric {name!r}")


def intra_fid(real_stats: dict[str, Any], fake_rows: Any, fake_classes: np.ndarray, settings: Settings) -> dict:
    """FID of each class of the real statistics against the generated rows of that class."""
    import torch

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
