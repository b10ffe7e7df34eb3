"""Image sources: every kind of input seen through one random-access interface."""

from ganeval.sources.archive import TarSource, ZipSource
from ganeval.sources.arrays import ArraySource
from ganeval.sources.base import ImageSource
from ganeval.sources.convert import pil_to_rgb, to_rgb_uint8
from ganeval.sources.datasets import DATASETS, open_dataset, register_dataset, resolve_data_root
from ganeval.sources.folder import DEFAULT_EXTENSIONS, FolderSource
from ganeval.sources.npz import array_file_source, is_stats_file
from ganeval.sources.resolve import as_source, parse_dataset
from ganeval.sources.slicing import SliceSource, split_slice

__all__ = [
    "DATASETS",
    "DEFAULT_EXTENSIONS",
    "ArraySource",
    "FolderSource",
    "ImageSource",
    "SliceSource",
    "TarSource",
    "ZipSource",
    "array_file_source",
    "as_source",
    "is_stats_file",
    "open_dataset",
    "parse_dataset",
    "pil_to_rgb",
    "register_dataset",
    "resolve_data_root",
    "split_slice",
    "to_rgb_uint8",
]
