"""The "standard CNN" of the SNGAN paper (Miyato et al. 2018, table 3), sized by image shape and width.

StudioGAN, pytorch-gan-collections and torch-fidelity's SNGAN example share this layout:

- G: z -> linear to base x base x 512 -> [BatchNorm, ReLU, ConvTranspose 4/2/1] per upsampling ->
  BatchNorm, ReLU, conv 3x3 -> tanh. 32x32 images use base 4 and three upsamplings (512 -> 64 channels);
  28x28 use base 7 and two (512 -> 128).
- D: seven convolutions alternating 3x3/s1 and 4x4/s2 (64, 64, 128, 128, 256, 256, 512 channels),
  LeakyReLU 0.1, then a linear layer on the flattened features.

`width` scales every channel count, so tests train tiny copies on the CPU.
"""

from __future__ import annotations

import torch
from torch import nn

from ganeval.errors import InputError, check

G_CHANNELS = (512, 256, 128, 64)
D_CHANNELS = (64, 64, 128, 128, 256, 256, 512)
LEAKY_SLOPE = 0.1


def scaled(channels: int, width: float) -> int:
    return max(1, round(channels * width))


def base_size(resolution: int) -> tuple[int, int]:
    """(base, upsamplings): halve the resolution while it stays even, at most three times, down to 4."""
    base, ups = resolution, 0
    while ups < 3 and base % 2 == 0 and base > 4:
        base, ups = base // 2, ups + 1
    check(ups >= 1 and base <= 8, f"no standard-CNN layout for {resolution}x{resolution} images (try 28, 32, 64)")
    return base, ups


def conv_output(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def init_weights(module: nn.Module) -> None:
    """DCGAN's N(0, 0.02) for G's convolutions and linear layers, zero biases.

    D keeps PyTorch's default (Kaiming-uniform) init: through seven layers N(0, 0.02) shrinks its input
    gradient to ~0, which makes a gradient penalty start at its maximum (||grad|| = 0, penalty 1)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm whose scale and shift are looked up per class (de Vries et al. 2017; Miyato & Koyama 2018)."""

    def __init__(self, num_features: int, n_classes: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(num_features, affine=False)
        self.gamma = nn.Embedding(n_classes, num_features)
        self.beta = nn.Embedding(n_classes, num_features)
        nn.init.ones_(self.gamma.weight)
        nn.init.zeros_(self.beta.weight)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = self.bn(x)
        return h * self.gamma(labels)[:, :, None, None] + self.beta(labels)[:, :, None, None]


class Generator(nn.Module):
    """z (and a class label when `n_classes` > 0) -> images C x H x W in [-1, 1]."""

    def __init__(self, image_shape: tuple[int, int, int], z_dim: int = 128, width: float = 1.0, n_classes: int = 0):
        super().__init__()
        channels, height, w = image_shape
        check(height == w, f"the standard CNN makes square images, got {height}x{w}")
        self.z_dim, self.n_classes, self.image_shape = z_dim, n_classes, tuple(image_shape)
        self.base, ups = base_size(height)
        widths = [scaled(c, width) for c in G_CHANNELS[3 - ups :]]
        self.linear = nn.Linear(z_dim, self.base * self.base * widths[0])
        self.norms = nn.ModuleList(self._norm(c) for c in widths)
        pairs = zip(widths[:-1], widths[1:], strict=True)
        self.ups = nn.ModuleList(nn.ConvTranspose2d(a, b, 4, 2, 1) for a, b in pairs)
        self.out = nn.Conv2d(widths[-1], channels, 3, 1, 1)
        self.widths = widths
        init_weights(self)

    def _norm(self, c: int) -> nn.Module:
        return ConditionalBatchNorm2d(c, self.n_classes) if self.n_classes else nn.BatchNorm2d(c)

    def _apply_norm(self, i: int, h: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return self.norms[i](h, labels) if self.n_classes else self.norms[i](h)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.n_classes and labels is None:
            raise InputError("this generator is class-conditional: give labels")
        h = self.linear(z).view(len(z), self.widths[0], self.base, self.base)
        for i, up in enumerate(self.ups):
            h = up(torch.relu(self._apply_norm(i, h, labels)))
        h = torch.relu(self._apply_norm(len(self.ups), h, labels))
        return torch.tanh(self.out(h))


class ConvStack(nn.Module):
    """D's seven convolutions with LeakyReLU 0.1; `features(x)` is the flattened last activation."""

    def __init__(self, image_shape: tuple[int, int, int], width: float = 1.0):
        super().__init__()
        channels, size, _ = image_shape
        layers: list[nn.Module] = []
        c_in = channels
        for i, c in enumerate(D_CHANNELS):
            c_out = scaled(c, width)
            kernel, stride, padding = (3, 1, 1) if i % 2 == 0 else (4, 2, 1)
            layers.append(nn.Conv2d(c_in, c_out, kernel, stride, padding))
            size = conv_output(size, kernel, stride, padding)
            c_in = c_out
        self.convs = nn.ModuleList(layers)
        self.feature_dim = c_in * size * size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for conv in self.convs:
            h = nn.functional.leaky_relu(conv(h), LEAKY_SLOPE)
        return h.flatten(1)


class Discriminator(nn.Module):
    """Images -> one score each; with `n_classes` > 0 a projection discriminator (Miyato & Koyama 2018)."""

    def __init__(self, image_shape: tuple[int, int, int], width: float = 1.0, n_classes: int = 0, out_dim: int = 1):
        super().__init__()
        self.body = ConvStack(image_shape, width)
        self.linear = nn.Linear(self.body.feature_dim, out_dim)
        self.embed = nn.Embedding(n_classes, self.body.feature_dim) if n_classes else None
        self.n_classes = n_classes

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.body(x)
        out = self.linear(h)
        if self.embed is not None:
            if labels is None:
                raise InputError("this discriminator is class-conditional: give labels")
            out = out + (self.embed(labels) * h).sum(dim=1, keepdim=True)
        return out.squeeze(1) if out.shape[1] == 1 else out


def spectral_normalize(module: nn.Module) -> nn.Module:
    """Spectral normalisation (one power iteration per forward) on every conv, linear and embedding layer."""
    from torch.nn.utils.parametrizations import spectral_norm

    for name, child in list(module.named_children()):
        if isinstance(child, (nn.Conv2d, nn.Linear, nn.Embedding)):
            setattr(module, name, spectral_norm(child))
        else:
            spectral_normalize(child)
    return module
