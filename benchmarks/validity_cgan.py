"""intra-FID against FID for a trained conditional generator, and for the same generator made to ignore its
label (its images kept, their requested classes shuffled): FID cannot see the difference, intra-FID must.

    ganeval train-baseline cgan --dataset fashion-mnist --steps 1500 --width 0.25 --eval-samples 0 --out /tmp/cgan-fm
    python benchmarks/validity_cgan.py /tmp/cgan-fm/last.pt --reference 'fashion-mnist:test[:1000]' --per-class 50

Prints one JSON object (also written to --out when given).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--reference", default="fashion-mnist:test[:1000]", help="a labelled dataset spec")
    parser.add_argument("--per-class", type=int, default=50)
    parser.add_argument("--data-root", default=str(Path(__file__).resolve().parents[2] / "shared" / "datasets"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    import ganeval
    from ganeval.baselines import read_checkpoint, rebuild_model

    started = time.perf_counter()
    state = read_checkpoint(args.checkpoint)
    recipe, model = rebuild_model(state, "cpu")
    k = model.n_classes
    labels = torch.arange(args.per_class * k) % k
    with ganeval.seeded_rng(args.seed):
        images = torch.cat([model.sample(len(part), part) for part in labels.split(100)])
    shuffled = labels[torch.from_numpy(np.random.default_rng(args.seed).permutation(len(labels)))]
    scorer = ganeval.Scorer(("fid", "intra_fid"), reference=args.reference, data_root=args.data_root, device="cpu")
    out = {"checkpoint": f"{recipe.name}@{state['step']}", "reference": args.reference, "per_class": args.per_class}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ganeval.RankDeficientWarning)  # per-class sets are small by design
        for name, given in (("true labels", labels), ("labels ignored", shuffled)):
            scorer.reset()
            scorer.update(images, value_range=(-1, 1), labels=given)
            result = scorer.compute()
            out[name] = {"fid": result["fid"], "intra_fid": result["intra_fid"]}
    out["seconds"] = round(time.perf_counter() - started, 1)
    text = json.dumps(out, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
