"""Do precision/recall, density/coverage and intra-FID behave as their papers say? Real data, one run.

    python benchmarks/validity_prdc.py --dataset fashion-mnist --n 1000 --out docs/
    python benchmarks/validity_prdc.py --replot docs/          # the figures again, from the CSVs

Real set: `--n` test images; generated stand-ins built from other test images (every image's pool3
features computed once):

- mode dropping: `--n` other test images drawn, without replacement, from the classes left after removing
  0, 2, 5, 8 of the 10: recall and coverage should fall with the share removed, precision and density
  stay near their level-0 values, FID rise (Kynkäänniemi et al. 2019; Naeem et al. 2020);
- fidelity loss: Gaussian noise and Gaussian blur (`ganeval.disturbances`) at levels 0.25, 0.5, 1:
  precision and density should fall;
- outliers: the real set with 2 % and 5 % of its images replaced by strongly disturbed ones (noise at
  level 1): Naeem et al.'s argument is that precision and recall move more than density and coverage;
- intra-FID: the generated set with its true labels, and with labels shuffled (a conditional generator
  that ignores its label): FID is the same images' FID either way, intra-FID must rise.

Writes validity_prdc_<dataset>.csv (one row per condition), .json (the verdicts) and .png under `--out`.
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

HERE = Path(__file__).resolve().parent
METRICS = ("precision", "recall", "density", "coverage", "fid")
DROPPED = (0, 2, 5, 8)
LEVELS = (0.25, 0.5, 1.0)
OUTLIERS = (0.02, 0.05)


def pool3(extractor, images: np.ndarray) -> torch.Tensor:
    rows = []
    for start in range(0, len(images), extractor.batch_size):
        batch = torch.from_numpy(images[start : start + extractor.batch_size]).permute(0, 3, 1, 2).contiguous()
        rows.append(extractor.forward(batch)[0].cpu())
    return torch.cat(rows)


def measure(real: torch.Tensor, fake: torch.Tensor, seed: int) -> dict[str, float]:
    from ganeval import fid_from_features, precision_recall_density_coverage

    out = precision_recall_density_coverage(real, fake, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small N is part of what a CPU run shows
        out["fid"] = fid_from_features(real, fake)
    return out


class Pool:
    """A split's images with labels, and the pool3 features of those asked for, each computed once."""

    def __init__(self, dataset: str, data_root: str | None, extractor):
        import ganeval

        data = ganeval.load_dataset(dataset, "test", data_root)
        images = data.images.permute(0, 2, 3, 1).numpy()
        self.images = np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images
        self.labels = data.labels.numpy()
        self.extractor = extractor
        self._rows: dict[int, torch.Tensor] = {}

    def features(self, indices: np.ndarray) -> torch.Tensor:
        missing = [int(i) for i in indices if int(i) not in self._rows]
        if missing:
            for i, row in zip(missing, pool3(self.extractor, self.images[missing]), strict=True):
                self._rows[i] = row
        return torch.stack([self._rows[int(i)] for i in indices])


def study(dataset: str, n: int, data_root: str | None, extractor, seed: int = 2020) -> list[dict]:
    from ganeval.config import Settings
    from ganeval.disturbances import disturb
    from ganeval.metrics.gaussian import gaussian_stats
    from ganeval.results import intra_fid

    pool = Pool(dataset, data_root, extractor)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(pool.labels))
    real_idx, rest = np.sort(order[:n]), order[n:]
    fake_idx = np.sort(rest[:n])
    real, fake = pool.features(real_idx), pool.features(fake_idx)
    real_img, real_lab = pool.images[real_idx], pool.labels[real_idx]
    fake_img, fake_lab = pool.images[fake_idx], pool.labels[fake_idx]
    rows: list[dict] = []
    classes = np.unique(pool.labels)
    removal_order = rng.permutation(classes)
    for dropped in DROPPED:
        kept = rest[~np.isin(pool.labels[rest], removal_order[:dropped])]
        picked = np.sort(kept[:n])  # `rest` is in random order: the first n of the kept classes
        rows.append({"study": "mode dropping", "level": dropped / len(classes),
                     **measure(real, pool.features(picked), seed)})  # fmt: skip
    for name in ("gaussian_noise", "gaussian_blur"):
        for level in (0.0, *LEVELS):
            features = fake if level == 0 else pool3(extractor, disturb(name, fake_img, level, seed=seed))
            rows.append({"study": name, "level": level, **measure(real, features, seed)})
    noisy = pool3(extractor, disturb("gaussian_noise", real_img, 1.0, seed=seed + 2))
    for share in (0.0, *OUTLIERS):
        swapped = real.clone()
        idx = rng.choice(n, int(round(share * n)), replace=False)
        swapped[torch.from_numpy(idx)] = noisy[torch.from_numpy(idx)]
        rows.append({"study": "outliers in the real set", "level": share, **measure(swapped, fake, seed)})
    settings = Settings()
    real_stats = {str(c): gaussian_stats(real[torch.from_numpy(np.flatnonzero(real_lab == c))]) for c in classes}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for shuffled in (False, True):
            labels = rng.permutation(fake_lab) if shuffled else fake_lab
            per_class = intra_fid(real_stats, fake, labels.astype(str), settings)
            rows.append({"study": "intra-FID: labels ignored" if shuffled else "intra-FID: true labels",
                         "level": float(shuffled), "fid": measure(real, fake, seed)["fid"],
                         "intra_fid": float(np.mean(list(per_class.values())))})  # fmt: skip
    return rows


