"""`ganeval fid | kid | is | score | stats`: parse, call `ganeval.api`, print text or JSON."""

from __future__ import annotations

import json
from typing import Any

import click

from ganeval.cli.errors import friendly_errors
from ganeval.cli.options import (
    CONVENTION,
    is_options,
    kid_options,
    metric_options,
    real_fake,
    source_options,
    store_options,
)
from ganeval.cli.torchrun import is_rank0, torchrun_aware
from ganeval.config import KEY_FID, KEY_IS_MEAN, KEY_IS_STD, KEY_KID_MEAN, KEY_KID_STD, KEY_N_FAKE, KEY_N_REAL


def run_metrics(real: Any, fake: Any, metrics: str, as_json: bool, quiet: bool, **options: Any) -> None:
    from ganeval import api

    result = api.score(real, fake, metrics, progress=not quiet, **store_options(options))
    click.echo(json.dumps(result) if as_json else format_result(result))


def format_result(result: dict[str, Any]) -> str:
    lines = []
    if KEY_FID in result:
        lines.append(f"FID: {result[KEY_FID]:.6f}")
    if KEY_IS_MEAN in result:
        lines.append(f"IS: {result[KEY_IS_MEAN]:.6f} ± {result[KEY_IS_STD]:.6f}")
    if KEY_KID_MEAN in result:
        lines.append(f"KID: {result[KEY_KID_MEAN]:.8f} ± {result[KEY_KID_STD]:.8f}")
    counts = [f"{role}={_count(result[key])}" for role, key in (("real", KEY_N_REAL), ("fake", KEY_N_FAKE))
              if key in result]  # fmt: skip
    return "\n".join([*lines, "images: " + ", ".join(counts)])


def _count(n: int | None) -> str:
    return "unknown (statistics file without metadata)" if n is None else str(n)


@click.command("fid")
@click.argument("inputs", nargs=-1, metavar="REAL FAKE")
@metric_options
@source_options
@friendly_errors()
@torchrun_aware
def fid_command(inputs: tuple[str, ...], ref: str | None, **options: Any) -> None:
    """Fréchet Inception Distance between REAL and FAKE: image sets or statistics files (`ganeval stats`)."""
    run_metrics(*real_fake(inputs, ref, ("REAL", "FAKE")), "fid", **options)


@click.command("kid")
@click.argument("inputs", nargs=-1, metavar="REAL FAKE")
@kid_options
@metric_options
@source_options
@friendly_errors()
@torchrun_aware
def kid_command(inputs: tuple[str, ...], ref: str | None, **options: Any) -> None:
    """Kernel Inception Distance between image sets REAL and FAKE (mean ± std over random subsets)."""
    run_metrics(*real_fake(inputs, ref, ("REAL", "FAKE")), "kid", **options)


@click.command("is")
@click.argument("inputs", nargs=-1, metavar="FAKE")
@is_options
@metric_options
@source_options
@friendly_errors()
@torchrun_aware
def is_command(inputs: tuple[str, ...], ref: str | None, **options: Any) -> None:
    """Inception Score of the generated set FAKE (needs weights with the classifier head)."""
    if ref:
        raise click.UsageError("--ref names a real set; the Inception Score rates a generated set FAKE")
    (fake,) = real_fake(inputs, None, ("FAKE",))
    run_metrics(None, fake, "is", **options)


@click.command(
    "score",
    help=f"""Several metrics in one pass over each input. {CONVENTION}

    With one input (no --ref) that input is the generated set, which only IS can rate alone. An input may
    be a checkpoint of `ganeval train-baseline`: its generator is rebuilt and sampled (--samples images,
    class-balanced for cgan, seeded by --seed) without writing images.
    """,
)
@click.argument("inputs", nargs=-1, metavar="REAL [FAKE]")
@click.option("--metrics", default="fid", show_default=True, help="Comma-separated subset of fid,is,kid.")
@is_options
@kid_options
@click.option("--samples", type=click.IntRange(min=2), default=10_000, show_default=True,
              help="Images sampled when an input is a baseline checkpoint (.pt).")  # fmt: skip
@metric_options
@source_options
@friendly_errors()
@torchrun_aware
def score_command(inputs: tuple[str, ...], ref: str | None, metrics: str, samples: int, **options: Any) -> None:
    from ganeval.baselines.cli import checkpoint_source, is_checkpoint, score_own_evaluation

    if ref and not inputs:
        raise click.UsageError("--ref names the REAL input: give the generated set FAKE as well")
    wanted = ("REAL", "FAKE") if ref or len(inputs) > 1 else ("FAKE",)
    picked = real_fake(inputs, ref, wanted)
    if is_checkpoint(picked[-1]):  # a model with an evaluation of its own (a translation model) scores itself
        real = picked[0] if len(picked) == 2 else None
        own = score_own_evaluation(picked[-1], real, metrics, samples, dict(options))
        if own is not None:
            click.echo(json.dumps(own) if options["as_json"] else format_result(own))
            return
    picked = tuple(
        checkpoint_source(x, n_samples=samples, seed=options["seed"], device=options["device"])
        if is_checkpoint(x)
        else x
        for x in picked
    )
    real, fake = (None, picked[0]) if len(picked) == 1 else picked
    run_metrics(real, fake, metrics, **options)


@click.command("stats")
@click.argument("inputs", nargs=-1, metavar="SOURCE")
@click.option("--output", "-o", type=click.Path(dir_okay=False), required=True, help="The .npz file to write.")
@click.option("--compact", is_flag=True,
              help="float32 upper triangle, compressed (~8 MB instead of 32 MB; FID changes ~1e-6 relative). "
                   "Not readable by pytorch-fid.")  # fmt: skip
@metric_options
@source_options
@friendly_errors()
@torchrun_aware
def stats_command(inputs: tuple[str, ...], ref: str | None, output: str, compact: bool, **options: Any) -> None:
    """Write the pool3 statistics of SOURCE (mu, sigma, n and the settings used) to an .npz file.

    Every command accepts the file wherever it accepts real images (FID only); loading it with other
    settings (weights, --mode) is refused unless --force. pytorch-fid reads it as its own.
    """
    from ganeval import api
    from ganeval.statsfile import stats_fingerprint

    (source,) = real_fake(inputs, ref, ("SOURCE",))
    as_json, quiet = options.pop("as_json"), options.pop("quiet")
    options.pop("seed")
    storage = "triu32" if compact else "full"
    written = output if is_rank0() else None  # under torchrun every rank computes, rank 0 writes
    loaded = api.compute_stats(source, written, progress=not quiet, storage=storage, **store_options(options))
    summary = {"output": output, "n": loaded.stats.n, **stats_fingerprint(loaded.stats)}
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(f"{output}: n={summary['n']}, trace(sigma)={summary['trace_sigma']}, |mu|={summary['mu_norm']}")
