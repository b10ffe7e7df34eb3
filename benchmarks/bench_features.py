"""Extraction speed per feature space, and one decode feeding several spaces against separate runs.

    python benchmarks/bench_features.py --n 64 --device cpu
    python benchmarks/bench_features.py --n 2000 --device cuda --spaces all      # on a GPU

Inputs: the first `--n` lossless CIFAR-10 images written once as PNGs (so decoding is part of the time, as
for a user's folder). Weights: the Inception file ganeval resolves, and seeded random weights in the
official layouts of the other networks at their official sizes (speed does not depend on the values; the
development machines cannot download the real files). Rows:

- one per space: `ganeval.score(..., metrics="fd", features=SPACE)` on the generated set only (the
  statistics of one input), images per second of decode + preprocessing + forward;
- `separate`: the chosen spaces one after the other, each decoding the images again;
- `together`: the same spaces in one call (`--metrics` with one metric per space), each image decoded once.

Prints a table and appends it, with the environment and the exact command, to RESULTS.md.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd
import torch
from inputs import DATASETS, cifar10_exact
from report import append, environment, markdown, section

import ganeval

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from tests.layouts import dinov2_state, write_clip_torchscript, write_vgg16  # noqa: E402

# Official sizes: (width, depth) for DINOv2; (width, depth, patch, grid, embed) for CLIP.
DINOV2 = {"dinov2-vit-s-14": (384, 12), "dinov2-vit-b-14": (768, 12), "dinov2-vit-l-14": (1024, 24)}
CLIP = {"clip-vit-b-32": (768, 12, 32, 7, 512), "clip-vit-l-14-336": (1024, 24, 14, 24, 768)}
DEFAULT = ("inception", "inception-spatial", "dinov2-vit-s-14", "dinov2-vit-l-14", "clip-vit-b-32", "vgg16")


def seeded_weights(space: str, folder: Path) -> Path | None:
    if space in DINOV2:
        path = folder / f"{space}.pth"
        if not path.exists():
            torch.save(dinov2_state(*DINOV2[space], seed=1), path)
        return path
    if space in CLIP:
        path = folder / f"{space}.pt"
        return path if path.exists() else write_clip_torchscript(path, *CLIP[space], seed=1)
    if space == "vgg16":
        path = folder / "vgg16.pth"
        return path if path.exists() else write_vgg16(path, seed=1)
    return None


def timed(folder: Path, spaces: list[str], weights: dict[str, Path], args: argparse.Namespace) -> float:
    metrics = ",".join("sfid" if s == "inception-spatial" else "fd" for s in spaces)
    options = {"device": args.device, "batch_size": args.batch_size, "progress": False, "cache": False,
               "weights": {s: str(p) for s, p in weights.items() if s in spaces}}  # fmt: skip
    if len(spaces) == 1 and spaces[0] not in ("inception", "inception-spatial"):
        options["features"] = spaces[0]
    elif len(spaces) > 1:  # one view per space: fd reads --features, the Inception spaces their own metrics
        generic = [s for s in spaces if s not in ("inception", "inception-spatial")]
        metrics = ",".join(["fid"] * ("inception" in spaces) + ["sfid"] * ("inception-spatial" in spaces))
        extra = {"dinov2-vit-l-14": "fd_dinov2", "clip-vit-l-14-336": "cmmd"}
        metrics = ",".join([m for m in (metrics, *[extra[s] for s in generic if s in extra]) if m])
        rest = [s for s in generic if s not in extra]
        if len(rest) > 1:
            raise SystemExit("together: at most one space besides inception, dinov2-vit-l-14 and clip-vit-l-14-336")
        if rest:
            metrics += ",fd"
            options["features"] = rest[0]
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ganeval.score(folder, folder, metrics, **options)  # both sides: the same folder, computed twice
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=64, help="images (each row reads them twice: REAL and FAKE)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--spaces", default=",".join(DEFAULT), help="comma-separated spaces, or 'all'")
    parser.add_argument(
        "--together",
        default="inception,dinov2-vit-l-14,clip-vit-l-14-336",
        help="spaces for the separate/together rows (empty: skip)",
    )
    parser.add_argument("--data-dir", type=Path, default=HERE.parent / ".data" / "bench")
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    spaces = list(ganeval.SPACES) if args.spaces == "all" else [s for s in args.spaces.split(",") if s]
    together = [s for s in args.together.split(",") if s]
    folder, _ = cifar10_exact(DATASETS, args.data_dir, args.n, 1)
    rows = []
    with tempfile.TemporaryDirectory(prefix="ganeval-bench-weights-") as tmp:
        weights = {s: p for s in {*spaces, *together} if (p := seeded_weights(s, Path(tmp))) is not None}
        for space in spaces:
            seconds = timed(folder, [space], weights, args)
            rows.append({"run": space, "images": 2 * args.n, "seconds": seconds, "img/s": 2 * args.n / seconds})
            print(rows[-1], file=sys.stderr)
        if together:
            separate = sum(timed(folder, [s], weights, args) for s in together)
            joint = timed(folder, together, weights, args)
            for name, seconds in (("separate: " + ", ".join(together), separate), ("together (one decode)", joint)):
                rows.append({"run": name, "images": 2 * args.n, "seconds": seconds, "img/s": 2 * args.n / seconds})
            rows[-1]["speed-up"] = separate / joint
    table = pd.DataFrame(rows)
    print(markdown(table))
    if not args.no_append:
        command = "python benchmarks/bench_features.py " + shlex.join(sys.argv[1:])
        notes = ["seeded weights at the official sizes (speed does not depend on the values)",
                 "each run scores the folder against itself: both sides are extracted (2 x n images)"]  # fmt: skip
        append(args.results, section(table, environment(args.device), command, notes, "feature spaces"))


if __name__ == "__main__":
    main()
