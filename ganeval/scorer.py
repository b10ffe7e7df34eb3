"""`ganeval.Scorer`: metrics for training loops, fed batch by batch, exact under `torch.distributed`.

    scorer = ganeval.Scorer(("fid", "kid"), reference="ref:fashion-mnist-test", device="cuda")
    for batch in batches:
        scorer.update(generator(z), value_range=(-1, 1))   # float images, quantised as PNGs would be
    print(scorer.compute())                                # the keys of ganeval.score
    scorer.reset()                                         # keeps the reference for the next evaluation

The reference (any input `ganeval.score` accepts) is obtained once, through the cache, when the scorer is
built; each update then costs one forward pass of its own images through each network the metrics read
(Inception, DINOv2, CLIP, VGG16: one pass per network, all fed from the same batch). State stays on the
extractors' device, per view: FID-like metrics keep float64 sufficient statistics (memory flat in the
number of images), KID and the k-NN metrics keep feature rows, IS keeps logits, intra-FID keeps rows with
their classes. Under an initialised process
group `compute()` merges every rank's state exactly (the accumulators in rank order, the rows gathered in
rank order), so each rank gets what one process that saw all the images would; a rank without images
contributes nothing and does not stall the others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from ganeval.api import make_pipeline, obtain_side, spaces_record, training_input
from ganeval.config import Settings
from ganeval.distributed import RankFailedError, comm_device, gather_side, is_distributed
from ganeval.errors import GanevalError, InputError, check
from ganeval.extractor import Extractor, SideState, extract_side, run_views
from ganeval.inputs import resolve_input
from ganeval.labels import as_classes
from ganeval.metrics.gaussian import GaussianAccumulator, gaussian_stats
from ganeval.metrics.stats import GaussianStats
from ganeval.quantise import batch_to_uint8
from ganeval.results import Side, compute_metrics, needs, parse_metrics
from ganeval.sources import ImageSource, as_source


@dataclass
class ViewSide:
    """One side in one view as the metrics read it (`accumulator`: the float64 state behind `stats`)."""

    n: int
    stats: GaussianStats | None = None
    features: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    accumulator: GaussianAccumulator | None = None
    classes: np.ndarray | None = None  # one per row of features
    class_stats: dict[str, GaussianStats] | None = None


class Scorer:
    """Streaming metrics (any `ganeval.score` computes) with update / compute / reset.

    Args:
        metrics: metric names, as `ganeval.score` takes them.
        reference: the real side, optional: a named reference ("ref:NAME[slice]"), a folder, a dataset spec,
            an array or tensor, or a statistics file (FID-like metrics only). Obtained through the cache (unless
            cache=False), so a second scorer with the same reference runs no forward pass for it. Under
            `torch.distributed` rank 0 obtains it and sends it to the others: build the scorer on every rank.
        device, mode, precision, weights, features: as the command line options (`mode` and `weights` take
            one value or a {space: value} mapping); None: the extractor's, else defaults.
        extractor: a loaded extractor (or a list) to share (settings it contradicts are refused).
        reference_labels: the classes of the reference's images for intra-FID, where it does not carry them.
        train: the training set for the memorization metrics (authpct, ct; mifid uses it when given), any
            input `ganeval.score` takes; obtained once, through the cache, like the reference.
        **options: every other option `ganeval.score` takes (kid_subset_size, kid_subsets, is_splits, seed,
            pr_k, dc_k, fid_method, cache, data_root, force, progress, ...); a misspelled one is an error.

    Raises:
        InputError, WeightsError, StatisticsError: a bad reference, a bad option, IS with headless weights.

    Example:
        >>> scorer = Scorer(("fid",), reference="ref:fashion-mnist-test")  # doctest: +SKIP
        >>> scorer.update(images_uint8)  # doctest: +SKIP
        >>> scorer.compute()["fid"]  # doctest: +SKIP
    """

    def __init__(
        self,
        metrics: str | tuple[str, ...] | list[str] = ("fid",),
        reference: Any = None,
        *,
        device: str | torch.device | None = None,
        mode: str | dict[str, str] | None = None,
        precision: str | None = None,
        weights: str | dict[str, str] | None = None,
        features: str | None = None,
        extractor: Extractor | list[Extractor] | None = None,
        reference_labels: Any = None,
        train: Any = None,
        **options: Any,
    ):
        given = {"device": device, "mode": mode, "precision": precision, "weights": weights, "features": features}
        options = {**{k: v for k, v in given.items() if v is not None}, **options}
        if isinstance(options.get("device"), torch.device):
            options["device"] = str(options["device"])
        options.setdefault("cache", True)  # the reference is the data evaluated again and again
        self.metrics = parse_metrics(metrics)
        pipeline, self.settings = make_pipeline(extractor, None, options, self.metrics)
        self._real_needs, self._fake_needs, self._train_needs = needs(self.metrics, self.settings, train=True)
        self._pipeline = pipeline
        # Every network is loaded now, so a training loop pays for it once, before its first step.
        views = {**self._real_needs, **self._fake_needs, **self._train_needs}
        self._plan = {view: pipeline.extractor_for(view) for view in views}
        self.extractor = next((e for e in self._plan.values() if e.network == "inception"), None) or next(
            iter(self._plan.values())
        )
        for view, need in self._fake_needs.items():
            if need.logits:
                self._plan[view].require_head()
        self._reference: Side | None = None
        if reference is not None:
            check(bool(self._real_needs), f"none of {', '.join(self.metrics)} uses a reference")
            self._reference = self._on_rank0(lambda: self._obtain(reference, reference_labels))
        train_item = training_input(pipeline, train, self._train_needs, self.metrics)
        self._train: Side | None = None
        if train_item is not None:  # the training set, like the reference, is obtained once
            self._train = self._on_rank0(lambda: obtain_side(pipeline, train, train_item, self._train_needs))
        self._fake, self._real_added = self._new_state(real=False), self._new_state(real=True)

    # --- state ---------------------------------------------------------------------------------------

    def _new_state(self, real: bool) -> SideState:
        wanted = self._real_needs if real else self._fake_needs
        return SideState(wanted, on_host=False, classes=any(n.classes for n in wanted.values()))

    def reset(self, real: bool = False) -> None:
        """Forget the generated images; with `real=True` the real ones too, the reference included."""
        self._fake = self._new_state(real=False)
        if real:
            self._real_added = self._new_state(real=True)
            self._reference = None

    @property
    def extractors(self) -> list[Extractor]:
        """The loaded networks, one per (network, mode) the metrics read."""
        return list({id(e): e for e in self._plan.values()}.values())

    @property
    def n_fake(self) -> int:
        """Generated images added on this rank since the last reset."""
        return self._fake.n

    @property
    def n_reference(self) -> int | None:
        """Images of the reference given at construction (None: none given, or a file without a count)."""
        return self._reference.n if self._reference is not None else None

    def _reference_view(self, attribute: str) -> Any:
        if self._reference is None:
            return None
        found = (getattr(v, attribute) for v in self._reference.views.values() if getattr(v, attribute) is not None)
        return next(found, None)

    @property
    def reference_stats(self) -> GaussianStats | None:
        """The reference's statistics (of the first view that has them)."""
        return self._reference_view("stats")

    @property
    def reference_features(self) -> torch.Tensor | None:
        """The reference's feature rows (of the first view that keeps them)."""
        return self._reference_view("features")

    # --- input ---------------------------------------------------------------------------------------

    def update(
        self,
        images: torch.Tensor,
        real: bool = False,
        value_range: tuple[float, float] | None = None,
        labels: Any = None,
    ) -> None:
        """Add a batch: uint8 N x C x H x W (C in 1, 3, 4) on any device, or float images with `value_range`,
        quantised on their device as saving PNGs would. `real=True` adds real images instead; `labels` (one
        class per image) are needed for intra-FID.

        A float batch with NaN, Inf or values outside `value_range` is refused, naming how many images and
        the first, before anything reaches the network.
        """
        state = self._state_for(real)
        batch = batch_to_uint8(images, value_range)
        classes = self._classes_for(state, labels, len(batch))
        logits = {v for v, s in state.states.items() if s.keep_logits}
        state.add(run_views({v: self._plan[v] for v in state.states}, batch, logits), count=len(batch))
        if classes is not None:
            state.add_classes(classes)

    def update_source(
        self, source: ImageSource | Any, real: bool = False, progress: bool = False, labels: Any = None
    ) -> None:
        """Add every image of a source (a folder, an array, a `GeneratorSource`) through the extraction loop."""
        source = as_source(source)
        state = self._state_for(real)
        classes = self._classes_for(state, labels, len(source))
        plan = {v: self._plan[v] for v in state.states}
        extract_side(plan, source, state, workers=self.settings.workers, skip_bad=False, progress=progress)
        if classes is not None:  # rows stay one per label: nothing is skipped
            state.add_classes(classes)

    def _state_for(self, real: bool) -> SideState:
        if real:
            check(bool(self._real_needs), f"none of {', '.join(self.metrics)} uses real images")
            return self._real_added
        return self._fake

    def _classes_for(self, state: SideState, labels: Any, n: int) -> np.ndarray | None:
        if not state.keep_classes:
            return None
        check(labels is not None, "intra-FID needs the class of every image: pass labels=")
        return as_classes(labels, n, "update")

    # --- result --------------------------------------------------------------------------------------

    def compute(self, metrics: str | tuple[str, ...] | list[str] | None = None) -> dict[str, Any]:
        """The metrics of everything added since the last reset (every rank's, under torch.distributed);
        `metrics` picks some of the scorer's own.

        Does not change the state: call it as often as wanted, and keep updating afterwards. Under
        torch.distributed every rank must call it.
        """
        return self._compute(metrics, self.settings)

    def _compute(self, metrics: str | tuple[str, ...] | list[str] | None, settings: Settings) -> dict[str, Any]:
        chosen = self.metrics if metrics is None else parse_metrics(metrics)
        extra = [m for m in chosen if m not in self.metrics]
        check(not extra, f"this scorer was built for {', '.join(self.metrics)}, not {', '.join(extra)}")
        fake = self._gathered(self._fake)
        check(fake.n >= 2, f"need at least 2 generated images, got {fake.n}: call update() first")
        real = self._real_side(self._gathered(self._real_added)) if self._real_needs else None
        result = compute_metrics(chosen, real, fake, settings, self._train)
        result["spaces"] = spaces_record(self._pipeline, chosen)
        return result

    def _gathered(self, state: SideState) -> Side:
        """This rank's state, or under torch.distributed every rank's merged in rank order."""
        if is_distributed():
            report, merged, classes = gather_side(state, device=comm_device(self.extractor.device))
            n = report.n_images
        else:
            n, classes = state.n, state.classes
            merged = {v: (s.accumulator, s.features, s.logits) for v, s in state.states.items()}
        views = {}
        for view, (accumulator, rows, logits) in merged.items():
            stats = accumulator.compute() if accumulator is not None and n >= 2 else None
            views[view] = ViewSide(n, stats, rows, logits, accumulator, classes)
        return Side(n, views)

    def _real_side(self, added: Side) -> Side:
        """The reference followed by the real images added with update(..., real=True)."""
        ref = self._reference
        if ref is None:
            check(
                added.n >= 2,
                f"need at least 2 real images, got {added.n}: pass reference= or update(images, real=True)",
            )
            for view, need in self._real_needs.items():
                if need.classes:
                    added.views[view].class_stats = _class_stats(added.views[view].features, added.views[view].classes)
            return added
        if added.n == 0:
            return Side(ref.n, {v: ViewSide(ref.n, o.stats, o.features, class_stats=o.class_stats)
                                for v, o in ref.views.items()})  # fmt: skip
        check(ref.n is not None, "the reference statistics file records no image count: real images cannot be added")
        views = {}
        for view, own in ref.views.items():
            new = added.views[view]
            stats = None
            if own.stats is not None:
                merged = GaussianAccumulator.from_stats(own.stats)
                merged.merge(new.accumulator)
                stats = merged.compute()
            rows = None
            if own.features is not None and new.features is not None:
                rows = torch.cat([own.features.to(new.features.device), new.features])
            class_stats = None
            if own.class_stats is not None:
                class_stats = _merged_class_stats(own.class_stats, new.features, new.classes)
            views[view] = ViewSide(ref.n + added.n, stats, rows, class_stats=class_stats)
        return Side(ref.n + added.n, views)

    # --- reference -----------------------------------------------------------------------------------

    def _on_rank0(self, obtain: Callable[[], Side]) -> Side:
        """A fixed side (the reference, the training set) through the pipeline and its cache; under
        torch.distributed rank 0 obtains it and every other rank receives the same object."""
        if not is_distributed():
            return obtain()
        payload: list[Any] = [None]
        if dist.get_rank() == 0:
            try:
                got = obtain()
                for view in got.views.values():  # gloo sends objects from the CPU
                    view.features = None if view.features is None else view.features.cpu()
                payload = [(None, got)]
            except GanevalError as exc:
                payload = [(str(exc), None)]
        dist.broadcast_object_list(payload, src=0)
        error, got = payload[0]
        if error is not None:
            if dist.get_rank() == 0:
                raise InputError(error)
            raise RankFailedError(f"rank 0: {error}")
        return got

    def _obtain(self, reference: Any, labels: Any) -> Side:
        store = self._pipeline.store
        item = resolve_input(reference, "reference", store, value_range=None)
        n = item.count()
        check(n is None or n >= 2, f"{item.label}: need at least 2 images, got {n}")
        return obtain_side(self._pipeline, reference, item, self._real_needs, labels=labels)


def _class_stats(rows: torch.Tensor, classes: np.ndarray) -> dict[str, GaussianStats]:
    return {c: gaussian_stats(rows[torch.from_numpy(np.flatnonzero(classes == c)).to(rows.device)])
            for c in sorted(set(classes.tolist()))}  # fmt: skip


def _merged_class_stats(
    reference: dict[str, GaussianStats], rows: torch.Tensor | None, classes: np.ndarray | None
) -> dict[str, GaussianStats]:
    """Each class of the reference with the added real rows of that class merged in."""
    if rows is None or classes is None:
        return reference
    out = {}
    for c in sorted(set(reference) | set(classes.tolist())):
        acc = GaussianAccumulator.from_stats(reference[c]) if c in reference else GaussianAccumulator()
        picked = np.flatnonzero(classes == c)
        if len(picked):
            acc.update(rows[torch.from_numpy(picked).to(rows.device)])
        out[c] = acc.compute()
    return out
