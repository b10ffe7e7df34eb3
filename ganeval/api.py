"""The Python API and the only orchestration: inputs -> statistics or features -> metrics.

Two inputs are always `real, fake`: the reference first (real images, a named reference `"ref:NAME"`, a
statistics file), the generated set second. The Inception Score rates the generated set: the second input
when two are given, the only one when one is. Inputs are anything `ganeval.sources.as_source` accepts
(image folders, zip and tar archives, `.npy`/`.npz` image arrays, dataset names such as
`"mnist:test[:1000]"`, uint8 tensors N x C x H x W and arrays N x H x W x C, an `ImageSource`), a
statistics file (FID-like metrics only), or a named reference. Pass `extractor=` (one loaded network or a
list) to reuse loaded networks across calls.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import fields, replace
from typing import Any

import numpy as np

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
from ganeval.errors import InputError, check
from ganeval.features.base import Extractor
from ganeval.features.spaces import get_space
from ganeval.features.views import View
from ganeval.inputs import Input, Obtained, Pipeline, SkippedFilesWarning, StoreOptions, resolve_input
from ganeval.labels import input_classes
from ganeval.results import (
    NEEDS_TRAIN,
    TWO_SIDED,
    Needs,
    Side,
    compute_metrics,
    metric_view,
    needs,
    parse_metrics,
    views_of,
)
from ganeval.statsfile import LoadedStats, save_stats, stats_fingerprint

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

EXTRACTOR_SETTINGS = ("precision", "weights", "device", "batch_size")


def split_options(options: dict[str, Any]) -> tuple[dict[str, Any], StoreOptions]:
    """Separate the `StoreOptions` fields (cache, force, ...) from the `Settings` fields."""
    store_fields = {f.name for f in fields(StoreOptions)}
    store = StoreOptions(**{k: options.pop(k) for k in list(options) if k in store_fields})
    return options, store


def make_pipeline(
    extractor: Extractor | Sequence[Extractor] | None,
    settings: Settings | None,
    options: dict[str, Any],
    metrics: tuple[str, ...] = (),
) -> tuple[Pipeline, Settings]:
    """The pipeline for `options` (Settings and StoreOptions fields) and the `metrics` it will serve.

    A given extractor fixes its network's mode (unless one is given for it); settings that contradict an
    extractor (precision, weights, device, batch size, mode) are refused rather than silently ignored.
    """
    options, store = split_options(dict(options))
    extractors = [extractor] if isinstance(extractor, Extractor) else list(extractor or [])
    resolved = make_settings(settings, **options)
    for ex in extractors:
        explicit = {k: options[k] for k in EXTRACTOR_SETTINGS if k in options and not isinstance(options[k], dict)}
        if settings is not None:
            defaults = Settings()
            explicit.update(
                {k: getattr(settings, k) for k in EXTRACTOR_SETTINGS if getattr(settings, k) != getattr(defaults, k)}
            )
        if "weights" in explicit and len({e.network for e in extractors}) > 1:
            explicit.pop("weights")  # one file cannot describe several networks; weights_for refuses it
        given_mode = dict(resolved.modes).get(ex.network)
        if (
            given_mode is None
            and resolved.mode is not None
            and ex.network == get_space(resolved.features_space).network
        ):
            given_mode = resolved.mode
        ex.check_agrees(**explicit, mode=given_mode)
        if given_mode is None:  # the extractor's mode is the one its network's views use
            resolved = replace(resolved, modes=tuple(sorted({**dict(resolved.modes), ex.network: ex.mode}.items())))
    networks = tuple(v.network for v in views_of(metrics, resolved).values()) if metrics else ()
    return Pipeline(resolved, store, extractors, networks), resolved


def _at_least_two(item: Input) -> None:
    n = item.count()
    check(n is None or n >= 2, f"{item.label}: need at least 2 images, got {n}")


def intra_fid(real: Any, fake: Any, **options: Any) -> tuple[float, dict[str, float]]:
    """intra-FID (the mean of the per-class FIDs) and the per-class FIDs (see `score` for classes)."""
    result = score(real, fake, ("intra_fid",), **options)
    return float(result[KEY_INTRA_FID]), result[KEY_FID_PER_CLASS]


def spaces_record(pipeline: Pipeline, metrics: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """For each metric, the view it read: space, layer, mode (as filed) and the weights' digest."""
    views = views_of(metrics, pipeline.settings)
    return {m: {"features": v.space, "layer": v.layer, "mode": pipeline.protocol(v),
                "weights_sha256": pipeline.digest(v.network, required=False)} for m, v in views.items()}  # fmt: skip


