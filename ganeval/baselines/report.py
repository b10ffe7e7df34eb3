"""What a run leaves beside its checkpoints: metrics.csv and one sample grid per evaluation (the curves are
drawn by `ganeval.plots`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch
from torchvision.utils import make_grid, save_image


def write_metrics(history: list[dict[str, float]], path: Path) -> None:
    pd.DataFrame(history).to_csv(path, index=False)


def save_grid(images: torch.Tensor, path: Path, nrow: int = 8) -> None:
    """Images in [-1, 1] as one PNG grid, mapped to [0, 255] as `save_image(normalize=True)` does."""
    grid = make_grid(images.detach().cpu(), nrow=nrow, padding=2, normalize=True, value_range=(-1, 1))
    save_image(grid, path)
