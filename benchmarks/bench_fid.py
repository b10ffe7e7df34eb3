"""Time ganeval, torch-fidelity and pytorch-fid on the same two image folders and the same weights.

    python benchmarks/bench_fid.py --cifar10 exact --n 64 --device cpu --batch-size 32
    python benchmarks/bench_fid.py --cifar10 jpeg --n 50000 --n-b 10000 --device cuda --batch-size 200
    python benchmarks/bench_fid.py real/ fake/ --metrics fid,kid

Each tool runs in its own child process (peak RSS is a per-process high-water mark, so tools sharing a
process would inherit each other's peak); `--same-process` runs them here instead and drops that column.
The table is printed and appended to benchmarks/RESULTS.md with the environment and this command line.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import torch
from inputs import DATASETS, ROOT, cifar10_exact, cifar10_jpeg, image_files, weights_with_head
from report import append, environment, section, table
from runners import RUNNERS, Job, rss_mib

HERE = Path(__file__).resolve().parent
RECORD_PREFIX = "BENCH-RECORD "
DEFAULT_TOOLS = "ganeval,torch-fidelity,pytorch-fid"


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("a", nargs="?", type=Path, help="first image folder (png/jpg); or use --cifar10")
    p.add_argument("b", nargs="?", type=Path, help="second image folder")
    p.add_argument("--cifar10", choices=("exact", "jpeg"), help="build A and B from ../shared/datasets")
    p.add_argument("--n", type=int, default=1000, help="images per side with --cifar10 (default 1000)")
    p.add_argument("--n-b", type=int, help="images in B with --cifar10 (default: --n)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--batch-size", type=int, help="for the anchors (default 200 on a GPU, 32 on the CPU)")
    p.add_argument(
        "--ganeval-batch-size",
        type=int,
        help="ganeval's batch on a GPU (default: its own, 500); on the CPU every tool uses --batch-size",
    )
    p.add_argument(
        "--workers",
        type=int,
        help="decoding processes for pytorch-fid (default: min(4, 2 x CPUs) on the CPU, which torch-fidelity "
        "always uses; min(8, CPUs - 1) on a GPU)",
    )
    p.add_argument(
        "--ganeval-workers",
        type=int,
        help="decoding processes for ganeval [default: its own, 1 on the CPU from 1,000 files]; "
        "tools ganeval-w0/w1/w2/w4 sweep them",
    )
    p.add_argument("--metrics", default="fid", help="comma-separated: fid, kid, is (pytorch-fid does FID only)")
    p.add_argument("--tools", default=DEFAULT_TOOLS, help=f"comma-separated from {', '.join(RUNNERS)}")
    p.add_argument("--weights", type=Path, help="Inception weights (default: ganeval's resolution order)")
    p.add_argument("--data-dir", type=Path, default=ROOT / ".data" / "bench", help="built inputs and weights")
    p.add_argument(
        "--datasets",
        type=Path,
        default=DATASETS,
        help="the shared datasets (default: $GANEVAL_DATA or ../shared/datasets)",
    )
    p.add_argument("--same-process", action="store_true", help="run every tool in this process")
    p.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    p.add_argument("--no-append", action="store_true", help="print only")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--job", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def make_job(args: argparse.Namespace) -> Job:
    if args.cifar10:
        build = cifar10_exact if args.cifar10 == "exact" else cifar10_jpeg
        a, b = build(args.datasets, args.data_dir, args.n, args.n_b or args.n)
    elif args.a and args.b:
        a, b = args.a, args.b
    else:
        raise SystemExit("give two folders, or --cifar10 exact|jpeg")
    n_a, n_b = len(image_files(a)), len(image_files(b))
    metrics = tuple(m.strip() for m in args.metrics.split(",") if m.strip())
    cuda = torch.device(args.device).type == "cuda"
    cpus = os.cpu_count() or 1
    workers = args.workers if args.workers is not None else (max(1, min(8, cpus - 1)) if cuda else min(4, 2 * cpus))
    return Job(
        a=a,
        b=b,
        weights=weights_with_head(args.weights, args.data_dir),
        device=args.device,
        batch_size=args.batch_size or (200 if cuda else 32),
        workers=workers,
        metrics=metrics,
        kid_subset_size=min(1000, n_a, n_b),
        ganeval_batch_size=args.ganeval_batch_size,
        ganeval_workers=args.ganeval_workers,
    )


def run_child(tool: str, job_json: str) -> None:
    """Child process: import every tool first (same baseline for all), run one, print its record."""
    import pytorch_fid.fid_score  # noqa: F401
    import torch_fidelity  # noqa: F401

    import ganeval  # noqa: F401

    fields = json.loads(job_json)
    job = Job(**{**fields, "a": Path(fields["a"]), "b": Path(fields["b"]), "weights": Path(fields["weights"])})
    baseline = rss_mib()
    record = RUNNERS[tool](job)
    record["rss_after_imports_mib"] = baseline
    print(RECORD_PREFIX + json.dumps(record), flush=True)


def run_isolated(tool: str, job: Job) -> dict:
    job_json = json.dumps({k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(job).items()})
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", tool, "--job", job_json]
    done = subprocess.run(cmd, capture_output=True, text=True)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith(RECORD_PREFIX)]
    if done.returncode != 0 or not lines:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"{tool} failed (exit {done.returncode})")
    return json.loads(lines[-1][len(RECORD_PREFIX) :])


def _short(path: Path) -> str:
    """`path` relative to the repository when inside it, so RESULTS.md does not name this machine's layout."""
    resolved = path.resolve()
    return str(resolved.relative_to(ROOT)) if resolved.is_relative_to(ROOT) else str(path)


