"""Resize-and-normalise modes of the DINOv2, CLIP and VGG16 spaces, each one suite's input pipeline.

A feature space's numbers move with its resize filter as much as FID's do with Inception's, so each mode
reproduces one published pipeline operation for operation (the Inception modes live in
`ganeval.inception.preprocess`). All take uint8 N x 3 x H x W and return float32 N x 3 x R x R:

- ``tf``: TF1's bilinear resize of the uint8 values (`resize_like_tf1`, bit-identical to torch-fidelity's),
  then `normalize(x, 255 * mean, 255 * std)` as torch-fidelity's CLIP, DINOv2 and VGG16 extractors do.
- ``edm2`` (DINOv2): EDM2's `calculate_metrics.py`: `F.interpolate(bicubic, antialias=True)` of the float
  values (not rounded), `/ 255`, then ImageNet mean and std.
- ``pil`` (DINOv2): dgm-eval's: PIL bicubic resize of the uint8 image (so uint8 again), then as ``edm2``.
- ``clean`` (CLIP): clean-fid's CLIP-FID: PIL bicubic resize of the short side to R, centre crop to R x R
  (torchvision's Resize and CenterCrop on the PIL image), `/ 255`, CLIP mean and std.
- ``cmmd`` (CLIP): the CMMD reference's: crop the centred square of side min(w, h), PIL bicubic resize to
  R x R, `/ 255`, CLIP mean and std.

PIL-based modes run on the CPU by construction, image by image.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ganeval.errors import InputError
from ganeval.features.spaces import CLIP_MEAN, CLIP_STD, IMAGENET_MEAN, IMAGENET_STD
from ganeval.inception.preprocess import resize_like_tf1

_STATS = {"imagenet": (IMAGENET_MEAN, IMAGENET_STD), "clip": (CLIP_MEAN, CLIP_STD)}


def _channels(values: tuple[float, ...], x: torch.Tensor) -> torch.Tensor:
    return torch.tensor(values, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)


def normalise_255(x: torch.Tensor, stats: str) -> torch.Tensor:
    """torchvision `normalize(x, 255 * mean, 255 * std)` on values in [0, 255] (torch-fidelity's order)."""
    mean, std = _STATS[stats]
    return (x - _channels(tuple(255 * m for m in mean), x)) / _channels(tuple(255 * s for s in std), x)


def normalise_unit(x: torch.Tensor, stats: str) -> torch.Tensor:
    """`x / 255`, then `(x - mean) / std` (EDM2's, dgm-eval's, clean-fid's and CMMD's order)."""
    mean, std = _STATS[stats]
    x = x / 255
    return (x - _channels(mean, x)) / _channels(std, x)


def _pil_each(images: torch.Tensor, transform) -> torch.Tensor:
    host = images.permute(0, 2, 3, 1).cpu().numpy()
    out = np.stack([np.asarray(transform(Image.fromarray(img, "RGB"))) for img in host])
    return torch.from_numpy(out).permute(0, 3, 1, 2).to(images.device, torch.float32)


def pil_bicubic(images: torch.Tensor, size: int) -> torch.Tensor:
    """Each uint8 image resized to size x size by PIL's bicubic filter (antialiased), as uint8 values."""
    return _pil_each(images, lambda im: im.resize((size, size), Image.BICUBIC))


def _short_side_centre_crop(im: Image.Image, size: int) -> Image.Image:
    """torchvision's Resize(size, BICUBIC) then CenterCrop(size), on a PIL image."""
    w, h = im.size
    if w <= h:
        new_w, new_h = size, int(size * h / w)
    else:
        new_w, new_h = int(size * w / h), size
    if (new_w, new_h) != (w, h):
        im = im.resize((new_w, new_h), Image.BICUBIC)
    top, left = int(round((new_h - size) / 2.0)), int(round((new_w - size) / 2.0))
    return im.crop((left, top, left + size, top + size))


def _square_crop_resize(im: Image.Image, size: int) -> Image.Image:
    """The centred square of side min(w, h), resized to size x size by PIL's bicubic filter."""
    w, h = im.size
    side = min(w, h)
    top, left = (h - side) // 2, (w - side) // 2
    return im.crop((left, top, left + side, top + side)).resize((size, size), Image.BICUBIC)


def _tf(images: torch.Tensor, size: int, stats: str) -> torch.Tensor:
    return normalise_255(resize_like_tf1(images.float(), size), stats)


def _edm2(images: torch.Tensor, size: int, stats: str) -> torch.Tensor:
    x = F.interpolate(images.float(), size=(size, size), mode="bicubic", antialias=True)
    return normalise_unit(x, stats)


def _pil(images: torch.Tensor, size: int, stats: str) -> torch.Tensor:
    return normalise_unit(pil_bicubic(images, size), stats)


def _clean(images: torch.Tensor, size: int, stats: str) -> torch.Tensor:
    return normalise_unit(_pil_each(images, lambda im: _short_side_centre_crop(im, size)), stats)


def _cmmd(images: torch.Tensor, size: int, stats: str) -> torch.Tensor:
    return normalise_unit(_pil_each(images, lambda im: _square_crop_resize(im, size)), stats)


MODES = {"tf": _tf, "edm2": _edm2, "pil": _pil, "clean": _clean, "cmmd": _cmmd}
FAMILY_STATS = {"dinov2": "imagenet", "vgg16": "imagenet", "clip": "clip"}


def prepare(images: torch.Tensor, family: str, mode: str, size: int) -> torch.Tensor:
    """uint8 N x 3 x H x W -> the float32 N x 3 x size x size input of a `family` network under `mode`."""
    if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != 3:
        raise InputError(f"expected uint8 N x 3 x H x W images, got {images.dtype} {tuple(images.shape)}")
    if mode not in MODES:
        raise InputError(f"unknown preprocessing mode {mode!r}; choose from {', '.join(MODES)}")
    return MODES[mode](images, size, FAMILY_STATS[family])
