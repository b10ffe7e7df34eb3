"""Class-conditional GAN: conditional BatchNorm in G, a projection discriminator (Miyato & Koyama 2018).

G(z, y) takes per-class BatchNorm scales and shifts; D(x, y) = psi(phi(x)) + embed(y) . phi(x) adds the
inner product of the class embedding with D's features. Spectral norm on every D layer (the embedding
included) and the hinge loss, as in the projection paper. Generated labels are drawn uniformly.
"""

from __future__ import annotations

from ganeval.baselines.nets.sngan import SNGAN
from ganeval.errors import check


class CGAN(SNGAN):
    """SNGAN with class conditioning in both networks."""

    conditional = True

    def __init__(self, image_shape, z_dim: int = 128, width: float = 1.0, n_classes: int = 10, *, n_dis: int = 1):
        check(n_classes >= 2, f"a conditional GAN needs a labelled dataset with 2+ classes, got {n_classes}")
        super().__init__(image_shape, z_dim, width, n_classes, n_dis=n_dis)
