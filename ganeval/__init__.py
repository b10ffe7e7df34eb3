"""ganeval: FID, Inception Score and KID that agree with the reference implementations."""

__version__ = "0.1.0"

from ganeval.api import fid, inception_score, kid, score  # noqa: E402
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
from ganeval.extractor import InceptionExtractor  # noqa: E402

__all__ = [
    "KEY_FID",
    "KEY_IS_MEAN",
    "KEY_IS_STD",
    "KEY_KID_MEAN",
    "KEY_KID_STD",
    "KEY_N_A",
    "KEY_N_B",
    "GanevalError",
    "InceptionExtractor",
    "InputError",
    "Settings",
    "StatisticsError",
    "WeightsError",
    "__version__",
    "fid",
    "inception_score",
    "kid",
    "score",
]
