"""Do the memorization and sample-size metrics behave as their papers say? Real data, one run.

    python benchmarks/validity_memorization.py --dataset fashion-mnist --train 2000 --n 1000 --out docs/
    python benchmarks/validity_memorization.py --dataset fashion-mnist --fd-inf 1000,2000,5000,10000 --out docs/

Copies (Meehan et al. 2020; Alaa et al. 2022; Stein et al. 2023): TRAIN = the first `--train` training
images, REAL = `--n` test images, FAKE = `--n` other test images (held out, never trained on) in which 0, 1,
5, 20 and 50 % are replaced by training images, each lightly changed (a horizontal flip, a JPEG re-encoding
at quality 90, or a one-pixel shift, in turn). AuthPct should fall, C_T go negative, MiFID rise, and
`ganeval neighbours` should put the planted copies first (the share of planted copies among its top k, k the
number planted), while FID and precision/recall barely move: they reward a copying model.

Sample size (Chong & Forsyth 2020): FD of `--fd-inf` sizes of training images against the test split's
statistics, and FD-infinity from the largest; FD drifts with N, FD-infinity should not. Bootstrap: `--repeats`
disjoint draws of `--draw` images from the largest set, each with a 95 % bootstrap interval (`--resamples`),
counted against the metric of the whole set (coverage).

Every image's Inception features are computed once (ganeval's cache keeps them between runs). Writes
validity_memorization_<dataset>.csv/.json/.png and validity_sample_size_<dataset>.csv/.json under `--out`.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image

PERCENTS = (0, 1, 5, 20, 50)
CHANGES = ("flip", "jpeg", "shift")


def change(image: np.ndarray, how: str) -> np.ndarray:
    """A lightly changed copy of a training image: what a memorizing model emits."""
    if how == "flip":
        return image[:, ::-1].copy()
    if how == "jpeg":
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=90)
        return np.asarray(Image.open(buffer).convert("RGB"))
    return np.roll(image, 1, axis=1)  # one pixel to the right


def rgb(images: torch.Tensor) -> np.ndarray:
    """A dataset's uint8 N x C x H x W images as N x H x W x 3 (grey repeated, as ganeval reads it)."""
    return images.expand(-1, 3, -1, -1).permute(0, 2, 3, 1).contiguous().numpy()


def features(extractor, images: np.ndarray) -> torch.Tensor:
    rows = []
    for start in range(0, len(images), extractor.batch_size):
        batch = torch.from_numpy(images[start : start + extractor.batch_size]).permute(0, 3, 1, 2)
        rows.append(extractor.forward(batch.contiguous())[0].cpu())
    return torch.cat(rows)


