"""The single rule that turns any decoded image into 8-bit RGB, shared by every source kind.

PIL images: ``img.convert("RGB")``, exactly what torch-fidelity, pytorch-fid and clean-fid do, so our
numbers match theirs on the same files:

- palette ("P") images are expanded through their palette;
- greyscale ("L", "LA", "1") is replicated to three channels;
- alpha ("RGBA", "LA", "PA") is DROPPED, not composited over any background;
- CMYK and YCbCr use PIL's own conversion formulas.

One deliberate exception: 16-bit greyscale (modes "I;16", "I;16L", "I;16B", "I;16N" and "I", the
latter assumed to hold 16-bit data) would be clipped to 255 by PIL's convert, turning most images
white. We instead scale to 8 bits as ``value >> 8`` (values outside [0, 65535] clipped first) and then
replicate to three channels.

Arrays (a single image): uint8 of shape (H, W), (H, W, C) or (C, H, W) with C in {1, 3, 4}; the
channel-first reading is used only when the last axis is not 1/3/4 and the first is. One channel is
replicated, four channels lose the alpha channel, as for PIL images.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from ganeval.errors import InputError, check

SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I"})
CHANNEL_COUNTS = (1, 3, 4)


def pil_to_rgb(img: Image.Image) -> np.ndarray:
    """Decoded PIL image -> C-contiguous, writable uint8 (H, W, 3) by the rule above."""
    if img.mode in SIXTEEN_BIT_MODES:
        grey = np.asarray(img).astype(np.int64)
        grey = (np.clip(grey, 0, 65535) >> 8).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    rgb = img if img.mode == "RGB" else img.convert("RGB")
    return np.array(rgb, dtype=np.uint8, copy=True)


def to_rgb_uint8(array: np.ndarray) -> np.ndarray:
    """One uint8 image array (H, W), (H, W, C) or (C, H, W) -> C-contiguous uint8 (H, W, 3)."""
    array = np.asarray(array)
    check(array.dtype == np.uint8, f"expected a uint8 image array, got dtype {array.dtype}")
    if array.ndim == 2:
        array = array[:, :, None]
    elif array.ndim == 3:
        if array.shape[-1] not in CHANNEL_COUNTS and array.shape[0] in CHANNEL_COUNTS:
            array = array.transpose(1, 2, 0)
    else:
        raise InputError(f"expected an image of shape (H, W), (H, W, C) or (C, H, W), got {array.shape}")
    return channels_to_rgb(array)


def channels_to_rgb(array: np.ndarray) -> np.ndarray:
    """Channel-last (..., C) with C in {1, 3, 4} -> C-contiguous (..., 3): replicate grey, drop alpha."""
    channels = array.shape[-1]
    check(
        channels in CHANNEL_COUNTS,
        f"expected 1, 3 or 4 channels, got shape {array.shape} ({channels} channels in the last axis)",
    )
    if channels == 1:
        return np.ascontiguousarray(np.repeat(array, 3, axis=-1))
    return np.ascontiguousarray(array[..., :3])
