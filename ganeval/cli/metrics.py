"""`ganeval fid | kid | is | score | stats`: parse, call `ganeval.api`, print text or JSON."""

from __future__ import annotations

import json
from typing import Any

import click

from ganeval.cli.errors import friendly_errors
from ganeval.cli.model_options import cli_model_input, model_options, pop_model_options, refuse_model_options
from ganeval.cli.options import (
    CONVENTION,
    is_options,
    kid_options,
    knn_options,
    memorization_options,
    metric_options,
    real_fake,
    settings_options,
    source_options,
    store_options,
)
from ganeval.cli.precheck import precheck
from ganeval.cli.torchrun import is_rank0, torchrun_aware
from ganeval.config import (
    KEY_FID,
    KEY_FID_PER_CLASS,
    KEY_INTRA_FID,
    KEY_IS_MEAN,
    KEY_IS_STD,
    KEY_KID_MEAN,
    KEY_KID_STD,
    KEY_N_FAKE,
    KEY_N_REAL,
    METRICS,
)

PAIRED = {KEY_IS_STD, KEY_KID_STD}  # printed beside their means
CHECKPOINT_SAMPLES = 10_000  # images drawn from an image checkpoint unless --samples says


def run_metrics(
    real: Any, fake: Any, metrics: str, as_json: bool, quiet: bool, fake_labels: Any = None, **options: Any
) -> None:
    options = store_options(options)
    precheck([real, fake], metrics, options, options.get("train"))  # before torch is imported
    from ganeval import api

    result = api.score(real, fake, metrics, progress=not quiet, fake_labels=fake_labels, **options)
    click.echo(json.dumps(result, default=_plain) if as_json else format_result(result))


def _plain(value: Any) -> Any:
    return value.tolist() if hasattr(value, "tolist") else str(value)


NAMES = {KEY_FID: "FID", "sfid": "sFID", "fd_dinov2": "FD_DINOv2", "cmmd": "CMMD", KEY_INTRA_FID: "intra-FID"}
SPREADS = {KEY_IS_MEAN: ("IS", KEY_IS_STD, 6), KEY_KID_MEAN: ("KID", KEY_KID_STD, 8), "kd_mean": ("KD", "kd_std", 8)}
HIDDEN = {
    KEY_N_REAL,
    KEY_N_FAKE,
    KEY_FID_PER_CLASS,
    "fd_per_class",
    "features",
    "spaces",
    "protocol",
    "bootstrap",
    "n_train",
    "rarity_rarest",
    "vendi_per_class",
}


def format_result(result: dict[str, Any]) -> str:
    """One line per metric (means with their spread; space-generic ones name their space), the per-class
    values, then the image counts."""
    lines = []
    space = f" [{result['features']}]" if "features" in result else ""
    for key, value in result.items():
        if key in PAIRED or key in HIDDEN or key == "kd_std" or key.endswith(("_ci", "_se")):
            continue
        if key in NAMES:
            lines.append(f"{NAMES[key]}: {value:.6f}")
        elif key in SPREADS:
            name, spread, digits = SPREADS[key]
            suffix = space if key == "kd_mean" else ""
            lines.append(f"{name}{suffix}: {value:.{digits}f} ± {result[spread]:.{digits}f}")
        elif key in ("fd", "intra_fd"):
            lines.append(f"{'FD' if key == 'fd' else 'intra-FD'}{space}: {value:.6f}")
        elif isinstance(value, float):
            lines.append(f"{key}{space if key in GENERIC_KEYS else ''}: {value:.6g}")
        else:
            lines.append(f"{key}: {value}")
    for key, name in ((KEY_FID_PER_CLASS, "FID per class"), ("fd_per_class", f"FD per class{space}")):
        if key in result:
            lines.append(f"{name}: " + ", ".join(f"{c}={v:.4f}" for c, v in result[key].items()))
    intervals = [f"{key[:-3]} [{lo:.6g}, {hi:.6g}] (se {result[key[:-3] + '_se']:.3g})"
                 for key, (lo, hi) in ((k, v) for k, v in result.items() if k.endswith("_ci"))]  # fmt: skip
    if intervals:
        boot = result.get("bootstrap", {})
        kinds = sorted(set(boot.get("methods", {}).values()))
        lines.append(f"95% bootstrap intervals ({boot.get('resamples')} resamples, {'/'.join(kinds)}): "
                     + "; ".join(intervals))  # fmt: skip
    if "protocol" in result and result["protocol"] != "ganeval":
        lines.append(f"protocol: {result['protocol']}")
    roles = (("real", KEY_N_REAL), ("fake", KEY_N_FAKE), ("train", "n_train"))
    counts = [f"{role}={_count(result[key])}" for role, key in roles if key in result]
    return "\n".join([*lines, "images: " + ", ".join(counts)] if counts else lines)