def obtain_side(
    pipeline: Pipeline, obj: Any, item: Input, needs: dict[View, Needs], labels: Any = None, classes: Any = None
) -> Side:
    """What one input provides in every view it is needed in: statistics, rows, logits and, for per-class
    metrics, the real side's per-class statistics (`labels` given or from the input) or the generated
    side's row classes (`classes`, set on every view: Vendi reads them per class too)."""
    views: dict[View, Obtained] = {view: Obtained(item.count()) for view in needs}
    parts = {view: need for view, need in needs.items() if need.stats or need.features or need.logits}
    if parts:
        views.update(pipeline.obtain(item, parts))
    for view, need in needs.items():
        if classes is not None:
            views[view].classes = classes
        elif need.classes:  # the real side: per-class statistics through the cache
            real_classes = input_classes(obj, item, pipeline.store, labels)
            views[view].class_stats = pipeline.obtain_classes(item, real_classes, view)
    n = next((o.n for o in views.values() if o.n is not None), item.count())
    return Side(n, views)


def training_input(pipeline: Pipeline, train: Any, needs_train: dict[View, Needs], wanted: tuple[str, ...]) -> Any:
    """The training set's side when a metric reads it; a metric that needs it without one is refused."""
    missing = sorted(NEEDS_TRAIN.intersection(wanted))
    check(
        train is not None or not missing,
        f"{', '.join(missing)} compare{'s' * (len(missing) == 1)} the generated set with the training set: "
        "give --train INPUT (train= in Python)",
    )
    if train is None or not needs_train:
        return None
    item = resolve_input(train, "train", pipeline.store, None)
    _at_least_two(item)
    return item


def score(
    real: Any,
    fake: Any = None,
    metrics: str | tuple[str, ...] | list[str] = ("fid",),
    *,
    extractor: Extractor | Sequence[Extractor] | None = None,
    value_range: tuple[float, float] | None = None,
    settings: Settings | None = None,
    real_labels: Any = None,
    fake_labels: Any = None,
    train: Any = None,
    **options: Any,
) -> dict[str, Any]:
    """Several metrics in one pass over each input; returns the result keys of `ganeval.config`.

    `real` is the reference, `fake` the generated set; with one input (`fake` None) that input is the
    generated set, which only the Inception Score can rate alone. Options are the fields of
    `ganeval.config.Settings` (features, mode, batch_size, device, workers, weights, seed, ...) and of
    `ganeval.inputs.StoreOptions` (cache, force, verify, data_root, download, max_pixels). `mode` and
    `weights` take one value or a {space: value} mapping. A statistics file gives FID-like metrics only; its
    count is None when the file does not record it. intra-FID needs classes: labelled datasets and folders
    with one subfolder per class carry them, other inputs take `real_labels` / `fake_labels` (numbers or
    names, one per image). The result's "spaces" says which view (space, layer, mode, weights) each
    metric read; "features" names the --features space when a space-generic metric was asked. `train` is
    the training set (any input kind) for the memorization metrics (authpct, ct; mifid uses it when given);
    `bootstrap=B` adds `<key>_ci` and `<key>_se` from B resamples of the extracted features.
    """
    wanted = parse_metrics(metrics)
    pipeline, resolved = make_pipeline(extractor, settings, options, wanted)
    if fake is None:
        two_sided = sorted(TWO_SIDED.intersection(wanted))
        check(
            not two_sided,
            f"{', '.join(m.upper() for m in two_sided)} compare the real set with a generated one: give both "
            "(REAL FAKE)",
        )
        real, fake = None, real
    real_needs, fake_needs, train_needs = needs(wanted, resolved, train=True)
    train_item = training_input(pipeline, train, train_needs, wanted)
    real_item = resolve_input(real, "real", pipeline.store, value_range) if real is not None else None
    fake_item = resolve_input(fake, "fake", pipeline.store, value_range)
    fake_classes = None
    if any(n.classes for n in fake_needs.values()):  # labels before any pass, so a missing one costs nothing
        real_labels = input_classes(real, real_item, pipeline.store, real_labels)
        fake_classes = input_classes(fake, fake_item, pipeline.store, fake_labels)
    elif "vendi" in wanted:  # Vendi per class where the generated set carries classes
        try:
            fake_classes = input_classes(fake, fake_item, pipeline.store, fake_labels)
        except InputError:
            fake_classes = None
    for item in (real_item, fake_item):  # before any pass over the other input, not after it
        if item is not None:
            _at_least_two(item)
    if any(n.logits for n in fake_needs.values()):
        check(fake_item.has_images, f"{fake_item.label} is a statistics file: the Inception Score needs images")
        pipeline.extractor.require_head()
    got_real = None
    if real_item is not None:  # a real set no metric reads is only counted (a reference without its data)
        got_real = obtain_side(pipeline, real, real_item, real_needs, labels=real_labels)
    got_fake = obtain_side(pipeline, fake, fake_item, fake_needs, classes=fake_classes)
    got_train = obtain_side(pipeline, train, train_item, train_needs) if train_item is not None else None
    result = compute_metrics(wanted, got_real, got_fake, resolved, got_train)
    result["spaces"] = spaces_record(pipeline, wanted)
    return result


