"""The ``[train]``, ``[hardware]``, ``[objectives]`` and ``[constraints]`` sections."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import hwmodels
from hwmodels.validation import Interval, Invalid, show

from .. import engines
from ..engines import TRAIN_KEYS
from ..errors import hw_message
from ..keys import Key
from ..store.names import TRAINING_PREFIX
from ._checker import Checker
from .model import DIRECTIONS, Constraint, StudySpec

FINITE = Interval(float)


def train_section(check: Checker, table: dict[str, Any], engine_names: tuple[str, ...]) -> dict[str, Any]:
    keys: dict[str, Key] = dict(TRAIN_KEYS)
    for name in engine_names:
        keys.update(engines.get(name).train_keys)
    check.only(table, "[train]", keys)
    values = {name: key.default for name, key in keys.items()}
    values.update({name: check.value(keys[name], v, f"[train].{name}") for name, v in table.items()})
    return values


def hardware_section(check: Checker, table: dict[str, Any]) -> tuple[tuple[str, ...], dict[str, Any]]:
    available = hwmodels.available()
    models = table.get("models", available)
    if not isinstance(models, list) or not all(isinstance(m, str) for m in models) or not models:
        raise check.fail("[hardware].models", f"expected a list of model names among {', '.join(available)}, "
                                              f"got {show(models)}")
    for model in models:
        if model not in available:
            raise check.fail("[hardware].models", f"unknown model \"{model}\"; available: {', '.join(available)}")
    options = {k: v for k, v in table.items() if k != "models"}
    for key in options:
        try:
            hwmodels.units(models, **{key: options[key]})
        except ValueError as exc:
            raise check.fail(f"[hardware].{key}", hw_message(exc)) from None
    return tuple(dict.fromkeys(models)), options


def check_metric(check: Checker, spec: StudySpec, metric: str, where: str) -> None:
    units = spec.metric_units()
    if metric in units:
        untrained = [e for e in spec.engines if not engines.get(e).training_profile]
        if metric.startswith(TRAINING_PREFIX) and untrained:
            raise check.fail(where, f"\"{metric}\" is measured while training, which engine "
                                    f"\"{untrained[0]}\" does not report; drop it or that engine from [study].engine")
        return
    hint = ""
    for model in hwmodels.available():
        if model not in spec.hardware_models and metric in hwmodels.units(model):
            hint = f" (model \"{model}\" reports it: add it to [hardware].models)"
    raise check.fail(where, f"unknown metric \"{metric}\"{hint}; valid metrics: {', '.join(units)}")


def objectives_section(check: Checker, table: dict[str, Any], spec: StudySpec, sampler_given: bool) -> StudySpec:
    if not table:
        raise check.fail("[objectives]", "missing; give at least one metric = \"maximize\" or \"minimize\"")
    objectives = []
    for metric, direction in table.items():
        where = f"[objectives].{metric}"
        check_metric(check, spec, metric, where)
        if direction not in DIRECTIONS:
            raise check.fail(where, f"expected \"maximize\" or \"minimize\", got {show(direction)}")
        objectives.append((metric, direction))
    sampler = spec.sampler if sampler_given else ("nsga2" if len(objectives) > 1 else "tpe")
    if len(objectives) > 1 and spec.pruner in ("median", "hyperband"):
        raise check.fail("[study].pruner", "Optuna prunes single-objective studies only; "
                                           "use \"pareto\" or \"none\" with several objectives")
    if len(objectives) == 1 and spec.pruner == "pareto":
        raise check.fail("[study].pruner", "the pareto pruner needs several objectives; "
                                           "use \"median\" or \"hyperband\" with one")
    return replace(spec, objectives=tuple(objectives), sampler=sampler)


def constraints_section(check: Checker, table: dict[str, Any], spec: StudySpec) -> tuple[Constraint, ...]:
    constraints = []
    for metric, bound in table.items():
        where = f"[constraints].{metric}"
        check_metric(check, spec, metric, where)
        if not isinstance(bound, dict) or not bound or set(bound) - {"min", "max"}:
            raise check.fail(where, "expected { max = number }, { min = number } or both")
        for side, value in bound.items():
            try:
                FINITE.check(value)
            except Invalid:
                raise check.fail(f"{where}.{side}", f"expected a number, got {show(value)}") from None
        constraint = Constraint(metric, min=bound.get("min"), max=bound.get("max"))
        if constraint.min is not None and constraint.max is not None and constraint.min > constraint.max:
            raise check.fail(where, f"impossible: min ({constraint.min:g}) exceeds max ({constraint.max:g})")
        constraints.append(constraint)
    return tuple(constraints)


