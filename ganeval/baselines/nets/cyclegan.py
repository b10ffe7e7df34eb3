"""CycleGAN (Zhu et al. 2017): unpaired translation between two image domains A and B.

Two generators, G: A -> B (`generator`, what generic code finds) and F: B -> A (`generator_b2a`), and a
discriminator per domain: `discriminator_a` tells real A images from F's, `discriminator_b` real B from
G's. One training step, on a batch of A and an independent batch of B:

1. Fix both discriminators and update both generators on the least-squares adversarial loss
   (D(G(a)) - 1)^2 + (D(F(b)) - 1)^2 (`loss_g`), the cycle loss lambda (|F(G(a)) - a| + |G(F(b)) - b|)
   with lambda = 10 (`loss_cycle`) and the identity loss 0.5 lambda (|G(b) - b| + |F(a) - a|)
   (`loss_identity`); L1 terms are means over pixels, as in the paper's code.
2. Update each discriminator on 0.5 ((D(real) - 1)^2 + D(fake)^2) (`loss_d_a`, `loss_d_b`), the fakes
   drawn through a history pool of the last 50 generated images of its domain (Shrivastava et al. 2017):
   until the pool is full every fake enters it and is used; then with probability 1/2 a fake replaces a
   random pooled image, which is used instead, else the fake is used. The pool draws from torch's CPU
   generator and is a buffer of the model, so a checkpoint holds it and a resumed run is bit-identical.

The networks of the paper, sized for 28 x 28 and 32 x 32 (sides divisible by 4), k = round(64 width):
the generator c7s1-k, d2k, d4k, `n_blocks` residual blocks R4k (6 by default, the paper's 128 x 128
generator; two stride-2 steps bring 28 x 28 to 7 x 7), u2k, uk, c7s1-C, tanh, with reflection padding
and instance norm (no affine parameters); the discriminator the PatchGAN of `d_layers` stride-2 4 x 4
convolutions (C64 without norm, then C128, ...), one stride-1 layer and a 1-channel stride-1 output,
LeakyReLU 0.2: the paper's 70 x 70 PatchGAN has d_layers = 3; the default 2 sees 34 x 34 patches and
scores a 5 x 5 map on 28 x 28 images (6 x 6 on 32 x 32). Weights start from N(0, 0.02), biases 0.
Adam lr 2e-4, betas (0.5, 0.999) for both generators together ("g") and both discriminators ("d"); the
learning rate is constant for the first half of the steps and decays linearly to 0 over the second half
(`before_step`, the paper's 100 + 100 epochs in steps).
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from ganeval.baselines.nets.base import Baseline, NextBatch, OptimizerSpec, toggle_grad
from ganeval.errors import InputError, check


def _norm(channels: int) -> nn.Module:
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _norm(channels), nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _norm(channels),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """c7s1-k, d2k, d4k, n_blocks x R4k, u2k, uk, c7s1-C, tanh: images in [-1, 1] of `channels` channels."""

    def __init__(self, channels: int, width: float = 1.0, n_blocks: int = 6):
        super().__init__()
        k = max(1, round(64 * width))
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(channels, k, 7), _norm(k), nn.ReLU(inplace=True)]
        for mult in (1, 2):  # d2k, d4k
            layers += [nn.Conv2d(k * mult, 2 * k * mult, 3, stride=2, padding=1), _norm(2 * k * mult),
                       nn.ReLU(inplace=True)]  # fmt: skip
        layers += [ResidualBlock(4 * k) for _ in range(n_blocks)]
        for mult in (4, 2):  # u2k, uk
            layers += [nn.ConvTranspose2d(k * mult, k * mult // 2, 3, stride=2, padding=1, output_padding=1),
                       _norm(k * mult // 2), nn.ReLU(inplace=True)]  # fmt: skip
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(k, channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class PatchDiscriminator(nn.Module):
    """PatchGAN: a map of real/fake scores (least-squares targets 1 and 0), one per overlapping patch."""

    def __init__(self, channels: int, width: float = 1.0, n_layers: int = 2):
        super().__init__()
        k = max(1, round(64 * width))
        layers: list[nn.Module] = [nn.Conv2d(channels, k, 4, stride=2, padding=1), nn.LeakyReLU(0.2, inplace=True)]
        out = k
        for i in range(1, n_layers + 1):  # n_layers - 1 more stride-2 layers, then one stride-1 layer
            prev, out = out, k * min(2**i, 8)
            stride = 2 if i < n_layers else 1
            layers += [nn.Conv2d(prev, out, 4, stride=stride, padding=1), _norm(out), nn.LeakyReLU(0.2, inplace=True)]
        layers.append(nn.Conv2d(out, 1, 4, stride=1, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class HistoryPool(nn.Module):
    """The last `size` generated images (buffers, saved with the model) and the rule that draws from them."""

    def __init__(self, size: int, image_shape: tuple[int, ...]):
        super().__init__()
        self.size = size
        self.register_buffer("images", torch.zeros(size, *image_shape))
        self.register_buffer("count", torch.zeros((), dtype=torch.int64))

    @torch.no_grad()
    def query(self, fakes: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return fakes
        out = []
        filled = int(self.count)
        for image in fakes.detach():
            if filled < self.size:
                self.images[filled] = image
                filled += 1
                out.append(image)
            elif float(torch.rand(())) < 0.5:
                i = int(torch.randint(self.size, ()))
                out.append(self.images[i].clone())
                self.images[i] = image
            else:
                out.append(image)
        self.count.fill_(filled)
        return torch.stack(out)


def ls_loss(scores: torch.Tensor, target: float) -> torch.Tensor:
    """The least-squares GAN loss: mean (scores - target)^2."""
    return (scores - target).pow(2).mean()


def init_weights(module: nn.Module) -> None:
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


class CycleGAN(Baseline):
    """Zhu et al.'s CycleGAN (module docstring); batches are pairs (a, b) of independent A and B images."""

    def __init__(self, image_shape, z_dim: int = 128, width: float = 1.0, n_classes: int = 0, *,
                 lambda_cycle: float = 10.0, lambda_identity: float = 0.5, pool_size: int = 50,
                 n_blocks: int = 6, d_layers: int = 2, decay_start: float = 0.5):  # fmt: skip
        super().__init__(image_shape, z_dim, width, n_classes)
        check(len(image_shape) == 3, "CycleGAN translates images: its data must be an image pair (e.g. fashion-edges)")
        c, h, w = image_shape
        check(h % 4 == 0 and w % 4 == 0, f"CycleGAN's generator needs sides divisible by 4, got {h} x {w}")
        check(pool_size >= 0 and n_blocks >= 0 and d_layers >= 1, "pool_size, n_blocks >= 0 and d_layers >= 1")
        check(0.0 <= decay_start <= 1.0, f"decay_start must be a fraction of the steps in [0, 1], got {decay_start}")
        self.lambda_cycle, self.lambda_identity, self.decay_start = lambda_cycle, lambda_identity, decay_start
        self.generator = ResnetGenerator(c, width, n_blocks)  # A -> B
        self.generator_b2a = ResnetGenerator(c, width, n_blocks)
        self.discriminator_a = PatchDiscriminator(c, width, d_layers)
        self.discriminator_b = PatchDiscriminator(c, width, d_layers)
        self.pool_a = HistoryPool(pool_size, tuple(image_shape))  # generated A images, F(b)
        self.pool_b = HistoryPool(pool_size, tuple(image_shape))  # generated B images, G(a)
        self.apply(init_weights)

    @property
    def generators(self) -> tuple[nn.Module, nn.Module]:
        return self.generator, self.generator_b2a

    @property
    def discriminators(self) -> tuple[nn.Module, nn.Module]:
        return self.discriminator_a, self.discriminator_b

    def build_optimizers(self, spec: OptimizerSpec) -> dict[str, torch.optim.Optimizer]:
        g = list(itertools.chain(*(m.parameters() for m in self.generators)))
        d = list(itertools.chain(*(m.parameters() for m in self.discriminators)))
        return {"g": spec.build(g), "d": spec.build(d)}

    def lr_factor(self, step: int, total_steps: int) -> float:
        """1 for the first `decay_start` of the steps, then linearly down to 0 at `total_steps`."""
        start = int(total_steps * self.decay_start)
        if step < start:
            return 1.0
        return max(0.0, (total_steps - step) / max(1, total_steps - start))

    def before_step(self, step: int, total_steps: int, optimizers: dict[str, torch.optim.Optimizer]) -> None:
        """The linear decay: each group's learning rate is its `initial_lr` (kept in the optimizer's state,
        so a resumed run continues the schedule) times `lr_factor`."""
        factor = self.lr_factor(step, total_steps)
        for optimizer in optimizers.values():
            for group in optimizer.param_groups:
                group["lr"] = group.setdefault("initial_lr", group["lr"]) * factor

    def train_step(self, next_batch: NextBatch, optimizers) -> dict[str, float]:
        real_a, real_b = next_batch()
        g_logs, fake_a, fake_b = self.generator_step(real_a, real_b, optimizers)
        return {**g_logs, **self.discriminator_step(real_a, real_b, fake_a, fake_b, optimizers)}

    def generator_step(self, real_a: torch.Tensor, real_b: torch.Tensor, optimizers):
        """Fix both discriminators, update both generators once; the losses and the fakes (F(b), G(a))."""
        for d in self.discriminators:
            toggle_grad(d, False)
        try:
            fake_b = self.generator(real_a)
            fake_a = self.generator_b2a(real_b)
            loss_gan = ls_loss(self.discriminator_b(fake_b), 1.0) + ls_loss(self.discriminator_a(fake_a), 1.0)
            cycle = (self.generator_b2a(fake_b) - real_a).abs().mean() + (self.generator(fake_a) - real_b).abs().mean()
            loss_cycle = self.lambda_cycle * cycle
            loss = loss_gan + loss_cycle
            loss_identity = torch.zeros((), device=real_a.device)
            if self.lambda_identity > 0:
                same = (self.generator(real_b) - real_b).abs().mean() + (
                    self.generator_b2a(real_a) - real_a
                ).abs().mean()
                loss_identity = self.lambda_cycle * self.lambda_identity * same
                loss = loss + loss_identity
            optimizers["g"].zero_grad(set_to_none=True)
            loss.backward()
            optimizers["g"].step()
        finally:
            for d in self.discriminators:
                toggle_grad(d, True)
        logs = {"loss_g": loss_gan.item(), "loss_cycle": loss_cycle.item(), "loss_identity": loss_identity.item()}
        return logs, fake_a.detach(), fake_b.detach()

    def discriminator_step(self, real_a, real_b, fake_a, fake_b, optimizers) -> dict[str, float]:
        """Update both discriminators once on real images and fakes drawn through the history pools."""
        pooled_a, pooled_b = self.pool_a.query(fake_a), self.pool_b.query(fake_b)
        loss_d_a = 0.5 * (ls_loss(self.discriminator_a(real_a), 1.0) + ls_loss(self.discriminator_a(pooled_a), 0.0))
        loss_d_b = 0.5 * (ls_loss(self.discriminator_b(real_b), 1.0) + ls_loss(self.discriminator_b(pooled_b), 0.0))
        optimizers["d"].zero_grad(set_to_none=True)
        (loss_d_a + loss_d_b).backward()
        optimizers["d"].step()
        return {"loss_d_a": loss_d_a.item(), "loss_d_b": loss_d_b.item()}

    @torch.no_grad()
    def translate(self, x: torch.Tensor, direction: str) -> torch.Tensor:
        """Images in [-1, 1] translated "a2b" (by G) or "b2a" (by F), in eval mode, without gradients."""
        check(direction in ("a2b", "b2a"), f"direction must be 'a2b' or 'b2a', got {direction!r}")
        net = self.generator if direction == "a2b" else self.generator_b2a
        was_training = net.training
        net.eval()
        try:
            return net(x.to(self.device))
        finally:
            net.train(was_training)

    def sample(self, n: int, labels: torch.Tensor | None = None) -> torch.Tensor:
        raise InputError("a CycleGAN translates images (translate(x, 'a2b')); it draws no samples from noise")
