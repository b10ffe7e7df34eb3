"""The one feature extractor: uint8 images in, pool3 features (and IS logits) out, in batches.

The network is loaded once per extractor and kept on its device; a training loop or a test session
creates one and reuses it. Images of different sizes are resized one by one (each resize depends on
its own image only), then stacked at 299x299 so the network always runs on full batches.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from ganeval.errors import InputError, WeightsError
from ganeval.inception.precision import (
    compute_dtype,
    prepare_for_device,
    protocol,
    resolve_precision,
    tf32_convolutions,
    uses_fast_layout,
)
from ganeval.inception.preprocess import check_mode, preprocess
from ganeval.inception.store import HEADLESS_HINT, resolve_weights
from ganeval.inception.weights import build_network, read_state_dict, trunk_digest
from ganeval.loader import LoadReport, auto_workers, iterate_batches
from ganeval.metrics.gaussian import GaussianAccumulator
from ganeval.metrics.stats import GaussianStats
from ganeval.sources import ImageSource

FEATURE_LAYER = "pool3"


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def default_batch_size(device: torch.device) -> int:
    """Large enough to fill an H100 (throughput is flat from about 500 up); small on the CPU."""
    return 500 if device.type == "cuda" else 32


@dataclass
class Extracted:
    """What one pass over a source produced; fields stay None unless asked for."""

    n: int
    stats: GaussianStats | None = None
    pool3: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    report: LoadReport = field(default_factory=lambda: LoadReport(0, 0, []))


def _same_device(asked: torch.device, actual: torch.device) -> bool:
    """ "cuda" names the current GPU, so it matches "cuda:N" when N is the current one."""
    if asked.type != actual.type:
        return False
    if asked.index is None or actual.index is None:
        current = torch.cuda.current_device() if asked.type == "cuda" and torch.cuda.is_available() else None
        return (asked.index if asked.index is not None else current) == (
            actual.index if actual.index is not None else current
        )
    return asked.index == actual.index


class InceptionExtractor:
    """The FID Inception network with one preprocessing mode, on one device."""

    def __init__(
        self,
        weights: str | Path | None = None,
        mode: str = "tf",
        device: str | torch.device | None = None,
        batch_size: int | None = None,
        precision: str | None = None,
    ):
        self.mode = check_mode(mode)
        self.device = torch.device(device) if device is not None else default_device()
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise InputError(f"device {self.device} requested but CUDA is not available")
        self.batch_size = batch_size or default_batch_size(self.device)
        if self.batch_size < 1:
            raise InputError(f"batch size must be positive, got {self.batch_size}")
        self.weights_path = resolve_weights(weights)
        state = read_state_dict(self.weights_path)
        self.weights_sha256 = trunk_digest(state)
        self.precision = resolve_precision(precision, self.device)
        self.protocol = protocol(self.mode, self.precision)
        self._dtype = compute_dtype(self.precision)
        self.net = prepare_for_device(build_network(state).to(self.device), self.device, self.precision)

    @classmethod
    def from_settings(cls, settings) -> InceptionExtractor:
        """The extractor a `ganeval.config.Settings` describes."""
        return cls(settings.weights, settings.mode, settings.device, settings.batch_size, settings.precision)

    @property
    def has_head(self) -> bool:
        return self.net.has_head

    def check_agrees(self, **settings: Any) -> None:
        """Refuse settings (mode, precision, weights, device, batch_size; None = not given) that this
        extractor does not run with: passing both would silently measure something else."""
        wrong = []
        mode, precision, weights = settings.get("mode"), settings.get("precision"), settings.get("weights")
        device, batch_size = settings.get("device"), settings.get("batch_size")
        if mode is not None and mode != self.mode:
            wrong.append(f"mode={mode!r} (it runs {self.mode!r})")
        if precision is not None and resolve_precision(precision, self.device) != self.precision:
            wrong.append(f"precision={precision!r} (it runs {self.precision!r})")
        if device is not None and not _same_device(torch.device(device), self.device):
            wrong.append(f"device={str(device)!r} (it runs on {self.device})")
        if batch_size is not None and batch_size != self.batch_size:
            wrong.append(f"batch_size={batch_size} (it uses {self.batch_size})")
        if weights is not None and not self._same_weights(weights):
            wrong.append(f"weights={str(weights)!r} (it holds {self.weights_path})")
        if wrong:
            raise InputError(
                f"the extractor passed contradicts {', '.join(wrong)}: drop those settings, or build an "
                "extractor with them"
            )

    def _same_weights(self, weights: str | Path) -> bool:
        path = resolve_weights(weights, download=False)
        if path.resolve() == Path(self.weights_path).resolve():
            return True
        try:
            return trunk_digest(read_state_dict(path)) == self.weights_sha256
        except WeightsError:
            return False  # not a weights file at all: certainly not the ones loaded

    def require_head(self) -> None:
        if not self.has_head:
            raise WeightsError(HEADLESS_HINT.format(path=self.weights_path))

    @torch.no_grad()
    def forward(self, images: torch.Tensor | list[torch.Tensor], with_logits: bool = False):
        """Features of uint8 images (N x 3 x H x W, or a list of 3 x H x W of any sizes) -> (pool3, logits)."""
        if with_logits:
            self.require_head()
        batch = torch.cat(list(self._normalised(images)))
        if uses_fast_layout(self.precision):
            batch = batch.to(dtype=self._dtype, memory_format=torch.channels_last)
        with tf32_convolutions(self.precision == "tf32"):
            pool3, logits = self.net(batch, with_logits=with_logits)
        return pool3.float(), (logits.float() if logits is not None else None)

    def _normalised(self, images: torch.Tensor | list[torch.Tensor]) -> Iterator[torch.Tensor]:
        """Runs of equal-sized images, moved to the device as uint8 and preprocessed together."""
        if isinstance(images, torch.Tensor):
            yield preprocess(self._to_device(images), self.mode)
            return
        start = 0
        while start < len(images):
            end = start + 1
            while end < len(images) and images[end].shape == images[start].shape:
                end += 1
            yield preprocess(self._to_device(torch.stack(images[start:end])), self.mode)
            start = end

    def _to_device(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 images onto the device; from pinned memory, so the copy does not wait for the GPU."""
        if self.device.type == "cuda" and images.device.type == "cpu":
            return images.pin_memory().to(self.device, non_blocking=True)
        return images.to(self.device)

    def extract(
        self,
        source: ImageSource,
        *,
        stats: bool = False,
        keep_pool3: bool = False,
        logits: bool = False,
        workers: int | None = None,
        skip_bad: bool = False,
        progress: bool = True,
        desc: str | None = None,
    ) -> Extracted:
        """One pass over `source`, streaming pool3 into float64 statistics and keeping what is asked."""
        options = ExtractOptions(stats, keep_pool3, logits, workers, skip_bad, progress, desc)
        return extract_raw(self, source, options).reduced()


