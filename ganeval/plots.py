"""Every figure ganeval draws, on matplotlib: metric curves against training step, bar charts of a metric
per input, validity panels, and 2-D sample scatters. Real axes with ticks, labels and legends; the scale
follows the data (logarithmic when positive values span decades, symmetric-logarithmic when they straddle
zero, as KID does near 0).

matplotlib is imported on first use with the non-interactive Agg backend, so nothing here needs a screen.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Series = dict[str, tuple[Sequence[float], Sequence[float]]]  # label -> (xs, ys)
DECADES_FOR_LOG = 1.5  # positive values spanning more than this many decades get a log axis


@dataclass
class Panel:
    """One axes: named series of (x, y) points, with axis labels; scales None are chosen from the data."""

    title: str
    series: Series
    xlabel: str = ""
    ylabel: str = ""
    xscale: str | None = None
    yscale: str | None = None
    options: dict[str, Any] = field(default_factory=dict)  # e.g. {"marker": "o"}
    hlines: dict[str, float] = field(default_factory=dict)  # label -> y: dashed lines across (inputs with no step)


@dataclass
class Bars:
    """One axes of horizontal bars, one per label: (value, spread) with the spread as an error bar; the
    `best` label drawn in another colour."""

    title: str
    values: dict[str, tuple[float, float]]
    xlabel: str = ""
    best: str | None = None


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def choose_scale(values: Sequence[float]) -> str:
    """linear, log (positive values over more than DECADES_FOR_LOG decades) or symlog (values around 0)."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return "linear"
    lo, hi = min(finite), max(finite)
    if lo > 0 and math.log10(hi / lo) > DECADES_FOR_LOG:
        return "log"
    if lo < 0 < hi and min(abs(v) for v in finite if v != 0) < 0.01 * max(abs(lo), abs(hi)):
        return "symlog"
    return "linear"


def _apply_scale(ax, axis: str, scale: str, values: Sequence[float]) -> None:
    setter = ax.set_xscale if axis == "x" else ax.set_yscale
    if scale == "symlog":
        finite = [abs(v) for v in values if v is not None and math.isfinite(v) and v != 0]
        setter("symlog", linthresh=max(min(finite), 1e-12) if finite else 1e-6)
    else:
        setter(scale)


def draw_panel(ax, panel: Panel) -> None:
    xs_all = [x for xs, _ in panel.series.values() for x in xs]
    ys_all = [y for _, ys in panel.series.values() for y in ys] + list(panel.hlines.values())
    for label, (xs, ys) in panel.series.items():
        points = [(x, y) for x, y in zip(xs, ys, strict=True) if y is not None and math.isfinite(y)]
        if points:
            ax.plot(*zip(*points, strict=True), label=label, **{"marker": "o", "markersize": 3, **panel.options})
    for i, (label, y) in enumerate(panel.hlines.items()):
        if y is not None and math.isfinite(y):
            ax.axhline(y, linestyle="--", linewidth=1, color=f"C{(len(panel.series) + i) % 10}", label=label)
    _apply_scale(ax, "x", panel.xscale or choose_scale(xs_all), xs_all)
    _apply_scale(ax, "y", panel.yscale or choose_scale(ys_all), ys_all)
    ax.set_title(panel.title, fontsize=10)
    ax.set_xlabel(panel.xlabel)
    ax.set_ylabel(panel.ylabel)
    ax.grid(True, which="both", alpha=0.3)
    if len(panel.series) + len(panel.hlines) > 1:
        ax.legend(fontsize=8)


def save_panels(panels: list[Panel], path: str | Path, columns: int = 3, panel_size: tuple[float, float] = (4, 3)):
    """A grid of panels, each on its own scales, written as one PNG."""
    plt = _pyplot()
    columns = max(1, min(columns, len(panels)))
    rows = math.ceil(len(panels) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(panel_size[0] * columns, panel_size[1] * rows), squeeze=False)
    for ax, panel in zip(axes.flat, panels, strict=False):
        draw_panel(ax, panel)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def draw_bars(ax, panel: Bars) -> None:
    labels = list(panel.values)
    values = [v for v, _ in panel.values.values()]
    spreads = [s if s is not None and math.isfinite(s) else 0.0 for _, s in panel.values.values()]
    colours = ["tab:orange" if label == panel.best else "tab:blue" for label in labels]
    ax.barh(range(len(labels)), values, xerr=spreads, color=colours, capsize=3)
    ax.set_yticks(range(len(labels)), [_short(label) for label in labels], fontsize=8)
    ax.invert_yaxis()  # the first input at the top, as in the table
    _apply_scale(ax, "x", choose_scale(values), values)
    ax.set_title(panel.title, fontsize=10)
    ax.set_xlabel(panel.xlabel)
    ax.grid(True, axis="x", which="both", alpha=0.3)


def _short(label: str, most: int = 40) -> str:
    return label if len(label) <= most else "..." + label[-(most - 3) :]


def save_bars(panels: list[Bars], path: str | Path, columns: int = 3) -> None:
    """A grid of bar charts (a metric per input, when the inputs have no training step), one PNG."""
    plt = _pyplot()
    columns = max(1, min(columns, len(panels)))
    rows = math.ceil(len(panels) / columns)
    height = 1.2 + 0.35 * max(len(p.values) for p in panels)
    fig, axes = plt.subplots(rows, columns, figsize=(5 * columns, height * rows), squeeze=False)
    for ax, panel in zip(axes.flat, panels, strict=False):
        draw_bars(ax, panel)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def save_curves(series: Series, path: str | Path, ylabel: str, title: str, xlabel: str = "training step") -> None:
    """One metric against training step, one line per run (the fid.png of a training run, `report --plot`)."""
    save_panels([Panel(title, series, xlabel, ylabel)], path, columns=1, panel_size=(6.4, 4.0))


def save_scatters(
    panels: list[tuple[str, Any]], path: str | Path, modes: Any = None, columns: int = 4, limit: float | None = None
) -> None:
    """2-D points (N x 2 arrays) in one panel each, over the true mode centres when given."""
    import numpy as np

    plt = _pyplot()
    columns = max(1, min(columns, len(panels)))
    rows = math.ceil(len(panels) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 3.2 * rows), squeeze=False)
    for ax, (title, points) in zip(axes.flat, panels, strict=False):
        points = np.asarray(points)
        ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.4, color="tab:blue", label="samples")
        if modes is not None:
            centres = np.asarray(modes)
            ax.scatter(centres[:, 0], centres[:, 1], s=30, marker="x", color="tab:red", label="modes")
        if limit is not None:
            ax.set_xlim(-limit, limit)
            ax.set_ylim(-limit, limit)
        ax.set_aspect("equal")
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
