"""The one feature extractor: uint8 images in, pool3 features (and IS logits) out, in batches.

The network is loaded once per extractor and kept on its device; a training loop or a test session
creates one and reuses it. Images of different sizes are resized one by one (each resize depends on
its own image only), then stacked at 299x299 so the network always runs on full batches.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from ganeval.errors import InputError, WeightsError
from ganeval.inception.precision import (
    compute_dtype,
    prepare_for_device,
    protocol,
    resolve_precision,
    tf32_convolutions,
)
from ganeval.inception.preprocess import check_mode, preprocess
from ganeval.inception.store import HEADLESS_HINT, resolve_weights
from ganeval.inception.weights import build_network, read_state_dict, trunk_digest
from ganeval.loader import LoadReport, auto_workers, iterate_batches
from ganeval.metrics.gaussian import GaussianAccumulator, GaussianStats
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
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load's deprecation notice
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

    def require_head(self) -> None:
        if not self.has_head:
            raise WeightsError(HEADLESS_HINT.format(path=self.weights_path))

    @torch.no_grad()
    def forward(self, images: torch.Tensor | list[torch.Tensor], with_logits: bool = False):
        """Features of uint8 images (N x 3 x H x W, or a list of 3 x H x W of any sizes) -> (pool3, logits)."""
        if with_logits:
            self.require_head()
        batch = torch.cat(list(self._normalised(images)))
        if self.device.type == "cuda":
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


@dataclass
class RawExtraction:
    """One pass before reduction: the float64 accumulator itself, so passes over parts can be merged."""

    accumulator: GaussianAccumulator | None  # None unless stats were asked for
    pool3: torch.Tensor | None  # None unless kept, or when no image was read
    logits: torch.Tensor | None
    report: LoadReport = field(default_factory=LoadReport)

    def reduced(self) -> Extracted:
        """The result as callers see it: statistics computed from the accumulator."""
        return Extracted(
            n=self.report.n_images,
            stats=self.accumulator.compute() if self.accumulator is not None else None,
            pool3=self.pool3,
            logits=self.logits,
            report=self.report,
        )


def extract_raw(
    extractor: InceptionExtractor,
    source: ImageSource,
    options: ExtractOptions,
    report: LoadReport | None = None,
) -> RawExtraction:
    """The loop under `InceptionExtractor.extract` and `ganeval.distributed`, which merges accumulators.

    A function rather than a method so that it only needs `forward`, `batch_size` and `require_head`
    (test doubles provide those). `report` is filled as images load, so a caller still has the counts
    when a bad image raises.
    """
    stats, keep_pool3, logits = options.stats, options.keep_pool3, options.logits
    if logits:
        extractor.require_head()
    report = report if report is not None else LoadReport()
    workers = options.workers
    if workers is None:
        workers = auto_workers(source, getattr(extractor, "device", torch.device("cpu")))
    batches = iterate_batches(source, extractor.batch_size, workers=workers, skip_bad=options.skip_bad, report=report)
    accumulator = GaussianAccumulator() if stats else None
    kept_pool3: list[torch.Tensor] = []
    kept_logits: list[torch.Tensor] = []
    for images in _progress(batches, len(source), options.progress, options.desc):
        # Nothing in this loop waits for the GPU: the next batch is decoded and queued while it computes.
        pool3, batch_logits = extractor.forward(images, with_logits=logits)
        if accumulator is not None:
            accumulator.update(pool3, check_finite=False)  # checked once, when the statistics are read
        if keep_pool3:
            kept_pool3.append(_to_host(pool3))
        if batch_logits is not None:
            kept_logits.append(_to_host(batch_logits))
    if kept_pool3 or kept_logits:
        _wait_for_copies()
    return RawExtraction(
        accumulator=accumulator,
        pool3=torch.cat(kept_pool3) if kept_pool3 else None,
        logits=torch.cat(kept_logits) if kept_logits else None,
        report=report,
    )


def _to_host(x: torch.Tensor) -> torch.Tensor:
    """Start copying `x` to (pinned) host memory without waiting; `_wait_for_copies` before reading it."""
    return x.to("cpu", non_blocking=True) if x.device.type == "cuda" else x


def _wait_for_copies() -> None:
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def _progress(batches: Iterable[list[torch.Tensor]], total: int, enabled: bool, desc: str | None):
    with tqdm(total=total, unit="img", desc=desc, disable=not enabled, file=sys.stderr, leave=False) as bar:
        for images in batches:
            yield images
            bar.update(len(images))
