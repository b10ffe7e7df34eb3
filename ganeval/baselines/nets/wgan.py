"""WGAN (Arjovsky et al. 2017): a critic estimating the Wasserstein-1 distance, kept Lipschitz by clipping.

Unlike the JS divergence, W1 between distributions with disjoint supports still varies smoothly, so the
critic's gradient does not vanish when it wins. The dual form needs a 1-Lipschitz critic; clipping every
weight to [-c, c] after each optimizer step is the paper's crude way to bound the Lipschitz constant.
Defaults are the paper's: RMSprop 5e-5, c = 0.01, five critic updates per generator update.
"""

from __future__ import annotations

import torch

from ganeval.baselines.nets.gan import AdversarialModel


def d_loss_wasserstein(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """The negated W1 estimate E D(fake) - E D(real), minimised by the critic."""
    return fake_scores.mean() - real_scores.mean()


class WassersteinModel(AdversarialModel):
    """Wasserstein losses; subclasses add the Lipschitz constraint."""

    def __init__(self, image_shape, z_dim: int = 128, width: float = 1.0, n_classes: int = 0, *, n_critic: int = 5):
        super().__init__(image_shape, z_dim, width, n_classes)
        self.n_critic = n_critic

    def d_loss(self, real, fake, labels, fake_labels):
        loss = d_loss_wasserstein(*self.scores(real, fake, labels, fake_labels))
        return {"loss_d": loss, "wasserstein": -loss.detach()}

    def g_loss(self, fake_scores):
        return -fake_scores.mean()


class WGAN(WassersteinModel):
    """Weight clipping: every critic parameter is clamped to [-clip, clip] after each critic update."""

    def __init__(self, image_shape, z_dim: int = 128, width: float = 1.0, n_classes: int = 0, *,
                 n_critic: int = 5, clip: float = 0.01):  # fmt: skip
        super().__init__(image_shape, z_dim, width, n_classes, n_critic=n_critic)
        self.clip = clip
        self.after_d_step()  # start inside the constraint set too

    @torch.no_grad()
    def after_d_step(self) -> None:
        for p in self.discriminator.parameters():
            p.clamp_(-self.clip, self.clip)
