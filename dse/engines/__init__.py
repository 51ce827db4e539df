"""Training engines (Contract 3). ``get(name)`` returns an :class:`Engine`.

Each engine is a package whose ``__init__`` declares ``ENGINE`` without
importing torch; its training code is imported only when a trial runs.
"""

from __future__ import annotations

import importlib

from ._base import (TRAIN_KEYS, VARIANT_KEYS, Budget, DataShape, Design, DesignError, Engine, Report, TrialOutcome,
                    Variant, variant_name)

__all__ = ["Budget", "DataShape", "Design", "DesignError", "Engine", "Report", "TrialOutcome", "TRAIN_KEYS", "VARIANT_KEYS", "Variant", "variant_name",
           "get", "names"]

_ENGINES = {
    "surrogate": "dse.engines.surrogate",
    "stdp": "dse.engines.stdp",
    "ttfs": "dse.engines.ttfs",
}


def names() -> list[str]:
    return list(_ENGINES)


def get(name: str) -> Engine:
    if name not in _ENGINES:
        raise ValueError(f"unknown engine {name!r}; available: {', '.join(_ENGINES)}")
    return importlib.import_module(_ENGINES[name]).ENGINE
