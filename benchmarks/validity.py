"""Metric validity: Heusel et al. (2017) Figure 1 disturbances, and FID/KID against the sample count.

    python benchmarks/validity.py --dataset cifar10-jpeg --data-root ../shared/datasets --device cuda --out docs/

Disturbances: a clean reference of `--n` training images against `--n` other training images disturbed at
each level (`ganeval.disturbances`), FID, KID and (with classifier weights) IS at each level; FID and KID
must rise with the level. Sample count: FID and KID between N training and N test images for N from 500
to 10,000, showing FID's bias in N and KID's lack of it. Writes, under `--out`, CSV files, a JSON summary
(with the monotonicity verdicts) and PNG plots (`ganeval.plots`); `--replot DIR` redraws the plots of DIR
from its CSV files without computing anything.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganeval.disturbances import DISTURBANCES, disturb
from ganeval.extractor import InceptionExtractor
from ganeval.metrics import fid_from_features, inception_score, kernel_inception_distance
from ganeval.sources import open_dataset

LEVELS = (0.0, 0.25, 0.5, 0.75, 1.0)
SAMPLE_COUNTS = (500, 1000, 2000, 5000, 10000)
# The other data set whose images contaminate each one (resized to its size).
CONTAMINANT = {
    "fashion-mnist": "mnist",
    "mnist": "fashion-mnist",
    "cifar10-jpeg": "mnist",
    "cifar10": "mnist",
}


def load_subset(name: str, split: str, data_root: str | None, n: int, seed: int) -> np.ndarray:
    """`n` images of `name:split` chosen at random (files can be ordered by class), as uint8 N x H x W x 3."""
    source = open_dataset(name, split, data_root=data_root, download=False)
    n = min(n, len(source))
    picked = np.sort(np.random.default_rng(seed).choice(len(source), n, replace=False))
    return np.stack([source.load(int(i)) for i in picked])


def resized(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bicubic PIL resize of each image to (height, width), for contaminants of another size."""
    if images.shape[1:3] == size:
        return images
    return np.stack([np.asarray(Image.fromarray(im).resize(size[::-1], Image.BICUBIC)) for im in images])


def features(extractor: InceptionExtractor, images: np.ndarray) -> tuple[torch.Tensor, torch.Tensor | None]:
    """pool3 (and logits when the weights have the classifier) of uint8 N x H x W x 3 images."""
    pool3, logits = [], []
    for start in range(0, len(images), extractor.batch_size):
        batch = torch.from_numpy(images[start : start + extractor.batch_size]).permute(0, 3, 1, 2).contiguous()
        p, lg = extractor.forward(batch, with_logits=extractor.has_head)
        pool3.append(p.cpu())
        if lg is not None:
            logits.append(lg.cpu())
    return torch.cat(pool3), (torch.cat(logits) if logits else None)


def metrics(reference: torch.Tensor, pool3: torch.Tensor, logits: torch.Tensor | None, seed: int) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rank deficiency at small N is part of what is shown
        fid = fid_from_features(reference, pool3)
    kid_mean, kid_std = kernel_inception_distance(
        reference, pool3, subset_size=min(1000, len(reference), len(pool3)), seed=seed
    )
    row = {"fid": fid, "kid_mean": kid_mean, "kid_std": kid_std, "is_mean": "", "is_std": ""}
    if logits is not None:
        row["is_mean"], row["is_std"] = inception_score(logits, seed=seed)
    return row


def disturbance_grid(args, extractor: InceptionExtractor) -> list[dict]:
    both = load_subset(args.dataset, "train", args.data_root, 2 * args.n, args.seed)
    # Alternate picks, not halves: the picks are in file order, which can be by class (cifar10-jpeg).
    clean, base = both[0::2], both[1::2]
    other = load_subset(CONTAMINANT[args.dataset], "train", args.data_root, args.n, args.seed + 1)
    other = resized(other, clean.shape[1:3])
    reference, _ = features(extractor, clean)
    level0 = features(extractor, base)
    rows = []
    for name in args.disturbances:
        for level in LEVELS:
            start = time.perf_counter()
            if level == 0:
                pool3, logits = level0
            else:
                options = {"other": other} if name == "contamination" else {}
                pool3, logits = features(extractor, disturb(name, base, level, seed=args.seed, **options))
            row = {"disturbance": name, "level": level, "n": len(base), **metrics(reference, pool3, logits, args.seed)}
            rows.append(row)
            print(f"{name:17s} level {level:.2f}: FID {row['fid']:9.3f}  KID {row['kid_mean']:.5f} "
                  f"({time.perf_counter() - start:.0f} s)", file=sys.stderr)  # fmt: skip
    return rows


def sample_counts(args, extractor: InceptionExtractor) -> list[dict]:
    largest = max(args.sample_counts)
    train, _ = features(extractor, load_subset(args.dataset, "train", args.data_root, largest, args.seed + 2))
    test, _ = features(extractor, load_subset(args.dataset, "test", args.data_root, largest, args.seed + 3))
    rows = []
    for n in args.sample_counts:
        if n > min(len(train), len(test)):
            continue
        row = {"n": n, **metrics(train[:n], test[:n], None, args.seed)}
        rows.append(row)
        print(f"N {n:6d}: FID {row['fid']:9.3f}  KID {row['kid_mean']:.5f}", file=sys.stderr)
    return rows


