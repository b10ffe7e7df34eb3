"""The original GAN (Goodfellow et al. 2014): the two-step algorithm on the minimax value function.

V(D, G) = E log D(x) + E log(1 - D(G(z))). Each step first fixes G and ascends V in D, then fixes D and
descends in G. With the minimax generator loss log(1 - D(G(z))) the gradient vanishes exactly when D
wins (D(G(z)) -> 0, the JS divergence saturates at log 2): the reason for the non-saturating loss
-log D(G(z)) (`non_saturating = true`, the default), and for the Wasserstein critic of `wgan`.
D outputs logits; log D = -softplus(-l) and log(1 - D) = -softplus(l), computed stably.
"""

from __future__ import annotations

import torch
from torch.nn.functional import softplus

from ganeval.baselines.nets.base import Baseline, NextBatch, OptimizerSpec, toggle_grad
from ganeval.baselines.nets.cnn import Discriminator, Generator
from ganeval.errors import check


def d_loss_gan(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """-V(D, G): binary cross-entropy of real as 1 and fake as 0."""
    return softplus(-real_logits).mean() + softplus(fake_logits).mean()


def g_loss_gan(fake_logits: torch.Tensor, non_saturating: bool = True) -> torch.Tensor:
    """-log D(G(z)) (non-saturating) or log(1 - D(G(z))) (the minimax loss, which saturates)."""
    return softplus(-fake_logits).mean() if non_saturating else -softplus(fake_logits).mean()


class AdversarialModel(Baseline):
    """Generator and discriminator trained in alternation; subclasses choose the losses and constraints."""

    n_critic = 1
    spectral_norm = False

    def __init__(self, image_shape, z_dim: int = 128, width: float = 1.0, n_classes: int = 0):
        super().__init__(image_shape, z_dim, width, n_classes)
        k = n_classes if self.conditional else 0
        if len(image_shape) == 1:  # points (the 2-D mixtures): fully connected networks
            from ganeval.baselines.nets.mlp import MLPDiscriminator, MLPGenerator

            check(not self.conditional, "the point datasets have no classes: a conditional model needs images")
            self.generator = MLPGenerator(image_shape[0], z_dim, width)
            self.discriminator = MLPDiscriminator(image_shape[0], width)
        else:
            self.generator = Generator(image_shape, z_dim, width, k)
            self.discriminator = Discriminator(image_shape, width, k)
        if self.spectral_norm:
            from ganeval.baselines.nets.cnn import spectral_normalize

            spectral_normalize(self.discriminator)

    def build_optimizers(self, spec: OptimizerSpec) -> dict[str, torch.optim.Optimizer]:
        return {"g": spec.build(self.generator.parameters()), "d": spec.build(self.discriminator.parameters())}

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor, labels, fake_labels) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def scores(self, real, fake, labels, fake_labels) -> tuple[torch.Tensor, torch.Tensor]:
        """D's outputs on a real and a fake batch, each with its labels when the model is conditional."""
        real_labels = labels if self.conditional else None
        return self.discriminator(real, *_maybe(real_labels)), self.discriminator(fake, *_maybe(fake_labels))

    def after_d_step(self) -> None:
        """Hook run after each discriminator update (weight clipping)."""

    def train_step(self, next_batch: NextBatch, optimizers) -> dict[str, float]:
        d_logs, batch_size = self.discriminator_step(next_batch, optimizers)
        return {**d_logs, **self.generator_step(batch_size, optimizers)}

    def discriminator_step(self, next_batch: NextBatch, optimizers) -> tuple[dict[str, float], int]:
        """Fix G, update D `n_critic` times; the last update's losses and the batch size."""
        d_logs: dict[str, float] = {}
        toggle_grad(self.discriminator, True)
        for _ in range(self.n_critic):
            real, labels = next_batch()
            fake_labels = self.random_labels(len(real))
            with torch.no_grad():
                fake = self.generator(self.noise(len(real)), *_maybe(fake_labels))
            losses = self.d_loss(real, fake, labels, fake_labels)
            optimizers["d"].zero_grad(set_to_none=True)
            losses["loss_d"].backward()
            optimizers["d"].step()
            self.after_d_step()
            d_logs = {k: v.item() for k, v in losses.items()}
        return d_logs, len(real)

    def generator_step(self, batch_size: int, optimizers) -> dict[str, float]:
        """Fix D, update G once on a fresh batch of noise."""
        toggle_grad(self.discriminator, False)
        fake_labels = self.random_labels(batch_size)
        fake = self.generator(self.noise(batch_size), *_maybe(fake_labels))
        loss_g = self.g_loss(self.discriminator(fake, *_maybe(fake_labels)))
        optimizers["g"].zero_grad(set_to_none=True)
        loss_g.backward()
        optimizers["g"].step()
        toggle_grad(self.discriminator, True)
        return {"loss_g": loss_g.item()}


def _maybe(labels: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
    return () if labels is None else (labels,)


class GAN(AdversarialModel):
    """Goodfellow et al.'s GAN on the standard CNN; Adam 2e-4, betas (0.5, 0.999), one D step per G step."""

    def __init__(self, image_shape, z_dim: int = 128, width: float = 1.0, n_classes: int = 0, *,
                 non_saturating: bool = True):  # fmt: skip
        super().__init__(image_shape, z_dim, width, n_classes)
        self.non_saturating = non_saturating

    def d_loss(self, real, fake, labels, fake_labels):
        return {"loss_d": d_loss_gan(*self.scores(real, fake, labels, fake_labels))}

    def g_loss(self, fake_logits):
        return g_loss_gan(fake_logits, self.non_saturating)
