"""Do the memorization and sample-size metrics behave as their papers say? Real data, one run.

    python benchmarks/validity_memorization.py --dataset fashion-mnist --train 2000 --n 1000 --out docs/
    python benchmarks/validity_memorization.py --dataset fashion-mnist --train 0 --fd-inf 1000,2000,5000,10000 \
        --pool 10000 --draw 500 --repeats 50 --resamples 100 --keep /tmp/validity-features --out docs/

Copies (Meehan et al. 2020; Alaa et al. 2022; Stein et al. 2023): TRAIN = the first `--train` training
images, REAL = `--n` test images, FAKE = `--n` other test images (held out, never trained on) in which 0, 1,
5, 20 and 50 % are replaced by training images, each lightly changed (a horizontal flip, a JPEG re-encoding
at quality 90, or a one-pixel shift, in turn). AuthPct should fall, C_T go negative, MiFID rise, and
`ganeval neighbours` should put the planted copies first (the share of planted copies among its top k, k the
number planted), while FID and precision/recall barely move: they reward a copying model.

Sample size (Chong & Forsyth 2020): FD of `--fd-inf` sizes of training images against the test split's
statistics, and FD-infinity from the largest; FD drifts with N, FD-infinity should not. Bootstrap: `--repeats`
random draws of `--draw` images from a pool of `--pool` training images, each with 95 % bootstrap intervals
(`--resamples`) of FID, KID, precision and recall against `--draw` test images; an interval is counted as
covering when it holds the pool's value (the full-set value) and, separately, the mean of the draws' own
values (the value at this sample size). The percentile interval, the basic (bias-corrected) interval
2 * value - percentiles and the normal interval value +- 1.96 se are counted.

Every image's Inception features are computed once and kept under `--keep` between runs. Writes
validity_memorization_<dataset>.csv/.png, validity_fd_inf_<dataset>.csv and
validity_bootstrap_<dataset>.csv/.json under `--out`.
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
COVERS = ("covers_whole", "covers_expected", "basic_covers_whole", "basic_covers_expected", "normal_covers_whole",
          "normal_covers_expected")  # fmt: skip


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


def features(extractor, images: np.ndarray, keep: Path | None = None, name: str = "") -> torch.Tensor:
    """Inception pool3 rows of uint8 N x H x W x 3 images, read from `keep/name.pt` when computed before."""
    path = keep / f"{name}.pt" if keep is not None and name else None
    if path is not None and path.exists():
        return torch.load(path)
    rows = []
    for start in range(0, len(images), extractor.batch_size):
        batch = torch.from_numpy(images[start : start + extractor.batch_size]).permute(0, 3, 1, 2)
        rows.append(extractor.forward(batch.contiguous())[0].cpu())
    out = torch.cat(rows)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(out, path)
    return out


def split_images(dataset: str, split: str, n: int, data_root: str, seed: int) -> np.ndarray:
    """The first n of a seeded permutation of a split: a random sample with every class (CIFAR-10's files
    are sorted by class, so the first n would be one class)."""
    import ganeval

    images = ganeval.load_dataset(dataset, split, data_root).images
    order = np.random.default_rng(seed).permutation(len(images))[:n]
    return rgb(images[torch.from_numpy(order)])


def split_features(extractor, dataset: str, split: str, n: int, data_root: str, seed: int,
                   keep: Path | None) -> torch.Tensor:  # fmt: skip
    """Features of `split_images`, reusing (and extending) a kept prefix of the same permutation."""
    name = f"{dataset}-{split}-perm{seed}"
    kept = sorted(keep.glob(f"{name}-*.pt"), key=lambda f: int(f.stem.rsplit("-", 1)[1])) if keep else []
    have = torch.load(kept[-1]) if kept else torch.zeros(0)
    if len(have) >= n:
        return have[:n]
    print(f"{dataset}: features of {n - len(have)} {split} images", file=sys.stderr)
    images = split_images(dataset, split, n, data_root, seed)[len(have) :]
    out = torch.cat([have, features(extractor, images)]) if len(have) else features(extractor, images)
    if keep is not None:
        features_path = keep / f"{name}-{n}.pt"
        keep.mkdir(parents=True, exist_ok=True)
        torch.save(out, features_path)
    return out


def copies_study(dataset: str, n_train: int, n: int, data_root: str, extractor, seed: int,
                 keep: Path | None) -> list[dict]:  # fmt: skip
    from ganeval.metrics.fid import fid_from_features
    from ganeval.metrics.memorization import authpct, ct, find_copies
    from ganeval.metrics.mifid import memorization_distance, mifid
    from ganeval.metrics.prdc import precision_recall_density_coverage

    train_images = split_images(dataset, "train", n_train, data_root, seed)
    rng = np.random.default_rng(seed)
    planted_from = rng.choice(n_train, n // 2, replace=False)  # the most any level plants (50 %)
    changed = np.stack([change(train_images[j], CHANGES[i % 3]) for i, j in enumerate(planted_from)])
    train = split_features(extractor, dataset, "train", n_train, data_root, seed, keep)
    real, held_out = split_features(extractor, dataset, "test", 2 * n, data_root, seed, keep).split(n)
    copies = features(extractor, changed, keep, f"{dataset}-copies-perm{seed}-{n_train}-{n}")
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


def fd_inf_study(dataset: str, sizes: list[int], data_root: str, extractor, seed: int,
                 keep: Path | None) -> list[dict]:  # fmt: skip
    import ganeval
    from ganeval.metrics.fd_inf import fd_inf
    from ganeval.metrics.fid import frechet_distance
    from ganeval.metrics.gaussian import gaussian_stats

    reference = ganeval.compute_stats(f"ref:{dataset}-test", extractor=extractor, data_root=data_root,
                                      progress=False).stats  # the committed 10,000-image statistics  # fmt: skip
    pool = split_features(extractor, dataset, "train", max(sizes), data_root, seed, keep)
    drift = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for size in sizes:
            fit = fd_inf(reference, pool[:size], seed=seed)
            drift.append({"dataset": dataset, "n": size, "fd": frechet_distance(gaussian_stats(pool[:size]), reference),
                          "fd_inf": fit.fd_inf, "fd_inf_slope": fit.slope})  # fmt: skip
            print(drift[-1], file=sys.stderr)
    return drift


def fid_low_rank(fake: torch.Tensor, real_mu: torch.Tensor, real_centred: torch.Tensor, real_trace: float) -> float:
    """FID when both sets have fewer rows than dimensions: tr sqrt(S1 S2) is the sum of the singular values
    of A^T B / sqrt((n1 - 1)(n2 - 1)), A and B the centred rows, an n1 x n2 problem instead of d x d."""
    mu = fake.mean(0)
    centred = fake - mu
    n1, n2 = len(fake), len(real_centred)
    cross = torch.linalg.svdvals(centred @ real_centred.T).sum() / ((n1 - 1) * (n2 - 1)) ** 0.5
    trace = (centred * centred).sum() / (n1 - 1)
    return float(((mu - real_mu) ** 2).sum() + trace + real_trace - 2 * cross)


def bootstrap_study(dataset: str, pool_size: int, draw: int, repeats: int, resamples: int, data_root: str,
                    extractor, seed: int, keep: Path | None) -> list[dict]:  # fmt: skip
    """Coverage of 95 % bootstrap intervals over `repeats` random draws of `draw` rows from the pool."""
    from ganeval.metrics.bootstrap import bootstrap_indices
    from ganeval.metrics.fid import frechet_distance
    from ganeval.metrics.gaussian import gaussian_stats
    from ganeval.metrics.kid import kernel_inception_distance
    from ganeval.metrics.prdc import precision_recall_density_coverage

    pool = split_features(extractor, dataset, "train", pool_size, data_root, seed, keep).double()
    test = split_features(extractor, dataset, "test", draw, data_root, seed, keep).double()
    mu = test.mean(0)
    centred = test - mu
    trace = float((centred * centred).sum() / (len(test) - 1))

    def metrics(fake: torch.Tensor) -> dict[str, float]:
        kid = kernel_inception_distance(fake, test, subsets=1, subset_size=len(fake), seed=seed)[0]
        out = {"fid": fid_low_rank(fake, mu, centred, trace), "kid": kid}
        out.update(precision_recall_density_coverage(test, fake, dc_k=None, seed=seed))
        return out

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check = pool[:draw]
        exact = frechet_distance(gaussian_stats(check), gaussian_stats(test))
        print(f"low-rank FID {metrics(check)['fid']:.9f} vs ganeval's {exact:.9f}", file=sys.stderr)
        whole = {"fid": frechet_distance(gaussian_stats(pool), gaussian_stats(test)),
                 "kid": kernel_inception_distance(pool, test, subsets=100, subset_size=draw, seed=seed)[0],
                 **precision_recall_density_coverage(test, pool, dc_k=None, seed=seed)}  # fmt: skip
        rng = np.random.default_rng(seed)
        draws = []
        for r in range(repeats):
            part = pool[torch.from_numpy(rng.choice(len(pool), draw, replace=False))]
            value = metrics(part)
            boot = [metrics(part[torch.from_numpy(rows)]) for rows in bootstrap_indices(draw, resamples, seed + r)]
            draws.append((value, boot))
            print(f"draw {r + 1}/{repeats}: {value}", file=sys.stderr)
    expected = {key: float(np.mean([value[key] for value, _ in draws])) for key in whole}
    rows = []
    for r, (value, boot) in enumerate(draws):
        for key in whole:
            low, high = np.percentile([b[key] for b in boot], [2.5, 97.5])
            basic = (2 * value[key] - high, 2 * value[key] - low)
            se = float(np.std([b[key] for b in boot], ddof=1))
            normal = (value[key] - 1.96 * se, value[key] + 1.96 * se)
            rows.append({"dataset": dataset, "metric": key, "draw": r, "value": value[key], "se": se,
                         "low": low, "high": high, "basic_low": basic[0], "basic_high": basic[1],
                         "normal_covers_whole": bool(normal[0] <= whole[key] <= normal[1]),
                         "normal_covers_expected": bool(normal[0] <= expected[key] <= normal[1]),
                         "whole": whole[key], "expected": expected[key],
                         "covers_whole": bool(low <= whole[key] <= high),
                         "covers_expected": bool(low <= expected[key] <= high),
                         "basic_covers_whole": bool(basic[0] <= whole[key] <= basic[1]),
                         "basic_covers_expected": bool(basic[0] <= expected[key] <= basic[1])})  # fmt: skip
    return rows


def coverage_table(rows: list[dict]) -> dict[str, dict[str, float]]:
    table: dict[str, dict[str, float]] = {}
    for key in dict.fromkeys(r["metric"] for r in rows):
        mine = [r for r in rows if r["metric"] == key]
        rates = {c: float(np.mean([r[c] for r in mine])) for c in COVERS}
        table[key] = {"whole": mine[0]["whole"], "expected": mine[0]["expected"], **rates}
    return table


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
    parser.add_argument("--train", type=int, default=2000, help="TRAIN images for the copies study; 0 skips it")
    parser.add_argument("--n", type=int, default=1000, help="REAL and FAKE images each")
    parser.add_argument("--fd-inf", default="", help="sizes for the FD against N study, e.g. 1000,2000,5000,10000")
    parser.add_argument("--pool", type=int, default=0, help="training images the bootstrap draws come from; 0 skips it")
    parser.add_argument("--draw", type=int, default=500, help="images per draw for the bootstrap coverage")
    parser.add_argument("--repeats", type=int, default=50, help="random draws for the bootstrap coverage")
    parser.add_argument("--resamples", type=int, default=100, help="bootstrap resamples per draw")
    parser.add_argument("--data-root", default=str(Path(__file__).resolve().parents[2] / "shared" / "datasets"))
    parser.add_argument("--device", default=None)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--keep", type=Path, default=None, help="folder that keeps computed features between runs")
    parser.add_argument("--out", type=Path, default=Path("docs"))
    args = parser.parse_args(argv)
    import ganeval

    extractor = ganeval.InceptionExtractor(device=args.device)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.train:
        rows = copies_study(args.dataset, args.train, args.n, args.data_root, extractor, args.seed, args.keep)
        write_csv(rows, args.out / f"validity_memorization_{args.dataset}.csv")
        plot(rows, args.out / f"validity_memorization_{args.dataset}.png")
    if args.fd_inf:
        sizes = [int(s) for s in args.fd_inf.split(",")]
        drift = fd_inf_study(args.dataset, sizes, args.data_root, extractor, args.seed, args.keep)
        write_csv(drift, args.out / f"validity_fd_inf_{args.dataset}.csv")
    if args.pool:
        rows = bootstrap_study(args.dataset, args.pool, args.draw, args.repeats, args.resamples, args.data_root,
                               extractor, args.seed, args.keep)  # fmt: skip
        write_csv(rows, args.out / f"validity_bootstrap_{args.dataset}.csv")
        table = coverage_table(rows)
        (args.out / f"validity_bootstrap_{args.dataset}.json").write_text(json.dumps(table, indent=1) + "\n")
        print(json.dumps(table, indent=1), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