def copies_study(dataset: str, n_train: int, n: int, data_root: str, extractor, seed: int) -> list[dict]:
    import ganeval
    from ganeval.metrics.fid import fid_from_features
    from ganeval.metrics.memorization import authpct, ct, find_copies
    from ganeval.metrics.mifid import memorization_distance, mifid
    from ganeval.metrics.prdc import precision_recall_density_coverage

    train_images = rgb(ganeval.load_dataset(dataset, "train", data_root).images[:n_train])
    test_images = rgb(ganeval.load_dataset(dataset, "test", data_root).images[: 2 * n])
    rng = np.random.default_rng(seed)
    planted_from = rng.choice(n_train, n // 2, replace=False)  # the most any level plants (50 %)
    changed = np.stack([change(train_images[j], CHANGES[i % 3]) for i, j in enumerate(planted_from)])
    print(f"{dataset}: features of {n_train} train, {2 * n} test, {len(changed)} changed copies", file=sys.stderr)
    train, real, held_out = features(extractor, train_images), *features(extractor, test_images).split(n)
    copies = features(extractor, changed)
    slots = rng.permutation(n)  # which FAKE rows a level replaces (nested: 1 % within 5 % within ...)
    rows = []
    for percent in PERCENTS:
        k = n * percent // 100
        fake = held_out.clone()
        fake[torch.from_numpy(slots[:k])] = copies[:k]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            row = {"dataset": dataset, "percent": percent, "planted": k, "fid": fid_from_features(real, fake)}
        row.update(precision_recall_density_coverage(real, fake, dc_k=None, seed=seed))
        row["authpct"] = authpct(train, fake)
        row["ct"] = ct(train, real, fake, seed=seed)
        row["mifid"] = mifid(real, fake, train)
        # MiFID's memorization term before its 0.1 threshold, in torchmetrics' orientation (over the copied
        # rows) and Kaggle's (over the generated rows).
        row["mifid_distance"] = memorization_distance(fake, train)
        row["mifid_distance_kaggle"] = memorization_distance(fake, train, orientation="kaggle")
        row["mifid_kaggle"] = mifid(real, fake, train, orientation="kaggle")
        if k:
            found = find_copies(train, fake, top=k, k=1)
            row["neighbours_share"] = float(np.isin(found.fake, slots[:k]).mean())
        rows.append(row)
        print(row, file=sys.stderr)
    return rows


def sample_size_study(dataset: str, sizes: list[int], draw: int, repeats: int, resamples: int, data_root: str,
                      extractor, seed: int) -> tuple[list[dict], list[dict]]:  # fmt: skip
    import ganeval
    from ganeval.metrics.bootstrap import bootstrap_indices
    from ganeval.metrics.fd_inf import fd_inf
    from ganeval.metrics.fid import frechet_distance
    from ganeval.metrics.gaussian import gaussian_stats
    from ganeval.metrics.kid import kernel_inception_distance

    reference = ganeval.compute_stats(f"ref:{dataset}-test", extractor=extractor, data_root=data_root,
                                      progress=False).stats  # the committed 10,000-image statistics  # fmt: skip
    pool_images = rgb(ganeval.load_dataset(dataset, "train", data_root).images[: max(sizes)])
    print(f"{dataset}: features of {len(pool_images)} training images", file=sys.stderr)
    pool = features(extractor, pool_images)
    test = features(extractor, rgb(ganeval.load_dataset(dataset, "test", data_root).images[:draw]))
    drift = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for size in sizes:
            fit = fd_inf(reference, pool[:size], seed=seed)
            drift.append({"dataset": dataset, "n": size, "fd": frechet_distance(gaussian_stats(pool[:size]), reference),
                          "fd_inf": fit.fd_inf, "fd_inf_slope": fit.slope})  # fmt: skip
            print(drift[-1], file=sys.stderr)
        whole = {"fid": frechet_distance(gaussian_stats(pool), gaussian_stats(test)),
                 "kid": kernel_inception_distance(pool, test, subset_size=draw, seed=seed)[0]}  # fmt: skip
        coverage = []
        order = np.random.default_rng(seed).permutation(len(pool))
        for r in range(repeats):
            part = pool[torch.from_numpy(order[r * draw : (r + 1) * draw])]
            values: dict[str, list[float]] = {"fid": [], "kid": []}
            for rows in bootstrap_indices(draw, resamples, seed + r):
                sample = part[torch.from_numpy(rows)]
                values["fid"].append(frechet_distance(gaussian_stats(sample), gaussian_stats(test)))
                values["kid"].append(kernel_inception_distance(sample, test, subsets=20, subset_size=draw // 2,
                                                               seed=seed)[0])  # fmt: skip
            for key, samples in values.items():
                low, high = np.percentile(samples, [2.5, 97.5])
                coverage.append({"dataset": dataset, "metric": key, "repeat": r, "low": low, "high": high,
                                 "whole": whole[key], "covered": bool(low <= whole[key] <= high)})  # fmt: skip
            print(coverage[-2:], file=sys.stderr)
    return drift, coverage


def write_csv(rows: list[dict], path: Path) -> None:
    keys = list(dict.fromkeys(k for row in rows for k in row))
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, keys)
        writer.writeheader()
        writer.writerows(rows)


def plot(rows: list[dict], path: Path) -> None:
    from ganeval.plots import Panel, save_panels

    x = [float(r["percent"]) for r in rows]
    panels = [Panel(key, {"": (x, [float(r.get(key, np.nan)) for r in rows])}, "% planted copies", key)
              for key in ("authpct", "ct", "mifid", "fid", "precision", "recall")]  # fmt: skip
    save_panels(panels, path, columns=3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--train", type=int, default=2000, help="training images (TRAIN)")
    parser.add_argument("--n", type=int, default=1000, help="REAL and FAKE images each")
    parser.add_argument("--fd-inf", default="", help="sizes for the FD against N study, e.g. 1000,2000,5000,10000")
    parser.add_argument("--draw", type=int, default=1000, help="images per draw for the bootstrap coverage")
    parser.add_argument("--repeats", type=int, default=10, help="disjoint draws for the bootstrap coverage")
    parser.add_argument("--resamples", type=int, default=50, help="bootstrap resamples per draw")
    parser.add_argument("--data-root", default=str(Path(__file__).resolve().parents[2] / "shared" / "datasets"))
    parser.add_argument("--device", default=None)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--out", type=Path, default=Path("docs"))
    args = parser.parse_args(argv)
    import ganeval

    extractor = ganeval.InceptionExtractor(device=args.device)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.train:
        rows = copies_study(args.dataset, args.train, args.n, args.data_root, extractor, args.seed)
        write_csv(rows, args.out / f"validity_memorization_{args.dataset}.csv")
        plot(rows, args.out / f"validity_memorization_{args.dataset}.png")
    if args.fd_inf:
        sizes = [int(s) for s in args.fd_inf.split(",")]
        drift, coverage = sample_size_study(args.dataset, sizes, args.draw, args.repeats, args.resamples,
                                            args.data_root, extractor, args.seed)  # fmt: skip
        write_csv(drift, args.out / f"validity_fd_inf_{args.dataset}.csv")
        write_csv(coverage, args.out / f"validity_bootstrap_{args.dataset}.csv")
        rates = {m: float(np.mean([c["covered"] for c in coverage if c["metric"] == m])) for m in ("fid", "kid")}
        (args.out / f"validity_bootstrap_{args.dataset}.json").write_text(json.dumps(rates, indent=1) + "\n")
        print(rates, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
