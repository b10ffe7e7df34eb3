"""Images drawn from a generator function, streamed in batches: never all held in memory at once.

`sample_fn(batch_size)` returns float images N x C x H x W in `value_range` (a tanh generator: (-1, 1)).
Sampling runs under a forked torch RNG seeded with `seed`, so the same seed gives the same images and the
caller's random state is left as it was. Quantisation is `ganeval.quantise`'s, computed where the samples
are (on the GPU for a GPU generator), i.e. what saving PNGs would give.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch

from ganeval.errors import InputError, check
from ganeval.quantise import batch_to_uint8
from ganeval.sources.base import ImageSource

SampleFn = Callable[[int], torch.Tensor]
# Images per call of a sample function. The noise a generator draws depends on how it is batched, so the
# in-loop evaluation and `ganeval score CHECKPOINT` use the same batch to draw the same images.
SAMPLE_BATCH_SIZE = 100


@contextlib.contextmanager
def seeded_rng(seed: int) -> Iterator[None]:
    """Run a block with torch's CPU and CUDA generators seeded with `seed`, restoring them afterwards."""
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def sample_uint8(
    sample_fn: SampleFn, n: int, batch_size: int, value_range: tuple[float, float], start: int = 0
) -> Iterator[torch.Tensor]:
    """`sample_fn`'s images as uint8 N x 3 x H x W tensors on the generator's device, `n` in all, drawn in
    batches of `batch_size`; the first `start` images are drawn and dropped (a shard of a stream)."""
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
        if done + b > start:
            kept = images[max(0, start - done) :]
            yield batch_to_uint8(kept, value_range, offset=max(done, start), n_total=n)
        done += b


class SampledSource(ImageSource):
    """A source whose images are drawn, in order, batch by batch (`batches`): a generator of some kind.

    It cannot load one image alone, and it has no fingerprint: it draws new samples every time it is
    evaluated, so nothing about it is cached. Subclasses set `name` and implement `__len__` and `batches`.
    """

    sequential = True
    cacheable = False
    name = "generator"

    def load(self, index: int):
        raise InputError(f"{self.name} produces its images in order; it cannot load image {index} alone")

    def describe(self, index: int) -> str:
        return f"{self.name}[{index}]"

    @property
    def fingerprint(self) -> str:
        raise InputError(f"{self.name} draws new samples each time: it has no fingerprint and is never cached")


class GeneratorSource(SampledSource):
    """`n` images sampled from `sample_fn` with torch seeded by `seed`, produced in order, batch by batch.

    A sequential source: `batches` yields them (the extraction loop reads it), `load` cannot be used.
    The images are the same whatever range of them is read, so ranks of a process group can each take a
    contiguous shard: every rank draws the same stream and keeps its own part.
    """

    def __init__(
        self,
        sample_fn: SampleFn,
        n: int,
        value_range: tuple[float, float] = (-1.0, 1.0),
        batch_size: int = SAMPLE_BATCH_SIZE,
        seed: int = 0,
        name: str = "generator",
    ):
        check(n >= 1, f"a generator source needs at least 1 image, got {n}")
        self.sample_fn, self.n, self.value_range = sample_fn, n, value_range
        self.batch_size, self.seed, self.name = batch_size, seed, name

    def __len__(self) -> int:
        return self.n

    def batches(self, start: int = 0, stop: int | None = None) -> Iterator[torch.Tensor]:
        """uint8 N x 3 x H x W batches of images [start, stop), on the generator's device."""
        stop = self.n if stop is None else stop
        if stop <= start:
            return
        with seeded_rng(self.seed):
            yield from sample_uint8(self.sample_fn, stop, self.batch_size, self.value_range, start=start)

    def __repr__(self) -> str:
        return f"GeneratorSource({self.n} images from {self.name})"
