"""TensorBoard logging of a training run (`train-baseline --tensorboard DIR`).

Each step's losses go under `loss/NAME`; each row of metrics.csv puts its evaluation keys under
`eval/KEY`, its clock under `time/time_s` and `time/eval_time_s`, and the evaluation's picture (the sample
grid, the scatter over the modes, the translation grid) as the image `samples`, all at the training step.
The `tensorboard` package is optional: it is imported when a run asks for a log, and its absence is a
one-line error before training starts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ganeval.evaluator import summary_writer

TIME_KEYS = ("time_s", "eval_time_s")


class RunLog:
    """Scalars and pictures of one run in `log_dir`. `purge_step`: a resumed run's first step, so that events a
    killed run wrote past its last checkpoint are dropped instead of drawn twice."""

    def __init__(self, log_dir: str | os.PathLike, purge_step: int | None = None):
        self.writer = summary_writer(log_dir, purge_step=purge_step)
        self.loss_keys: set[str] = set()  # what the model's steps return (loss_d, wasserstein, gp, ...)

    def losses(self, step: int, losses: dict[str, float]) -> None:
        self.loss_keys.update(losses)
        for key, value in losses.items():
            self.writer.add_scalar(f"loss/{key}", value, step)

    def row(self, row: dict[str, Any], picture: Path | None = None) -> None:
        """A row of metrics.csv (its mean losses are in already, step by step) and its picture."""
        step = int(row["step"])
        for key, value in row.items():
            if key == "step" or key in self.loss_keys or not _is_number(value):
                continue
            self.writer.add_scalar(f"time/{key}" if key in TIME_KEYS else f"eval/{key}", value, step)
        if picture is not None and picture.is_file():
            from PIL import Image

            with Image.open(picture) as image:
                pixels = np.asarray(image.convert("RGB"))
            self.writer.add_image("samples", pixels, step, dataformats="HWC")
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
