"""In-memory images (numpy arrays, torch tensors), converted once to uint8 so loading is a slice.

Float data is accepted only with an explicit `value_range`: guessing between [0, 1], [-1, 1] and
[0, 255] silently shifts FID by large amounts, so the caller must say which one the generator uses.
The mapping is `ganeval.quantise`'s, what saving PNGs gives, so scoring tensors directly equals scoring
their saved PNGs.
"""

from __future__ import annotations

import hashlib
import math
import struct
from typing import Any

import numpy as np
import torch

from ganeval.errors import InputError, check
from ganeval.quantise import RangeCheck, checked_range, quantise
from ganeval.sources.base import ImageSource
from ganeval.sources.convert import CHANNEL_COUNTS

_CHUNK_ELEMENTS = 1 << 24  # float elements converted at a time, bounding temporary memory (~64 MB)


class ArraySource(ImageSource):
    """Images held in memory, stored as a C-contiguous uint8 N x H x W x 3 numpy array.

    Accepts torch tensors N x C x H x W or N x H x W, numpy arrays N x H x W x C, N x H x W or
    N x C x H x W (channel-first only when the last axis is not 1/3/4 and axis 1 is), C in {1, 3, 4}.
    uint8 data is used as is; any other dtype needs `value_range=(lo, hi)` and is then checked to be
    finite and within the range and quantised as ``round((x - lo) / (hi - lo) * 255)`` (halves up),
    clamped to [0, 255]. A `value_range` given with uint8 data is applied the same way.
    """

    def __init__(self, data: np.ndarray | torch.Tensor, value_range: tuple[float, float] | None = None):
        view = _channel_last(data)
        if value_range is None:
            check(
                _is_uint8(view),
                f"got {_dtype_name(view)} images without value_range: pass value_range=(lo, hi) giving the "
                "range the values are meant to span, e.g. value_range=(-1, 1) for tanh generators or (0, 1), "
                "or pass uint8 data in [0, 255]",
            )
            self.images = _uint8_to_rgb(view)
        else:
            self.images = _quantise(view, checked_range(value_range))
        self._fingerprint: str | None = None

    def __len__(self) -> int:
        return self.images.shape[0]

    def load(self, index: int) -> np.ndarray:
        """A view into the stored array (no copy); do not modify it."""
        return self.images[index]

    def describe(self, index: int) -> str:
        return f"array[{index}]"

    @property
    def fingerprint(self) -> str:
        """sha256 of the stored uint8 shape and bytes (what the metrics see, after quantisation)."""
        if self._fingerprint is None:
            digest = hashlib.sha256(b"ganeval-array-v1\0")
            digest.update(struct.pack("<4Q", *self.images.shape))
            digest.update(memoryview(self.images).cast("B"))
            self._fingerprint = digest.hexdigest()
        return self._fingerprint

    def __repr__(self) -> str:
        n, h, w, _ = self.images.shape
        return f"ArraySource({n} images of {h}x{w})"


def _channel_last(data: Any) -> np.ndarray | torch.Tensor:
    """A channel-last N x H x W x C view (no copy; tensors detached and on CPU); C in {1, 3, 4}."""
    if isinstance(data, torch.Tensor):
        data = data.detach().cpu()
        if data.ndim == 3:
            data = data.unsqueeze(1)
        check(data.ndim == 4, f"expected a tensor N x C x H x W or N x H x W, got shape {tuple(data.shape)}")
        if data.shape[1] not in CHANNEL_COUNTS:
            hint = " (it looks channel-last: use .permute(0, 3, 1, 2))" if data.shape[-1] in CHANNEL_COUNTS else ""
            raise InputError(f"expected a tensor N x C x H x W with C in 1, 3, 4; got {tuple(data.shape)}{hint}")
        data = data.permute(0, 2, 3, 1)
    elif isinstance(data, np.ndarray):
        if data.ndim == 3:
            data = data[..., None]
        check(
            data.ndim == 4,
            f"expected an array N x H x W x C, N x H x W or N x C x H x W, got shape {data.shape}",
        )
        if data.shape[-1] not in CHANNEL_COUNTS and data.shape[1] in CHANNEL_COUNTS:
            data = data.transpose(0, 2, 3, 1)
        check(
            data.shape[-1] in CHANNEL_COUNTS,
            f"expected 1, 3 or 4 channels (first or last axis of each image), got shape {data.shape}",
        )
    else:
        raise InputError(f"expected a numpy array or torch tensor, got {type(data).__name__}")
    n, h, w, _ = data.shape
    check(n >= 1, f"no images: got an empty batch of shape {tuple(data.shape)}")
    check(h >= 1 and w >= 1, f"images have zero height or width: shape {tuple(data.shape)}")
    check(not _is_complex(data), f"complex {_dtype_name(data)} values cannot be images")
    return data


def _uint8_to_rgb(view: np.ndarray | torch.Tensor) -> np.ndarray:
    out = np.empty((*view.shape[:3], 3), dtype=np.uint8)
    _store_rgb(out, np.asarray(view))
    return out


def _store_rgb(out: np.ndarray, chunk: np.ndarray) -> None:
    """Write channel-last `chunk` into `out`: one channel broadcast to three, alpha dropped."""
    out[...] = chunk if chunk.shape[-1] == 1 else chunk[..., :3]


def _quantise(view: np.ndarray | torch.Tensor, value_range: tuple[float, float]) -> np.ndarray:
    """Check finiteness and range image by image, then map to uint8 (chunked to bound memory)."""
    n = view.shape[0]
    step = max(1, _CHUNK_ELEMENTS // max(1, math.prod(view.shape[1:])))
    out = np.empty((*view.shape[:3], 3), dtype=np.uint8)
    checker = RangeCheck(n, value_range)
    for start in range(0, n, step):
        chunk = view[start : start + step]
        x = chunk if isinstance(chunk, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(chunk))
        x = x if x.dtype.is_floating_point else x.to(torch.float32)
        checker.update(x, start)
        if checker.ok:
            _store_rgb(out[start : start + step], quantise(x, value_range).numpy())
    checker.raise_if_bad()
    return out


def _is_uint8(data: np.ndarray | torch.Tensor) -> bool:
    return data.dtype == torch.uint8 if isinstance(data, torch.Tensor) else data.dtype == np.uint8


def _is_complex(data: np.ndarray | torch.Tensor) -> bool:
    return data.is_complex() if isinstance(data, torch.Tensor) else np.iscomplexobj(data)


def _dtype_name(data: np.ndarray | torch.Tensor) -> str:
    return str(data.dtype).removeprefix("torch.")
