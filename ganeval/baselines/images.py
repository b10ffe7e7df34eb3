"""The image kind: a labelled image dataset, noise -> image models, evaluation by `ganeval.Evaluator`.

A run is scored against the recipe's reference (default the test split's first `eval_samples` images);
a conditional model draws class-balanced samples and adds intra-FID. `best.pt` follows FID.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

import ganeval
from ganeval.baselines.data import BatchStream
from ganeval.baselines.kinds import DataKind, Evaluation, TrainingData
from ganeval.baselines.report import save_grid

if TYPE_CHECKING:
    from ganeval.baselines.nets import Baseline
    from ganeval.baselines.recipe import Recipe

GRID_SIZE = 64
REF_PREFIX = "ref:"


class ImageData(TrainingData):
    def __init__(self, data: ganeval.LabelledImages):
        self.data = data
        self.shape = tuple(data.image_shape)
        self.n_classes = data.n_classes

    def stream(self, batch_size: int, seed: int, device: torch.device) -> BatchStream:
        return BatchStream(self.data, batch_size, seed, device)


def reference_spec(recipe: Recipe) -> str:
    """The recipe's reference as `ganeval.score` reads it: a registered reference name (`fashion-mnist-test`,
    with a slice) becomes `ref:NAME`, any other input (a dataset spec such as `mnist:test[:5000]`, a folder,
    a statistics file) is used as it is; none given: the dataset's test split, its first `eval_samples`."""
    if recipe.ref is None:
        return f"{recipe.dataset}:test[:{recipe.eval_samples}]"
    if recipe.ref.startswith(REF_PREFIX):
        return recipe.ref
    name = recipe.ref.split("[", 1)[0]
    return REF_PREFIX + recipe.ref if name in ganeval.load_registry().references else recipe.ref


class ImageEvaluation(Evaluation):
    """`evaluator`'s scores of `n` generated images; class-balanced for a conditional model, with intra-FID."""

    def __init__(self, evaluator: ganeval.Evaluator, n_classes: int = 0):
        self.evaluator, self.n_classes = evaluator, n_classes
        self._warned = False

    def evaluate(self, model: Baseline) -> dict[str, float]:
        n = self.evaluator.n_samples
        labels = torch.arange(n) % self.n_classes if "intra_fid" in self.evaluator.metrics else None
        with warnings.catch_warnings():
            if self._warned:  # said once per run is enough
                warnings.simplefilter("ignore", ganeval.RankDeficientWarning)
            self._warned = True
            row = self.evaluator.evaluate(model.sampler(), labels=labels)
        per_class = row.pop(ganeval.KEY_FID_PER_CLASS, None) or {}
        return {**row, **{f"fid_class_{c}": v for c, v in per_class.items()}}  # one metrics.csv column each

    def save_view(self, model: Baseline, path: Path, seed: int) -> None:
        """The same noise (and labels) at every evaluation, so grids show how the samples evolve."""
        with ganeval.seeded_rng(seed + 1):
            images = model.sampler()(GRID_SIZE)
        save_grid(images, path)


class ImageKind(DataKind):
    name = "images"

    def handles(self, dataset: str) -> bool:
        return True

    def training_data(self, recipe: Recipe, data_root: str | None) -> ImageData:
        return ImageData(ganeval.load_dataset(recipe.dataset, "train", data_root))

    def evaluation(
        self,
        recipe: Recipe,
        data: TrainingData,
        data_root: str | None,
        device: torch.device,
        extractor: Any,
        progress: bool = True,
    ) -> ImageEvaluation | None:
        if not recipe.eval_samples:
            return None
        extractor = extractor or ganeval.InceptionExtractor(device=device)
        from ganeval.baselines.nets import MODELS

        metrics = None
        if MODELS[recipe.model].conditional:
            metrics = (
                "fid",
                "kid",
                "intra_fid",
                *(("is",) if extractor.has_head and recipe.eval_samples >= 10 else ()),
            )
        evaluator = ganeval.Evaluator(
            reference_spec(recipe), extractor=extractor, metrics=metrics, n_samples=recipe.eval_samples,
            seed=recipe.seed, data_root=data_root, progress=progress,
        )  # fmt: skip
        return ImageEvaluation(evaluator, data.n_classes)
