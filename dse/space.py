"""Optuna's view of a study's space: a trial's suggestions become a Design.

Every value goes through the key declarations (:func:`dse.design.make_design`);
list-valued choices (e.g. ``hidden = [[64], [128, 64]]``) are stored by Optuna
as JSON strings and decoded here.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from . import engines
from .design import make_design
from .engines import Design
from .param import Param
from .store.names import decode, encode
from .param import neutral

if TYPE_CHECKING:
    import optuna

    from .spec import StudySpec
    from .study.stages import Stage


def suggest_param(trial: "optuna.Trial", param: Param) -> Any:
    if param.choices is not None:
        return decode(trial.suggest_categorical(param.name, [encode(c) for c in param.choices]))
    if param.kind == "int":
        return trial.suggest_int(param.name, int(param.low), int(param.high),
                                 step=int(param.step or 1), log=param.log)
    return trial.suggest_float(param.name, param.low, param.high, step=param.step, log=param.log)


def suggest(trial: "optuna.Trial", spec: "StudySpec", stage: "Stage | None" = None,
            fixed: dict[str, Any] | None = None) -> Design:
    """Sample the engine (where the study has several), then every parameter that
    applies to it, and build the Design. In a stage of a sequential study, only the
    stage's keys are sampled; the others take the stage's fixed values (recorded in
    `fixed` by parameter name)."""
    fixed = fixed if fixed is not None else {}
    engine_name = spec.engines[0]
    if len(spec.engines) > 1:
        engine_name = trial.suggest_categorical("engine", list(spec.engines))
    engine = engines.get(engine_name)
    params = spec.params_for(engine_name)

    def pick(name: str, param: Param) -> Any:
        if stage is None or param.name in stage.keys:
            return suggest_param(trial, replace(param, name=name))
        value = stage.fixed[name] if name in stage.fixed else neutral(param, engine.all_keys[param.name].default)
        fixed[name] = value
        return value

    values = {p.name: pick(p.name, p) for p in params if p.name not in engine.expanded}
    return make_design(engine_name, values, pick, {p.name: p for p in params})


def grid(spec: "StudySpec") -> dict[str, list[Any]]:
    """The whole space as lists, for Optuna's GridSampler (spec checked it is discrete)."""
    return {param.name: [encode(v) for v in param.values()] for param in spec.space}
