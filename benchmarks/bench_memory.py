"""Peak host and GPU memory of FID statistics against the number and size of images.

    python benchmarks/bench_memory.py --device cuda --runs 10000x32,100000x32,400000x32,2000x1024

Each run (N images of S x S pixels) is a fresh child process computing pool3 statistics of a synthetic
source that makes image i from seed i on demand, in decoding workers like files would be: nothing holds
all N images, so any growth with N would be the pipeline's own. Prints a table and appends it to
RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from report import append, environment, section

from ganeval.extractor import InceptionExtractor
from ganeval.sources.base import ImageSource

HERE = Path(__file__).resolve().parent
PREFIX = "MEMORY-RECORD "


class SyntheticSource(ImageSource):
    """N smooth random images (8 x 8 noise upsampled), image i from seed i: reproducible, never stored."""

    def __init__(self, n: int, size: int):
        self.n, self.size = n, size

    def __len__(self) -> int:
        return self.n

    def load(self, index: int) -> np.ndarray:
        coarse = np.random.default_rng(index).integers(0, 256, (8, 8, 3), dtype=np.uint8)
        reps = -(-self.size // 8)
        return np.ascontiguousarray(coarse.repeat(reps, 0).repeat(reps, 1)[: self.size, : self.size])

    def describe(self, index: int) -> str:
        return f"synthetic[{index}]"

    @property
    def fingerprint(self) -> str:
        return f"synthetic-{self.n}-{self.size}"

    @property
    def decodes(self) -> bool:
        return True  # stands in for files: decoded in worker processes


def child(n: int, size: int, device: str, workers: int | None) -> dict:
    extractor = InceptionExtractor(None, "tf", device)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    out = extractor.extract(SyntheticSource(n, size), stats=True, workers=workers, progress=False)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    record = {
        "images": n,
        "pixels": f"{size}x{size}",
        "seconds": seconds,
        "img/s": n / seconds,
        "rss_before_mib": before,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "trace_sigma": float(np.trace(out.stats.sigma)),
    }
    if device.startswith("cuda"):
        record["gpu_peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return record


def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--runs", default="10000x32,100000x32,2000x1024", help="comma-separated NxSIZE")
    p.add_argument("--workers", type=int, help="decoding workers (default: ganeval's)")
    p.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    p.add_argument("--no-append", action="store_true")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        n, size = map(int, args.child.split("x"))
        print(PREFIX + json.dumps(child(n, size, args.device, args.workers)), flush=True)
        return
    rows = []
    for run in args.runs.split(","):
        cmd = [sys.executable, __file__, "--child", run, "--device", args.device]
        cmd += ["--workers", str(args.workers)] if args.workers is not None else []
        done = subprocess.run(cmd, capture_output=True, text=True)
        lines = [ln for ln in done.stdout.splitlines() if ln.startswith(PREFIX)]
        if done.returncode or not lines:
            sys.stderr.write(done.stderr[-3000:])
            raise SystemExit(f"run {run} failed")
        rows.append(json.loads(lines[-1][len(PREFIX) :]))
        print(rows[-1], file=sys.stderr, flush=True)
    df = pd.DataFrame(rows)
    print(df.to_string(index=False))
    command = "python benchmarks/bench_memory.py " + shlex.join(argv)
    notes = [
        "One child process per row; rss_before_mib: after loading torch and the network; peak_rss_mib: the "
        "process's high-water mark (decoding workers are separate processes, each bounded by its queue).",
    ]
    title = "memory against N and image size (FID statistics)"
    text = section(df, environment(args.device), command, notes, title=title)
    if not args.no_append:
        append(args.results, text)


if __name__ == "__main__":
    main(sys.argv[1:])
