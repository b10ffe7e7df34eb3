"""Tiny seeded generators for the model-input tests: a conv net from noise (and a class) to 16x16 RGB, and
functions of the `module:function` form built on it. Deterministic: the weights come from a fixed seed."""

from __future__ import annotations

import torch
import torch.nn.functional as F

Z_SIZE = 16
NUM_CLASSES = 3


class TinyGenerator(torch.nn.Module):
    """z (N x Z_SIZE) [+ class] -> N x 3 x 16 x 16: uint8 (rounded as a PNG writer would) or tanh floats."""

    def __init__(self, num_classes: int = 0, uint8: bool = True, seed: int = 0):
        super().__init__()
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.embed = torch.nn.Embedding(max(num_classes, 1), Z_SIZE)
            self.fc = torch.nn.Linear(Z_SIZE, 32 * 4 * 4)
            self.conv1 = torch.nn.Conv2d(32, 16, 3, padding=1)
            self.conv2 = torch.nn.Conv2d(16, 3, 3, padding=1)
        self.uint8 = uint8
        self.eval()

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if labels is not None:
            z = z + 3 * self.embed(labels)
        x = self.fc(z).view(-1, 32, 4, 4)
        x = F.interpolate(x, scale_factor=4.0, mode="nearest")
        x = torch.tanh(2 * self.conv2(torch.relu(self.conv1(x))))
        if self.uint8:
            return ((x + 1) * 127.5 + 0.5).clamp(0, 255).to(torch.uint8)
        return x


_FLOAT = TinyGenerator(uint8=False)
_CONDITIONAL = TinyGenerator(num_classes=NUM_CLASSES, uint8=False)


def sample(n: int, generator: torch.Generator) -> torch.Tensor:
    """Float images in (-1, 1) from noise drawn with the generator it is given."""
    with torch.no_grad():
        return _FLOAT(torch.randn(n, Z_SIZE, generator=generator, device=generator.device))


def sample_channels_last(n: int, generator: torch.Generator) -> torch.Tensor:
    """The same images as `sample`, quantised to uint8 and laid out N x H x W x C."""
    images = ((sample(n, generator) + 1) * 127.5 + 0.5).clamp(0, 255).to(torch.uint8)
    return images.permute(0, 2, 3, 1)


def sample_conditional(n: int, generator: torch.Generator, labels: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return _CONDITIONAL(torch.randn(n, Z_SIZE, generator=generator, device=generator.device), labels)


def sample_wrong_count(n: int, generator: torch.Generator) -> torch.Tensor:
    return sample(n + 1, generator)


def sample_out_of_range(n: int, generator: torch.Generator) -> torch.Tensor:
    return sample(n, generator) * 2
