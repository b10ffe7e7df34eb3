"""Baseline generative models to evaluate: GAN, WGAN, WGAN-GP, SNGAN, conditional GAN and a VAE.

`train(load_recipe("wgan-gp"))` trains one while scoring it with `ganeval.Evaluator`;
`checkpoint_source(path)` turns a saved checkpoint back into images for the metrics. Names are imported
on first use, so the command line registers `train-baseline` without loading torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "read_checkpoint": "ganeval.baselines.checkpoint",
    "rebuild_model": "ganeval.baselines.checkpoint",
    "checkpoint_source": "ganeval.baselines.cli",
    "MODELS": "ganeval.baselines.nets",
    "Baseline": "ganeval.baselines.nets",
    "build_model": "ganeval.baselines.nets",
    "register_model": "ganeval.baselines.nets",
    "Recipe": "ganeval.baselines.recipe",
    "available": "ganeval.baselines.recipe",
    "load_recipe": "ganeval.baselines.recipe",
    "override": "ganeval.baselines.recipe",
    "TrainResult": "ganeval.baselines.trainer",
    "train": "ganeval.baselines.trainer",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
