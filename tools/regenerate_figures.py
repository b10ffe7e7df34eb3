"""Every committed figure drawn again from its committed CSV/JSON/NPZ, without a GPU or a network:

    python tools/regenerate_figures.py

- docs/validity_<dataset>_{disturbances,samples}.png and docs/validity_reduced_cifar10.png (benchmarks/validity.py)
- docs/validity_prdc_<dataset>.png (benchmarks/validity_prdc.py)
- baselines/results/<run>/fid.png from its metrics.csv
- baselines/results/mixtures/training.png from training_seed0.npz (baselines/mixtures_study.py)
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "baselines"))


def training_curves(results: Path) -> list[Path]:
    import pandas as pd

    from ganeval.plots import save_curves

    written = []
    for table in sorted(results.glob("*/metrics.csv")):
        rows = pd.read_csv(table)
        if "fid" not in rows or rows["fid"].isna().all():
            continue
        run = table.parent.name
        save_curves({run: (rows["step"].tolist(), rows["fid"].tolist())}, table.with_name("fid.png"), ylabel="FID",
                    title=f"{run}: FID against training step")  # fmt: skip
        written.append(table.with_name("fid.png"))
    return written


def main() -> int:
    import mixtures_study
    import validity
    import validity_prdc

    docs = ROOT / "docs"
    written = validity.replot(docs)
    reduced = docs / "validity_reduced_cifar10.csv"
    if reduced.is_file():
        validity.plot_disturbances(validity.read_csv(reduced), reduced.with_suffix(".png"))
        written.append(reduced.with_suffix(".png"))
    written += validity_prdc.replot(docs)
    written += training_curves(ROOT / "baselines" / "results")
    written += mixtures_study.replot(ROOT / "baselines" / "results" / "mixtures")
    for path in written:
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
