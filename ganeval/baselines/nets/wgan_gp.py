"""WGAN-GP (Gulrajani et al. 2017): the critic's Lipschitz bound enforced softly by a gradient penalty.

A 1-Lipschitz optimal critic has gradient norm 1 almost everywhere on lines between real and generated
samples, so lambda * E (||grad D(x_hat)|| - 1)^2 on per-sample interpolates x_hat replaces clipping.
The penalty is per sample, so the critic has no BatchNorm (ours never has). Defaults follow the paper's
Algorithm 1: lambda = 10, n_critic = 5, Adam 1e-4 with betas (0, 0.9).
"""

from __future__ import annotations

import torch
from torch import nn

from ganeval.baselines.nets.gan import _maybe
from ganeval.baselines.nets.wgan import WassersteinModel


def gradient_penalty(
    critic: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    labels: torch.Tensor | None = None,
    alpha: torch.Tensor | None = None,
) -> torch.Tensor:
    """E (||grad_x D(x_hat)||_2 - 1)^2 with x_hat = alpha real + (1 - alpha) fake, one alpha per sample.

    The norm runs over all non-batch dimensions. `alpha` (N,) defaults to U(0, 1) draws.
    """
    if alpha is None:
        alpha = torch.rand(len(real), device=real.device)
    alpha = alpha.view(-1, *([1] * (real.dim() - 1)))
    x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    scores = critic(x_hat, *_maybe(labels))
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


class WGANGP(WassersteinModel):
    """Wasserstein critic with the two-sided gradient penalty."""

    def __init__(self, image_shape, z_dim: int = 128, width: float = 1.0, n_classes: int = 0, *,
                 n_critic: int = 5, gp_lambda: float = 10.0):  # fmt: skip
        super().__init__(image_shape, z_dim, width, n_classes, n_critic=n_critic)
        self.gp_lambda = gp_lambda

    def d_loss(self, real, fake, labels, fake_labels):
        losses = super().d_loss(real, fake, labels, fake_labels)
        gp = gradient_penalty(self.discriminator, real, fake)
        losses["loss_d"] = losses["loss_d"] + self.gp_lambda * gp
        losses["gp"] = gp.detach()
        return losses
