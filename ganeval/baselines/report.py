"""What a run leaves beside its checkpoints: metrics.csv, one sample grid per evaluation, an FID plot.

The plot is drawn with PIL (already a dependency) rather than matplotlib, which ganeval does not need.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import torch
from PIL import Image, ImageDraw
from torchvision.utils import make_grid, save_image


def write_metrics(history: list[dict[str, float]], path: Path) -> None:
    pd.DataFrame(history).to_csv(path, index=False)


def save_grid(images: torch.Tensor, path: Path, nrow: int = 8) -> None:
    """Images in [-1, 1] as one PNG grid, mapped to [0, 255] as `save_image(normalize=True)` does."""
    grid = make_grid(images.detach().cpu(), nrow=nrow, padding=2, normalize=True, value_range=(-1, 1))
    save_image(grid, path)


def plot_curve(steps: list[float], values: list[float], path: Path, title: str = "FID") -> None:
    """A line plot of `values` against `steps` as a PNG (non-finite values are left out)."""
    points = [(s, v) for s, v in zip(steps, values, strict=True) if math.isfinite(v)]
    width, height, margin = 640, 400, 60
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    draw.rectangle([margin, margin // 2, width - margin // 2, height - margin], outline="black")
    draw.text((margin, 8), f"{title} against training step", fill="black")
    if points:
        s_lo, s_hi = min(p[0] for p in points), max(p[0] for p in points)
        v_lo, v_hi = min(p[1] for p in points), max(p[1] for p in points)
        s_span, v_span = (s_hi - s_lo) or 1.0, (v_hi - v_lo) or 1.0

        def xy(s: float, v: float) -> tuple[float, float]:
            x = margin + (s - s_lo) / s_span * (width - 1.5 * margin)
            y = (height - margin) - (v - v_lo) / v_span * (height - 1.5 * margin)
            return x, y

        xys = [xy(s, v) for s, v in points]
        if len(xys) > 1:
            draw.line(xys, fill="navy", width=2)
        for x, y in xys:
            draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill="navy")
        draw.text((4, margin // 2), f"{v_hi:.4g}", fill="black")
        draw.text((4, height - margin - 10), f"{v_lo:.4g}", fill="black")
        draw.text((margin, height - margin + 6), f"{s_lo:g}", fill="black")
        draw.text((width - margin, height - margin + 6), f"{s_hi:g}", fill="black")
    draw.text((width // 2 - 20, height - 24), "step", fill="black")
    img.save(path)
