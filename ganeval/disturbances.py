"""The image disturbances of Heusel et al. (2017, the FID paper, Figure 1), for checking metric validity.

Each is a pure function of uint8 N x H x W x 3 images, a level in [0, 1] and a seeded numpy Generator,
and returns new uint8 images (the input is never modified). Level 0 returns an unchanged copy; level 1
is the strongest setting of the paper's figure, and levels in between scale its parameter linearly:

- gaussian_noise: ``(1 - a) x + a n`` with n Gaussian noise min-max scaled to [0, 255] per image, a = 0.75 level;
- gaussian_blur: Gaussian filter with sigma = 4 level pixels per 64 pixels of image side;
- black_rectangles: five black rectangles per image, each 0.75 level of the image side, at random places;
- swirl: scikit-image's swirl (radius the image side, centred) with strength 4 level;
- salt_and_pepper: each pixel set to black or white (even odds) with probability 0.3 level;
- contamination: a fraction 0.75 level of the images replaced by images of another set.

Same seed, same output: runs and tests reproduce exactly.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import ndimage

from ganeval.errors import InputError, check

Disturbance = Callable[..., np.ndarray]


def _checked(images: np.ndarray, level: float) -> np.ndarray:
    images = np.asarray(images)
    check(
        images.dtype == np.uint8 and images.ndim == 4 and images.shape[-1] == 3,
        f"disturbances take uint8 N x H x W x 3 images, got {images.dtype} of shape {images.shape}",
    )
    check(0.0 <= float(level) <= 1.0, f"level must be in [0, 1], got {level!r}")
    return images


def _to_uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def gaussian_noise(images: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
    """Blend with per-image Gaussian noise scaled to [0, 255], weight 0.75 level."""
    images = _checked(images, level)
    noise = rng.standard_normal(images.shape)
    lo = noise.min(axis=(1, 2, 3), keepdims=True)
    hi = noise.max(axis=(1, 2, 3), keepdims=True)
    noise = (noise - lo) / (hi - lo) * 255.0
    alpha = 0.75 * level
    return _to_uint8((1 - alpha) * images + alpha * noise)


def gaussian_blur(images: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian filter over height and width (reflected borders); sigma 4 level px at 64 px, scaled by size."""
    images = _checked(images, level)
    sigma = 4.0 * level * min(images.shape[1:3]) / 64.0
    if sigma == 0:
        return images.copy()
    blurred = ndimage.gaussian_filter(images.astype(np.float64), sigma=(0, sigma, sigma, 0), mode="reflect")
    return _to_uint8(blurred)


def black_rectangles(images: np.ndarray, level: float, rng: np.random.Generator, count: int = 5) -> np.ndarray:
    """`count` black rectangles per image, each side 0.75 level of the image's, placed uniformly inside it."""
    images = _checked(images, level)
    out = images.copy()
    n, h, w, _ = images.shape
    rh, rw = round(0.75 * level * h), round(0.75 * level * w)
    if rh == 0 or rw == 0:
        return out
    tops = rng.integers(0, h - rh + 1, size=(n, count))
    lefts = rng.integers(0, w - rw + 1, size=(n, count))
    for i in range(n):
        for top, left in zip(tops[i], lefts[i], strict=True):
            out[i, top : top + rh, left : left + rw] = 0
    return out


def swirl(images: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
    """scikit-image's `swirl` (centre, radius = image side, strength 4 level), bilinear, reflected borders.

    Output pixel at distance rho from the centre samples the input rotated by
    ``strength * exp(-rho / (radius * ln 2 / 5))`` radians.
    """
    images = _checked(images, level)
    strength = 4.0 * level
    if strength == 0:
        return images.copy()
    n, h, w, _ = images.shape
    radius = float(max(h, w))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    rho = np.hypot(yy - cy, xx - cx)
    theta = strength * np.exp(-rho / (radius / 5.0 * np.log(2))) + np.arctan2(yy - cy, xx - cx)
    src_y, src_x = cy + rho * np.sin(theta), cx + rho * np.cos(theta)
    out = np.empty_like(images)
    for i in range(n):
        for c in range(3):
            out[i, :, :, c] = _to_uint8(
                ndimage.map_coordinates(images[i, :, :, c].astype(np.float64), [src_y, src_x], order=1, mode="reflect")
            )
    return out


def salt_and_pepper(images: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
    """Each pixel (all three channels) becomes black or white with probability 0.3 level, even odds."""
    images = _checked(images, level)
    out = images.copy()
    n, h, w, _ = images.shape
    hit = rng.random((n, h, w)) < 0.3 * level
    white = rng.random((n, h, w)) < 0.5
    out[hit & white] = 255
    out[hit & ~white] = 0
    return out


def contamination(
    images: np.ndarray, level: float, rng: np.random.Generator, other: np.ndarray | None = None
) -> np.ndarray:
    """A random fraction 0.75 level of the images replaced by distinct random images of `other` (same size)."""
    images = _checked(images, level)
    if other is None:
        raise InputError("contamination needs other=images of another data set, of the same size")
    other = _checked(other, 0.0)
    check(
        other.shape[1:] == images.shape[1:],
        f"contaminating images must match the images' size {images.shape[1:]}, got {other.shape[1:]}",
    )
    n = images.shape[0]
    k = round(0.75 * level * n)
    check(k <= other.shape[0], f"contamination needs {k} other images, got {other.shape[0]}")
    out = images.copy()
    if k:
        out[rng.choice(n, k, replace=False)] = other[rng.choice(other.shape[0], k, replace=False)]
    return out


DISTURBANCES: dict[str, Disturbance] = {
    "gaussian_noise": gaussian_noise,
    "gaussian_blur": gaussian_blur,
    "black_rectangles": black_rectangles,
    "swirl": swirl,
    "salt_and_pepper": salt_and_pepper,
    "contamination": contamination,
}


def disturb(name: str, images: np.ndarray, level: float, seed: int = 0, **options) -> np.ndarray:
    """Apply disturbance `name` at `level` with a Generator seeded by `seed` (contamination: `other=`)."""
    check(name in DISTURBANCES, f"unknown disturbance {name!r}; choose from {', '.join(DISTURBANCES)}")
    return DISTURBANCES[name](images, level, np.random.default_rng(seed), **options)
