"""Argument checks that run before torch is imported, so a mistyped metric, space, mode or path, or an
option that contradicts a protocol, is reported in a fraction of a second instead of after the 2-4 s that
importing torch and the network code costs. Everything here is torch-free; what it cannot decide without
the data (a dataset's split, a generator module) is left to the command.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ganeval.config import settings_from
from ganeval.errors import InputError, check


def check_inputs(inputs: Sequence[Any]) -> None:
    """Every input that can only be a path exists; named references are registered.

    Inputs with a colon are dataset specs (`mnist:test[:100]`), references (`ref:NAME`) or generator
    functions (`module:function`): only the references are checked here.
    """
    for spec in inputs:
        if not isinstance(spec, str):
            continue
        if spec.startswith("ref:"):
            from ganeval.references import load_registry

            load_registry().get(spec[4:].split("[")[0])  # an unknown name is a one-line error
        elif ":" not in spec:
            check(os.path.exists(spec), f"no such file or folder: {spec}")


def precheck(inputs: Sequence[Any], metrics: str | None, options: dict[str, Any], train: Any = None) -> None:
    """Metric names, settings (spaces, modes, protocol contradictions), the training set a metric needs, and
    the paths given: all refused before torch loads."""
    from ganeval.results import NEEDS_TRAIN, needs, parse_metrics

    settings = settings_from(options)
    if metrics is not None:
        wanted = parse_metrics(metrics)
        needs(wanted, settings)  # a metric outside the protocol is refused here
        missing = sorted(NEEDS_TRAIN.intersection(wanted))
        if missing and train is None:
            raise InputError(
                f"{', '.join(missing)} compare{'s' * (len(missing) == 1)} the generated set with the training set: "
                "give --train INPUT"
            )
    check_inputs([*inputs, *([train] if train is not None else [])])
