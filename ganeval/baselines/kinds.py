"""The pluggable parts of a recipe: what it trains on (a data kind) and how a run is judged (an evaluation).

The dataset name picks the kind: images (`fashion-mnist`, `cifar10`, ...), points of a 2-D mixture
(`ring8`, `grid25`) or unpaired image domains (`fashion-edges`). A kind gives the trainer its training
stream and its evaluation; the evaluation gives the metrics of a row of metrics.csv, the picture saved at
each evaluation and the criteria that decide the `best` checkpoint. The trainer never asks which kind it has.
"""

from __future__ import annotations

import abc
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import torch

from ganeval.errors import check

if TYPE_CHECKING:
    from ganeval.baselines.nets import Baseline
    from ganeval.baselines.recipe import Recipe


class Stream(Protocol):
    """Training batches, one per call, resumable from its state."""

    def __call__(self) -> Any: ...

    def state_dict(self) -> dict[str, int]: ...

    def load_state_dict(self, state: dict[str, int]) -> None: ...


class TrainingData(abc.ABC):
    """A training set: the shape of one sample (what the networks are built for) and its batches."""

    shape: tuple[int, ...]
    n_classes: int = 0

    @abc.abstractmethod
    def stream(self, batch_size: int, seed: int, device: torch.device) -> Stream:
        """Batches of `batch_size` in an order fixed by `seed`."""


class Evaluation(abc.ABC):
    """Scores a model in memory. Its `criteria` rank the rows of metrics.csv, and the model of the best row
    so far is `best.pt`; by default the one criterion is `best_key`, lower is better unless said."""

    best_key: str = "fid"
    lower_is_better: bool = True

    @property
    def criteria(self) -> tuple[tuple[str, bool], ...]:
        """(key, lower_is_better) pairs, most important first: a later key only breaks ties of the earlier."""
        return ((self.best_key, self.lower_is_better),)

    @abc.abstractmethod
    def evaluate(self, model: Baseline) -> dict[str, float]:
        """The metrics of one row of metrics.csv."""

    @abc.abstractmethod
    def save_view(self, model: Baseline, path: Path, seed: int) -> None:
        """The picture of this evaluation (a sample grid, a scatter plot), the same inputs every time."""

    def finish(self, out: Path, history: list[dict[str, Any]]) -> None:
        """What a run leaves at its end: the curve of `best_key` over training (fid.png for images)."""
        from ganeval.plots import save_curves

        points = [(r["step"], r[self.best_key]) for r in history if self.best_key in r]
        if points:
            steps, values = zip(*points, strict=True)
            save_curves({self.best_key: (list(steps), list(values))}, out / f"{self.best_key}.png",
                        ylabel=self.best_key, title=f"{self.best_key} against training step")  # fmt: skip

    def rank(self, row: dict[str, Any]) -> tuple[float, ...] | None:
        """The row's place by the criteria as a tuple, smaller is better; None when a criterion is missing or
        NaN (such a row is never the best)."""
        key = []
        for name, lower in self.criteria:
            value = row.get(name)
            if value is None or value != value:
                return None
            key.append(float(value) if lower else -float(value))
        return tuple(key)

    def better(self, row: dict[str, Any], best: dict[str, Any] | None) -> bool:
        """Whether `row` beats the best row so far (None: there is none); a tie keeps the earlier row."""
        rank = self.rank(row)
        if rank is None:
            return False
        best_rank = self.rank(best) if best is not None else None
        return best_rank is None or rank < best_rank

    def best_row(self, history: list[dict[str, Any]]) -> dict[str, Any] | None:
        """The row `best.pt` holds: the first of the best rows by the criteria (None before any evaluation)."""
        best = None
        for row in history:
            if self.better(row, best):
                best = row
        return best

    def describe_best(self, row: dict[str, Any]) -> str:
        """The best row in words: its step and the value of each criterion."""
        values = ", ".join(f"{key} {row[key]:.4g}" for key, _ in self.criteria)
        return f"step {row['step']} ({values})"


class DataKind(abc.ABC):
    """One kind of training data with its evaluation and its way of scoring a checkpoint."""

    name: str
    scores_itself = False  # whether `score_checkpoint` replaces sampling images from the checkpoint

    @abc.abstractmethod
    def handles(self, dataset: str) -> bool: ...

    @abc.abstractmethod
    def training_data(self, recipe: Recipe, data_root: str | None) -> TrainingData: ...

    @abc.abstractmethod
    def evaluation(
        self,
        recipe: Recipe,
        data: TrainingData,
        data_root: str | None,
        device: torch.device,
        extractor: Any,
        progress: bool = True,
    ) -> Evaluation | None:
        """None when the recipe asks for no evaluation (eval_samples = 0). `progress`: show the long passes
        (a reference computed once, the images scored at each evaluation)."""

    def recipe_defaults(self) -> str | None:
        """The recipe table whose values replace the recipe's own for this kind (e.g. "points")."""
        return None

    def score_checkpoint(
        self, state: dict[str, Any], model: Baseline, real: str | None, options: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The result of `ganeval score CHECKPOINT` for kinds that score themselves (`scores_itself`)."""
        raise NotImplementedError


_KINDS: list[DataKind] = []


def _kinds() -> list[DataKind]:
    if not _KINDS:  # the built-in kinds, imported on first use; the image kind takes every other name
        from ganeval.baselines.images import ImageKind
        from ganeval.baselines.mixtures import PointKind
        from ganeval.baselines.pairs import PairKind

        _KINDS.extend([PointKind(), PairKind(), ImageKind()])
    return _KINDS


def register_kind(kind: DataKind) -> None:
    """Add a data kind, asked before the built-in ones."""
    check(isinstance(kind, DataKind), f"{kind!r} is not a DataKind")
    _kinds().insert(0, kind)


def kind_of(dataset: str) -> DataKind:
    """The kind that trains on `dataset`."""
    return next(k for k in _kinds() if k.handles(dataset))
