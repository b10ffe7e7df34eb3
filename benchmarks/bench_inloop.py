"""FID inside a training loop: `ganeval.Scorer` against torchmetrics' `FrechetInceptionDistance`, one run.

Both get the same generated batches, already on the device (uint8, as a generator's output after
quantisation), the same reference images and the same weights file (torchmetrics loads it through
torch-fidelity's network with `feature_extractor_weights_path`). Timed: building the metric and its
reference (`setup_s`), the updates of the generated batches (`update_s`), `compute()` (`compute_s`); the
reference is real images, passed once with `real=True` to torchmetrics and as `reference=` to ganeval
(without the cache, so both compute it).

    python benchmarks/bench_inloop.py --n-real 200 --n-fake 200 --device cpu           # the CPU table
    python benchmarks/bench_inloop.py --n-real 10000 --n-fake 10000 --device cuda      # the GPU target
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from inputs import weights_with_head  # noqa: E402
from report import append, environment, markdown  # noqa: E402


def sync(device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter()


def cifar_batches(datasets: Path, n_real: int, n_fake: int, batch: int, device: torch.device):
    """Real images and generated batches: CIFAR-10 JPEG training images (real) and test images (fake)."""
    import ganeval

    real = ganeval.load_dataset("cifar10-jpeg", "train", datasets).images
    fake = ganeval.load_dataset("cifar10-jpeg", "test", datasets).images
    pick = np.random.default_rng(0)
    real = real[np.sort(pick.choice(len(real), n_real, replace=False))]
    fake = fake[np.sort(pick.choice(len(fake), min(n_fake, len(fake)), replace=False))]
    return real, [fake[i : i + batch].to(device) for i in range(0, len(fake), batch)]


def run_ganeval(real, batches, weights: Path, device: torch.device, precision: str) -> dict:
    import ganeval

    start = sync(device)
    scorer = ganeval.Scorer(("fid",), reference=real, device=str(device), weights=str(weights),
                            precision=precision, cache=False, progress=False)  # fmt: skip
    setup = sync(device)
    for batch in batches:
        scorer.update(batch)
    updated = sync(device)
    fid = scorer.compute()["fid"]
    done = sync(device)
    label = "ganeval.Scorer" + ("" if precision == "default" else f" ({precision})")
    return {"tool": label, "precision": scorer.extractor.precision, "setup_s": setup - start,
            "update_s": updated - setup, "compute_s": done - updated, "fid": fid}  # fmt: skip


def run_torchmetrics(real, batches, weights: Path, device: torch.device, antialias: bool) -> dict:
    """antialias=False is torchmetrics' TF1-compatible resize (torch-fidelity's); its default, True, resizes
    with PyTorch's antialiased bilinear filter, which is another protocol with other FID values."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    start = sync(device)
    metric = FrechetInceptionDistance(feature=2048, feature_extractor_weights_path=str(weights), antialias=antialias)
    metric = metric.to(device)
    for i in range(0, len(real), 100):
        metric.update(real[i : i + 100].to(device), real=True)
    setup = sync(device)
    for batch in batches:
        metric.update(batch, real=False)
    updated = sync(device)
    fid = float(metric.compute())
    done = sync(device)
    label = "torchmetrics FID" + (" (its default: antialias=True)" if antialias else " (antialias=False: TF1 resize)")
    return {"tool": label, "precision": "float32 (PyTorch default)",
            "setup_s": setup - start, "update_s": updated - setup, "compute_s": done - updated, "fid": fid}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "datasets")
    parser.add_argument("--n-real", type=int, default=200)
    parser.add_argument("--n-fake", type=int, default=200)
    parser.add_argument("--batch", type=int, default=50, help="generated images per update")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--weights", type=Path, default=None)
    parser.add_argument("--data-dir", type=Path, default=Path(".data/bench"))
    parser.add_argument("--precisions", default="default", help="ganeval precisions to run, comma-separated")
    parser.add_argument("--results", type=Path, default=Path(__file__).with_name("RESULTS.md"))
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    weights = weights_with_head(args.weights, args.data_dir)
    real, batches = cifar_batches(args.datasets, args.n_real, args.n_fake, args.batch, device)
    n_fake = sum(len(b) for b in batches)
    records = [run_torchmetrics(real, batches, weights, device, antialias=False)]
    records += [run_torchmetrics(real, batches, weights, device, antialias=True)]
    records += [run_ganeval(real, batches, weights, device, p) for p in args.precisions.split(",")]
    df = pd.DataFrame(records)
    df["fake img/s (update)"] = n_fake / df["update_s"]
    df["update+compute_s"] = df["update_s"] + df["compute_s"]
    ref = df.iloc[0]
    df["abs dFID vs torchmetrics"] = (df["fid"] - ref["fid"]).abs()
    df["speed-up (update+compute)"] = ref["update+compute_s"] / df["update+compute_s"]
    print(df.to_string(index=False))
    if not args.no_append:
        env = environment(args.device)
        command = "python benchmarks/bench_inloop.py " + " ".join(argv if argv is not None else sys.argv[1:])
        facts = ", ".join(f"{k} {v}" for k, v in env.items() if k not in ("date", "device"))
        notes = [
            f"{args.n_real} real (CIFAR-10 JPEG train) and {n_fake} generated images (test split, standing in for "
            f"a generator's output), in batches of {args.batch} already on the device as uint8.",
            "setup_s: building the metric and its reference; torchmetrics gets the reference as real batches.",
            "Ratios and |dFID| are against torchmetrics with antialias=False, the same protocol as ganeval's tf mode; "
            "torchmetrics' default (antialias=True) resizes differently and so gives another FID.",
        ]
        body = [f"## {env['date']}: {env['device']}: in-loop FID (Scorer vs torchmetrics)", "",
                f"Command: `{command}`", "", f"Environment: {facts}.", "", markdown(df), ""]  # fmt: skip
        append(args.results, "\n".join(body + [f"- {n}" for n in notes] + [""]))


if __name__ == "__main__":
    main()
