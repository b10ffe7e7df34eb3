"""ganeval: evaluation of generative image models that agrees with the reference implementations.

Two inputs are always REAL, FAKE: the reference first, the generated set second; the Inception Score
rates the generated set. Public names are imported on first use, so `import ganeval` (and the command
line's help) does not pay for torch until a metric is computed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ganeval._version import __version__

_EXPORTS = {
    "KEY_FID": "ganeval.config",
    "KEY_IS_MEAN": "ganeval.config",
    "KEY_IS_STD": "ganeval.config",
    "KEY_KID_MEAN": "ganeval.config",
    "KEY_KID_STD": "ganeval.config",
    "KEY_N_FAKE": "ganeval.config",
    "KEY_FID_PER_CLASS": "ganeval.config",
    "KEY_INTRA_FID": "ganeval.config",
    "KEY_COVERAGE": "ganeval.config",
    "KEY_DENSITY": "ganeval.config",
    "KEY_RECALL": "ganeval.config",
    "KEY_PRECISION": "ganeval.config",
    "KEY_N_REAL": "ganeval.config",
    "METRICS": "ganeval.config",
    "Settings": "ganeval.config",
    "GanevalError": "ganeval.errors",
    "InputError": "ganeval.errors",
    "StatisticsError": "ganeval.errors",
    "WeightsError": "ganeval.errors",
    "compute_stats": "ganeval.api",
    "fid": "ganeval.api",
    "inception_score": "ganeval.api",
    "intra_fid": "ganeval.api",
    "kid": "ganeval.api",
    "score": "ganeval.api",
    "Cache": "ganeval.cache",
    "Evaluator": "ganeval.evaluator",
    "InceptionExtractor": "ganeval.extractor",
    "Extractor": "ganeval.features.base",
    "build_extractor": "ganeval.features.registry",
    "FeatureSpace": "ganeval.features.spaces",
    "SPACES": "ganeval.features.spaces",
    "register_space": "ganeval.features.spaces",
    "View": "ganeval.features.views",
    "cmmd": "ganeval.metrics.cmmd",
    "neighbours": "ganeval.api",
    "write_suite_reference": "ganeval.api",
    "ModelOptions": "ganeval.sources.models",
    "ModelSource": "ganeval.sources.models",
    "model_input": "ganeval.sources.models",
    "is_model_spec": "ganeval.sources.models",
    "fd_inf": "ganeval.metrics.fd_inf",
    "vendi": "ganeval.metrics.vendi",
    "authpct": "ganeval.metrics.memorization",
    "ct": "ganeval.metrics.memorization",
    "find_copies": "ganeval.metrics.memorization",
    "sw": "ganeval.metrics.sliced_wasserstein",
    "mifid": "ganeval.metrics.mifid",
    "rarity": "ganeval.metrics.rarity",
    "draw_copies": "ganeval.copies",
    "PROTOCOLS": "ganeval.protocols.registry",
    "StoreOptions": "ganeval.inputs",
    "GaussianStats": "ganeval.metrics.stats",
    "load_registry": "ganeval.references",
    "ImageSource": "ganeval.sources",
    "as_source": "ganeval.sources",
    "register_dataset": "ganeval.sources",
    "LabelledImages": "ganeval.sources.datasets",
    "dataset_labels": "ganeval.sources.datasets",
    "load_dataset": "ganeval.sources.datasets",
    "open_dataset": "ganeval.sources.datasets",
    "GeneratorSource": "ganeval.sources.generator",
    "seeded_rng": "ganeval.sources.generator",
    "SAMPLE_BATCH_SIZE": "ganeval.sources.generator",
    "to_uint8": "ganeval.quantise",
    "Scorer": "ganeval.scorer",
    "RankDeficientWarning": "ganeval.metrics.fid",
    "fid_from_features": "ganeval.metrics.fid",
    "frechet_distance": "ganeval.metrics.fid",
    "kernel_inception_distance": "ganeval.metrics.kid",
    "precision_recall_density_coverage": "ganeval.metrics.prdc",
    "mode_scores": "ganeval.metrics.modes",
    "gaussian_stats": "ganeval.metrics.gaussian",
    "LoadedStats": "ganeval.statsfile",
    "load_stats": "ganeval.statsfile",
    "save_stats": "ganeval.statsfile",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'ganeval' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # for type checkers and editors: the same names, imported eagerly
    from ganeval.api import (  # noqa: F401
        compute_stats,
        fid,
        inception_score,
        intra_fid,
        kid,
        neighbours,
        score,
        write_suite_reference,
    )
    from ganeval.cache import Cache  # noqa: F401
    from ganeval.config import (  # noqa: F401
        KEY_COVERAGE,
        KEY_DENSITY,
        KEY_FID,
        KEY_FID_PER_CLASS,
        KEY_INTRA_FID,
        KEY_IS_MEAN,
        KEY_IS_STD,
        KEY_KID_MEAN,
        KEY_KID_STD,
        KEY_N_FAKE,
        KEY_N_REAL,
        KEY_PRECISION,
        KEY_RECALL,
        METRICS,
        Settings,
    )
    from ganeval.copies import draw_copies  # noqa: F401
    from ganeval.errors import GanevalError, InputError, StatisticsError, WeightsError  # noqa: F401
    from ganeval.evaluator import Evaluator  # noqa: F401
    from ganeval.extractor import InceptionExtractor  # noqa: F401
    from ganeval.features.base import Extractor  # noqa: F401
    from ganeval.features.registry import build_extractor  # noqa: F401
    from ganeval.features.spaces import SPACES, FeatureSpace, register_space  # noqa: F401
    from ganeval.features.views import View  # noqa: F401
    from ganeval.inputs import StoreOptions  # noqa: F401
    from ganeval.metrics.cmmd import cmmd  # noqa: F401
    from ganeval.metrics.fd_inf import fd_inf  # noqa: F401
    from ganeval.metrics.fid import RankDeficientWarning, fid_from_features, frechet_distance  # noqa: F401
    from ganeval.metrics.kid import kernel_inception_distance  # noqa: F401
    from ganeval.metrics.memorization import authpct, ct, find_copies  # noqa: F401
    from ganeval.metrics.mifid import mifid  # noqa: F401
    from ganeval.metrics.prdc import precision_recall_density_coverage  # noqa: F401
    from ganeval.metrics.rarity import rarity  # noqa: F401
    from ganeval.metrics.sliced_wasserstein import sw  # noqa: F401
    from ganeval.metrics.stats import GaussianStats  # noqa: F401
    from ganeval.metrics.vendi import vendi  # noqa: F401
    from ganeval.protocols.registry import PROTOCOLS  # noqa: F401
    from ganeval.references import load_registry  # noqa: F401
    from ganeval.scorer import Scorer  # noqa: F401
    from ganeval.sources import ImageSource, as_source, register_dataset  # noqa: F401
    from ganeval.sources.datasets import LabelledImages, dataset_labels, load_dataset, open_dataset  # noqa: F401
    from ganeval.sources.generator import GeneratorSource, seeded_rng  # noqa: F401
    from ganeval.sources.models import ModelOptions, ModelSource, is_model_spec, model_input  # noqa: F401
    from ganeval.statsfile import LoadedStats, load_stats, save_stats  # noqa: F401