@dataclass(frozen=True)
class ExtractOptions:
    """What one pass keeps (statistics, pool3, logits) and how it reads (workers, bad images, progress)."""

    stats: bool = False
    keep_pool3: bool = False
    logits: bool = False
    workers: int | None = None  # None: ganeval.loader.auto_workers
    skip_bad: bool = False
    progress: bool = True
    desc: str | None = None


class FeatureState:
    """What passes of the network accumulate: float64 statistics, pool3 rows, logits, and load counts.

    Filled by the extraction loop (`extract_raw`) and by `ganeval.Scorer.update`; states of several
    passes or ranks merge exactly. Rows are kept where they were computed (`on_host=False`, a training
    loop's GPU) or copied to host memory without waiting for the GPU (`on_host=True`, long passes).
    """

    def __init__(
        self,
        stats: bool = False,
        keep_pool3: bool = False,
        logits: bool = False,
        on_host: bool = True,
        classes: bool = False,
    ):
        self.accumulator = GaussianAccumulator() if stats else None
        self.keep_pool3, self.keep_logits, self.on_host = keep_pool3 or classes, logits, on_host
        self.keep_classes = classes
        self._pool3: list[torch.Tensor] = []
        self._logits: list[torch.Tensor] = []
        self._classes: list[np.ndarray] = []  # the class of each kept row (intra-FID)
        self.report = LoadReport()

    @property
    def n(self) -> int:
        return self.report.n_images

    def add(self, pool3: torch.Tensor, logits: torch.Tensor | None = None, count: bool = False) -> None:
        """One batch's outputs; `count` adds its images to the report (the loader counts its own)."""
        if self.accumulator is not None:
            self.accumulator.update(pool3, check_finite=False)  # checked once, when the statistics are read
        if self.keep_pool3:
            self._pool3.append(self._keep(pool3))
        if self.keep_logits and logits is not None:
            self._logits.append(self._keep(logits))
        if count:
            self.report.n_images += len(pool3)

    def add_classes(self, classes: np.ndarray) -> None:
        """The classes of rows added (in order); they must end up one per row."""
        self._classes.append(np.asarray(classes, dtype=str))

    @property
    def classes(self) -> np.ndarray | None:
        return np.concatenate(self._classes) if self._classes else None

    def _keep(self, x: torch.Tensor) -> torch.Tensor:
        # Copied to (pinned) host memory without waiting; `pool3` and `logits` wait before reading.
        return x.to("cpu", non_blocking=True) if self.on_host and x.device.type == "cuda" else x

    @property
    def pool3(self) -> torch.Tensor | None:
        return _rows(self._pool3)

    @property
    def logits(self) -> torch.Tensor | None:
        return _rows(self._logits)

    def stats(self) -> GaussianStats | None:
        return self.accumulator.compute() if self.accumulator is not None else None

    def reduced(self) -> Extracted:
        """The result as callers see it: statistics computed from the accumulator."""
        return Extracted(n=self.n, stats=self.stats(), pool3=self.pool3, logits=self.logits, report=self.report)


