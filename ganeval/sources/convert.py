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

EXIF orientation is IGNORED: pixels are used as stored in the file, not rotated for display. PIL does
not apply the tag on its own, and none of torch-fidelity, pytorch-fid or clean-fid calls
``ImageOps.exif_transpose``, so applying it would make ganeval's FID differ from theirs on phone photos.

Decoding (`decode_image`) also enforces a pixel-count limit against decompression bombs, per call
rather than through PIL's process-wide ``Image.MAX_IMAGE_PIXELS``, so a source can raise it.

Arrays (a single image): uint8 of shape (H, W), (H, W, C) or (C, H, W) with C in {1, 3, 4}; the
channel-first reading is used only when the last axis is not 1/3/4 and the first is. One channel is
replicated, four channels lose the alpha channel, as for PIL images.
"""

from __future__ import annotations

import struct
import threading
from typing import BinaryIO

import numpy as np
from PIL import Image

from ganeval.errors import BadImageError, InputError, check

SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I"})
CHANNEL_COUNTS = (1, 3, 4)

# Everything PIL is known to raise on a corrupt, truncated or hostile file (UnidentifiedImageError and
# FileNotFoundError are OSErrors); a file that raises one of these is a bad image, not a ganeval bug.
DECODE_ERRORS = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    IndexError,
    struct.error,
    Image.DecompressionBombError,
)

MAX_PIXELS_HINT = "raise the limit with --max-pixels N (max_pixels=N in Python; 0 = no limit)"

# Guards the moments PIL's process-wide limit is switched off, so threads of one process never see it off
# while they read it. DataLoader workers are processes, each with its own copy: no contention there.
_PIL_LIMIT_LOCK = threading.Lock()


def pixel_limit(max_pixels: int | None) -> int | None:
    """The pixel count above which an image is refused: `max_pixels`, or PIL's own (2 x MAX_IMAGE_PIXELS).

    None means PIL's limit as it stands now (None when PIL's is disabled); 0 means no limit.
    """
    if max_pixels is None:
        return None if Image.MAX_IMAGE_PIXELS is None else 2 * int(Image.MAX_IMAGE_PIXELS)
    return max_pixels or None


def check_max_pixels(max_pixels: int | None) -> int | None:
    """Validate a `max_pixels` option (None, 0, or a positive integer)."""
    check(
        max_pixels is None or (isinstance(max_pixels, int) and not isinstance(max_pixels, bool) and max_pixels >= 0),
        f"max_pixels must be None, 0 (no limit) or a positive integer, got {max_pixels!r}",
    )
    return max_pixels


def decode_image(fp: BinaryIO, name: str, max_pixels: int | None = None) -> np.ndarray:
    """Decode an open image file to uint8 (H, W, 3) by the rule above; `BadImageError` naming `name` if not.

    PIL's own bomb check runs inside ``Image.open`` from a global, so it is off for that call only (under
    a lock) and the size is checked here against `pixel_limit(max_pixels)` before any pixel is decoded.
    Formats that check again while loading frames (GIF) still obey PIL's global there.
    """
    try:
        with _PIL_LIMIT_LOCK:
            limit = pixel_limit(max_pixels)
            saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
            try:
                img = Image.open(fp)
            finally:
                Image.MAX_IMAGE_PIXELS = saved
        with img:
            width, height = img.size
            pixels = max(1, width) * max(1, height)
            if limit is not None and pixels > limit:
                raise BadImageError(
                    name, f"{width}x{height} = {pixels} pixels exceeds the limit of {limit} pixels; {MAX_PIXELS_HINT}"
                )
            img.load()
            return pil_to_rgb(img)
    except Image.DecompressionBombError as exc:
        raise BadImageError(name, f"{exc}; {MAX_PIXELS_HINT}") from None
    except DECODE_ERRORS as exc:
        raise BadImageError(name, str(exc) or type(exc).__name__) from None


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
