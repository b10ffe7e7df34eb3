"""Resize-and-normalise modes: each reproduces one reference implementation's input pipeline.

FID moves by whole points between resize filters, so the mode is part of every result and every cache
key. All modes take uint8 N x 3 x H x W and return float32 N x 3 x 299 x 299 in the network's range.

- ``tf`` (default): torch-fidelity's TF1-compatible bilinear resize of the uint8 values (torch-fidelity's
  own function, reused), then (x - 128) / 128 — the original TF FID/IS code and torch-fidelity.
- ``pytorch``: pytorch-fid's x / 255, ``F.interpolate(bilinear, align_corners=False)``, 2x - 1.
- ``clean``: clean-fid's per-channel PIL bicubic resize in float mode, clipped to [0, 255], then
  (x - 128) / 128. It runs on the CPU through PIL by construction.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

from ganeval.errors import InputError

INPUT_SIZE = 299
MODES = ("tf", "pytorch", "clean")


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise InputError(f"unknown preprocessing mode {mode!r}; choose one of {', '.join(MODES)}")
    return mode


def _tf(images: torch.Tensor) -> torch.Tensor:
    x = interpolate_bilinear_2d_like_tensorflow1x(images.float(), size=(INPUT_SIZE, INPUT_SIZE), align_corners=False)
    return (x - 128) / 128


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
