"""VAE (Kingma & Welling 2014): the non-adversarial comparison, with G's network as its decoder.

An encoder mirroring D outputs the mean and log-variance of q(z|x); z = mu + sigma * eps (the
reparameterisation trick) keeps sampling differentiable. The loss is the negative ELBO: a Gaussian
reconstruction term (summed squared error per image) plus the KL divergence to N(0, I), weighted by
`kl_weight`. Sampling the decoder with z ~ N(0, I) makes it a generator the metrics can score.
"""

from __future__ import annotations

import torch
from torch import nn

from ganeval.baselines.nets.base import Baseline, NextBatch, OptimizerSpec
from ganeval.baselines.nets.cnn import ConvStack, Generator
from ganeval.errors import check


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per sample, summed over latent dimensions."""
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)


class Encoder(nn.Module):
    """D's convolution stack with a linear head giving (mu, logvar)."""

    def __init__(self, image_shape, z_dim: int, width: float):
        super().__init__()
        self.body = ConvStack(image_shape, width)
        self.head = nn.Linear(self.body.feature_dim, 2 * z_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.head(self.body(x)).chunk(2, dim=1)
        return mu, logvar


class VAE(Baseline):
    """Encoder + decoder trained jointly on the negative ELBO with one optimizer."""

    def __init__(self, image_shape, z_dim: int = 128, width: float = 1.0, n_classes: int = 0, *,
                 kl_weight: float = 1.0):  # fmt: skip
        check(len(image_shape) == 3, "the vae recipe trains on images, not on points")
        super().__init__(image_shape, z_dim, width, n_classes)
        self.encoder = Encoder(image_shape, z_dim, width)
        self.generator = Generator(image_shape, z_dim, width)
        self.kl_weight = kl_weight

    def build_optimizers(self, spec: OptimizerSpec) -> dict[str, torch.optim.Optimizer]:
        return {"vae": spec.build(self.parameters())}

    def train_step(self, next_batch: NextBatch, optimizers) -> dict[str, float]:
        real, _ = next_batch()
        mu, logvar = self.encoder(real)
        z = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
        recon = (self.generator(z) - real).pow(2).flatten(1).sum(dim=1).mean()
        kl = kl_to_standard_normal(mu, logvar).mean()
        loss = recon + self.kl_weight * kl
        optimizers["vae"].zero_grad(set_to_none=True)
        loss.backward()
        optimizers["vae"].step()
        return {"loss": loss.item(), "recon": recon.item(), "kl": kl.item()}