def monotone(rows: list[dict], key: str) -> dict[str, bool]:
    """Per disturbance: does `key` strictly increase with the level?"""
    verdict = {}
    for name in dict.fromkeys(r["disturbance"] for r in rows):
        values = [r[key] for r in rows if r["disturbance"] == name]
        verdict[name] = all(a < b for a, b in zip(values, values[1:], strict=False))
    return verdict


def write_csv(rows: list[dict], path: Path) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def plot_disturbances(rows: list[dict], path: Path) -> None:
    """FID (top row) and KID (bottom row) against the level, one panel per disturbance."""
    from ganeval.plots import Panel, save_panels

    names = list(dict.fromkeys(r["disturbance"] for r in rows))
    panels = []
    for key, label in (("fid", "FID"), ("kid_mean", "KID")):
        for name in names:
            part = [r for r in rows if r["disturbance"] == name]
            series = {label: ([float(r["level"]) for r in part], [float(r[key]) for r in part])}
            panels.append(Panel(f"{label}: {name}", series, "level", label))
    save_panels(panels, path, columns=len(names), panel_size=(3.2, 2.6))


def plot_samples(rows: list[dict], path: Path) -> None:
    """FID and KID between train and test against the number of images (log axis)."""
    from ganeval.plots import Panel, save_panels

    ns = [float(r["n"]) for r in rows]
    panels = [
        Panel("FID (train vs test) against N", {"FID": (ns, [float(r["fid"]) for r in rows])}, "N", "FID",
              xscale="log", yscale="log"),
        Panel("KID (train vs test) against N", {"KID": (ns, [float(r["kid_mean"]) for r in rows])}, "N", "KID",
              xscale="log"),
    ]  # fmt: skip
    save_panels(panels, path, columns=2)


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def replot(folder: Path) -> list[Path]:
    """Every validity figure in `folder` drawn again from its committed CSV; returns the PNGs written."""
    written = []
    for table in sorted(folder.glob("validity_*_disturbances.csv")):
        plot_disturbances(read_csv(table), table.with_suffix(".png"))
        written.append(table.with_suffix(".png"))
    for table in sorted(folder.glob("validity_*_samples.csv")):
        plot_samples(read_csv(table), table.with_suffix(".png"))
        written.append(table.with_suffix(".png"))
    return written


def _names(text: str) -> list[str]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [n for n in names if n not in DISTURBANCES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown disturbance(s) {unknown}; choose from {', '.join(DISTURBANCES)}")
    return names


def _ints(text: str) -> list[int]:
    return sorted(int(t) for t in text.split(",") if t.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=sorted(CONTAMINANT))
    parser.add_argument("--replot", type=Path, help="redraw the figures of this folder from its CSVs, then stop")
    parser.add_argument("--data-root", help="folder holding the datasets (default: $GANEVAL_DATA)")
    parser.add_argument("--n", type=int, default=10000, help="images per set in the disturbance grid")
    parser.add_argument("--device", default=None, help="cuda or cpu (default: cuda when available)")
    parser.add_argument("--weights", default=None, help="Inception weights; IS needs the classifier head")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--skip-samples", action="store_true", help="only the disturbance grid")
    parser.add_argument("--disturbances", type=_names, default=list(DISTURBANCES), help="comma-separated subset")
    parser.add_argument("--sample-counts", type=_ints, default=list(SAMPLE_COUNTS), help="comma-separated N")
    parser.add_argument("--out", type=Path, default=Path("docs"))
    args = parser.parse_args(argv)
    if args.replot:
        for path in replot(args.replot):
            print(f"wrote {path}", file=sys.stderr)
        return 0
    if not args.dataset:
        parser.error("--dataset is required (or --replot DIR)")
    args.out.mkdir(parents=True, exist_ok=True)
    extractor = InceptionExtractor(args.weights, mode="tf", device=args.device, batch_size=args.batch_size)
    prefix = args.out / f"validity_{args.dataset}"
    started = time.perf_counter()

    grid = disturbance_grid(args, extractor)
    write_csv(grid, prefix.with_name(prefix.name + "_disturbances.csv"))
    plot_disturbances(grid, prefix.with_name(prefix.name + "_disturbances.png"))
    summary = {
        "dataset": args.dataset,
        "n": grid[0]["n"],
        "device": str(extractor.device),
        "weights_sha256": extractor.weights_sha256,
        "fid_rises": monotone(grid, "fid"),
        "kid_rises": monotone(grid, "kid_mean"),
    }

    if not args.skip_samples:
        counts = sample_counts(args, extractor)
        write_csv(counts, prefix.with_name(prefix.name + "_samples.csv"))
        plot_samples(counts, prefix.with_name(prefix.name + "_samples.png"))
        summary["samples"] = counts

    summary["seconds"] = round(time.perf_counter() - started, 1)
    prefix.with_name(prefix.name + ".json").write_text(json.dumps(summary, indent=2) + "\n")
    ok = all(summary["fid_rises"].values()) and all(summary["kid_rises"].values())
    print(f"FID and KID rise with every disturbance: {ok}; wrote {prefix}_*", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
