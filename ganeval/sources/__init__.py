"""Image sources: every kind of input seen through one random-access interface."""

from ganeval.sources.arrays import ArraySource
from ganeval.sources.base import ImageSource
from ganeval.sources.convert import pil_to_rgb, to_rgb_uint8
from ganeval.sources.folder import DEFAULT_EXTENSIONS, FolderSource
from ganeval.sources.resolve import as_source

__all__ = [
    "DEFAULT_EXTENSIONS",
    "ArraySource",
    "FolderSource",
    "ImageSource",
    "as_source",
    "pil_to_rgb",
    "to_rgb_uint8",
]
