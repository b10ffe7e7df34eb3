"""`ganeval.Scorer`: metrics for training loops, fed batch by batch, exact under `torch.distributed`.

    scorer = ganeval.Scorer(("fid", "kid"), reference="ref:fashion-mnist-test", device="cuda")
    for batch in batches:
        scorer.update(generator(z), value_range=(-1, 1))   # float images, quantised as PNGs would be
    print(scorer.compute())                                # the keys of ganeval.score
    scorer.reset()                                         # keeps the reference for the next evaluation

The reference (any input `ganeval.score` accepts) is obtained once, through the cache, when the scorer is
built; each update then costs one forward pass of its own images. State stays on the extractor's device:
FID keeps float64 sufficient statistics (memory flat in the number of images), KID and the k-NN metrics
keep pool3 rows, IS keeps logits, intra-FID keeps rows with their classes. Under an initialised process
group `compute()` merges every rank's state exactly (the accumulators in rank order, the rows gathered in
rank order), so each rank gets what one process that saw all the images would; a rank without images
contributes nothing and does not stall the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from ganeval.api import make_pipeline
from ganeval.config import Settings
from ganeval.distributed import RankFailedError, comm_device, gather_state, is_distributed
from ganeval.errors import GanevalError, InputError, check
from ganeval.extractor import ExtractOptions, FeatureState, InceptionExtractor, extract_raw
from ganeval.inputs import Obtained, resolve_input
from ganeval.labels import as_classes, input_classes
from ganeval.metrics.gaussian import GaussianAccumulator, gaussian_stats
from ganeval.metrics.stats import GaussianStats
from ganeval.quantise import batch_to_uint8
from ganeval.results import compute_metrics, needs, parse_metrics
from ganeval.sources import ImageSource, as_source


@dataclass
class Side:
    """One side of an evaluation as the metrics read it (`accumulator`: the float64 state behind `stats`)."""

    n: int
    stats: GaussianStats | None = None
    pool3: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    accumulator: GaussianAccumulator | None = None
    classes: np.ndarray | None = None  # one per row of pool3
    class_stats: dict[str, GaussianStats] | None = None


class Scorer:
    """Streaming metrics (any `ganeval.score` computes) with update / compute / reset.

    Args:
        metrics: metric names, as `ganeval.score` takes them.
        reference: the real side, optional: a named reference ("ref:NAME[slice]"), a folder, a dataset spec,
            an array or tensor, or a statistics file (FID only). Obtained through the cache (unless
            cache=False), so a second scorer with the same reference runs no forward pass for it. Under
            `torch.distributed` rank 0 obtains it and sends it to the others: build the scorer on every rank.
        device, mode, precision, weights: as the command line options; None: the extractor's, else defaults.
        extractor: a loaded `InceptionExtractor` to share (settings it contradicts are refused).
        reference_labels: the classes of the reference's images for intra-FID, where it does not carry them.
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
        mode: str | None = None,
        precision: str | None = None,
        weights: str | None = None,
        extractor: InceptionExtractor | None = None,
        reference_labels: Any = None,
        **options: Any,
    ):
        given = {"device": device, "mode": mode, "precision": precision, "weights": weights}
        options = {**{k: v for k, v in given.items() if v is not None}, **options}
        if isinstance(options.get("device"), torch.device):
            options["device"] = str(options["device"])
        options.setdefault("cache", True)  # the reference is the data evaluated again and again
        pipeline, self.settings = make_pipeline(extractor, None, options)
        self.metrics = parse_metrics(metrics)
        self._real_needs, self._fake_needs = needs(self.metrics)
        self._pipeline = pipeline
        self.extractor = pipeline.extractor
        if self._fake_needs.logits:
            self.extractor.require_head()
        self._reference: Obtained | None = None
        if reference is not None:
            check(self._real_needs.anything, f"none of {', '.join(self.metrics)} uses a reference")
            self._reference = self._obtain_reference(reference, reference_labels)
        self._fake, self._real_added = self._new_state(real=False), self._new_state(real=True)

    # --- state ---------------------------------------------------------------------------------------

    def _new_state(self, real: bool) -> FeatureState:
        wanted = self._real_needs if real else self._fake_needs
        return FeatureState(wanted.stats, wanted.features, wanted.logits, on_host=False, classes=wanted.classes)

    def reset(self, real: bool = False) -> None:
        """Forget the generated images; with `real=True` the real ones too, the reference included."""
        self._fake = self._new_state(real=False)
        if real:
            self._real_added = self._new_state(real=True)
            self._reference = None

    @property
    def n_fake(self) -> int:
        """Generated images added on this rank since the last reset."""
        return self._fake.n

    @property
    def n_reference(self) -> int | None:
        """Images of the reference given at construction (None: none given, or a file without a count)."""
        return self._reference.n if self._reference is not None else None

    @property
    def reference_stats(self) -> GaussianStats | None:
        return self._reference.stats if self._reference is not None else None

    @property
    def reference_pool3(self) -> torch.Tensor | None:
        return self._reference.pool3 if self._reference is not None else None

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
        state.add(*self.extractor.forward(batch, with_logits=state.keep_logits), count=True)
        if classes is not None:
            state.add_classes(classes)

    def update_source(
        self, source: ImageSource | Any, real: bool = False, progress: bool = False, labels: Any = None
    ) -> None:
        """Add every image of a source (a folder, an array, a `GeneratorSource`) through the extraction loop."""
        source = as_source(source)
        state = self._state_for(real)
        classes = self._classes_for(state, labels, len(source))
        options = ExtractOptions(
            stats=state.accumulator is not None,
            keep_pool3=state.keep_pool3,
            logits=state.keep_logits,
            workers=self.settings.workers,
            skip_bad=False,  # rows must stay one per label
            progress=progress,
        )
        extract_raw(self.extractor, source, options, state)
        if classes is not None:
            state.add_classes(classes)

    def _state_for(self, real: bool) -> FeatureState:
        if real:
            check(self._real_needs.anything, f"none of {', '.join(self.metrics)} uses real images")
            return self._real_added
        return self._fake

    def _classes_for(self, state: FeatureState, labels: Any, n: int) -> np.ndarray | None:
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
        real = None
        if self._real_needs.anything:
            real = self._real_side(self._gathered(self._real_added))
        return compute_metrics(chosen, real, fake, settings)

    def _gathered(self, state: FeatureState) -> Side:
        """This rank's state, or under torch.distributed every rank's merged in rank order."""
        classes = state.classes
        if is_distributed():
            report, accumulator, pool3, logits = gather_state(state, device=comm_device(self.extractor.device))
            n = report.n_images
            if state.keep_classes:
                parts: list[Any] = [None] * dist.get_world_size()
                dist.all_gather_object(parts, classes)
                kept = [p for p in parts if p is not None]
                classes = np.concatenate(kept) if kept else None
        else:
            n, accumulator, pool3, logits = state.n, state.accumulator, state.pool3, state.logits
        stats = accumulator.compute() if accumulator is not None and n >= 2 else None
        return Side(n, stats, pool3, logits, accumulator, classes)

    def _real_side(self, added: Side) -> Side:
        """The reference followed by the real images added with update(..., real=True)."""
        ref = self._reference
        if ref is None:
            check(
                added.n >= 2,
                f"need at least 2 real images, got {added.n}: pass reference= or update(images, real=True)",
            )
            if self._real_needs.classes:
                added.class_stats = _class_stats(added.pool3, added.classes)
            return added
        if added.n == 0:
            return Side(ref.n, ref.stats, ref.pool3, class_stats=ref.class_stats)
        check(ref.n is not None, "the reference statistics file records no image count: real images cannot be added")
        stats = None
        if ref.stats is not None:
            merged = GaussianAccumulator.from_stats(ref.stats)
            merged.merge(added.accumulator)
            stats = merged.compute()
        pool3 = None
        if ref.pool3 is not None and added.pool3 is not None:
            pool3 = torch.cat([ref.pool3.to(added.pool3.device), added.pool3])
        class_stats = None
        if ref.class_stats is not None:
            class_stats = _merged_class_stats(ref.class_stats, added.pool3, added.classes)
        return Side(ref.n + added.n, stats, pool3, class_stats=class_stats)

    # --- reference -----------------------------------------------------------------------------------

    def _obtain_reference(self, reference: Any, labels: Any) -> Obtained:
        """The reference's statistics and rows through the pipeline (and its cache); under torch.distributed
        rank 0 obtains them and every other rank receives the same object."""
        if not is_distributed():
            return self._obtain(reference, labels)
        payload: list[Any] = [None]
        if dist.get_rank() == 0:
            try:
                got = self._obtain(reference, labels)
                pool3 = None if got.pool3 is None else got.pool3.cpu()
                payload = [(None, Obtained(got.n, got.stats, pool3, None, got.meta, got.class_stats))]
            except GanevalError as exc:
                payload = [(str(exc), None)]
        dist.broadcast_object_list(payload, src=0)
        error, got = payload[0]
        if error is not None:
            if dist.get_rank() == 0:
                raise InputError(error)
            raise RankFailedError(f"rank 0: {error}")
        return got

    def _obtain(self, reference: Any, labels: Any) -> Obtained:
        store = self._pipeline.store
        item = resolve_input(reference, "reference", store, value_range=None)
        n = item.count()
        check(n is None or n >= 2, f"{item.label}: need at least 2 images, got {n}")
        classes = input_classes(reference, item, store, labels) if self._real_needs.classes else None
        got = Obtained(n)
        if self._real_needs.stats or self._real_needs.features:
            got = self._pipeline.obtain(item, **self._real_needs.pipeline_parts())
        if classes is not None:
            got.class_stats = self._pipeline.obtain_classes(item, classes)
        return got


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
