"""Baseline model families by recipe name; `register_model` adds one (validated, never overwritten)."""

from __future__ import annotations

from ganeval.baselines.nets.base import Baseline, OptimizerSpec
from ganeval.baselines.nets.cgan import CGAN
from ganeval.baselines.nets.cyclegan import CycleGAN
from ganeval.baselines.nets.gan import GAN
from ganeval.baselines.nets.sngan import SNGAN
from ganeval.baselines.nets.vae import VAE
from ganeval.baselines.nets.wgan import WGAN
from ganeval.baselines.nets.wgan_gp import WGANGP
from ganeval.errors import InputError, check

MODELS: dict[str, type[Baseline]] = {}


def register_model(name: str, cls: type[Baseline]) -> None:
    check(isinstance(name, str) and name == name.strip() and name != "", f"bad model name {name!r}")
    check(isinstance(cls, type) and issubclass(cls, Baseline), f"{cls!r} is not a Baseline subclass")
    check(name not in MODELS, f"model {name!r} is already registered")
    MODELS[name] = cls


for _name, _cls in (("gan", GAN), ("wgan", WGAN), ("wgan-gp", WGANGP), ("sngan", SNGAN), ("cgan", CGAN), ("vae", VAE),
                    ("cyclegan", CycleGAN)):  # fmt: skip
    register_model(_name, _cls)


def build_model(
    name: str, image_shape: tuple[int, int, int], n_classes: int, z_dim: int, width: float, options: dict
) -> Baseline:
    """The model `name` with its objective `options` (unknown options are an error, never ignored)."""
    if name not in MODELS:
        raise InputError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    try:
        return MODELS[name](tuple(image_shape), z_dim, width, n_classes, **options)
    except TypeError as exc:
        raise InputError(f"bad objective options {options} for model {name!r}: {exc}") from None


__all__ = ["MODELS", "Baseline", "OptimizerSpec", "build_model", "register_model"]
