"""One rank's part of an `ImageSource`, for extraction spread over processes.

Shards are contiguous blocks, not strided (``rank::world_size``) slices, because of what the ranks
send back: concatenating the shards' features in rank order *is* source order, even after
``skip_bad`` has dropped images (a strided split would need the skipped indices to re-interleave),
and the lowest failing rank holds the first bad image in source order, which is the one a
single-process run reports. Blocks also read neighbouring files together. Nothing is padded or
repeated (as `torch.utils.data.DistributedSampler` does), since a duplicated image would bias the
statistics; block sizes differ by at most one and can be empty when there are more ranks than images.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from ganeval.errors import check
from ganeval.sources.base import ImageSource

if TYPE_CHECKING:
    import torch


def shard_bounds(n: int, rank: int, world_size: int) -> tuple[int, int]:
    """[start, stop) of block `rank` when `n` items are cut into `world_size` near-equal blocks."""
    check(isinstance(world_size, int) and world_size >= 1, f"world_size must be a positive integer, got {world_size!r}")
    check(
        isinstance(rank, int) and 0 <= rank < world_size,
        f"rank must be an integer in [0, {world_size}), got {rank!r}",
    )
    return rank * n // world_size, (rank + 1) * n // world_size


class ShardSource(ImageSource):
    """Block `rank` of `world_size` contiguous blocks of `source` (picklable when `source` is)."""

    def __init__(self, source: ImageSource, rank: int, world_size: int):
        check(isinstance(source, ImageSource), f"source must be an ImageSource, got {type(source).__name__}")
        self.source = source
        self.rank = rank
        self.world_size = world_size
        self.start, self.stop = shard_bounds(len(source), rank, world_size)

    def __len__(self) -> int:
        return self.stop - self.start

    def _parent_index(self, index: int) -> int:
        check(0 <= index < len(self), f"index {index} out of range for a shard of {len(self)} images")
        return self.start + index

    def load(self, index: int) -> np.ndarray:
        return self.source.load(self._parent_index(index))

    def describe(self, index: int) -> str:
        return self.source.describe(self._parent_index(index))

    @property
    def fingerprint(self) -> str:
        """Parent fingerprint plus the block bounds: shards of one source never share a cache key."""
        digest = hashlib.sha256(b"ganeval-shard-v1\0")
        digest.update(self.source.fingerprint.encode())
        digest.update(f"\0{self.rank}/{self.world_size}:{self.start}:{self.stop}".encode())
        return digest.hexdigest()

    @property
    def decodes(self) -> bool:
        return self.source.decodes

    @property
    def sequential(self) -> bool:
        return self.source.sequential

    @property
    def cacheable(self) -> bool:
        return self.source.cacheable

    def batches(self, start: int = 0, stop: int | None = None) -> Iterator[torch.Tensor]:
        stop = len(self) if stop is None else stop
        return self.source.batches(self.start + start, self.start + stop)

    @property
    def skipped(self) -> int:
        """The parent's ignored files, on rank 0 only, so the sum over shards equals the whole."""
        return self.source.skipped if self.rank == 0 else 0

    def __repr__(self) -> str:
        return f"ShardSource({self.source!r}, rank {self.rank}/{self.world_size}, [{self.start}:{self.stop}])"
