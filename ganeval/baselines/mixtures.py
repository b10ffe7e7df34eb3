"""The 2-D Gaussian mixtures on which mode collapse is countable: `ring8` and `grid25`.

ring8: 8 modes evenly spaced on a circle of radius 2, std 0.02; grid25: a 5 x 5 grid with spacing 2
(centres at -4, -2, 0, 2, 4), std 0.05: the settings of the Unrolled GAN, VEEGAN and PacGAN papers, with
equal weights. Training batches are fresh draws (the papers sample the mixture, they keep no fixed
set); batch i of a run is drawn from a generator seeded with (seed, i), so a resumed run draws the same.
Each evaluation scores `eval_samples` generated points (2,500 in the papers) by `ganeval.mode_scores`,
the Frechet distance of the 2-D Gaussians fitted to them and to as many true points, and
precision/recall/density/coverage on the coordinates.

`best.pt` is ranked as the mixture papers rank models: most modes covered, then the largest share of
high-quality samples, then the lowest reverse KL. The reverse KL alone would prefer a diffuse blob between
the modes (its nearest-mode histogram is spread out, yet no sample is near a mode) to a model that has
found a mode.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

import ganeval
from ganeval import plots
from ganeval.baselines.kinds import DataKind, Evaluation, TrainingData
from ganeval.errors import check

if TYPE_CHECKING:
    from ganeval.baselines.nets import Baseline
    from ganeval.baselines.recipe import Recipe

VIEW_SAMPLES = 2500  # points per scatter plot, the papers' sample count
REAL_SEED_OFFSET = 7919  # the true points of an evaluation: a fixed draw, apart from the training draws


@dataclass(frozen=True)
class Mixture:
    """Equal-weight isotropic Gaussians with centres `means` (K x 2) and standard deviation `std`."""

    name: str
    means: np.ndarray
    std: float

    @property
    def limit(self) -> float:
        """Half the side of a square plot that holds every mode with a margin."""
        return float(np.abs(self.means).max()) * 1.25 + 0.5

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """`n` points (float32 n x 2): a uniform mode each, plus Gaussian noise."""
        index = torch.randint(len(self.means), (n,), generator=generator)
        centres = torch.from_numpy(self.means).float()[index]
        return centres + self.std * torch.randn(n, 2, generator=generator)

    def scores(self, samples: np.ndarray) -> Any:
        return ganeval.mode_scores(samples, self.means, self.std)


def ring(modes: int = 8, radius: float = 2.0, std: float = 0.02) -> Mixture:
    angles = 2 * math.pi * np.arange(modes) / modes
    return Mixture(f"ring{modes}", radius * np.stack([np.cos(angles), np.sin(angles)], axis=1), std)


def grid(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> Mixture:
    ticks = (np.arange(side) - (side - 1) / 2) * spacing
    xs, ys = np.meshgrid(ticks, ticks, indexing="ij")
    return Mixture(f"grid{side * side}", np.stack([xs.ravel(), ys.ravel()], axis=1), std)


MIXTURES: dict[str, Mixture] = {m.name: m for m in (ring(), grid())}


def get_mixture(name: str) -> Mixture:
    check(name in MIXTURES, f"unknown mixture {name!r}; choose from {', '.join(MIXTURES)}")
    return MIXTURES[name]


class PointStream:
    """Fresh batches of a mixture; batch i comes from a generator seeded with (seed, i)."""

    def __init__(self, mixture: Mixture, batch_size: int, seed: int, device: torch.device):
        self.mixture, self.batch_size, self.seed, self.device = mixture, batch_size, seed, device
        self.drawn = 0

    def __call__(self) -> tuple[torch.Tensor, torch.Tensor]:
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + self.drawn)
        self.drawn += 1
        points = self.mixture.sample(self.batch_size, gen).to(self.device)
        return points, torch.zeros(self.batch_size, dtype=torch.int64, device=self.device)

    def state_dict(self) -> dict[str, int]:
        return {"drawn": self.drawn}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.drawn = int(state["drawn"])


class PointData(TrainingData):
    def __init__(self, mixture: Mixture):
        self.mixture, self.shape, self.n_classes = mixture, (2,), 0

    def stream(self, batch_size: int, seed: int, device: torch.device) -> PointStream:
        return PointStream(self.mixture, batch_size, seed, device)


def draw_points(model: Baseline, n: int, seed: int) -> np.ndarray:
    """`n` generated points (float64 n x 2) from noise seeded by `seed`."""
    with ganeval.seeded_rng(seed):
        return model.sample(n).double().cpu().numpy()


def point_metrics(mixture: Mixture, fake: np.ndarray, real: np.ndarray) -> dict[str, float]:
    """Mode scores of `fake`, and FD and precision/recall/density/coverage between `real` and `fake`."""
    out: dict[str, float] = dict(mixture.scores(fake).as_dict())
    out["fd"] = ganeval.frechet_distance(ganeval.gaussian_stats(real), ganeval.gaussian_stats(fake), device="cpu")
    out.update(ganeval.precision_recall_density_coverage(real, fake, device="cpu"))
    return out


class PointEvaluation(Evaluation):
    """The mode metrics of `n_samples` generated points; the best row covers the most modes, then has the
    largest high-quality share, then the lowest reverse KL (the module docstring says why)."""

    best_key = "modes_covered"
    lower_is_better = False

    @property
    def criteria(self) -> tuple[tuple[str, bool], ...]:
        return (("modes_covered", False), ("high_quality", False), ("reverse_kl", True))

    def __init__(self, mixture: Mixture, n_samples: int, seed: int):
        check(n_samples >= 6, f"a 2-D evaluation needs at least 6 samples (k-NN balls), got {n_samples}")
        self.mixture, self.n_samples, self.seed = mixture, n_samples, seed
        gen = torch.Generator().manual_seed(seed + REAL_SEED_OFFSET)
        self.real = mixture.sample(n_samples, gen).double().numpy()

    def evaluate(self, model: Baseline) -> dict[str, float]:
        return point_metrics(self.mixture, draw_points(model, self.n_samples, self.seed), self.real)

    def save_view(self, model: Baseline, path: Path, seed: int) -> None:
        """A scatter of samples from the same noise each time over the modes, and the points as .npy beside
        it (the grid over training is drawn from them)."""
        points = draw_points(model, VIEW_SAMPLES, seed + 1)
        np.save(path.with_suffix(".npy"), points.astype(np.float32))
        plots.save_scatters([(path.stem, points)], path, self.mixture.means, limit=self.mixture.limit)

    def finish(self, out: Path, history: list[dict[str, Any]]) -> None:
        save_training_grid(out, self.mixture)
        series = {key: ([r["step"] for r in history if key in r], [r[key] for r in history if key in r])
                  for key in ("modes_covered", "high_quality", "reverse_kl")}  # fmt: skip
        panels = [plots.Panel(key, {key: xy}, "training step", key) for key, xy in series.items()]
        plots.save_panels(panels, out / "modes.png", columns=3)


def save_training_grid(out: Path, mixture: Mixture, columns: int = 4, most: int = 8) -> Path | None:
    """One scatter per saved evaluation (at most `most`, evenly spread over training) as training.png."""
    views = sorted(out.glob("samples_*.npy"))
    if not views:
        return None
    picked = [views[round(i)] for i in np.linspace(0, len(views) - 1, min(most, len(views)))]
    panels = [(f"step {int(p.stem.split('_')[1])}", np.load(p)) for p in dict.fromkeys(picked)]
    path = out / "training.png"
    plots.save_scatters(panels, path, mixture.means, columns=columns, limit=mixture.limit)
    return path


class PointKind(DataKind):
    name = "points"
    scores_itself = True

    def handles(self, dataset: str) -> bool:
        return dataset in MIXTURES

    def training_data(self, recipe: Recipe, data_root: str | None) -> PointData:
        return PointData(get_mixture(recipe.dataset))

    def evaluation(self, recipe: Recipe, data: TrainingData, data_root: str | None, device: torch.device,
                   extractor: Any, progress: bool = True) -> PointEvaluation | None:  # fmt: skip
        if not recipe.eval_samples:
            return None
        return PointEvaluation(get_mixture(recipe.dataset), recipe.eval_samples, recipe.seed)

    def recipe_defaults(self) -> str:
        return "points"

    def score_checkpoint(self, state: dict[str, Any], model: Baseline, real: str | None,
                         options: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
        check(real is None, "a 2-D mixture checkpoint is scored against its own mixture: give the checkpoint alone")
        from ganeval.baselines.recipe import from_dict

        recipe = from_dict(state["recipe"])
        n = options.get("samples") or recipe.eval_samples or VIEW_SAMPLES
        evaluation = PointEvaluation(get_mixture(recipe.dataset), n, recipe.seed)
        return {"model": f"{recipe.name}@{state['step']}", "n_fake": n, **evaluation.evaluate(model)}
