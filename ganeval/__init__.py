"""ganeval: FID, Inception Score and KID that agree with the reference implementations."""

__version__ = "0.1.0"

from ganeval.api import compute_stats, fid, inception_score, kid, score  # noqa: E402
from ganeval.cache import Cache  # noqa: E402
from ganeval.config import (  # noqa: E402
    KEY_FID,
    KEY_IS_MEAN,
    KEY_IS_STD,
    KEY_KID_MEAN,
    KEY_KID_STD,
    KEY_N_A,
    KEY_N_B,
    Settings,
)
from ganeval.errors import GanevalError, InputError, StatisticsError, WeightsError  # noqa: E402
from ganeval.evaluator import Evaluator  # noqa: E402
from ganeval.extractor import InceptionExtractor  # noqa: E402
from ganeval.inputs import StoreOptions  # noqa: E402
from ganeval.metrics import GaussianStats  # noqa: E402
from ganeval.references import load_registry  # noqa: E402
from ganeval.sources import ImageSource, as_source, register_dataset  # noqa: E402
from ganeval.statsfile import LoadedStats, load_stats, save_stats  # noqa: E402

__all__ = [
    "KEY_FID",
    "KEY_IS_MEAN",
    "KEY_IS_STD",
    "KEY_KID_MEAN",
    "KEY_KID_STD",
    "KEY_N_A",
    "KEY_N_B",
    "Cache",
    "Evaluator",
    "GanevalError",
    "GaussianStats",
    "ImageSource",
    "InceptionExtractor",
    "InputError",
    "LoadedStats",
    "Settings",
    "StatisticsError",
    "StoreOptions",
    "WeightsError",
    "__version__",
    "as_source",
    "compute_stats",
    "fid",
    "inception_score",
    "kid",
    "load_registry",
    "load_stats",
    "register_dataset",
    "save_stats",
    "score",
]