def _ganeval_batch(records: list[dict], job: Job) -> str:
    batches = sorted({int(r["batch"]) for r in records if r.get("batch")})
    return ", ".join(map(str, batches)) or str(job.batch_size)


def notes(job: Job, same_process: bool, records: list[dict]) -> list[str]:
    out = [
        f"A = {_short(job.a)} ({len(image_files(job.a))} images), "
        f"B = {_short(job.b)} ({len(image_files(job.b))} images); "
        f"batch {job.batch_size} for the anchors, {_ganeval_batch(records, job)} for ganeval; {job.workers} decode "
        "workers for pytorch-fid (torch-fidelity always uses min(4, 2 x CPUs)), ganeval "
        f"{'its default' if job.ganeval_workers is None else job.ganeval_workers} unless the row says, "
        f"weights {job.weights.name} ({job.weights.stat().st_size // 2**20} MiB).",
        "seconds: end to end from model load to the last metric (imports excluded), but for the command-line rows: "
        "a fresh process timed from start to exit, as a user runs it; img/s: both inputs' images "
        "over the decode + forward time only (extract_s); rest_s: listing files and the metric itself; "
        "speed-up: torch-fidelity seconds / tool seconds.",
        "mode: preprocessing; pytorch-fid resizes like ganeval's `pytorch` mode, so its FID differs from the "
        "`tf` tools by design (add `--tools ganeval-pytorch` for the like-for-like row).",
    ]
    if same_process:
        out.append("All tools ran in one process, so peak memory is not reported.")
    else:
        base = max(r.get("rss_after_imports_mib", 0) for r in records)
        out.append(
            "Each tool ran in its own process; peak_rss_mib is that process's ru_maxrss, including about "
            f"{base:.0f} MiB of Python, torch and the three packages imported before the clock starts."
        )
    return out


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    if args.child:
        run_child(args.child, args.job)
        return
    job = make_job(args)
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = [t for t in tools if t not in RUNNERS]
    if unknown:
        raise SystemExit(f"unknown tool(s) {', '.join(unknown)}; choose from {', '.join(RUNNERS)}")
    if "fid" not in job.metrics:
        tools = [t for t in tools if t != "pytorch-fid"]
    records = []
    for tool in tools:
        print(f"running {tool} ...", file=sys.stderr, flush=True)
        records.append(RUNNERS[tool](job) if args.same_process else run_isolated(tool, job))
    df = table(records)
    if args.same_process:
        df = df.drop(columns=["peak_rss_mib"], errors="ignore")
    df = df.drop(columns=["rss_after_imports_mib"], errors="ignore")
    print(df.to_string(index=False))
    command = "python benchmarks/bench_fid.py " + shlex.join(argv)
    text = section(df, environment(job.device), command, notes(job, args.same_process, records))
    if not args.no_append:
        append(args.results, text)
        print(f"appended to {args.results}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
