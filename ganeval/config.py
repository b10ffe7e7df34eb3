"""Every default of the metrics in one place: the API and the CLI both read them from here."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from ganeval.errors import InputError

KEY_FID = "fid"
KEY_IS_MEAN = "is_mean"
KEY_IS_STD = "is_std"
KEY_KID_MEAN = "kid_mean"
KEY_KID_STD = "kid_std"
KEY_PRECISION = "precision"
KEY_RECALL = "recall"
KEY_DENSITY = "density"
KEY_COVERAGE = "coverage"
KEY_INTRA_FID = "intra_fid"  # the mean over classes of the per-class FIDs
KEY_FID_PER_CLASS = "fid_per_class"  # {class: FID}
KEY_N_REAL = "n_real"  # images (or statistics' count) of the reference, the first of two inputs
KEY_N_FAKE = "n_fake"  # images of the generated set, the second of two inputs or the only one

METRICS = ("fid", "is", "kid", "pr", "dc", "intra_fid")

# Choices of the settings below, here so that the command line offers them without importing torch.
MODES = ("tf", "pytorch", "clean")  # ganeval.inception.preprocess
PRECISIONS = ("exact", "strict", "tf32", "fp16", "bf16")  # ganeval.inception.precision
PRECISION_ALIASES = {"fast": "bf16"}
PRECISION_CHOICES = ("default", "fast", *PRECISIONS)


@dataclass(frozen=True)
class Settings:
    """How images become numbers. Defaults reproduce torch-fidelity's (and the TF code's) protocol."""

    mode: str = "tf"  # preprocessing: tf | pytorch | clean (see ganeval.inception.preprocess)
    batch_size: int | None = None  # None: 500 on a GPU, 32 on the CPU
    precision: str = "default"  # default | fast | strict | tf32 | fp16 | bf16 (ganeval.inception.precision)
    device: str | None = None  # None: CUDA when available
    workers: int | None = None  # decoding processes; 0 = the main process; None = ganeval.loader.auto_workers
    weights: str | None = None  # None: the resolution order of ganeval.inception.store
    skip_bad: bool = False  # skip undecodable images (counted) instead of failing
    progress: bool = True  # tqdm bars on stderr
    distributed: bool = False  # shard extraction over the initialised torch.distributed process group (no cache)
    fid_method: str = "eig"  # eig: eigenvalues of S1 S2 in float64 torch; sqrtm: scipy.linalg.sqrtm
    is_splits: int = 10
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    kid_degree: int = 3
    pr_k: int = 3  # precision/recall: k-th neighbour radii, `<=` (torch-fidelity's and StyleGAN's rule)
    dc_k: int = 5  # density/coverage: k-th neighbour radii, `<` (the prdc package's rule)
    knn_samples: int | None = None  # k-NN metrics on a seeded subsample of each set; None: every image
    seed: int = 2020  # torch-fidelity's default seed for the IS shuffle and the KID subsets


def make_settings(base: Settings | None = None, **overrides) -> Settings:
    """`base` with `overrides` applied; a misspelled option is an error, never silently ignored."""
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise InputError(f"unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return replace(base or Settings(), **overrides)
