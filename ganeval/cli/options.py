"""Options shared by the commands, and the REAL FAKE convention of their inputs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from ganeval.config import INTERVAL_METHODS, PRECISION_CHOICES, Settings
from ganeval.features.spaces import NETWORKS, SPACES

PROTOCOL_NAMES = ("ganeval", "adm", "edm2", "stylegan", "clean-fid", "torch-fidelity")  # protocols.registry

SPACE_AND_NETWORK_NAMES = frozenset(SPACES) | frozenset(NETWORKS)

DEFAULTS = Settings()
CONVENTION = (
    "Two inputs are always REAL FAKE: the reference first (real images, --ref NAME, a statistics file), the "
    "generated set second; the Inception Score rates the generated set."
)


def _named_values(values: tuple[str, ...], what: str) -> tuple[str | None, dict[str, str]]:
    """`--weights FILE` and `--weights NAME=FILE` (repeatable): (the one plain value, {name: value})."""
    plain = [v for v in values if "=" not in v or v.split("=", 1)[0] not in SPACE_AND_NETWORK_NAMES]
    named = dict(v.split("=", 1) for v in values if v not in plain)
    if len(plain) > 1:
        raise click.UsageError(f"--{what} takes one plain value; name the others: --{what} NAME={what.upper()}")
    return (plain[0] if plain else None), named


def settings_options(options: dict[str, Any]) -> dict[str, Any]:
    """CLI values -> `ganeval.config.Settings` fields: `--mode`/`--weights` plain and NAME=VALUE forms split."""
    options["mode"], named_modes = _named_values(options.pop("mode") or (), "mode")
    options["weights"], named_weights = _named_values(options.pop("weights") or (), "weights")
    if named_modes:
        options["modes"] = named_modes
    if named_weights:
        options["space_weights"] = named_weights
    return options


def metric_options(func: Callable) -> Callable:
    """Options shared by every command that runs a network."""
    options = [
        click.option("--protocol", type=click.Choice(tuple(PROTOCOL_NAMES)), default=DEFAULTS.protocol,
                     show_default=True,
                     help="A published suite's conventions, reproduced (`ganeval protocols` says what each fixes); "
                          "an option contradicting it is refused."),
        click.option("--features", default=DEFAULTS.features, show_default=True, metavar="SPACE[:LAYER]",
                     help=f"Feature space of fd, kd, pr, dc and intra_fd: {', '.join(SPACES)} (`ganeval "
                          "spaces` lists them with their modes). fid, kid, is, sfid, fd_dinov2 and cmmd read their "
                          "own spaces."),
        click.option("--mode", multiple=True, metavar="MODE | SPACE=MODE",
                     help="Resize/normalisation of the --features space (Inception: tf = torch-fidelity and the TF "
                          "code, pytorch = pytorch-fid, clean = clean-fid; DINOv2: edm2, pil, tf; CLIP: tf, clean, "
                          "cmmd; VGG16: tf), or of a named space [default: each space's first mode]."),
        click.option("--batch-size", type=click.IntRange(min=1), default=None,
                     help="Images per forward pass [default: 500 (Inception) or 256 on a GPU, 32 on the CPU]."),
        click.option("--precision", type=click.Choice(PRECISION_CHOICES), default=DEFAULTS.precision,
                     show_default=True,
                     help="Forward-pass arithmetic. default: strict on the CPU, fp16 on a GPU for Inception "
                          "(float32 for the other spaces). exact: the anchors' own layout, bit-identical to "
                          "torch-fidelity and pytorch-fid on the CPU; strict: float32 with BatchNorm folded and "
                          "channels-last; fp16: float16 on a GPU; fast: bfloat16 (cached and checked apart); tf32, "
                          "bf16 name one explicitly. Measured figures: benchmarks/RESULTS.md."),
        click.option("--device", default=None, help="torch device: cuda, cuda:1, cpu [default: cuda if available]."),
        click.option("--workers", type=click.IntRange(min=0), default=None,
                     help="Processes decoding image files; 0 decodes in the main process [default: up to 8 on "
                          "a GPU, 1 on the CPU for 1000+ files, when there are files to decode; else 0]."),
        click.option("--weights", multiple=True, metavar="FILE | NAME=FILE",
                     help="Weights file of the one network the call reads, or of a named space/network "
                          "(repeatable) [default: see `ganeval weights path NAME`; Inception also reads "
                          "$GANEVAL_WEIGHTS]."),
        click.option("--skip-bad", is_flag=True, help="Skip undecodable images (counted) instead of failing."),
        click.option("--seed", type=int, default=DEFAULTS.seed, show_default=True,
                     help="Seed of the IS shuffle, the KID subsets and the samples drawn from checkpoints."),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout."),
        click.option("--quiet", "-q", is_flag=True, help="No progress bars."),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


def source_options(func: Callable) -> Callable:
    """Options on where inputs come from and what is remembered between runs."""
    options = [
        click.option("--ref", default=None, metavar="NAME[SLICE]",
                     help="A named reference as the REAL input, e.g. fashion-mnist-test or cifar10-train[:5000] "
                          "(see `ganeval refs list`)."),
        click.option("--data-root", type=click.Path(file_okay=False), default=None, envvar="GANEVAL_DATA",
                     help="Folder of the named datasets (mnist:test, cifar10-jpeg:train, ...) "
                          "[default: $GANEVAL_DATA, else $GANEVAL_HOME/data]."),
        click.option("--no-cache", is_flag=True, help="Neither read nor write cached statistics and features."),
        click.option("--force", is_flag=True,
                     help="Use statistics computed with other settings, or not matching the registry (warns)."),
        click.option("--verify", is_flag=True, help="Fingerprint folders and zips by content, not size and mtime."),
        click.option("--max-pixels", type=click.IntRange(min=0), default=None,
                     help="refuse images with more pixels than this (decompression-bomb guard) "
                          "[default: PIL's 178,956,970; 0 = no limit]"),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


def kid_options(func: Callable) -> Callable:
    options = [
        click.option("--subsets", "kid_subsets", type=click.IntRange(min=1), default=DEFAULTS.kid_subsets,
                     show_default=True, help="KID: random subsets averaged."),
        click.option("--subset-size", "kid_subset_size", type=click.IntRange(min=2),
                     default=DEFAULTS.kid_subset_size, show_default=True,
                     help="KID: images per subset; capped at the smaller set's size, with a warning."),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


def knn_options(func: Callable) -> Callable:
    options = [
        click.option("--pr-k", type=click.IntRange(min=1), default=DEFAULTS.pr_k, show_default=True,
                     help="precision/recall: radius of each point = distance to its k-th neighbour (<=)."),
        click.option("--dc-k", type=click.IntRange(min=1), default=DEFAULTS.dc_k, show_default=True,
                     help="density/coverage: radius = distance to the k-th neighbour (<)."),
        click.option("--knn-samples", type=click.IntRange(min=2), default=None,
                     help="k-NN metrics on a seeded subsample of this many images per set [default: all]."),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


def memorization_options(func: Callable) -> Callable:
    """The training set as a third input, and bootstrap intervals."""
    options = [
        click.option("--train", default=None, metavar="INPUT",
                     help="The training set (any input kind): authpct and ct compare the generated set with it; "
                          "mifid uses it for its memorization term when given (else REAL)."),
        click.option("--bootstrap", type=click.IntRange(min=0), default=DEFAULTS.bootstrap, show_default=True,
                     metavar="B",
                     help="Every metric recomputed on B seeded resamples of the extracted features (no further "
                          "network pass): a 95% interval <key>_ci and <key>_se in the results."),
        click.option("--bootstrap-interval", type=click.Choice(INTERVAL_METHODS), default=DEFAULTS.bootstrap_interval,
                     show_default=True,
                     help="percentile: the resamples' 2.5% and 97.5% percentiles; basic: those reflected about the "
                          "value, which removes a bias the resamples share (FID's 1/N bias); normal: the value +- "
                          "1.96 se; auto: basic for the Fréchet distances (fid, fd, sfid, fd_dinov2, intra_fid, "
                          "mifid), normal for the rest (what held the full-set value in docs/validity.md)."),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


def is_options(func: Callable) -> Callable:
    return click.option("--splits", "is_splits", type=click.IntRange(min=1), default=DEFAULTS.is_splits,
                        show_default=True, help="IS: chunks the score is averaged over.")(func)  # fmt: skip


def store_options(options: dict[str, Any]) -> dict[str, Any]:
    """CLI flags -> api keywords: the command line caches every input unless --no-cache; --mode and
    --weights split into their plain and NAME=VALUE forms."""
    options["cache"] = not options.pop("no_cache")
    if "mode" in options and isinstance(options["mode"], tuple):
        settings_options(options)
    return options


def real_fake(given: tuple[str, ...], ref: str | None, wanted: tuple[str, ...]) -> tuple[str, ...]:
    """The command's inputs, `--ref NAME` first as the real set; `wanted` names them (REAL, FAKE)."""
    inputs = (f"ref:{ref}", *given) if ref else given
    if len(inputs) != len(wanted):
        hint = " (--ref NAME is the REAL input)" if ref else ""
        raise click.UsageError(f"expected {' '.join(wanted)}{hint}, got {len(inputs)} input(s)")
    return inputs
