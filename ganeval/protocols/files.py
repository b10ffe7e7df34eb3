"""The suites' reference files as inputs: ADM batches (`.npz` with `arr_0` and, for references, `mu`, `sigma`,
`mu_s`, `sigma_s`) and EDM2 references (`.pkl`, or EDM1's `.npz`, of per-metric `mu` and `sigma`).

Their statistics come without ganeval's metadata; each suite's convention says which view they describe
(ADM: Inception pool3 and its sFID tap through TF's bilinear resize; EDM2: Inception pool3, and DINOv2
ViT-L/14 in EDM2's mode), and they are used for that view instead of recomputing, as the suites do.
"""

from __future__ import annotations

import zipfile
from typing import Any

import numpy as np

from ganeval.features.views import View
from ganeval.metrics.stats import GaussianStats

ADM_VIEWS = (View("inception", "pool3", "tf"), View("inception-spatial", "mixed_6/conv", "tf"))
EDM2_VIEWS = {"fid": View("inception", "pool3", "tf"), "fd_dinov2": View("dinov2-vit-l-14", "cls", "edm2")}


def _npz_members(path: str) -> set[str]:
    try:
        with zipfile.ZipFile(path) as archive:
            return {name.removesuffix(".npy") for name in archive.namelist()}
    except (zipfile.BadZipFile, OSError):
        return set()


def is_adm_batch(path: str) -> bool:
    """An ADM reference batch: images `arr_0` with both pool3 and spatial statistics."""
    return path.lower().endswith(".npz") and {"arr_0", "mu", "mu_s"} <= _npz_members(path)


def _stats(mu: np.ndarray, sigma: np.ndarray, n: int | None) -> GaussianStats:
    mu = np.asarray(mu, dtype=np.float64)
    return GaussianStats(mu=mu, sigma=np.asarray(sigma, dtype=np.float64), n=n if n is not None else mu.shape[0] + 1)


def suite_file_input(path: str, store: Any) -> Any:
    """The `Input` of an ADM reference batch or an EDM2 reference, or None for any other file."""
    from ganeval.inputs import Input
    from ganeval.protocols.adm import read_adm_batch
    from ganeval.protocols.edm2 import read_edm2_reference
    from ganeval.sources.npz import array_file_source

    if path.lower().endswith(".pkl"):
        ref = read_edm2_reference(path)
        bundled = {EDM2_VIEWS[m]: _stats(mu, sigma, ref.num_images) for m, (mu, sigma) in ref.stats.items()
                   if m in EDM2_VIEWS}  # fmt: skip
        return Input(label=path, bundled=bundled, count=ref.num_images)
    if is_adm_batch(path):
        batch = read_adm_batch(path)
        (mu, sigma), (mu_s, sigma_s) = batch.stats
        bundled = {
            ADM_VIEWS[0]: _stats(mu, sigma, batch.num_images),
            ADM_VIEWS[1]: _stats(mu_s, sigma_s, batch.num_images),
        }
        cacheable = store.cache is True
        return Input(label=path, source=array_file_source(path), bundled=bundled, cacheable=cacheable)
    return None
