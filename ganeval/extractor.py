"""The one extraction loop: each batch of a source decoded once and fed to every extractor that needs it.

A pass serves several *views* (space, layer, mode: `ganeval.features.views.View`). Views of one extractor
(Inception's pool3 and sFID tensor) come from one forward pass; views of different networks (Inception,
DINOv2, CLIP) share the decode. What each view keeps (float64 statistics, feature rows, logits) is a
`FeatureState`; a `SideState` holds the states of one side with one load report.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ganeval.features.base import Extractor, default_device  # noqa: F401 (re-exported)
from ganeval.features.inception import FEATURE_LAYER, InceptionExtractor, default_batch_size  # noqa: F401
from ganeval.features.views import View
from ganeval.loader import LoadReport, auto_workers, iterate_batches
from ganeval.metrics.gaussian import GaussianAccumulator
from ganeval.metrics.stats import GaussianStats
from ganeval.progress import progress_bar
from ganeval.sources import ImageSource


@dataclass
class Extracted:
    """What one pass over a source produced for one view; fields stay None unless asked for."""

    n: int
    stats: GaussianStats | None = None
    features: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    report: LoadReport = field(default_factory=lambda: LoadReport(0, 0, []))


@dataclass(frozen=True)
class ExtractOptions:
    """What a single-view pass keeps (statistics, feature rows, logits) and how it reads (workers, bad
    images, progress)."""

    stats: bool = False
    keep_features: bool = False
    logits: bool = False
    workers: int | None = None  # None: ganeval.loader.auto_workers
    skip_bad: bool = False
    progress: bool = True
    desc: str | None = None


class FeatureState:
    """What passes of a network accumulate for one view: float64 statistics, feature rows, logits.

    Rows are kept where they were computed (`on_host=False`, a training loop's GPU) or copied to host memory
    without waiting for the GPU (`on_host=True`, long passes). States of several passes or ranks merge exactly.
    """

    def __init__(self, stats: bool = False, keep_features: bool = False, logits: bool = False, on_host: bool = True):
        self.accumulator = GaussianAccumulator() if stats else None
        self.keep_features, self.keep_logits, self.on_host = keep_features, logits, on_host
        self._features: list[torch.Tensor] = []
        self._logits: list[torch.Tensor] = []

    def add(self, features: torch.Tensor, logits: torch.Tensor | None = None) -> None:
        if self.accumulator is not None:
            self.accumulator.update(features, check_finite=False)  # checked once, when the statistics are read
        if self.keep_features:
            self._features.append(self._keep(features))
        if self.keep_logits and logits is not None:
            self._logits.append(self._keep(logits))

    def _keep(self, x: torch.Tensor) -> torch.Tensor:
        # Copied to (pinned) host memory without waiting; `features` and `logits` wait before reading.
        return x.to("cpu", non_blocking=True) if self.on_host and x.device.type == "cuda" else x

    @property
    def features(self) -> torch.Tensor | None:
        return _rows(self._features)

    @property
    def logits(self) -> torch.Tensor | None:
        return _rows(self._logits)

    def stats(self) -> GaussianStats | None:
        return self.accumulator.compute() if self.accumulator is not None else None


class SideState:
    """One side's states, one per view, with one load report and the class of every row (per-class metrics)."""

    def __init__(self, wants: Mapping[View, Any], on_host: bool = True, classes: bool = False):
        """`wants` maps each view to what to keep of it: an object with `stats`, `features`, `logits`."""
        self.states = {
            view: FeatureState(w.stats, w.features or classes, w.logits, on_host) for view, w in wants.items()
        }
        self.keep_classes = classes
        self.report = LoadReport()
        self._classes: list[np.ndarray] = []

    @property
    def n(self) -> int:
        return self.report.n_images

    def add(self, outputs: Mapping[View, tuple[torch.Tensor, torch.Tensor | None]], count: int = 0) -> None:
        """One batch's outputs per view; `count` adds its images to the report (the loader counts its own)."""
        for view, (features, logits) in outputs.items():
            self.states[view].add(features, logits)
        self.report.n_images += count

    def add_classes(self, classes: np.ndarray) -> None:
        """The classes of rows added (in order); they must end up one per row."""
        self._classes.append(np.asarray(classes, dtype=str))

    @property
    def classes(self) -> np.ndarray | None:
        return np.concatenate(self._classes) if self._classes else None

    def extracted(self, view: View) -> Extracted:
        """One view's result as callers see it: statistics computed from the accumulator."""
        state = self.states[view]
        return Extracted(self.n, state.stats(), state.features, state.logits, self.report)


def _rows(parts: list[torch.Tensor]) -> torch.Tensor | None:
    if not parts:
        return None
    if any(p.device.type == "cpu" for p in parts):
        _wait_for_copies()
    return torch.cat(parts) if len(parts) > 1 else parts[0]


def run_views(
    plan: Mapping[View, Extractor],
    images: torch.Tensor | list[torch.Tensor],
    logits: set[View] | frozenset = frozenset(),
) -> dict[View, tuple[torch.Tensor, torch.Tensor | None]]:
    """One batch through every extractor of `plan` once: views of one extractor share its forward pass."""
    by_extractor: dict[int, list[View]] = {}
    for view, extractor in plan.items():
        by_extractor.setdefault(id(extractor), []).append(view)
    out = {}
    for views in by_extractor.values():
        extractor = plan[views[0]]
        wants_logits = any(v in logits for v in views)
        taps = tuple(dict.fromkeys(v.layer for v in views))
        got = extractor.run(images, taps, with_logits=wants_logits)
        for view in views:
            out[view] = (got[view.layer], got.get("logits") if view in logits else None)
    return out


def extract_side(
    plan: Mapping[View, Extractor],
    source: ImageSource,
    side: SideState,
    *,
    workers: int | None = None,
    skip_bad: bool = False,
    progress: bool = True,
    desc: str | None = None,
    batch_size: int | None = None,
) -> SideState:
    """The extraction loop, the only one in ganeval: batches of `source`, decoded once, through every
    extractor of `plan`, into `side` (a new one, or a `Scorer`'s to add to).

    `side.report` is filled as images load, so a caller still has the counts when a bad image raises.
    """
    extractors = list({id(e): e for e in plan.values()}.values())
    for view, state in side.states.items():
        if state.keep_logits:
            plan[view].require_head()
    if workers is None:
        workers = auto_workers(source, getattr(extractors[0], "device", torch.device("cpu")))
    size = batch_size or min(e.batch_size for e in extractors)
    batches = iterate_batches(source, size, workers=workers, skip_bad=skip_bad, report=side.report)
    logits = {v for v, s in side.states.items() if s.keep_logits}
    wanted = {v: plan[v] for v in side.states}
    with progress_bar(len(source), desc, enabled=progress, unit="img") as bar:
        for images in batches:
            # Nothing in this loop waits for the GPU: the next batch is decoded and queued while it computes.
            side.add(run_views(wanted, images, logits))
            bar.update(len(images))
    return side


def extract(extractor: Extractor, source: ImageSource, options: ExtractOptions) -> Extracted:
    """One pass of one extractor's default view over `source`."""
    view = View(extractor.space, extractor.layer, extractor.mode)
    side = SideState({view: Keep(options.stats, options.keep_features, options.logits)})
    extract_side({view: extractor}, source, side, workers=options.workers, skip_bad=options.skip_bad,
                 progress=options.progress, desc=options.desc)  # fmt: skip
    return side.extracted(view)


@dataclass(frozen=True)
class Keep:
    """What a pass keeps of one view."""

    stats: bool
    features: bool
    logits: bool


def _wait_for_copies() -> None:
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()
