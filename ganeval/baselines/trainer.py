"""The generic training loop: steps come from the model, data and evaluation from the recipe's data kind.

Every `eval_every` steps and at the last step the loop scores the model in memory, appends a row to
metrics.csv, saves the evaluation's picture (a sample grid, a scatter plot) and the `last` checkpoint,
and `best` when the row is the best by the evaluation's criteria (FID for images; modes, high-quality share,
reverse KL for the 2-D mixtures). Resuming from `last` restores models, optimizers, RNG states and the data
position, so on the CPU the result equals an uninterrupted run bit for bit.

Snapshots (`snapshot_STEP.pt`, as StyleGAN keeps network snapshots) make a run scorable over training
(`ganeval benchmark RUN/`, one point per snapshot): by default one at every row, else every
`snapshot_every` steps and at the end. A snapshot holds the networks, the recipe, the step and the history,
not the optimizers or RNG states: about a third of `last` (Adam keeps two moments per weight); it is
scored like any checkpoint but cannot be resumed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

import ganeval
from ganeval.baselines.checkpoint import read_checkpoint, rng_state, save_checkpoint, set_rng_state
from ganeval.baselines.images import ImageData, ImageEvaluation
from ganeval.baselines.kinds import Evaluation, TrainingData, kind_of
from ganeval.baselines.nets import Baseline, build_model
from ganeval.baselines.recipe import Recipe, from_dict
from ganeval.baselines.report import write_metrics
from ganeval.errors import InputError, check
from ganeval.progress import progress_bar, progress_label

# Fields a resumed run must share with the checkpoint (steps, schedule, device and paths may change).
RESUME_FIELDS = ("model", "dataset", "batch_size", "seed", "z_dim", "width", "objective", "optimizer")
FEW_SNAPSHOTS = 3  # a run keeping more is told what they take on disk


@dataclass
class TrainResult:
    out_dir: Path
    step: int
    history: list[dict[str, Any]] = field(default_factory=list)
    best_key: str = "fid"
    best_value: float | None = None  # best_key's value in the best row
    model: Baseline | None = None
    stopped_early: bool = False  # the time limit ended the run before recipe.steps
    best: str | None = None  # the best row in words: its step and criteria (what best.pt holds)

    @property
    def best_fid(self) -> float:
        """The best FID of an image run (inf before the first evaluation)."""
        return self.best_value if self.best_key == "fid" and self.best_value is not None else math.inf


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _check_resumable(saved: Recipe, recipe: Recipe) -> None:
    differ = [k for k in RESUME_FIELDS if getattr(saved, k) != getattr(recipe, k)]
    check(not differ, f"cannot resume: the checkpoint's recipe differs in {', '.join(differ)}")


def _as_training_data(data: Any) -> TrainingData:
    return ImageData(data) if isinstance(data, ganeval.LabelledImages) else data


def _as_evaluation(evaluator: Any, data: TrainingData) -> Evaluation:
    if isinstance(evaluator, ganeval.Evaluator):
        return ImageEvaluation(evaluator, data.n_classes)
    return evaluator


def train(
    recipe: Recipe,
    *,
    data_root: str | None = None,
    resume: bool = False,
    extractor: ganeval.InceptionExtractor | None = None,
    evaluator: ganeval.Evaluator | Evaluation | None = None,
    data: ganeval.LabelledImages | TrainingData | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
    time_limit_s: float | None = None,
    tensorboard: str | Path | None = None,
) -> TrainResult:
    """Train `recipe`'s model for `recipe.steps` generator steps (from `last` when `resume`).

    `data` replaces the recipe's training set (tests train on a few images); `evaluator` replaces the
    evaluation built from the recipe (a `ganeval.Evaluator` scores images). `progress` shows the step bar
    and the evaluation's long passes. `time_limit_s` ends the run early, after the step during which that
    many seconds of this session passed, with an evaluation and checkpoints as at the last step, so a run
    on a rented GPU ends on time and can be resumed. `tensorboard`: a TensorBoard log folder
    (`ganeval.baselines.tensorboard`).
    """
    device = torch.device(recipe.device) if recipe.device else default_device()
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device {device} requested but CUDA is not available")
    out = recipe.out_dir
    last = out / "last.pt"
    check(
        resume or not last.exists(),
        f"{out} already holds a run: pass --resume to continue it, or choose another --out",
    )
    kind = kind_of(recipe.dataset)
    data = _as_training_data(data) if data is not None else kind.training_data(recipe, data_root)
    torch.manual_seed(recipe.seed)
    model = build_model(recipe.model, data.shape, data.n_classes, recipe.z_dim, recipe.width, recipe.objective)
    model = model.to(device).train()
    optimizers = model.build_optimizers(recipe.optimizer)
    stream = data.stream(recipe.batch_size, recipe.seed, device)
    result = TrainResult(out, 0, model=model)
    elapsed = 0.0
    if resume:
        state = read_checkpoint(last)
        _check_resumable(from_dict(state["recipe"]), recipe)
        model.load_state_dict(state["model"])
        for name, opt in optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
        stream.load_state_dict(state["data"])
        set_rng_state(state["rng"])
        result.step, result.history = state["step"], list(state["history"])
        result.best_key, result.best_value = _saved_best(state)
        elapsed = state["elapsed_s"]
    out.mkdir(parents=True, exist_ok=True)
    evaluation = _as_evaluation(evaluator, data) if evaluator is not None else None
    if evaluation is None:
        evaluation = kind.evaluation(recipe, data, data_root, device, extractor, progress=progress)
    best_row = None
    if evaluation is not None:
        result.best_key = evaluation.best_key
        best_row = evaluation.best_row(result.history)  # a resumed run: the best row by today's criteria
        _note_best(result, evaluation, best_row)
    board = _open_board(tensorboard, result.step + 1 if resume else None)

    def save(path: Path, snapshot: bool = False) -> None:
        state = {
            "recipe": recipe.to_dict(), "image_shape": list(data.shape), "n_classes": data.n_classes,
            "step": result.step, "model": model.state_dict(), "history": result.history,
            "best": {"key": result.best_key, "value": result.best_value,
                     "step": best_row["step"] if best_row is not None else None},
            "best_fid": result.best_fid, "elapsed_s": elapsed + time.perf_counter() - started,
        }  # fmt: skip
        if snapshot:  # networks only: scored like a checkpoint, never resumed
            state["snapshot"] = True
        else:
            state.update(optimizers={k: o.state_dict() for k, o in optimizers.items()}, rng=rng_state(),
                         data=stream.state_dict())  # fmt: skip
        save_checkpoint(path, state)

    started = time.perf_counter()
    deadline = started + time_limit_s if time_limit_s is not None else None
    snapshots = _Snapshots(recipe, result.step, log)
    sums: dict[str, float] = {}
    count = 0
    with (
        _closing(board),
        progress_bar(recipe.steps, f"train {recipe.name} on {recipe.dataset}", enabled=progress, unit="step",
                     initial=result.step) as bar,
    ):  # fmt: skip
        while result.step < recipe.steps:
            model.before_step(result.step, recipe.steps, optimizers)
            losses = model.train_step(stream, optimizers)
            result.step += 1
            count += 1
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + v
            if board is not None:
                board.losses(result.step, losses)
            bar.set_postfix({k: f"{v:.3g}" for k, v in losses.items()})
            bar.update(1)
            out_of_time = deadline is not None and time.perf_counter() >= deadline and result.step < recipe.steps
            final = result.step == recipe.steps or out_of_time
            due = final or bool(recipe.eval_every and result.step % recipe.eval_every == 0)
            if due:
                row: dict[str, Any] = {"step": result.step, "time_s": elapsed + time.perf_counter() - started}
                row.update({k: v / count for k, v in sums.items()})
                sums, count = {}, 0
                improved = False
                picture = out / f"samples_{result.step:07d}.png"
                if evaluation is not None:
                    with progress_label(f"{recipe.name} step {result.step}:"):
                        row.update(evaluation.evaluate(model))
                    row["eval_time_s"] = elapsed + time.perf_counter() - started - row["time_s"]
                    evaluation.save_view(model, picture, recipe.seed)
                    improved = evaluation.better(row, best_row)
                    if improved:
                        best_row = row
                        _note_best(result, evaluation, best_row)
                result.history.append(row)
                write_metrics(result.history, out / "metrics.csv")
                if board is not None:
                    board.row(row, picture if evaluation is not None else None)
                if log is not None:
                    log(_describe(row))
                save(last)
                if improved:
                    save(out / "best.pt")
            if snapshots.due(result.step, due, final):
                snapshots.write(save, out / f"snapshot_{result.step:07d}.pt")
            if out_of_time:
                result.stopped_early = True
                if log is not None:
                    log(f"time limit reached: stopped at step {result.step} of {recipe.steps} (resume with --resume)")
                break
    if evaluation is not None:
        evaluation.finish(out, result.history)
    return result


def _open_board(tensorboard: str | Path | None, purge_step: int | None) -> Any:
    """The run's TensorBoard log, or None; a resumed run drops what was logged after its last checkpoint."""
    if tensorboard is None:
        return None
    from ganeval.baselines.tensorboard import RunLog

    return RunLog(tensorboard, purge_step=purge_step)


