"""Decode an `ImageSource` into batches of uint8 tensors, optionally in worker processes.

Images are not resized or stacked here (sizes may differ); that is the feature extractor's job, so
one resize rule lives in one place. Decode failures travel from workers as plain markers rather than
exceptions, so the user sees one `BadImageError` line instead of DataLoader's re-raised traceback.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ganeval.errors import BadImageError, check
from ganeval.sources.base import ImageSource

MAX_BAD_EXAMPLES = 10


@dataclass
class LoadReport:
    """What loading did; counts are added to, so one report can span several calls."""

    n_images: int = 0
    n_skipped_bad: int = 0
    bad_examples: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Bad:
    """Stands in for an image that failed to decode (picklable, unlike `BadImageError`)."""

    path: str
    reason: str


class _DecodeDataset(Dataset):
    """Map-style view of a source that returns C x H x W uint8 tensors or `_Bad` markers."""

    def __init__(self, source: ImageSource):
        self.source = source

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> np.ndarray | _Bad:
        # A numpy array crosses from a worker by pickle; a tensor would need a shared-memory segment each.
        try:
            return self.source.load(index)
        except BadImageError as exc:
            return _Bad(exc.path, exc.reason)


def _keep_list(items: list) -> list:
    """Collate that keeps the list: images may differ in size."""
    return items


CPU_WORKER_MIN_IMAGES = 1000  # below this, starting a decode worker on the CPU costs more than it saves


def auto_workers(source: ImageSource, device: torch.device) -> int:
    """Decoding processes when none are asked for: enough to keep a GPU fed when files must be decoded.

    On the CPU the network is the bottleneck, but decoding in the main process still stalls it between
    batches: one worker overlaps the two on large inputs (benchmarks/RESULTS.md compares 0, 1 and 2 on 2
    cores: equal at 400 images, 1 ahead in a busier run); starting it costs a second or two, so small
    inputs decode in the main process, and more workers would only take cores from the network.
    In-memory sources (arrays, datasets, generators) have nothing to decode.
    """
    if not source.decodes:
        return 0
    if device.type != "cuda":
        return 1 if (os.cpu_count() or 1) >= 2 and len(source) >= CPU_WORKER_MIN_IMAGES else 0
    return max(1, min(8, (os.cpu_count() or 2) - 1))


def iterate_batches(
    source: ImageSource,
    batch_size: int,
    workers: int = 0,
    skip_bad: bool = False,
    report: LoadReport | None = None,
) -> Iterator[list[torch.Tensor] | torch.Tensor]:
    """Yield lists of at most `batch_size` uint8 C x H x W tensors, in source order (a sequential source
    yields its own uint8 N x 3 x H x W batches).

    The images and their order do not depend on `workers` or `batch_size`. A bad image raises
    `BadImageError` (the first one in order), or with `skip_bad` is dropped and counted in `report`,
    so a batch can be short; if every image is bad, `InputError`.
    """
    check(batch_size >= 1, f"batch_size must be at least 1, got {batch_size}")
    check(workers >= 0, f"workers must be 0 or more, got {workers}")
    report = report if report is not None else LoadReport()
    if source.sequential:  # a generator: its batches come as uint8 tensors, already where they were made
        for images in source.batches():
            report.n_images += len(images)
            yield images
        return
    dataset = _DecodeDataset(source)
    n_good = n_bad = 0
    first_bad = ""
    batches = _raw_batches(dataset, batch_size, workers)
    try:
        for raw in batches:
            images = []
            for item in raw:
                if isinstance(item, _Bad):
                    if not skip_bad:
                        raise BadImageError(item.path, item.reason)
                    n_bad += 1
                    first_bad = first_bad or f"{item.path}: {item.reason}"
                    report.n_skipped_bad += 1
                    if len(report.bad_examples) < MAX_BAD_EXAMPLES:
                        report.bad_examples.append(f"{item.path}: {item.reason}")
                else:
                    images.append(torch.from_numpy(item).permute(2, 0, 1).contiguous())
            if images:
                n_good += len(images)
                report.n_images += len(images)
                yield images
    finally:
        batches.close()  # release the DataLoader iterator now, which shuts its workers down
    check(
        n_good > 0 or n_bad == 0,
        f"none of the {n_bad} images could be decoded (first: {first_bad})",
    )


def _raw_batches(dataset: _DecodeDataset, batch_size: int, workers: int) -> Iterator[list]:
    if workers == 0:
        for start in range(0, len(dataset), batch_size):
            yield [dataset[i] for i in range(start, min(start + batch_size, len(dataset)))]
        return
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=False,
        num_workers=workers,
        collate_fn=_keep_list,
    )
    yield from loader
