"""Turn whatever the user passed (path, dataset name, array, tensor, source) into an `ImageSource`.

Text inputs, in order: an existing path (folder, `.zip`, tar archive, `.npy`/`.npz` images); a named
dataset `name:split` (`ganeval.sources.datasets`); either followed by a slice `[start:stop:step]`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ganeval.errors import InputError, check
from ganeval.sources.archive import TAR_SUFFIXES, ZIP_SUFFIXES, TarSource, ZipSource
from ganeval.sources.arrays import ArraySource
from ganeval.sources.base import ImageSource
from ganeval.sources.convert import check_max_pixels
from ganeval.sources.datasets import DATASETS, open_dataset
from ganeval.sources.folder import DEFAULT_EXTENSIONS, FolderSource
from ganeval.sources.npz import ARRAY_SUFFIXES, array_file_source
from ganeval.sources.slicing import SliceSource, split_slice

_DATASET = re.compile(r"^(?P<name>[a-z0-9-]+):(?P<split>[a-z]+)$")


def parse_dataset(spec: str) -> tuple[str, str] | None:
    """`"mnist:test"` -> ("mnist", "test") when `mnist` is a registered dataset, else None."""
    match = _DATASET.match(spec)
    if match is None or match["name"] not in DATASETS:
        return None
    return match["name"], match["split"]


def as_source(
    obj: Any,
    *,
    value_range: tuple[float, float] | None = None,
    extensions: Sequence[str] = DEFAULT_EXTENSIONS,
    verify: bool = False,
    data_root: str | os.PathLike | None = None,
    download: bool = True,
    max_pixels: int | None = None,
) -> ImageSource:
    """The `ImageSource` for `obj`: a source as is, a path or dataset name (with a slice), or an array.

    `value_range` applies to arrays and tensors only and is ignored for other inputs, so one call
    such as ``fid("real/", fake_tensor, value_range=(-1, 1))`` can pass it for both sides. `verify`
    makes folder and zip fingerprints hash contents; `data_root` and `download` concern named datasets;
    `max_pixels` caps the image size decoded from folders and archives (None: PIL's limit; 0: none).
    """
    check_max_pixels(max_pixels)  # validated even where it does not apply, so a typo never passes silently
    if isinstance(obj, (np.ndarray, torch.Tensor)):
        return ArraySource(obj, value_range=value_range)
    if isinstance(obj, ImageSource):
        return obj
    if isinstance(obj, (str, os.PathLike)):
        spec = os.fspath(obj)
        options = {
            "extensions": tuple(extensions),
            "verify": verify,
            "data_root": data_root,
            "download": download,
            "max_pixels": max_pixels,
        }
        if os.path.exists(spec):
            return _open_text(spec, **options)
        base, part = split_slice(spec)
        if part is None:
            return _open_text(spec, **options)
        return SliceSource(_open_text(base, **options), part)
    raise InputError(
        f"cannot evaluate a {type(obj).__module__}.{type(obj).__qualname__}: expected a folder path, "
        "a numpy array, a torch tensor or an ImageSource"
    )


def _open_text(
    spec: str,
    extensions: tuple[str, ...],
    verify: bool,
    data_root: str | os.PathLike | None,
    download: bool,
    max_pixels: int | None,
) -> ImageSource:
    if os.path.isdir(spec):
        return FolderSource(spec, extensions=extensions, verify=verify, max_pixels=max_pixels)
    if os.path.exists(spec):
        lower = spec.lower()
        if lower.endswith(ZIP_SUFFIXES):
            return ZipSource(spec, extensions=extensions, verify=verify, max_pixels=max_pixels)
        if lower.endswith(TAR_SUFFIXES):
            return TarSource(spec, extensions=extensions, max_pixels=max_pixels)
        if lower.endswith(ARRAY_SUFFIXES):
            return array_file_source(spec)
        raise InputError(
            f"unsupported input {spec}: expected a folder of images, a .zip or tar archive of images, "
            "a .npy/.npz image array, or a statistics .npz"
        )
    dataset = parse_dataset(spec)
    if dataset is not None:
        return open_dataset(*dataset, data_root=data_root, download=download)
    check(":" not in spec or os.sep in spec, f"no such file and no dataset {spec!r}; datasets: " + _dataset_names())
    raise InputError(f"no such folder or file: {spec}")


def _dataset_names() -> str:
    return ", ".join(f"{name}:train|test" for name in sorted(DATASETS))
