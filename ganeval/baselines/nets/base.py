"""What every baseline model offers the generic trainer: its networks, optimizers and one training step.

The losses and the update order live on the model classes (one module per objective), so the trainer
never branches on the kind of model (Mimicry's layout, STYLE.md section 8).
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ganeval.errors import InputError

Batch = tuple[torch.Tensor, torch.Tensor]  # images in [-1, 1] (N x C x H x W float), labels (N,) int64
NextBatch = Callable[[], Batch]


@dataclass(frozen=True)
class OptimizerSpec:
    """One optimizer as a recipe names it; `betas` apply to Adam, `alpha` to RMSprop's decay."""

    name: str = "adam"
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)

    def build(self, params) -> torch.optim.Optimizer:
        if self.name == "adam":
            return torch.optim.Adam(params, lr=self.lr, betas=tuple(self.betas))
        if self.name == "rmsprop":
            return torch.optim.RMSprop(params, lr=self.lr)
        raise InputError(f"unknown optimizer {self.name!r}; choose adam or rmsprop")


class Baseline(nn.Module, abc.ABC):
    """A generative model trained by `train_step`; `generator` maps noise (and labels) to images in [-1, 1]."""

    conditional = False

    def __init__(self, image_shape: tuple[int, int, int], z_dim: int, width: float, n_classes: int):
        super().__init__()
        self.image_shape, self.z_dim, self.width, self.n_classes = tuple(image_shape), z_dim, width, n_classes
        self.generator: nn.Module

    @abc.abstractmethod
    def build_optimizers(self, spec: OptimizerSpec) -> dict[str, torch.optim.Optimizer]:
        """The optimizers by name ("g", "d", ...), saved and restored with the checkpoint."""

    @abc.abstractmethod
    def train_step(self, next_batch: NextBatch, optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, float]:
        """One generator update (with its discriminator updates); returns the losses to log."""

    def before_step(self, step: int, total_steps: int, optimizers: dict[str, torch.optim.Optimizer]) -> None:
        """Hook run before each training step (a learning-rate schedule); `step` counts the steps done."""

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.z_dim, device=self.device)

    def random_labels(self, n: int) -> torch.Tensor | None:
        return torch.randint(self.n_classes, (n,), device=self.device) if self.conditional else None

    def sampler(self) -> Callable[[int], torch.Tensor]:
        """`sample_fn(batch_size)` for evaluation; a conditional model cycles through the classes in order,
        so every n samples are class-balanced up to one image per class."""
        drawn = 0

        def sample_fn(n: int) -> torch.Tensor:
            nonlocal drawn
            labels = None
            if self.conditional:
                labels = (torch.arange(n, device=self.device) + drawn) % self.n_classes
            drawn += n
            return self.sample(n, labels)

        return sample_fn

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None) -> torch.Tensor:
        """`n` images in [-1, 1] from the generator in eval mode (BatchNorm running statistics)."""
        was_training = self.generator.training
        self.generator.eval()
        try:
            if self.conditional:
                labels = labels if labels is not None else self.random_labels(n)
                return self.generator(self.noise(n), labels.to(self.device))
            return self.generator(self.noise(n))
        finally:
            self.generator.train(was_training)


def toggle_grad(module: nn.Module, on: bool) -> None:
    """Freeze or unfreeze a network: the "fix D, update G" half of the two-step algorithm."""
    for p in module.parameters():
        p.requires_grad_(on)
