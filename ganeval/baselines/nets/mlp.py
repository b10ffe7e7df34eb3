"""Small fully connected networks for the 2-D mixtures (the Unrolled GAN / VEEGAN toy setting).

G: z -> three hidden layers of 128 ReLU units -> a point in R^d (no output squashing: the modes lie
outside [-1, 1]); D: a point -> three hidden layers of 128 LeakyReLU(0.2) units -> one score. No
normalisation layers, so a gradient penalty and spectral norm apply as in the image networks.
`width` scales the hidden units.
"""

from __future__ import annotations

import torch
from torch import nn

from ganeval.baselines.nets.cnn import scaled

HIDDEN = 128
DEPTH = 3
LEAKY_SLOPE = 0.2


def _hidden_layers(n_in: int, units: int, activation: type[nn.Module], **kw) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for _ in range(DEPTH):
        layers += [nn.Linear(n_in, units), activation(**kw)]
        n_in = units
    return layers


class MLPGenerator(nn.Module):
    def __init__(self, out_dim: int, z_dim: int, width: float = 1.0):
        super().__init__()
        units = scaled(HIDDEN, width)
        self.z_dim = z_dim
        self.net = nn.Sequential(*_hidden_layers(z_dim, units, nn.ReLU), nn.Linear(units, out_dim))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class MLPDiscriminator(nn.Module):
    def __init__(self, in_dim: int, width: float = 1.0):
        super().__init__()
        units = scaled(HIDDEN, width)
        self.net = nn.Sequential(*_hidden_layers(in_dim, units, nn.LeakyReLU, negative_slope=LEAKY_SLOPE),
                                 nn.Linear(units, 1))  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)