def verdicts(rows: list[dict]) -> dict[str, bool]:
    def series(study: str, key: str) -> list[float]:
        return [r[key] for r in rows if r["study"] == study]

    drop = {k: series("mode dropping", k) for k in METRICS}
    out = {
        "mode dropping: recall falls": drop["recall"][-1] < drop["recall"][0],
        "mode dropping: coverage falls": drop["coverage"][-1] < drop["coverage"][0],
        "mode dropping: FID rises": drop["fid"][-1] > drop["fid"][0],
        "mode dropping: precision stays within 0.1": max(abs(v - drop["precision"][0]) for v in drop["precision"])
        < 0.1,
    }  # fmt: skip
    for name in ("gaussian_noise", "gaussian_blur"):
        for key in ("precision", "density"):
            values = series(name, key)
            out[f"{name}: {key} falls"] = values[-1] < values[0]
    intra = [r for r in rows if r["study"].startswith("intra-FID")]
    out["intra-FID rises when labels are ignored"] = intra[1]["intra_fid"] > intra[0]["intra_fid"]
    return out


def write_csv(rows: list[dict], path: Path) -> None:
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)


def plot(rows: list[dict], path: Path) -> None:
    """One panel per study: the four k-NN metrics against the level (FID on the right-hand panels)."""
    from ganeval.plots import Panel, save_panels

    panels = []
    studies = (("mode dropping", "share of classes removed"), ("gaussian_noise", "level"),
               ("gaussian_blur", "level"), ("outliers in the real set", "share of real images"))  # fmt: skip
    for study, xlabel in studies:
        part = [r for r in rows if r["study"] == study]
        xs = [float(r["level"]) for r in part]
        series = {k: (xs, [float(r[k]) for r in part]) for k in ("precision", "recall", "density", "coverage")}
        panels.append(Panel(study, series, xlabel, "value", yscale="linear"))
        panels.append(Panel(f"{study}: FID", {"FID": (xs, [float(r["fid"]) for r in part])}, xlabel, "FID",
                            yscale="linear"))  # fmt: skip
    save_panels(panels, path, columns=4, panel_size=(3.6, 2.8))


def replot(folder: Path) -> list[Path]:
    """The figures of `folder` drawn again from its validity_prdc_*.csv files; returns the PNGs written."""
    written = []
    for table in sorted(folder.glob("validity_prdc_*.csv")):
        with open(table, newline="") as f:
            rows = [{k: (v if k == "study" else float(v or "nan")) for k, v in r.items()} for r in csv.DictReader(f)]
        plot(rows, table.with_suffix(".png"))
        written.append(table.with_suffix(".png"))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=("fashion-mnist", "mnist", "cifar10-jpeg"))
    parser.add_argument("--data-root", default=str(HERE.parents[1] / "shared" / "datasets"))
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--device", default=None)
    parser.add_argument("--weights", default=None)
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--replot", type=Path, help="redraw the figures of this folder from its CSVs, then stop")
    args = parser.parse_args(argv)
    if args.replot:
        for path in replot(args.replot):
            print(f"wrote {path}", file=sys.stderr)
        return 0
    if not args.dataset:
        parser.error("--dataset is required (or --replot DIR)")
    from ganeval.extractor import InceptionExtractor

    extractor = InceptionExtractor(args.weights, device=args.device)
    started = time.perf_counter()
    rows = study(args.dataset, args.n, args.data_root, extractor)
    prefix = args.out / f"validity_prdc_{args.dataset}"
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(rows, prefix.with_suffix(".csv"))
    plot(rows, prefix.with_suffix(".png"))
    summary = {"dataset": args.dataset, "n": args.n, "device": str(extractor.device),
               "precision": extractor.precision, "verdicts": verdicts(rows),
               "seconds": round(time.perf_counter() - started, 1)}  # fmt: skip
    prefix.with_suffix(".json").write_text(json.dumps(summary, indent=2) + "\n")
    for row in rows:
        print("  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
    print(json.dumps(summary["verdicts"], indent=2))
    return 0 if all(summary["verdicts"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
