"""Hardware cost models for spiking neural networks.

Pure Python + numpy: no deep-learning framework is needed to score a profile,
including one stored months ago.

>>> import hwmodels
>>> hwmodels.evaluate(profile, ["memory", "synops"], sparse_format="csr")  # doctest: +SKIP
{'memory_bits': ..., 'memory_bytes': ..., 'synops': ..., ...}

Plug-ins. A third-party distribution registers a cost model under the
entry-point group ``dse.hwmodels`` (see :mod:`hwmodels._registry`). A subclass
of :class:`CostModel` declares each option as ``Option(default, constraint,
help)``, the constraint from the same vocabulary hwmodels itself uses
(:mod:`hwmodels.validation`)::

    from hwmodels import Boolean, CostModel, Interval, ListOf, Option, StrOptions, String

    class MyChip(CostModel):
        name = "mychip"
        metrics = {"energy_mychip_j": "J"}
        options = {
            "pj_per_synop": Option(2.0, Interval(float, 0, None, closed="neither"), "energy per SynOp"),
            "mode": Option("fast", StrOptions(("fast", "exact")), "how it counts"),
            "cores": Option(None, ListOf(String(), min_len=1), "cores to use (null = all)"),
        }

Each value a user gives (and each default) is checked before ``estimate`` runs,
and arrives normalised (an ``Interval(float, ...)`` gives a float, a ``ListOf`` a
tuple). A bad one raises :class:`Invalid` (a ValueError) with ``expected``,
``got`` and ``where`` (``"option 'mode' of model 'mychip'"``); NaN and
infinity never pass a numeric constraint. A constraint of your own subclasses
:class:`Constraint` (``check`` returns the value or raises ``self.fail(value)``;
``describe`` says what is valid). A plain callable in the constraint's place
still works (its ValueError becomes ``Invalid``).

A plug-in that cannot be loaded (its import fails, it is not a cost model, or
it is registered under another name than its own) is skipped with one
:class:`PluginWarning`; :func:`broken` lists it with the reason.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from . import _registry
from ._base import CostModel, Option
from ._registry import PluginWarning
from .profile import LayerProfile, Profile
from .validation import Boolean, Constraint, Interval, Invalid, ListOf, StrOptions, String

__version__ = "0.1.0"
"""The cost models' version: ``dse rescore`` records it beside the metrics it produced
(raise it whenever a formula changes, so a report can tell old values from new)."""

__all__ = ["Profile", "LayerProfile", "evaluate", "breakdown", "available", "broken", "get", "CostModel", "Option",
           "parse_options", "PluginWarning",
           "Constraint", "Interval", "StrOptions", "Boolean", "String", "ListOf", "Invalid"]


def available() -> list[str]:
    """Names of every registered cost model: built-ins first, then plugins."""
    return _registry.names()


def broken() -> dict[str, str]:
    """Plug-ins that failed to load, ``{entry point name: reason}``; none of them is in :func:`available`."""
    return _registry.broken()


def get(name: str) -> CostModel:
    """The cost model registered as `name` (ValueError naming the valid ones)."""
    return _registry.get(name)


def _select(models: Iterable[str] | str | None, options: dict[str, Any]) -> list[tuple[CostModel, dict]]:
    if isinstance(models, str):
        models = [models]
    names = available() if models is None else list(models)
    valid_names = available()
    for name in set(names) & set(broken()):
        get(name)  # ValueError: a broken plug-in, and why
    unknown = [n for n in names if n not in valid_names]
    if unknown:
        raise Invalid("registered models", unknown, message=f"unknown model(s) {', '.join(map(repr, unknown))}; "
                         f"available: {', '.join(valid_names)}")
    known_options = {key for n in valid_names for key in get(n).options}
    bad = sorted(set(options) - known_options)
    if bad:
        raise Invalid("known options", bad, message=f"unknown option(s) {', '.join(map(repr, bad))}; "
                         f"valid: {', '.join(sorted(known_options))}")
    return [(get(n), get(n).resolve(options)) for n in dict.fromkeys(names)]


def _check_profile(profile: Profile) -> None:
    if not isinstance(profile, Profile):
        raise TypeError(f"hwmodels: expected a hwmodels.Profile, got {type(profile).__name__}")


def evaluate(profile: Profile, models: Iterable[str] | str | None = None, **options: Any) -> dict[str, float]:
    """Run the named models (all when None) and return one flat ``{metric: value}``."""
    _check_profile(profile)
    out: dict[str, float] = {}
    for model, resolved in _select(models, options):
        out.update({k: float(v) for k, v in model.estimate(profile, **resolved).items()})
    return out


def breakdown(profile: Profile, models: Iterable[str] | str | None = None,
              **options: Any) -> dict[str, dict[str, float]]:
    """Per-layer values of every metric that adds up over layers."""
    _check_profile(profile)
    out: dict[str, dict[str, float]] = {layer.name: {} for layer in profile.layers}
    for model, resolved in _select(models, options):
        for layer, values in model.layer_estimates(profile, **resolved).items():
            out[layer].update({k: float(v) for k, v in values.items()})
    return out


def units(models: Iterable[str] | str | None = None, **options: Any) -> dict[str, tuple[str, str]]:
    """``{metric: (model, unit)}`` for what :func:`evaluate` returns under these options."""
    return {
        metric: (model.name, unit)
        for model, resolved in _select(models, options)
        for metric, unit in model.metrics_for(**resolved).items()
    }


def static_metrics(models: Iterable[str] | str | None = None, **options: Any) -> set[str]:
    """Metrics that need no training: computable from a profile's shapes alone."""
    return {
        metric
        for model, resolved in _select(models, options)
        for metric in model.metrics_for(**resolved)
        if model.is_static(metric)
    }


def parse_options(items: Iterable[str]) -> dict[str, Any]:
    """Command-line ``KEY=VALUE`` options as ``{key: value}``: the value as JSON where it parses
    (``3``, ``true``, ``["a"]``), else the bare string (``csr``). ValueError on an item without '='."""
    options: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--option {item}: expected KEY=VALUE, e.g. --option sparse_format=csr")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options
