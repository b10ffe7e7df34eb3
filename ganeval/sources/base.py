"""The one interface every kind of input (folder, array, later archives) is evaluated through.

Metrics only ever see an `ImageSource`, so adding an input kind never touches metric code.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


class ImageSource(abc.ABC):
    """A random-access, ordered collection of images.

    Implementations must be picklable: they are sent to DataLoader worker processes, so they should
    hold paths or arrays, never open file handles.
    """

    @abc.abstractmethod
    def __len__(self) -> int:
        """Number of images (fixed at construction, so batching is deterministic)."""

    @abc.abstractmethod
    def load(self, index: int) -> np.ndarray:
        """Image `index` as C-contiguous uint8 (H, W, 3); raises `BadImageError` when undecodable."""

    @abc.abstractmethod
    def describe(self, index: int) -> str:
        """Human-readable name of image `index` (a path, "array[12]") for error messages."""

    @property
    @abc.abstractmethod
    def fingerprint(self) -> str:
        """Hex digest of the content, equal across processes and machines; used as a cache key."""

    sequential = False  # True: images come in order from `batches` (a generator), not from `load`
    cacheable = True  # False: the images change every time (new samples), so nothing is cached for them

    def batches(self, start: int = 0, stop: int | None = None) -> Iterator[torch.Tensor]:
        """uint8 N x 3 x H x W batches of images [start, stop); only sequential sources implement it."""
        raise NotImplementedError(f"{type(self).__name__} is read image by image with `load`")

    @property
    def skipped(self) -> int:
        """Files ignored when listing (not images), so callers can tell the user."""
        return 0

    @property
    def decodes(self) -> bool:
        """True when `load` reads and decodes files, the work worth moving into worker processes."""
        return False

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} images)"
