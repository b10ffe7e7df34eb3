"""Images for the HTML report (`ganeval.html_report`): read back from the inputs that records name, and
turned into PNG data: URIs, so the page carries its images inside itself.

A folder, archive, array or dataset is read image by image (`as_source(...).load`); a baseline checkpoint
draws its first images with the record's seed, the images the benchmark scored first
(`GeneratorSource` streams are the same whatever range of them is read).
"""

from __future__ import annotations

import base64
import io
import math
import os
from typing import Any

import numpy as np

from ganeval.benchmark import CHECKPOINT_SUFFIXES
from ganeval.errors import check

TILE_MAX = 96  # larger images are shrunk to this many pixels in a grid, so the page stays small
TILE_SHOWN = 64  # smaller images are shown enlarged (pixelated) to about this size


def is_checkpoint(spec: str, kind: str | None) -> bool:
    """A record's input kind says so; an input given without one (a copies' TRAIN spec) by its suffix."""
    return kind == "checkpoint" or (kind is None and spec.endswith(CHECKPOINT_SUFFIXES))


class InputImages:
    """Images of the inputs the records name, each input opened once."""

    def __init__(self, data_root: str | os.PathLike | None = None):
        self.data_root = data_root
        self._sources: dict[str, Any] = {}

    def spread(self, spec: str, kind: str | None, n: int) -> list[int]:
        """`n` indices spread evenly over an input (a generator: its first `n`)."""
        if is_checkpoint(spec, kind):
            return list(range(n))
        count = len(self._source(spec))
        check(count > 0, f"{spec} holds no images")
        return sorted(set(np.linspace(0, count - 1, min(n, count)).round().astype(int).tolist()))

    def read(self, spec: str, kind: str | None, seed: int, indices: list[int]) -> dict[int, np.ndarray]:
        """Images `indices` of an input as uint8 H x W x 3; a checkpoint's drawn with `seed`, on the CPU."""
        if not indices:
            return {}
        if is_checkpoint(spec, kind):
            import torch

            from ganeval.cli.checkpoints import checkpoint_input

            stop = max(indices) + 1
            source, _ = checkpoint_input(spec, stop, None, seed, "cpu")
            drawn = torch.cat([b.cpu() for b in source.batches(0, stop)]).permute(0, 2, 3, 1).numpy()
            return {i: drawn[i] for i in indices}
        source = self._source(spec)
        check(max(indices) < len(source), f"{spec} has {len(source)} images, no image {max(indices)}")
        return {i: np.asarray(source.load(i)) for i in indices}

    def _source(self, spec: str) -> Any:
        from ganeval.sources import as_source

        if spec not in self._sources:
            self._sources[spec] = as_source(spec, data_root=self.data_root)
        return self._sources[spec]


def mosaic(tiles: list[np.ndarray], columns: int = 8, gap: int = 2) -> tuple[bytes, int, int]:
    """The images as one PNG grid (one data URI instead of dozens): (png, its width, the width to show it at,
    enlarged when the images are small)."""
    from PIL import Image

    check(bool(tiles), "no images to show")
    thumbs = []
    for tile in tiles:
        image = Image.fromarray(np.ascontiguousarray(tile, dtype=np.uint8)).convert("RGB")
        image.thumbnail((TILE_MAX, TILE_MAX), Image.Resampling.LANCZOS)
        thumbs.append(image)
    width, height = max(t.width for t in thumbs), max(t.height for t in thumbs)
    columns = min(columns, len(thumbs))
    rows = math.ceil(len(thumbs) / columns)
    sheet = Image.new("RGB", (columns * (width + gap) - gap, rows * (height + gap) - gap), "white")
    for k, thumb in enumerate(thumbs):
        sheet.paste(thumb, ((k % columns) * (width + gap), (k // columns) * (height + gap)))
    return png(sheet), sheet.width, sheet.width * max(1, TILE_SHOWN // max(width, height))


def png(image: Any) -> bytes:
    """A PIL image or a uint8 H x W x 3 array as PNG bytes."""
    from PIL import Image

    if isinstance(image, np.ndarray):
        image = Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")