@contextmanager
def _closing(board: Any) -> Iterator[None]:
    try:
        yield
    finally:
        if board is not None:
            board.close()


def _note_best(result: TrainResult, evaluation: Evaluation, row: dict[str, Any] | None) -> None:
    if row is not None:
        result.best_value = float(row[evaluation.best_key])
        result.best = evaluation.describe_best(row)


class _Snapshots:
    """When `snapshot_STEP.pt` files are written (see the module docstring), and a note on their disk cost
    after the first one when a run keeps more than FEW_SNAPSHOTS."""

    def __init__(self, recipe: Recipe, start: int, log: Callable[[str], None] | None):
        self.every, self.log = recipe.snapshot_every, log
        cadence = recipe.eval_every if self.every is None else self.every
        if self.every == 0 or start >= recipe.steps:
            self.planned = 0
        elif cadence == 0:
            self.planned = 1  # only the end (no evaluation before it)
        else:
            self.planned = recipe.steps // cadence - start // cadence + (recipe.steps % cadence != 0)
        self.written = 0

    def due(self, step: int, row: bool, final: bool) -> bool:
        if self.every is None:
            return row
        return self.every > 0 and (step % self.every == 0 or final)

    def write(self, save: Callable[..., None], path: Path) -> None:
        save(path, snapshot=True)
        self.written += 1
        if self.written == 1 and self.planned > FEW_SNAPSHOTS and self.log is not None:
            size = path.stat().st_size / 1e6
            self.log(f"ganeval: note: {path.name} takes {size:.3g} MB; this run keeps {self.planned} snapshots "
                     f"(about {size * self.planned:.3g} MB): --snapshot-every N keeps fewer, 0 none")  # fmt: skip


def _saved_best(state: dict[str, Any]) -> tuple[str, float | None]:
    """The best criterion of a checkpoint; checkpoints before the pluggable evaluation kept only best_fid."""
    if "best" in state:
        return state["best"]["key"], state["best"]["value"]
    best = state.get("best_fid", math.inf)
    return "fid", None if math.isinf(best) else best


def _describe(row: dict[str, Any]) -> str:
    parts = [f"step {row['step']}", f"{row['time_s']:.0f}s"]
    keys = ("fid", "kid_mean", "is_mean", "intra_fid", "modes_covered", "high_quality", "reverse_kl")
    parts += [f"{k} {row[k]:.4g}" for k in keys if k in row]
    parts += [f"{k} {v:.4g}" for k, v in row.items() if k.startswith("loss")]
    return ", ".join(parts)
