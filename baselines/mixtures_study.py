"""The 2-D mixture study: every adversarial recipe on ring8 and grid25, several seeds, one record per run.

Each run trains with the recipe's `[points]` settings and is scored at its last step (2,500 samples, the
protocol of `ganeval.mode_scores`); the records (JSON lines, `ganeval.records`) feed `ganeval report`:

    python baselines/mixtures_study.py --seeds 5 --out baselines/results/mixtures
    ganeval report baselines/results/mixtures/records.jsonl --format md

A finished (recipe, mixture, seed) is skipped when the study is run again, so a killed study resumes.
At the end the scatter plots of seed 0 over training are kept (training_seed0.npz, 1,000 points per
evaluation in float16) and drawn as training_<mixture>.png; `--replot` draws them again from the npz.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from pathlib import Path

RECIPES = ("gan", "wgan", "wgan-gp", "sngan")
MIXTURE_NAMES = ("ring8", "grid25")
VIEW_POINTS = 1000
KEPT = ("modes_covered", "high_quality", "reverse_kl", "fd", "precision", "recall", "density", "coverage")


def run_one(job: tuple[str, str, int, str]) -> dict:
    """Train one (recipe, mixture, seed) on one CPU thread; the record of its last evaluation."""
    import torch

    torch.set_num_threads(1)
    import ganeval
    from ganeval.baselines import load_recipe, train
    from ganeval.baselines.mixtures import get_mixture
    from ganeval.baselines.recipe import for_dataset, override
    from ganeval.metrics.modes import HIGH_QUALITY_STDS, MIN_COUNT
    from ganeval.records import FORMAT, settings_key

    name, mixture, seed, runs = job
    recipe = override(for_dataset(load_recipe(name), mixture), seed=seed, device="cpu",
                      out=str(Path(runs) / f"{mixture}-{name}-seed{seed}"))  # fmt: skip
    started = time.perf_counter()
    result = train(recipe, progress=False)
    last = result.history[-1]
    settings = {"mixture": mixture, "std": get_mixture(mixture).std, "samples": recipe.eval_samples,
                "high_quality_stds": HIGH_QUALITY_STDS, "min_count": MIN_COUNT, "steps": recipe.steps,
                "batch_size": recipe.batch_size}  # fmt: skip
    return {
        "format": FORMAT, "status": "ok", "error": None,
        "input": {"path": f"{name} on {mixture}", "kind": "baseline", "fingerprint": None, "step": None,
                  "recipe": name, "run": name},
        "repeat": seed, "seed": seed,
        "metrics": {**{k: last[k] for k in KEPT}, "n_real": recipe.eval_samples, "n_fake": recipe.eval_samples},
        "reference": {"name": mixture, "fingerprint": None}, "settings": settings,
        "settings_key": settings_key(settings),
        "versions": {"ganeval": ganeval.__version__, "torch": torch.__version__},
        "device": "cpu", "seconds": round(time.perf_counter() - started, 2),
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }  # fmt: skip


def keep_views(runs: Path, out: Path, seed: int = 0) -> Path:
    """The seed's scatter points of every run at every evaluation, in one small npz."""
    import numpy as np

    arrays = {}
    for run in sorted(runs.glob(f"*-seed{seed}")):
        mixture, recipe = run.name.removesuffix(f"-seed{seed}").split("-", 1)
        for view in sorted(run.glob("samples_*.npy")):
            step = int(view.stem.split("_")[1])
            arrays[f"{mixture}/{recipe}/{step}"] = np.load(view)[:VIEW_POINTS].astype(np.float16)
    path = out / f"training_seed{seed}.npz"
    np.savez_compressed(path, **arrays)
    return path


def replot(out: Path, seed: int = 0) -> list[Path]:
    """training_<mixture>.png: one row per recipe, one panel per evaluation step, over the true modes."""
    import numpy as np

    from ganeval.baselines.mixtures import get_mixture
    from ganeval.plots import save_scatters

    path = out / f"training_seed{seed}.npz"
    if not path.is_file():
        return []
    views = np.load(path)
    written = []
    for mixture in MIXTURE_NAMES:
        keys = [k.split("/") for k in views.files if k.startswith(mixture + "/")]
        if not keys:
            continue
        steps = sorted({int(k[2]) for k in keys})
        recipes = [r for r in RECIPES if any(k[1] == r for k in keys)]
        panels = [(f"{r}, step {s}", views[f"{mixture}/{r}/{s}"].astype(np.float64)) for r in recipes for s in steps]
        target = out / f"training_{mixture}.png"
        m = get_mixture(mixture)
        save_scatters(panels, target, m.means, columns=len(steps), limit=m.limit)
        written.append(target)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--recipes", default=",".join(RECIPES))
    parser.add_argument("--mixtures", default=",".join(MIXTURE_NAMES))
    parser.add_argument("--workers", type=int, default=2, help="processes, one CPU thread each")
    parser.add_argument("--out", default="baselines/results/mixtures", help="folder for records.jsonl")
    parser.add_argument("--runs", default="runs/mixtures", help="folder for the run folders (checkpoints, plots)")
    parser.add_argument("--replot", action="store_true", help="only draw the training figures from the npz")
    args = parser.parse_args()
    if args.replot:
        print("\n".join(str(p) for p in replot(Path(args.out))))
        return

    from ganeval.records import RecordWriter, read_records

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "records.jsonl"
    done = {(r["input"]["recipe"], r["reference"]["name"], r["seed"]) for r in read_records(path)}
    jobs = [(r, m, s, args.runs) for m in args.mixtures.split(",") for r in args.recipes.split(",")
            for s in range(args.seeds) if (r, m, s) not in done]  # fmt: skip
    writer = RecordWriter(path)
    context = multiprocessing.get_context("spawn")
    with context.Pool(args.workers) as pool:
        for record in pool.imap_unordered(run_one, jobs):
            writer.write(record)
            m = record["metrics"]
            print(f"{record['input']['path']} seed {record['seed']}: modes {m['modes_covered']}, "
                  f"high quality {m['high_quality']:.3f}, reverse KL {m['reverse_kl']:.3f} "
                  f"({record['seconds']:.0f} s)", flush=True)  # fmt: skip
    keep_views(Path(args.runs), out)
    print("\n".join(str(p) for p in replot(out)))


if __name__ == "__main__":
    main()
