"""Resize-and-normalise modes: each reproduces one reference implementation's input pipeline.

FID moves by whole points between resize filters, so the mode is part of every result and every cache
key. All modes take uint8 N x 3 x H x W and return float32 N x 3 x 299 x 299 in the network's range.

- ``tf`` (default): TF1's bilinear resize (`tf.image.resize_bilinear`, align_corners=False, no half-pixel
  centres) of the uint8 values, then (x - 128) / 128: the original TF FID/IS code and torch-fidelity, whose
  float32 operations `resize_like_tf1` repeats one for one, so the result is bit-identical.
- ``pytorch``: pytorch-fid's x / 255, ``F.interpolate(bilinear, align_corners=False)``, 2x - 1.
- ``clean``: clean-fid's per-channel PIL bicubic resize in float mode, clipped to [0, 255], then
  (x - 128) / 128. It runs on the CPU through PIL by construction.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ganeval.config import MODES
from ganeval.errors import InputError

INPUT_SIZE = 299


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise InputError(f"unknown preprocessing mode {mode!r}; choose one of {', '.join(MODES)}")
    return mode


def _tf1_grid(n_in: int, n_out: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Source positions of TF1's resize along one axis: output i samples input i * (n_in / n_out), in float32,
    between the pixels `lo` and `hi` (clamped at the border) with weight `frac` on `hi`."""
    position = torch.arange(n_out, dtype=torch.float32, device=device) * torch.tensor(n_in / n_out, dtype=torch.float32)
    lo = position.long()
    hi = (lo + 1).clamp_max(n_in - 1)
    return lo, hi, position - lo.float()


def resize_like_tf1(x: torch.Tensor, size: int = INPUT_SIZE) -> torch.Tensor:
    """Float N x C x H x W -> N x C x size x size as TF1's bilinear resize computes it.

    Separable: each input row is interpolated horizontally once, then output rows interpolate between two
    of those rows. Each output value comes from the same float32 operations in the same order as a
    four-corner formulation (left + (right - left) * dx per row, then top + (bottom - top) * dy), so it
    is the same number, for a fraction of the memory traffic.
    """
    x_lo, x_hi, dx = _tf1_grid(x.shape[3], size, x.device)
    y_lo, y_hi, dy = _tf1_grid(x.shape[2], size, x.device)
    left, right = x[..., x_lo], x[..., x_hi]
    rows = left + (right - left) * dx
    top, bottom = rows[:, :, y_lo], rows[:, :, y_hi]
    return top + (bottom - top) * dy.view(-1, 1)


def _tf(images: torch.Tensor) -> torch.Tensor:
    return (resize_like_tf1(images.float()) - 128) / 128


def _pytorch(images: torch.Tensor) -> torch.Tensor:
    x = images.float() / 255
    x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
    return 2 * x - 1


def _clean_one(image: np.ndarray) -> np.ndarray:
    channels = [
        np.asarray(Image.fromarray(image[c].astype(np.float32)).resize((INPUT_SIZE, INPUT_SIZE), Image.BICUBIC))
        for c in range(image.shape[0])
    ]
    return np.clip(np.stack(channels), 0, 255)


def _clean(images: torch.Tensor) -> torch.Tensor:
    host = images.cpu().numpy()
    x = torch.from_numpy(np.stack([_clean_one(img) for img in host])).to(images.device)
    return (x - 128) / 128


_MODES = {"tf": _tf, "pytorch": _pytorch, "clean": _clean}


def preprocess(images: torch.Tensor, mode: str = "tf") -> torch.Tensor:
    """uint8 N x 3 x H x W -> float32 N x 3 x 299 x 299 normalised as `mode` prescribes."""
    if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != 3:
        raise InputError(f"expected uint8 N x 3 x H x W images, got {images.dtype} {tuple(images.shape)}")
    return _MODES[check_mode(mode)](images)
