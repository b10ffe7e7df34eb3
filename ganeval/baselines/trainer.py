"""The generic training loop: steps come from the model, evaluation from `ganeval.Evaluator`.

Every `eval_every` steps and at the last step the loop scores the generator in memory, appends a row to
metrics.csv, saves a sample grid and the `last` checkpoint, and `best` when FID improved. Resuming from
`last` restores models, optimizers, RNG states and the data position, so on the CPU the result equals
an uninterrupted run bit for bit.
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from ganeval.baselines.checkpoint import read_checkpoint, rng_state, save_checkpoint, set_rng_state
from ganeval.baselines.data import BatchStream
from ganeval.baselines.nets import Baseline, build_model
from ganeval.baselines.recipe import Recipe, from_dict
from ganeval.baselines.report import plot_curve, save_grid, write_metrics
from ganeval.errors import InputError, check
from ganeval.evaluator import Evaluator
from ganeval.extractor import InceptionExtractor
from ganeval.metrics.fid import RankDeficientWarning
from ganeval.references import REF_PREFIX, load_registry
from ganeval.sources.datasets import LabelledImages, load_dataset
from ganeval.sources.generator import seeded_rng
from ganeval.sources.slicing import split_slice

# Fields a resumed run must share with the checkpoint (steps, schedule, device and paths may change).
RESUME_FIELDS = ("model", "dataset", "batch_size", "seed", "z_dim", "width", "objective", "optimizer")
GRID_SIZE = 64


@dataclass
class TrainResult:
    out_dir: Path
    step: int
    history: list[dict[str, Any]] = field(default_factory=list)
    best_fid: float = math.inf
    model: Baseline | None = None
    stopped_early: bool = False  # the time limit ended the run before recipe.steps


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def reference_spec(recipe: Recipe) -> str:
    """The recipe's reference as `ganeval.score` reads it: a registered reference name (`fashion-mnist-test`,
    with a slice) becomes `ref:NAME`, any other input (a dataset spec such as `mnist:test[:5000]`, a folder,
    a statistics file) is used as it is; none given: the dataset's test split, its first `eval_samples`."""
    if recipe.ref is None:
        return f"{recipe.dataset}:test[:{recipe.eval_samples}]"
    if recipe.ref.startswith(REF_PREFIX):
        return recipe.ref
    name = split_slice(recipe.ref)[0]
    return REF_PREFIX + recipe.ref if name in load_registry().references else recipe.ref


def make_evaluator(
    recipe: Recipe, data_root: str | None, extractor: InceptionExtractor | None, device: torch.device
) -> Evaluator:
    extractor = extractor or InceptionExtractor(device=device)
    return Evaluator(
        reference_spec(recipe), extractor=extractor, n_samples=recipe.eval_samples, seed=recipe.seed,
        data_root=data_root,
    )  # fmt: skip


def _check_resumable(saved: Recipe, recipe: Recipe) -> None:
    differ = [k for k in RESUME_FIELDS if getattr(saved, k) != getattr(recipe, k)]
    check(not differ, f"cannot resume: the checkpoint's recipe differs in {', '.join(differ)}")