GENERIC_KEYS = {"precision", "recall", "density", "coverage"}


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

    FAKE may also be a generator model: a TorchScript .pt/.pth, an .onnx file (pip install onnxruntime),
    module:function or file.py:function, sampled --samples times (default 10000) with --z-size, --z-type,
    --num-classes and --value-range, streamed, never cached.

    Metrics in their own spaces: fid, kid, is, intra_fid (Inception pool3); sfid (ADM's sFID, Inception
    Mixed_6d); fd_dinov2 (EDM2's FD_DINOv2, DINOv2 ViT-L/14); cmmd (CLIP ViT-L/14@336). Metrics in the
    --features space (default inception): fd (Fréchet distance), kd (kernel distance), pr (precision and
    recall, k-NN balls with <=, k = --pr-k), dc (density and coverage, <, k = --dc-k), intra_fd. intra_fid
    and intra_fd are means of per-class FDs: REAL a labelled dataset such as cifar10-jpeg:test or a folder
    with one subfolder per class, FAKE a folder with class subfolders or a conditional checkpoint sampled
    --samples-per-class times per class. Each image is decoded once and fed to every network the metrics
    read; the JSON's "spaces" names the space, layer, mode and weights of each metric.
    """,
)
@click.argument("inputs", nargs=-1, metavar="REAL [FAKE]")
@click.option(
    "--metrics",
    default=None,
    help=f"Comma-separated subset of {','.join(METRICS)} [default: fid; with --protocol, its metrics].",
)
@is_options
@kid_options
@knn_options
@click.option(
    "--samples",
    type=click.IntRange(min=2),
    default=None,
    help="Images sampled when an input is a baseline checkpoint (.pt) [default: 10000; a 2-D mixture or "
    "translation checkpoint: its recipe's evaluation size].",
)
@click.option("--samples-per-class", type=click.IntRange(min=2), default=None,
              help="Conditional checkpoints: images per class (intra-FID) [default: --samples / classes].")  # fmt: skip
@model_options
@memorization_options
@metric_options
@source_options
@friendly_errors()
@torchrun_aware
def score_command(
    inputs: tuple[str, ...],
    ref: str | None,
    metrics: str | None,
    samples: int | None,
    samples_per_class: int | None,
    **options: Any,
) -> None:
    metrics = default_metrics(metrics, options["protocol"])
    settings_options(options)  # --mode/--weights as the API takes them, for checkpoints' own evaluations too
    given = pop_model_options(options)
    if ref and not inputs:
        raise click.UsageError("--ref names the REAL input: give the generated set FAKE as well")
    wanted = ("REAL", "FAKE") if ref or len(inputs) > 1 else ("FAKE",)
    picked = real_fake(inputs, ref, wanted)
    precheck(picked, metrics, options, options.get("train"))  # before torch is imported
    from ganeval.baselines.cli import is_checkpoint, score_own_evaluation
    from ganeval.cli.checkpoints import checkpoint_input
    from ganeval.sources.models import is_model_spec

    if is_model_spec(picked[-1]):  # a TorchScript, ONNX or Python generator: sampled here, streamed
        source, labels, description = cli_model_input(picked[-1], given, options, samples, samples_per_class)
        if not options["quiet"]:
            click.echo(f"ganeval: {description}", err=True)
        real = picked[0] if len(picked) == 2 else None
        run_metrics(real, source, metrics, fake_labels=labels if _per_class(metrics) else None, **options)
        return
    refuse_model_options(picked[-1], given)
    if is_checkpoint(picked[-1]):  # a model with an evaluation of its own (a translation model) scores itself
        real = picked[0] if len(picked) == 2 else None
        own = score_own_evaluation(picked[-1], real, metrics, samples, dict(options))
        if own is not None:
            click.echo(json.dumps(own) if options["as_json"] else format_result(own))
            return
    labels = None
    if is_checkpoint(picked[-1]):
        n = samples or CHECKPOINT_SAMPLES
        source, labels = checkpoint_input(picked[-1], n, samples_per_class, options["seed"], options["device"])
        picked = (*picked[:-1], source)
    real, fake = (None, picked[0]) if len(picked) == 1 else picked
    run_metrics(real, fake, metrics, fake_labels=labels if _per_class(metrics) else None, **options)


def _per_class(metrics: str) -> bool:
    return any(m.strip() in ("intra_fid", "intra_fd", "vendi") for m in metrics.split(","))


def default_metrics(metrics: str | None, protocol: str, fallback: str = "fid") -> str:
    """The metrics asked for, else the protocol's own (all of them), else `fallback`."""
    if metrics:
        return metrics
    from ganeval.protocols.registry import get_protocol

    defined = get_protocol(protocol).metrics
    return ",".join(defined) if defined else fallback


@click.command("stats")
@click.argument("inputs", nargs=-1, metavar="SOURCE")
@click.option("--output", "-o", type=click.Path(dir_okay=False), required=True, help="The .npz file to write.")
@click.option("--compact", is_flag=True,
              help="float32 upper triangle, compressed (~8 MB instead of 32 MB; FID changes ~1e-6 relative). "
                   "Not readable by pytorch-fid.")  # fmt: skip
@model_options
@metric_options
@source_options
@friendly_errors()
@torchrun_aware
def stats_command(inputs: tuple[str, ...], ref: str | None, output: str, compact: bool, **options: Any) -> None:
    """Write the statistics of SOURCE in the --features space (default Inception pool3: mu, sigma, n and the
    settings used) to an .npz file.

    Every command accepts the file wherever it accepts real images (FID-like metrics only); loading it in
    another space or with other settings (weights, --mode) is refused unless --force (a space never mixes).
    pytorch-fid reads an Inception file as its own. With --protocol adm the file is an ADM reference batch
    (images and pool3/spatial statistics, .npz), with --protocol edm2 an EDM2 reference (.pkl): each suite
    reads its own.
    """
    (source,) = real_fake(inputs, ref, ("SOURCE",))
    given = pop_model_options(options)
    settings_options(options)
    precheck([source], None, options)  # before torch is imported
    from ganeval import api
    from ganeval.sources.models import is_model_spec
    from ganeval.statsfile import stats_fingerprint

    if is_model_spec(source):  # a generator model's samples (10,000 unless a statistics count is the point)
        source, _, description = cli_model_input(source, given, options, None, None)
        if not options["quiet"]:
            click.echo(f"ganeval: {description}", err=True)
    else:
        refuse_model_options(source, given)
    as_json, quiet = options.pop("as_json"), options.pop("quiet")
    options.pop("seed")
    if options["protocol"] in ("adm", "edm2"):  # the suite's own reference format
        written = api.write_suite_reference(source, output, progress=not quiet, **store_options(options))
        click.echo(json.dumps({"output": output, **written}) if as_json else f"{output}: n={written['n']} "
                   f"({options['protocol']} reference: {', '.join(k for k in written if k != 'n')})")  # fmt: skip
        return
    storage = "triu32" if compact else "full"
    written = output if is_rank0() else None  # under torchrun every rank computes, rank 0 writes
    loaded = api.compute_stats(source, written, progress=not quiet, storage=storage, **store_options(options))
    summary = {"output": output, "n": loaded.stats.n, **stats_fingerprint(loaded.stats)}
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(f"{output}: n={summary['n']}, trace(sigma)={summary['trace_sigma']}, |mu|={summary['mu_norm']}")
