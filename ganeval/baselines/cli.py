"""`ganeval train-baseline NAME` and the checkpoint reader behind `ganeval score CHECKPOINT`.

Registered in `ganeval.cli.group`; this module parses options and calls the trainer only, importing torch
and the models inside the functions that need them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ganeval.cli.errors import friendly_errors

if TYPE_CHECKING:
    from ganeval import ImageSource
    from ganeval.baselines.recipe import Recipe

CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt")


def is_checkpoint(path: Any) -> bool:
    """Whether a command-line input names a baseline checkpoint file (rather than a folder)."""
    return isinstance(path, (str, os.PathLike)) and os.path.isfile(path) and str(path).endswith(CHECKPOINT_SUFFIXES)


def checkpoint_source(
    path: str | os.PathLike,
    n_samples: int = 10_000,
    seed: int = 0,
    device: str | None = None,
    batch_size: int | None = None,
) -> ImageSource:
    """`n_samples` images from a checkpoint's generator (class-balanced for cgan), seeded by `seed`.

    Raises InputError for a missing file, a file that is not a checkpoint, or one from another version.
    """
    import torch

    import ganeval
    from ganeval.baselines.checkpoint import read_checkpoint, rebuild_model

    state = read_checkpoint(path)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    recipe, model = rebuild_model(state, device)
    name = f"{recipe.name}@{state['step']}"
    batch_size = batch_size or ganeval.SAMPLE_BATCH_SIZE
    return ganeval.GeneratorSource(model.sampler(), n_samples, (-1.0, 1.0), batch_size=batch_size, seed=seed, name=name)


def score_own_evaluation(
    path: str, real: str | None, metrics: str, samples: int | None, options: dict[str, Any]
) -> dict[str, Any] | None:
    """The result of `ganeval score [REAL] CHECKPOINT` for models whose evaluation is not "sample images and
    compare them with REAL" (a 2-D mixture, a translation model); None for the image generators, which
    `checkpoint_source` turns into images."""
    from ganeval.baselines.checkpoint import read_checkpoint, rebuild_model
    from ganeval.baselines.kinds import kind_of
    from ganeval.baselines.recipe import from_dict

    state = read_checkpoint(path)
    kind = kind_of(from_dict(state["recipe"]).dataset)
    if not kind.scores_itself:
        return None
    _, model = rebuild_model(state, options.get("device") or _default_device())
    return kind.score_checkpoint(state, model, real, {**options, "metrics": metrics, "samples": samples})


def _default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@click.command("train-baseline")
@click.argument("name")
@click.option("--steps", type=click.IntRange(min=1), help="Generator steps in all (a resumed run continues to it).")
@click.option(
    "--dataset",
    help="mnist, fashion-mnist, cifar10-jpeg or cifar10; ring8 or grid25 (the 2-D mixtures, "
    "trained with the recipe's [points] settings).",
)
@click.option(
    "--pair",
    type=click.Choice(["fashion-edges", "mnist-fashion"]),
    help="The two image domains of a translation recipe (cyclegan): sets the dataset, like --dataset.",
)
@click.option("--batch-size", type=click.IntRange(min=1))
@click.option("--device", help="torch device [default: cuda if available].")
@click.option("--out", help="Run folder [default: runs/NAME].")
@click.option("--seed", type=int)
@click.option("--width", type=click.FloatRange(min=0, min_open=True), help="Channel-width factor of G and D.")
@click.option("--eval-every", type=click.IntRange(min=0), help="Steps between evaluations; 0: only at the end.")
@click.option("--eval-samples", type=click.IntRange(min=0), help="Generated images per evaluation; 0: no evaluation.")
@click.option(
    "--snapshot-every",
    type=click.IntRange(min=0),
    metavar="N",
    help="Keep snapshot_STEP.pt (the networks, about a third of last.pt) every N steps and at the end, for "
    "`ganeval benchmark RUN/` over training; 0: none [default: at every evaluation].",
)
@click.option(
    "--ref",
    help="Reference: any REAL input of `ganeval score` (a registered reference such as "
    "fashion-mnist-test, a dataset spec such as mnist:test[:5000], a folder, a statistics file) "
    "[default: the test split, its first --eval-samples images].",
)
@click.option(
    "--data-root", envvar="GANEVAL_DATA", help="Datasets folder [default: $GANEVAL_DATA, else $GANEVAL_HOME/data]."
)
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE",
              help="Any other recipe field, e.g. --set optimizer.lr=1e-4 --set objective.n_critic=1.")  # fmt: skip
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint.")
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0, min_open=True),
    metavar="MINUTES",
    help="Stop after this many minutes (evaluating and saving as at the last step); --resume continues.",
)
@click.option(
    "--tensorboard",
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Also log the losses, every evaluation key and the evaluation pictures to TensorBoard in DIR "
    "(needs `pip install tensorboard`).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@friendly_errors("interrupted (resume with --resume)")
def train_baseline(name: str, assignments: tuple[str, ...], data_root: str | None, resume: bool, quiet: bool,
                   time_limit: float | None, pair: str | None, tensorboard: str | None,
                   **options: Any) -> None:  # fmt: skip
    """Train baseline NAME (a recipe shipped with ganeval, or a .toml file), evaluating it while it trains.

    Recipes: gan, wgan, wgan-gp, sngan, cgan, vae, cyclegan. The run folder gets metrics.csv,
    samples_STEP.png, fid.png, the checkpoints last.pt and best.pt (`ganeval score --ref NAME CHECKPOINT`
    scores them) and snapshot_STEP.pt (`ganeval benchmark --ref NAME RUN/` scores each by step, `ganeval
    report --plot` draws the curves). With --dataset ring8 or grid25 the adversarial recipes train small MLPs on a
    2-D mixture and report modes_covered, high_quality and reverse_kl (scatter plots samples_STEP.png,
    training.png, modes.png; `ganeval score CHECKPOINT` rescores them); best.pt covers the most modes, then
    has the most high-quality samples, then the lowest reverse KL. cyclegan translates between the
    two domains of --pair fashion-edges (edge maps <-> Fashion-MNIST, with a ground truth) or
    mnist-fashion, and reports FID/KID per direction, cycle and paired errors (`ganeval score
    CHECKPOINT` rescores them).
    """
    from ganeval.baselines.checkpoint import read_checkpoint
    from ganeval.baselines.recipe import for_dataset, from_dict, load_recipe, override, parse_assignment
    from ganeval.baselines.trainer import train
    from ganeval.errors import check
    from ganeval.progress import progress_write

    if pair is not None:  # an alias of --dataset for the translation recipes
        check(options.get("dataset") in (None, pair), f"--pair {pair} and --dataset {options['dataset']} disagree")
        options["dataset"] = pair
    base = load_recipe(name)
    if resume:  # continue with the recipe the run was started with; options still override it
        out = Path(options["out"]) if options.get("out") else base.out_dir
        base = from_dict(read_checkpoint(out / "last.pt")["recipe"])
    else:
        base = for_dataset(base, options.get("dataset"))
    given = {k: v for k, v in options.items() if v is not None}  # an option wins over --set of the same key
    recipe = override(base, **{**dict(parse_assignment(a) for a in assignments), **given})
    recipe, note = _cpu_sized(recipe, explicit=options.get("eval_samples") is not None)
    limit_s = time_limit * 60 if time_limit is not None else None
    log = _noted(progress_write, note)
    result = train(recipe, data_root=data_root, resume=resume, progress=not quiet, log=log, time_limit_s=limit_s,
                   tensorboard=tensorboard)  # fmt: skip
    best = f", best at {result.best}" if result.best is not None else ""
    stopped = f" (time limit; {recipe.steps} planned)" if result.stopped_early else ""
    click.echo(f"{recipe.name}: {result.step} steps{stopped}{best}; outputs in {result.out_dir}")


CPU_EVAL_SAMPLES = 1000


def _cpu_sized(recipe: Recipe, explicit: bool) -> tuple[Recipe, str | None]:
    """On the CPU the Inception network scores ~6 images/s: 10,000-sample evaluations would take an hour.

    Unless --eval-samples was given, a CPU run evaluates at most CPU_EVAL_SAMPLES samples; the note says so.
    """
    import torch

    from ganeval.baselines.kinds import kind_of
    from ganeval.baselines.recipe import override

    device = recipe.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if (
        kind_of(recipe.dataset).name != "images"
        or explicit
        or not str(device).startswith("cpu")
        or recipe.eval_samples <= CPU_EVAL_SAMPLES
    ):
        return recipe, None
    note = (f"ganeval: note: on the CPU, evaluating {CPU_EVAL_SAMPLES} samples instead of {recipe.eval_samples} "
            "(pass --eval-samples to choose)")  # fmt: skip
    return override(recipe, eval_samples=CPU_EVAL_SAMPLES), note


def _noted(log: Callable[[str], None], note: str | None) -> Callable[[str], None]:
    """`log`, printing `note` before its first line: once the run is under way, not before an error."""
    pending = [note] if note else []

    def emit(line: str) -> None:
        while pending:
            log(pending.pop())
        log(line)

    return emit


__all__ = ["checkpoint_source", "is_checkpoint", "train_baseline"]
