"""Image arrays saved with numpy: `.npy`, or one array of an `.npz` (uint8, N x H x W [x C] or N x C x H x W).

An `.npz` holding several arrays must name its images `images`, `x` or `arr_0` (the names numpy,
CIFAR loaders and our datasets use); the others (labels) are ignored. Statistics files (`mu`, `sigma`)
are told apart by the caller (`is_stats_file`), never read here as images.
"""

from __future__ import annotations

import os
import zipfile

import numpy as np

from ganeval.errors import InputError
from ganeval.sources.arrays import ArraySource

ARRAY_SUFFIXES = (".npy", ".npz")
IMAGE_KEYS = ("images", "x", "arr_0")
STATS_KEYS = frozenset({"mu", "sigma"})


def _open(path: str):
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise InputError(f"cannot read numpy file {path}: {exc}") from None


def npz_keys(path: str | os.PathLike) -> frozenset[str]:
    """Names of the arrays in an `.npz` (empty for anything else)."""
    path = os.fspath(path)
    if not path.lower().endswith(".npz"):
        return frozenset()
    with _open(path) as data:
        return frozenset(data.files)


def is_stats_file(path: str | os.PathLike) -> bool:
    """An `.npz` with `mu` and `sigma` (pytorch-fid's and ganeval's statistics files)."""
    keys = npz_keys(path)
    return "mu" in keys and ("sigma" in keys or "sigma_triu" in keys)


def read_image_array(path: str | os.PathLike) -> np.ndarray:
    """The image array stored in `path` (.npy, or the image member of an .npz)."""
    path = os.fspath(path)
    if path.lower().endswith(".npy"):
        return _open(path)
    with _open(path) as data:
        keys = list(data.files)
        if len(keys) == 1:
            return data[keys[0]]
        for key in IMAGE_KEYS:
            if key in keys:
                return data[key]
    raise InputError(f"{path} holds arrays {', '.join(keys)}: name the images one of {', '.join(IMAGE_KEYS)}")


def array_file_source(path: str | os.PathLike) -> ArraySource:
    """An `ArraySource` of the uint8 images in a numpy file (float data is refused: save uint8)."""
    array = read_image_array(path)
    if array.dtype != np.uint8:
        raise InputError(f"{os.fspath(path)} holds {array.dtype} data; image files must hold uint8 in [0, 255]")
    return ArraySource(array)
