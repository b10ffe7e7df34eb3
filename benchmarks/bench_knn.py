"""Memory and time of the k-NN metrics against N: ganeval's blockwise precision/recall/density/coverage and
the `prdc` package (which builds the N x N distance matrices whole), each size in a fresh process.

    python benchmarks/bench_knn.py --sizes 2000,5000,10000,20000 --prdc-sizes 2000,5000,10000

Features are seeded random 2048-d float32 rows (|N(0, 1)|, like post-ReLU pool3 activations); real and
generated sets of N rows each. peak_rss_mib is the process's ru_maxrss, including Python and torch.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import append, environment, section  # noqa: E402

DIM = 2048


def measure(tool: str, n: int) -> dict:
    """One tool at one size in this process (called in a child)."""
    import numpy as np

    rng = np.random.default_rng(n)
    real = np.abs(rng.standard_normal((n, DIM), dtype=np.float32))
    fake = np.abs(rng.standard_normal((n, DIM), dtype=np.float32)) * 1.05
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    if tool == "ganeval":
        import ganeval

        out = ganeval.precision_recall_density_coverage(real, fake, device="cpu")
    else:
        from prdc import compute_prdc

        out = compute_prdc(real, fake, nearest_k=5)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"tool": tool, "n": n, "seconds": round(seconds, 2), "peak_rss_mib": round(peak, 1),
            "rss_before_mib": round(base, 1), **{k: round(float(v), 6) for k, v in out.items()}}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,5000,10000,20000")
    parser.add_argument("--prdc-sizes", default="2000,5000,10000")
    parser.add_argument("--results", default=str(Path(__file__).with_name("RESULTS.md")))
    parser.add_argument("--no-append", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("TOOL", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child[0], int(args.child[1]))))
        return
    jobs = [("ganeval", int(n)) for n in args.sizes.split(",") if n]
    jobs += [("prdc", int(n)) for n in args.prdc_sizes.split(",") if n]
    rows = []
    for tool, n in jobs:
        out = subprocess.run([sys.executable, __file__, "--child", tool, str(n)], capture_output=True, text=True)
        if out.returncode != 0:
            rows.append({"tool": tool, "n": n, "error": out.stderr.strip().splitlines()[-1][:120]})
        else:
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    df = pd.DataFrame(rows)
    print(df.to_string(index=False))
    if not args.no_append:
        notes = [
            "Real and generated sets of N rows each, 2048-d; ganeval: pr (k = 3) and dc (k = 5) in one call, "
            "float64 blocks of 4096 x 4096; prdc: density/coverage and its precision/recall with k = 5.",
            "ganeval's memory is the two feature sets in float64 (2 x N x 2048 x 8 bytes: 1.56 GiB at N = 50,000) "
            "plus a few 4096 x 4096 float64 blocks (128 MiB each), whatever N is; prdc's N x N float32 matrices "
            "(three of them) grow as N^2: 9.3 GiB each at N = 50,000.",
        ]
        command = "python benchmarks/bench_knn.py " + " ".join(sys.argv[1:])
        append(args.results, section(df, environment("cpu"), command, notes, "k-NN metrics against N"))


if __name__ == "__main__":
    main()
