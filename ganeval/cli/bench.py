"""`ganeval benchmark` (many inputs against one reference, into JSON lines) and `ganeval report` (tables)."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from ganeval.cli.errors import friendly_errors
from ganeval.cli.model_options import model_options, pop_model_options
from ganeval.cli.options import (
    is_options,
    kid_options,
    knn_options,
    memorization_options,
    metric_options,
    settings_options,
    source_options,
    store_options,
)
from ganeval.cli.precheck import precheck
from ganeval.cli.torchrun import torchrun_aware
from ganeval.config import METRICS


@click.command("benchmark")
@click.argument("inputs", nargs=-1, metavar="[INPUT]...")
@click.option(
    "--inputs",
    "inputs_file",
    type=click.Path(exists=True, dir_okay=False),
    help="A text file listing inputs, one per line (# comments).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    required=True,
    help="JSON lines file; appended to, and read on start to skip what is already in it.",
)
@click.option(
    "--metrics",
    default=None,
    help=f"Comma-separated subset of {','.join(METRICS)} [default: fid,kid; with --protocol, its metrics].",
)
@click.option(
    "--samples",
    type=click.IntRange(min=2),
    default=10_000,
    show_default=True,
    help="Images sampled from each checkpoint.",
)
@click.option(
    "--samples-per-class",
    type=click.IntRange(min=2),
    default=None,
    help="Conditional checkpoints: images per class (intra-FID).",
)
@click.option(
    "--repeats",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Seeds per input (--seed, --seed+1, ...): new noise for generators, new KID subsets for all.",
)
@click.option(
    "--format",
    "stylegan_jsonl",
    type=click.Choice(("ganeval", "stylegan")),
    default="ganeval",
    show_default=True,
    help="stylegan: also append StyleGAN's metric-NAME.jsonl lines (results, metric, total_time, snapshot_pkl, "
    "timestamp) to OUT's folder, e.g. metric-fid10k_full.jsonl.",
)
@model_options
@memorization_options
@is_options
@kid_options
@knn_options
@metric_options
@source_options
@friendly_errors("interrupted (run the same command again to continue)")
@torchrun_aware
def benchmark_command(inputs: tuple[str, ...], inputs_file: str | None, out: str, metrics: str, samples: int,
                      samples_per_class: int | None, repeats: int, stylegan_jsonl: str, ref: str | None,
                      as_json: bool, quiet: bool, **options: Any) -> None:  # fmt: skip
    """Score image folders, archives, arrays, checkpoints and training-run folders against one reference.

    The reference is --ref NAME, or the first INPUT when --ref is not given (REAL, then the FAKE inputs). A
    training-run folder (written by `ganeval train-baseline`) expands to each checkpoint it holds, with its
    training step. One JSON line per (input, repeat) is appended to --out as each finishes; running the
    same command again scores only what is missing (or changed), so an interrupted benchmark continues.
    A failing input is recorded as an error and the others go on; the exit status is 1 if any failed.
    Under torchrun every input's sampling and extraction is sharded over the ranks and rank 0 writes.
    """
    from ganeval.benchmark import read_input_list
    from ganeval.cli.metrics import default_metrics

    metrics = default_metrics(metrics, options["protocol"], fallback="fid,kid")
    given = list(inputs) + (read_input_list(inputs_file) if inputs_file else [])
    if ref:
        reference = f"ref:{ref}"
    elif given:
        reference, given = given[0], given[1:]
    else:
        raise click.UsageError("give --ref NAME or a REAL input, then the inputs to score")
    if not given:
        raise click.UsageError("no inputs to score")
    folder = (os.path.dirname(out) or ".") if stylegan_jsonl == "stylegan" else None
    model = pop_model_options(options)
    settings_options(options)
    precheck([reference, *given], metrics, options, options.get("train"))  # before torch is imported
    from ganeval.benchmark import Benchmark, expand_inputs
    from ganeval.report import render, summary

    bench = Benchmark(reference, metrics, samples=samples, samples_per_class=samples_per_class, repeats=repeats,
                      progress=not quiet, stylegan_dir=folder, model_options=model,
                      **store_options(options))  # fmt: skip
    records, failures = bench.run(expand_inputs(given), out)
    ok = [r for r in records if r.get("status") == "ok"]
    if ok:
        click.echo(render(summary(ok), "json" if as_json else "md"))
    if failures:
        click.echo(f"ganeval: {failures} input(s) failed; their error lines are in {out}", err=True)
        sys.exit(1)


@click.command("report")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False), metavar="FILE...")
@click.option("--format", "fmt", type=click.Choice(("md", "csv", "json", "latex")), default="md", show_default=True)
@click.option("--sort", default=None, metavar="METRIC", help="Order rows by a metric, best first.")
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="PNG of each metric against training step, one line per run (inputs without a step as dashed lines); "
    "a bar chart per input when no record has a step.",
)
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="One self-contained HTML page (images inlined, no scripts, nothing fetched): the tables with intervals, "
    "the curves, a sample grid per input, the per-class FIDs, the copies view.",
)
@friendly_errors()
def report_command(
    files: tuple[str, ...], fmt: str, sort: str | None, plot_path: str | None, html_path: str | None
) -> None:
    """Tables of `ganeval benchmark` results: one row per input (mean ± std over repeats), best values marked.

    FILE is a JSON-lines file of `ganeval benchmark --out`, or a training run's metrics.csv (its in-loop
    evaluations and losses by step, e.g. `ganeval report runs/wgan-gp/metrics.csv --plot fid.png`). Several
    files combine; records computed with different settings (weights, mode, reference, precision, metric
    options) are put in separate tables, each introduced by what differs.
    """
    from ganeval import report

    records = report.load(list(files))
    grouped = report.groups(records)
    notes = report.differences(grouped) if len(grouped) > 1 else [""]
    for (_, members), note in zip(grouped, notes, strict=True):
        if note and fmt in ("md", "latex"):
            click.echo(f"\nSettings: {note}\n")
        click.echo(report.render(report.summary(members, sort=sort), fmt))
    problems = report.errors(records)
    if problems and fmt in ("md", "latex"):
        click.echo("\nFailed inputs:\n" + "\n".join(f"- {p}" for p in problems))
    if plot_path:
        drawn = report.plot(records, plot_path)
        click.echo(f"ganeval: wrote {plot_path}: {drawn}", err=True)
    if html_path:
        from ganeval.html_report import write_html_report

        click.echo(f"ganeval: wrote {write_html_report(records, html_path)}", err=True)
