"""SNGAN (Miyato et al. 2018): spectral normalisation of every discriminator layer, hinge loss.

Dividing each weight by its largest singular value (estimated by one power iteration per forward pass)
makes every layer 1-Lipschitz, hence the whole network (LeakyReLU is too): the third way to constrain
the critic, cheaper than a gradient penalty and without clipping's capacity loss. Hinge loss as in the
paper's best runs; Adam 2e-4, betas (0, 0.9), one D step per G step.
"""

from __future__ import annotations

import torch
from torch.nn.functional import relu

from ganeval.baselines.nets.gan import AdversarialModel


def d_loss_hinge(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    return relu(1 - real_scores).mean() + relu(1 + fake_scores).mean()


def g_loss_hinge(fake_scores: torch.Tensor) -> torch.Tensor:
    return -fake_scores.mean()


class SNGAN(AdversarialModel):
    """Standard-CNN SNGAN with the hinge loss."""

    spectral_norm = True

    def __init__(self, image_shape, z_dim: int = 128, width: float = 1.0, n_classes: int = 0, *, n_dis: int = 1):
        super().__init__(image_shape, z_dim, width, n_classes)
        self.n_critic = n_dis

    def d_loss(self, real, fake, labels, fake_labels):
        return {"loss_d": d_loss_hinge(*self.scores(real, fake, labels, fake_labels))}

    def g_loss(self, fake_scores):
        return g_loss_hinge(fake_scores)
