"""Images drawn from a generator function: sampled once, deterministically, then served as uint8.

`sample_fn(batch_size)` returns float images N x C x H x W in `value_range` (a tanh generator: (-1, 1)).
Sampling runs under a forked, seeded torch RNG, so the same seed gives the same images and the caller's
random state is left as it was. Quantisation is `ArraySource`'s, i.e. what saving PNGs would give.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import numpy as np
import torch

from ganeval.errors import check
from ganeval.sources.arrays import ArraySource
from ganeval.sources.base import ImageSource

SampleFn = Callable[[int], torch.Tensor]


@contextlib.contextmanager
def seeded_rng(seed: int) -> Iterator[None]:
    """Run a block with torch's CPU and CUDA generators seeded with `seed`, restoring them afterwards."""
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def sample_uint8(
    sample_fn: SampleFn, n: int, batch_size: int, value_range: tuple[float, float]
) -> Iterator[np.ndarray]:
    """Batches of `sample_fn`'s images as uint8 N x H x W x 3 arrays, `n` images in all."""
    check(n >= 1 and batch_size >= 1, f"need positive sample and batch counts, got {n} and {batch_size}")
    done = 0
    while done < n:
        b = min(batch_size, n - done)
        with torch.no_grad():
            images = sample_fn(b)
        check(
            isinstance(images, torch.Tensor) and images.ndim == 4 and len(images) == b,
            f"the sample function returned {getattr(images, 'shape', type(images))} for {b} images; "
            "expected a tensor N x C x H x W",
        )
        yield ArraySource(images, value_range=value_range).images
        done += b


class GeneratorSource(ImageSource):
    """`n` images sampled from `sample_fn` with torch seeded by `seed`, held as uint8 in memory."""

    def __init__(
        self,
        sample_fn: SampleFn,
        n: int,
        value_range: tuple[float, float] = (-1.0, 1.0),
        batch_size: int = 100,
        seed: int = 0,
        name: str = "generator",
    ):
        with seeded_rng(seed):
            images = np.concatenate(list(sample_uint8(sample_fn, n, batch_size, value_range)))
        self._array = ArraySource(images)
        self.name = name

    def __len__(self) -> int:
        return len(self._array)

    def load(self, index: int) -> np.ndarray:
        return self._array.load(index)

    def describe(self, index: int) -> str:
        return f"{self.name}[{index}]"

    @property
    def fingerprint(self) -> str:
        return self._array.fingerprint

    def __repr__(self) -> str:
        return f"GeneratorSource({len(self)} images from {self.name})"
