"""Baseline generative models to evaluate: GAN, WGAN, WGAN-GP, SNGAN, conditional GAN and a VAE.

`train(load_recipe("wgan-gp"))` trains one while scoring it with `ganeval.evaluator.Evaluator`;
`checkpoint_source(path)` turns a saved checkpoint back into images for the metrics.
"""

from ganeval.baselines.checkpoint import read_checkpoint, rebuild_model
from ganeval.baselines.data import load_dataset
from ganeval.baselines.nets import MODELS, Baseline, build_model, register_model
from ganeval.baselines.recipe import Recipe, available, load_recipe, override
from ganeval.baselines.trainer import TrainResult, train

__all__ = [
    "MODELS",
    "Baseline",
    "Recipe",
    "TrainResult",
    "available",
    "build_model",
    "load_dataset",
    "load_recipe",
    "override",
    "read_checkpoint",
    "rebuild_model",
    "register_model",
    "train",
]
