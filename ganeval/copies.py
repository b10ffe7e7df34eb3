"""The copies view: each likely copy drawn beside its nearest training images, to judge by eye.

Numbers say that some generated images lie unusually close to training images; only looking at them says
whether they are copies, crops, or just common images. `draw_copies` takes the result of
`ganeval.metrics.memorization.find_copies` and two callbacks that return an image by index, so it works with
any source of images, and writes one PNG: a row per generated image, then its k nearest training images,
each labelled with its index and distance, the row with AuthPct's ratio (below 1: nearer its training image
than any other training image is).
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ganeval.atomic import atomic_write
from ganeval.errors import check
from ganeval.metrics.memorization import Copies

CELL_INCHES = 1.6


def _image(get: Callable[[int], np.ndarray], index: int, what: str) -> np.ndarray:
    image = np.asarray(get(int(index)))
    check(
        image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8,
        f"{what} image {index} must be an H x W x 3 uint8 array, got {image.dtype} {image.shape}",
    )
    return image


def draw_copies(
    result: Copies,
    fake_image: Callable[[int], np.ndarray],
    train_image: Callable[[int], np.ndarray],
    path: str | os.PathLike,
) -> Path:
    """Write the grid of `result` (likeliest copy on top) to the PNG `path`; returns the path."""
    check(len(result.fake) >= 1, "no copies to draw")
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    rows, k = result.train.shape
    fig, axes = plt.subplots(rows, k + 1, figsize=(CELL_INCHES * (k + 1), CELL_INCHES * rows * 1.15), squeeze=False)
    for r in range(rows):
        i = result.fake[r]
        cells = [(_image(fake_image, i, "generated"), f"generated {i}\nratio {result.ratio[r]:.3g}")]
        cells += [
            (_image(train_image, j, "training"), f"train {j}\nd = {d:.4g}")
            for j, d in zip(result.train[r], result.distances[r], strict=True)
        ]
        for ax, (image, label) in zip(axes[r], cells, strict=True):
            ax.imshow(image)
            ax.set_title(label, fontsize=7)
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return atomic_write(path, lambda f: f.write(buffer.getvalue()))