def train(
    recipe: Recipe,
    *,
    data_root: str | None = None,
    resume: bool = False,
    extractor: InceptionExtractor | None = None,
    evaluator: Evaluator | None = None,
    data: LabelledImages | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
    time_limit_s: float | None = None,
) -> TrainResult:
    """Train `recipe`'s model for `recipe.steps` generator steps (from `last` when `resume`).

    `data` replaces the recipe's training set (tests train on a few images); `evaluator` replaces the one
    built from the recipe's reference. `time_limit_s` ends the run early, after the step during which that
    many seconds of this session passed, with an evaluation and checkpoints as at the last step, so a run
    on a rented GPU ends on time and can be resumed towards `recipe.steps`.
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
    data = data if data is not None else load_dataset(recipe.dataset, "train", data_root)
    torch.manual_seed(recipe.seed)
    model = build_model(recipe.model, data.image_shape, data.n_classes, recipe.z_dim, recipe.width, recipe.objective)
    model = model.to(device).train()
    optimizers = model.build_optimizers(recipe.optimizer)
    stream = BatchStream(data, recipe.batch_size, recipe.seed, device)
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
        result.step, result.history, result.best_fid = state["step"], list(state["history"]), state["best_fid"]
        elapsed = state["elapsed_s"]
    out.mkdir(parents=True, exist_ok=True)
    if evaluator is None and recipe.eval_samples:
        evaluator = make_evaluator(recipe, data_root, extractor, device)

    def save(path: Path) -> None:
        save_checkpoint(path, {
            "recipe": recipe.to_dict(), "image_shape": list(data.image_shape), "n_classes": data.n_classes,
            "step": result.step, "model": model.state_dict(),
            "optimizers": {k: o.state_dict() for k, o in optimizers.items()},
            "rng": rng_state(), "data": stream.state_dict(), "history": result.history,
            "best_fid": result.best_fid, "elapsed_s": elapsed + time.perf_counter() - started,
        })  # fmt: skip

    started = time.perf_counter()
    deadline = started + time_limit_s if time_limit_s is not None else None
    sums: dict[str, float] = {}
    count = 0
    bar = tqdm(total=recipe.steps, initial=result.step, unit="step", disable=not progress, file=sys.stderr)
    with bar:
        while result.step < recipe.steps:
            losses = model.train_step(stream, optimizers)
            result.step += 1
            count += 1
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + v
            bar.update(1)
            bar.set_postfix({k: f"{v:.3g}" for k, v in losses.items()}, refresh=False)
            out_of_time = deadline is not None and time.perf_counter() >= deadline and result.step < recipe.steps
            if (
                result.step == recipe.steps
                or out_of_time
                or (recipe.eval_every and result.step % recipe.eval_every == 0)
            ):
                row: dict[str, Any] = {"step": result.step, "time_s": elapsed + time.perf_counter() - started}
                row.update({k: v / count for k, v in sums.items()})
                sums, count = {}, 0
                if evaluator is not None:
                    with warnings.catch_warnings():
                        if result.history:  # said once per run is enough
                            warnings.simplefilter("ignore", RankDeficientWarning)
                        row.update(evaluator.evaluate(model.sampler()))
                    row["eval_time_s"] = elapsed + time.perf_counter() - started - row["time_s"]
                    _save_grid(model, out / f"samples_{result.step:07d}.png", recipe.seed)
                result.history.append(row)
                write_metrics(result.history, out / "metrics.csv")
                if log is not None:
                    log(_describe(row))
                improved = "fid" in row and row["fid"] < result.best_fid
                if improved:
                    result.best_fid = row["fid"]
                save(last)
                if improved:
                    save(out / "best.pt")
            if out_of_time:
                result.stopped_early = True
                if log is not None:
                    log(f"time limit reached: stopped at step {result.step} of {recipe.steps} (resume with --resume)")
                break
    fids = [(r["step"], r["fid"]) for r in result.history if "fid" in r]
    if fids:
        plot_curve([s for s, _ in fids], [f for _, f in fids], out / "fid.png")
    return result


def _save_grid(model: Baseline, path: Path, seed: int) -> None:
    """The same noise (and labels) at every evaluation, so grids show how the samples evolve."""
    with seeded_rng(seed + 1):
        images = model.sampler()(GRID_SIZE)
    save_grid(images, path)


def _describe(row: dict[str, Any]) -> str:
    parts = [f"step {row['step']}", f"{row['time_s']:.0f}s"]
    parts += [f"{k} {row[k]:.4g}" for k in ("fid", "kid_mean", "is_mean") if k in row]
    parts += [f"{k} {v:.4g}" for k, v in row.items() if k.startswith("loss")]
    return ", ".join(parts)
