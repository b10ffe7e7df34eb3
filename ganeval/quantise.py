"""Float images -> uint8, exactly as saving them as PNGs would: the one rounding rule of every in-memory input
(arrays, tensors in a training loop, generator samples), computed with torch wherever the images are.

The mapping is torchvision's ``save_image(x, normalize=True, value_range=(lo, hi))``:
``clamp((x - lo) / (hi - lo) * 255 + 0.5, 0, 255)`` truncated to uint8, in float32 (float64 inputs stay
float64), so scoring tensors directly equals scoring their saved PNGs. Values must be finite and within
the range (a tolerance of 1e-6 of its width absorbs round-off): a generator producing anything else is
broken, and the error names how many images and the first one.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ganeval.errors import InputError, check

CHANNEL_COUNTS = (1, 3, 4)


def checked_range(value_range: Any) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise InputError(f"value_range must be a pair (lo, hi) of numbers, got {value_range!r}") from None
    check(
        math.isfinite(lo) and math.isfinite(hi) and lo < hi,
        f"value_range needs finite lo < hi, got {value_range!r}",
    )
    return lo, hi


class RangeCheck:
    """Counts of bad images over several chunks of one input, so the error can name the first one overall."""

    def __init__(self, n: int, value_range: tuple[float, float]):
        self.n, (self.lo, self.hi) = n, value_range
        self.nonfinite = self.outside = 0
        self.first_nonfinite = self.first_outside = -1
        self.seen_min, self.seen_max = math.inf, -math.inf

    def update(self, x: torch.Tensor, offset: int) -> None:
        """Check a chunk (N x ...) whose first image is image `offset` of the input."""
        flat = x.reshape(x.shape[0], -1)
        bad = ~torch.isfinite(flat).all(dim=1)
        n_bad = int(bad.sum())
        if n_bad:
            self.nonfinite += n_bad
            if self.first_nonfinite < 0:
                self.first_nonfinite = offset + int(torch.argmax(bad.to(torch.uint8)))
        if self.nonfinite:
            return  # that error wins; only keep counting
        mins, maxs = flat.amin(dim=1), flat.amax(dim=1)
        self.seen_min = min(self.seen_min, float(mins.min()))
        self.seen_max = max(self.seen_max, float(maxs.max()))
        tolerance = 1e-6 * (self.hi - self.lo)
        outside = (mins < self.lo - tolerance) | (maxs > self.hi + tolerance)
        n_out = int(outside.sum())
        if n_out:
            self.outside += n_out
            if self.first_outside < 0:
                self.first_outside = offset + int(torch.argmax(outside.to(torch.uint8)))

    def raise_if_bad(self) -> None:
        check(
            self.nonfinite == 0,
            f"{self.nonfinite} of {self.n} images contain NaN or Inf values (first: index {self.first_nonfinite})",
        )
        check(
            self.outside == 0,
            f"{self.outside} of {self.n} images have values outside value_range ({self.lo:g}, {self.hi:g}) "
            f"(first: index {self.first_outside}); observed min {self.seen_min:g}, max {self.seen_max:g}",
        )

    @property
    def ok(self) -> bool:
        return self.nonfinite == 0 and self.outside == 0


def quantise(x: torch.Tensor, value_range: tuple[float, float]) -> torch.Tensor:
    """Checked float images (any layout) -> uint8 of the same shape, on the same device."""
    lo, hi = value_range
    if x.dtype != torch.float64:
        x = x.to(torch.float32)
    # A tensor divisor keeps the division a true one on every device (a scalar one may become a reciprocal).
    width = torch.tensor(hi - lo, dtype=x.dtype, device=x.device)
    q = ((x - lo) / width * 255 + 0.5).clamp_(0, 255)
    return q.to(torch.uint8)


def to_uint8(images: torch.Tensor, value_range: tuple[float, float] = (-1.0, 1.0)) -> torch.Tensor:
    """Float images -> uint8 exactly as ganeval scores them (what saving them as PNGs stores); values outside
    `value_range` are clamped, not refused: for code that shows or compares images, not for scoring."""
    return quantise(images, checked_range(value_range))


def to_rgb(images: torch.Tensor, channel_dim: int) -> torch.Tensor:
    """One channel replicated to three, alpha dropped; three channels as they are."""
    c = images.shape[channel_dim]
    if c == 3:
        return images
    if c == 1:
        return torch.cat([images] * 3, dim=channel_dim)
    return images.narrow(channel_dim, 0, 3)


def batch_to_uint8(
    images: Any, value_range: tuple[float, float] | None, offset: int = 0, n_total: int | None = None
) -> torch.Tensor:
    """A batch from a training loop or a generator (tensor N x C x H x W or N x H x W, C in 1, 3, 4, on any
    device) -> uint8 RGB N x 3 x H x W on the same device; float data needs `value_range`."""
    check(isinstance(images, torch.Tensor), f"expected a torch tensor of images, got {type(images).__name__}")
    images = images.detach()
    if images.ndim == 3:
        images = images.unsqueeze(1)
    check(images.ndim == 4, f"expected images N x C x H x W, got shape {tuple(images.shape)}")
    if images.shape[1] not in CHANNEL_COUNTS:
        hint = " (it looks channel-last: use .permute(0, 3, 1, 2))" if images.shape[-1] in CHANNEL_COUNTS else ""
        raise InputError(f"expected images N x C x H x W with C in 1, 3, 4; got {tuple(images.shape)}{hint}")
    check(images.shape[2] >= 1 and images.shape[3] >= 1, f"images have zero height or width: {tuple(images.shape)}")
    check(not images.is_complex(), f"complex {images.dtype} values cannot be images")
    if value_range is None:
        check(
            images.dtype == torch.uint8,
            f"got {str(images.dtype).removeprefix('torch.')} images without value_range: pass value_range=(lo, hi) "
            "giving the range the values are meant to span, e.g. value_range=(-1, 1) for tanh generators or "
            "(0, 1), or pass uint8 data in [0, 255]",
        )
        return to_rgb(images, 1).contiguous()
    value_range = checked_range(value_range)
    checker = RangeCheck(n_total or len(images), value_range)
    checker.update(images if images.dtype.is_floating_point else images.float(), offset)
    checker.raise_if_bad()
    return to_rgb(quantise(images, value_range), 1).contiguous()