def compute_stats(
    source: Any,
    output: str | os.PathLike | None = None,
    *,
    extractor: Extractor | None = None,
    value_range: tuple[float, float] | None = None,
    settings: Settings | None = None,
    storage: str = "full",
    **options: Any,
) -> LoadedStats:
    """Statistics of one input in the --features space (default Inception pool3), through the cache,
    written to `output` when given.

    The file holds float64 `mu` and `sigma` (pytorch-fid reads it) plus `n` and the metadata that
    later loads check (the space, weights, mode and layer among them); `storage="triu32"` is the compact
    form of the committed reference statistics.
    """
    pipeline, resolved = make_pipeline(extractor, settings, options, ("fd",))
    view = metric_view("fd", resolved)
    item = resolve_input(source, "source", pipeline.store, value_range)
    got = pipeline.obtain(item, {view: Needs(stats=True)})[view]
    path = str(output) if output is not None else item.label
    if output is not None:
        check(got.meta is not None, f"{item.label} carries no metadata to write; it is a statistics file already")
        save_stats(output, got.stats, got.meta, storage=storage)
    return LoadedStats(stats=got.stats, meta=got.meta, path=path)


def write_suite_reference(source: Any, output: str | os.PathLike, **options: Any) -> dict[str, Any]:
    """A reference file in a suite's own format (`protocol="adm"`: an ADM reference batch `.npz` with the
    images and pool3/spatial statistics; `protocol="edm2"`: an EDM2 `.pkl` with fid and fd_dinov2 statistics),
    readable by that suite and by ganeval. Returns {"n": images, views' labels: fingerprint}."""
    from ganeval.protocols.adm import write_adm_batch
    from ganeval.protocols.edm2 import write_edm2_reference

    protocol = options.get("protocol")
    metrics = {"adm": ("fid", "sfid"), "edm2": ("fid", "fd_dinov2")}.get(protocol)
    check(metrics is not None, f"a suite's reference file is written for --protocol adm or edm2, not {protocol}")
    pipeline, resolved = make_pipeline(None, None, options, metrics)
    views = views_of(metrics, resolved)
    item = resolve_input(source, "source", pipeline.store, None)
    _at_least_two(item)
    got = pipeline.obtain(item, {v: Needs(stats=True) for v in views.values()})
    stats = {m: got[v].stats for m, v in views.items()}
    if protocol == "adm":
        images = np.stack([item.source.load(i) for i in range(len(item.source))]) if item.has_images else None
        check(images is not None, f"{item.label}: an ADM reference batch holds the images; give images")
        write_adm_batch(output, images, stats["fid"].mu, stats["fid"].sigma, stats["sfid"].mu, stats["sfid"].sigma)
    else:
        n = stats["fid"].n
        write_edm2_reference(output, {m: (s.mu, s.sigma) for m, s in stats.items()}, n)
    return {"n": stats["fid"].n, **{m: stats_fingerprint(s) for m, s in stats.items()}}


def neighbours(
    train: Any,
    fake: Any,
    *,
    top: int = 32,
    k: int = 3,
    image: str | os.PathLike | None = None,
    value_range: tuple[float, float] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """The generated images likeliest to copy training images: the `top` with the smallest ratio of their
    distance to the nearest training image over that image's own nearest-neighbour distance (AuthPct's
    quantity), each with its `k` nearest training images, in the --features space (rows through the cache).
    With `image`, a PNG grid showing them. Returns {"fake", "train", "distances", "ratio", ...} as lists.
    """
    from ganeval.copies import draw_copies
    from ganeval.metrics.memorization import find_copies

    pipeline, resolved = make_pipeline(None, None, options, ("authpct",))
    view = metric_view("authpct", resolved)
    train_item = resolve_input(train, "train", pipeline.store, value_range)
    fake_item = resolve_input(fake, "fake", pipeline.store, value_range)
    for item in (train_item, fake_item):
        check(item.has_images, f"{item.label} holds statistics only: neighbours need images")
        _at_least_two(item)
    rows = {name: pipeline.obtain(item, {view: Needs(features=True)})[view].features
            for name, item in (("train", train_item), ("fake", fake_item))}  # fmt: skip
    copies = find_copies(rows["train"], rows["fake"], top=top, k=k)
    if image is not None:
        fake_images = _pick(fake_item.source, copies.fake.tolist())
        draw_copies(copies, fake_images.__getitem__, train_item.source.load, image)
    return {"train_input": train_item.label, "fake_input": fake_item.label, "features": view.space,
            "mode": pipeline.protocol(view), "fake": copies.fake.tolist(), "train": copies.train.tolist(),
            "distances": copies.distances.tolist(), "ratio": copies.ratio.tolist()}  # fmt: skip


def _pick(source: Any, indices: list[int]) -> dict[int, np.ndarray]:
    """The images at `indices` of a source, H x W x 3 uint8; a generator's are drawn again (seeded) and only
    those kept, so memory holds `len(indices)` images whatever the set's size."""
    wanted = set(indices)
    if not source.sequential:
        return {i: source.load(i) for i in wanted}
    out, start = {}, 0
    for batch in source.batches():
        for j in range(len(batch)):
            if start + j in wanted:
                out[start + j] = batch[j].permute(1, 2, 0).cpu().numpy()
        start += len(batch)
    return out


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
