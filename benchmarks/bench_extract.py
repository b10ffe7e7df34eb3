"""Extraction speed and accuracy per precision, with the images already decoded (the network alone).

    python benchmarks/bench_extract.py --datasets .data --n-a 50000 --n-b 10000 --device cuda

Decodes CIFAR-10 JPEG train and test once (timing the decoding with ganeval's loader and workers),
keeps them as uint8 tensors on the device, then for each precision times the resize + forward + float64
statistics over both sets and computes FID(train, test). Every precision's FID is compared with
`strict` (float32, TF32 off). torch-fidelity's own extractor runs on the same tensors for comparison
(in PyTorch's default cuDNN arithmetic, TF32). Prints a table and appends it to RESULTS.md.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
import torch
from inputs import DATASETS, weights_with_head
from report import append, environment, section

from ganeval.extractor import InceptionExtractor
from ganeval.loader import iterate_batches
from ganeval.metrics import frechet_distance
from ganeval.metrics.gaussian import GaussianAccumulator
from ganeval.sources import open_dataset
from ganeval.sources.slicing import SliceSource

HERE = Path(__file__).resolve().parent


def decode(split: str, n: int, datasets: Path, workers: int) -> tuple[torch.Tensor, float]:
    """The first `n` images of cifar10-jpeg `split` as uint8 N x 3 x 32 x 32, and the decode seconds."""
    source = open_dataset("cifar10-jpeg", split, datasets)
    if n < len(source):
        source = SliceSource(source, slice(0, n))
    start = time.perf_counter()
    batches = [torch.stack(b) for b in iterate_batches(source, 1000, workers=workers)]
    return torch.cat(batches), time.perf_counter() - start


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def statistics(forward, images: torch.Tensor, batch: int):
    acc = GaussianAccumulator()
    for start in range(0, len(images), batch):
        acc.update(forward(images[start : start + batch]), check_finite=False)
    return acc.compute()


def time_tool(name: str, forward, sets: list[torch.Tensor], batch: int, device: torch.device) -> dict:
    forward(sets[0][:batch])  # warm-up: cuDNN picks its algorithms on the first batches
    forward(sets[0][:batch])
    sync(device)
    start = time.perf_counter()
    stats = [statistics(forward, images, batch) for images in sets]
    sync(device)
    seconds = time.perf_counter() - start
    images = sum(len(s) for s in sets)
    return {
        "extractor": name,
        "batch": batch,
        "images": images,
        "seconds": seconds,
        "img/s": images / seconds,
        "fid": frechet_distance(stats[0], stats[1]),
    }


def torch_fidelity_forward(weights: Path, device: torch.device):
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(weights))
    net = net.to(device).eval()

    @torch.no_grad()
    def forward(images: torch.Tensor) -> torch.Tensor:
        return net(images)[0]

    return forward


def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--datasets", type=Path, default=DATASETS, help="folder holding cifar10-jpeg/")
    p.add_argument("--n-a", type=int, default=50000)
    p.add_argument("--n-b", type=int, default=10000)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--precisions", default="strict,tf32,fp16,bf16")
    p.add_argument("--batch-sizes", default="500", help="comma-separated; each precision runs at each")
    p.add_argument("--sweep", default="", help="extra batch sizes for the default precision only")
    p.add_argument("--workers", type=int, default=8, help="decoding processes")
    p.add_argument("--weights", type=Path)
    p.add_argument("--data-dir", type=Path, default=HERE.parent / ".data" / "bench")
    p.add_argument("--no-torch-fidelity", action="store_true")
    p.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    p.add_argument("--no-append", action="store_true")
    args = p.parse_args(argv)
    device = torch.device(args.device)

    a, decode_a = decode("train", args.n_a, args.datasets, args.workers)
    b, decode_b = decode("test", args.n_b, args.datasets, args.workers)
    decode_rate = (len(a) + len(b)) / (decode_a + decode_b)
    sets = [a.to(device), b.to(device)]
    weights = weights_with_head(args.weights, args.data_dir)

    rows = []
    batches = [int(x) for x in args.batch_sizes.split(",") if x]
    for precision in [x for x in args.precisions.split(",") if x]:
        extractor = InceptionExtractor(weights, "tf", device, precision=precision)
        for batch in batches:
            forward = lambda x, e=extractor: e.forward(x)[0]  # noqa: E731
            rows.append({"precision": precision, **time_tool("ganeval", forward, sets, batch, device)})
            print(rows[-1], file=sys.stderr, flush=True)
        if precision == "fp16":
            for batch in [int(x) for x in args.sweep.split(",") if x]:
                forward = lambda x, e=extractor: e.forward(x)[0]  # noqa: E731
                rows.append({"precision": precision, **time_tool("ganeval", forward, sets, batch, device)})
                print(rows[-1], file=sys.stderr, flush=True)
        del extractor
    if not args.no_torch_fidelity:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            forward = torch_fidelity_forward(weights, device)
        for batch in batches:
            timed = time_tool("torch-fidelity", forward, sets, batch, device)
            rows.append({"precision": "tf32 (cuDNN default)", **timed})
            print(rows[-1], file=sys.stderr, flush=True)

    df = pd.DataFrame(rows)
    strict = df[(df["extractor"] == "ganeval") & (df["precision"] == "strict")]
    if len(strict):
        df["rel dFID vs strict"] = (df["fid"] / float(strict["fid"].iloc[0]) - 1).abs()
    tfd = df[df["extractor"] == "torch-fidelity"]
    if len(tfd):
        df["speed vs tfd"] = df["img/s"] / float(tfd["img/s"].max())
    print(df.to_string(index=False))
    command = "python benchmarks/bench_extract.py " + shlex.join(argv)
    notes = [
        f"Images: cifar10-jpeg train[:{len(a)}] and test[:{len(b)}], decoded once by ganeval's loader with "
        f"{args.workers} workers at {decode_rate:.0f} img/s ({decode_a + decode_b:.1f} s), then held on the "
        "device as uint8; seconds cover the resize, the forward pass and float64 statistics of both sets.",
        "fid: FID(train, test) from those statistics; rel dFID vs strict: against float32 with TF32 off.",
    ]
    text = section(df, environment(args.device), command, notes, title="extraction alone, per precision")
    if not args.no_append:
        append(args.results, text)


if __name__ == "__main__":
    main(sys.argv[1:])
