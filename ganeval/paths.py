"""Every folder ganeval reads or writes, in one place.

- `$GANEVAL_HOME` (default `~/.cache/ganeval`) holds what ganeval keeps between runs:
  - the cache, `$GANEVAL_CACHE` or `$GANEVAL_HOME/cache`;
  - the weights, `$GANEVAL_HOME/weights`;
  - the named datasets, `--data-root`, then `$GANEVAL_DATA`, then `$GANEVAL_HOME/data`.
- The installed package carries the reference registry (`ganeval/reference_stats/`, overridable with
  `$GANEVAL_REFERENCES`) and the baseline recipes (`ganeval/baselines/recipes/`), read as package data.

No code path refers to a folder outside the installed package or these roots.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path


def ganeval_home() -> Path:
    return Path(os.environ.get("GANEVAL_HOME") or Path.home() / ".cache" / "ganeval").expanduser()


def cache_dir() -> Path:
    return Path(os.environ.get("GANEVAL_CACHE") or ganeval_home() / "cache").expanduser()


def weights_dir() -> Path:
    return ganeval_home() / "weights"


def data_root(explicit: str | os.PathLike | None = None) -> Path:
    """Where named datasets are read from (and downloaded to): the option, `$GANEVAL_DATA`, `$GANEVAL_HOME/data`."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get("GANEVAL_DATA"):
        return Path(os.environ["GANEVAL_DATA"]).expanduser()
    return ganeval_home() / "data"


def package_data(*parts: str) -> Path:
    """A folder shipped inside the installed package (a real directory: setuptools installs files, not zips)."""
    return Path(str(resources.files("ganeval").joinpath(*parts)))


def registry_dir() -> Path:
    """`$GANEVAL_REFERENCES`, else the registry shipped with the package."""
    explicit = os.environ.get("GANEVAL_REFERENCES")
    return Path(explicit).expanduser() if explicit else package_data("reference_stats")


def recipes_dir() -> Path:
    return package_data("baselines", "recipes")