def _rows(parts: list[torch.Tensor]) -> torch.Tensor | None:
    if not parts:
        return None
    if any(p.device.type == "cpu" for p in parts):
        _wait_for_copies()
    return torch.cat(parts) if len(parts) > 1 else parts[0]


def extract_raw(
    extractor: InceptionExtractor,
    source: ImageSource,
    options: ExtractOptions,
    state: FeatureState | None = None,
) -> FeatureState:
    """The extraction loop, the only one in ganeval: batches of `source` through the network into `state`.

    A function rather than a method so that it only needs `forward`, `batch_size` and `require_head`
    (test doubles provide those). `state.report` is filled as images load, so a caller still has the
    counts when a bad image raises; a given `state` (a `Scorer`'s) is added to.
    """
    if options.logits:
        extractor.require_head()
    state = state if state is not None else FeatureState(options.stats, options.keep_pool3, options.logits)
    workers = options.workers
    if workers is None:
        workers = auto_workers(source, getattr(extractor, "device", torch.device("cpu")))
    batches = iterate_batches(
        source, extractor.batch_size, workers=workers, skip_bad=options.skip_bad, report=state.report
    )
    for images in _progress(batches, len(source), options.progress, options.desc):
        # Nothing in this loop waits for the GPU: the next batch is decoded and queued while it computes.
        state.add(*extractor.forward(images, with_logits=options.logits))
    return state


def _wait_for_copies() -> None:
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def _progress(batches: Iterable[list[torch.Tensor] | torch.Tensor], total: int, enabled: bool, desc: str | None):
    with tqdm(total=total, unit="img", desc=desc, disable=not enabled, file=sys.stderr, leave=False) as bar:
        for images in batches:
            yield images
            bar.update(len(images))
