"""Which cost models exist: the built-ins, then the "dse.hwmodels" entry points.

A new built-in model is one file plus one line in ``BUILTINS``. A third-party
distribution registers its model class (or instance) under the entry-point group
``dse.hwmodels``; it is imported only when first asked for. A subclass of
:class:`hwmodels.CostModel` gets options, per-layer breakdowns and static
metrics; any object with Contract 2's ``name``, ``metrics`` and ``estimate()``
works too, with none of those.
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any, Mapping

from ._base import CostModel
from .profile import Profile

ENTRY_POINT_GROUP = "dse.hwmodels"

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
            raise TypeError(f"hwmodels: {origin} is not a cost model: it has no {attr!r}")
    metrics = getattr(model, "metrics")
    if not isinstance(getattr(model, "name"), str) or not isinstance(metrics, Mapping) or not metrics \
            or not all(isinstance(m, str) and isinstance(u, str) for m, u in metrics.items()):
        raise TypeError(f"hwmodels: {origin} is not a cost model: it needs a str name and metrics "
                        f"as a non-empty {{metric: unit}} dict of strings")
    return model if isinstance(model, CostModel) else _Minimal(model)


@lru_cache(maxsize=None)
def _plugins() -> dict[str, object]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name not in BUILTINS}


def refresh() -> None:
    """Forget loaded models and plugins (after installing a plugin at run time)."""
    _plugins.cache_clear()
    get.cache_clear()


def names() -> list[str]:
    return [*BUILTINS, *sorted(_plugins())]


@lru_cache(maxsize=None)
def get(name: str) -> CostModel:
    if name in BUILTINS:
        return _check(_load(BUILTINS[name]), BUILTINS[name])
    plugin = _plugins().get(name)
    if plugin is None:
        raise ValueError(f"hwmodels: unknown model {name!r}; available: {', '.join(names())}")
    obj = plugin.load()  # type: ignore[attr-defined]
    model = _check(obj() if isinstance(obj, type) else obj, f"entry point {plugin.value!r}")  # type: ignore[attr-defined]
    if model.name != name:
        raise TypeError(f"hwmodels: entry point {name!r} loads a model named {model.name!r}")
    return model
