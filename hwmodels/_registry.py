"""Which cost models exist: the built-ins, then the "dse.hwmodels" entry points.

A new built-in model is one file plus one line in ``BUILTINS``. A third-party
distribution registers its model class (or instance) under the entry-point group
``dse.hwmodels``; every plug-in is loaded and checked the first time the
registry is consulted (:func:`names`, :func:`get`), so that one that cannot be
loaded -- its import raises, its object is not a cost model, or its model's
name is not the entry point's -- is skipped with one :class:`PluginWarning`
and listed by :func:`broken`, never failing the other models. A subclass of
:class:`hwmodels.CostModel` gets options, per-layer breakdowns and static
metrics; any object with Contract 2's ``name``, ``metrics`` and ``estimate()``
works too, with none of those.
"""

from __future__ import annotations

import importlib
import warnings
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any, Mapping

from .validation import Invalid
from ._base import CostModel
from .profile import Profile

ENTRY_POINT_GROUP = "dse.hwmodels"


class PluginWarning(UserWarning):
    """A third-party cost-model plug-in could not be loaded and is skipped."""

BUILTINS: dict[str, str] = {
    "memory": "hwmodels.memory:MemoryModel",
    "synops": "hwmodels.synops:SynOpsModel",
    "energy45nm": "hwmodels.energy45nm:Energy45nmModel",
    "neuromorphic": "hwmodels.neuromorphic:NeuromorphicModel",
    "gpu": "hwmodels.gpu:GpuModel",
    "reward": "hwmodels.reward:RewardModel",
    "neurobench": "hwmodels.neurobench:NeuroBenchModel",
}


def _load(target: str) -> CostModel:
    module_name, _, attr = target.partition(":")
    obj = getattr(importlib.import_module(module_name), attr)
    return obj() if isinstance(obj, type) else obj


class _Minimal(CostModel):
    """A model with only Contract 2's ``name``, ``metrics`` and ``estimate()``:
    no options, no per-layer values, nothing static."""

    def __init__(self, model: Any) -> None:
        self.name = model.name
        self.metrics = dict(model.metrics)
        self._model = model

    def estimate(self, profile: Profile, **options: Any) -> dict[str, float]:
        return self._model.estimate(profile, **options)


def _check(model: object, origin: str) -> CostModel:
    for attr in ("name", "metrics", "estimate"):
        if not hasattr(model, attr):
            raise TypeError(f"{origin} is not a cost model: it has no {attr!r}")
    metrics = getattr(model, "metrics")
    if not isinstance(getattr(model, "name"), str) or not isinstance(metrics, Mapping) or not metrics \
            or not all(isinstance(m, str) and isinstance(u, str) for m, u in metrics.items()):
        raise TypeError(f"{origin} is not a cost model: it needs a str name and metrics "
                        f"as a non-empty {{metric: unit}} dict of strings")
    return model if isinstance(model, CostModel) else _Minimal(model)


def _load_plugin(entry: Any) -> CostModel:
    """The entry point's model, checked; any exception says why it is unusable."""
    try:
        obj = entry.load()
        obj = obj() if isinstance(obj, type) else obj
    except Exception as exc:  # a plug-in's import or constructor may raise anything
        raise TypeError(f"importing {entry.value!r} failed: {type(exc).__name__}: {exc}") from exc
    model = _check(obj, repr(entry.value))
    if model.name != entry.name:
        raise TypeError(f"{entry.value!r} loads a model named {model.name!r}, not {entry.name!r}")
    return model


@lru_cache(maxsize=None)
def _plugins() -> tuple[dict[str, CostModel], dict[str, str]]:
    """Every plug-in loaded: ``({name: model}, {name: reason it is broken})``."""
    entries = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name not in BUILTINS}
    models: dict[str, CostModel] = {}
    failed: dict[str, str] = {}
    for name, entry in sorted(entries.items()):
        try:
            models[name] = _load_plugin(entry)
        except Exception as exc:
            failed[name] = str(exc)
            warnings.warn(f"hwmodels: skipping the cost-model plug-in {name!r} ({entry.value}): {exc}",
                          PluginWarning, stacklevel=2)
    return models, failed


def refresh() -> None:
    """Forget loaded models and plugins (after installing a plugin at run time)."""
    _plugins.cache_clear()
    get.cache_clear()


def names() -> list[str]:
    return [*BUILTINS, *_plugins()[0]]


def broken() -> dict[str, str]:
    """Plug-ins skipped because they cannot be loaded: ``{name: reason}``."""
    return dict(_plugins()[1])


@lru_cache(maxsize=None)
def get(name: str) -> CostModel:
    if name in BUILTINS:
        return _check(_load(BUILTINS[name]), BUILTINS[name])
    models, failed = _plugins()
    if name in failed:
        raise Invalid("a working model", name, message=f"model {name!r} is a broken plug-in, skipped: {failed[name]}")
    if name not in models:
        raise Invalid("a registered model", name, message=f"unknown model {name!r}; available: {', '.join(names())}")
    return models[name]
