"""A baseline checkpoint given where the command line expects images: its generator, sampled in memory."""

from __future__ import annotations

from typing import Any

import numpy as np


def checkpoint_input(
    path: str, samples: int, samples_per_class: int | None, seed: int, device: str | None
) -> tuple[Any, np.ndarray | None]:
    """(the images a checkpoint's generator draws, their classes when it is class-conditional).

    A conditional generator's sampler cycles through the classes in order, so image i has class
    i mod n_classes; `samples_per_class` sets how many of each (default: `samples` spread over the classes).
    """
    import torch

    from ganeval.baselines import read_checkpoint, rebuild_model
    from ganeval.baselines.cli import checkpoint_source

    _, model = rebuild_model(read_checkpoint(path), "cpu")
    conditional, n_classes = bool(getattr(model, "conditional", False)), int(getattr(model, "n_classes", 0))
    del model
    if conditional and n_classes:
        per_class = samples_per_class or max(2, samples // n_classes)
        samples = per_class * n_classes
        labels = np.arange(samples) % n_classes
    else:
        labels = None
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    return checkpoint_source(path, n_samples=samples, seed=seed, device=device), labels
