"""Turn whatever the user passed (path, array, tensor, source) into an `ImageSource`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ganeval.errors import InputError, check
from ganeval.sources.arrays import ArraySource
from ganeval.sources.base import ImageSource
from ganeval.sources.folder import DEFAULT_EXTENSIONS, FolderSource


def as_source(
    obj: Any,
    *,
    value_range: tuple[float, float] | None = None,
    extensions: Sequence[str] = DEFAULT_EXTENSIONS,
    verify: bool = False,
) -> ImageSource:
    """The `ImageSource` for `obj`: a source as is, a folder path, or an in-memory array/tensor.

    `value_range` applies to arrays and tensors only and is ignored for other inputs, so one call
    such as ``fid("real/", fake_tensor, value_range=(-1, 1))`` can pass it for both sides.
    """
    if isinstance(obj, (np.ndarray, torch.Tensor)):
        return ArraySource(obj, value_range=value_range)
    if isinstance(obj, ImageSource):
        return obj
    if isinstance(obj, (str, os.PathLike)):
        path = os.fspath(obj)
        if os.path.isdir(path):
            return FolderSource(path, extensions=extensions, verify=verify)
        check(os.path.exists(path), f"no such folder or file: {path}")
        # Extension point: other file kinds (.zip archives, .npz arrays, ...) are dispatched here on
        # their suffix, each returning its own ImageSource.
        raise InputError(f"unsupported input {path}: expected a folder of images")
    raise InputError(
        f"cannot evaluate a {type(obj).__module__}.{type(obj).__qualname__}: expected a folder path, "
        "a numpy array, a torch tensor or an ImageSource"
    )
