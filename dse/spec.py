"""Study specs: a TOML file checked once, at the boundary, into a frozen StudySpec.

Every problem is a :class:`~dse.errors.SpecError` naming the file, the key path
and what would be valid, and is raised before anything is trained or written::

    studies/x.toml: [space].weight_bits: expected integers 1..32, got 64
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

import hwmodels

from . import engines
from .data import DATASETS
from .engines import Budget, DataShape
from .engines._base import TRAIN_KEYS
from .errors import SpecError
from .keys import Key, _show
from .space import corners, engine_keys

SAMPLERS = ("nsga2", "nsga3", "tpe", "gp", "random", "grid")
PRUNERS = ("none", "median", "hyperband")
DIRECTIONS = ("maximize", "minimize")
SECTIONS = ("study", "objectives", "constraints", "space", "train", "hardware")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

TRAINING_PREFIX = "training_"
"""Cost metrics of an engine's training-phase profile are named training_<metric>."""

ENGINE_METRICS = {
    "accuracy": "1",
    "val_accuracy": "1",
    "train_seconds": "s",
    "eval_seconds": "s",
}
"""Metrics every engine reports beside the cost models' (units)."""



@dataclass(frozen=True)
class Param:
    """One searched parameter: a list of choices, or a numeric range."""

    name: str
    kind: str  # the key's kind
    choices: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None

    @property
    def discrete(self) -> bool:
        return self.choices is not None or self.kind == "int" or self.step is not None

    def values(self) -> list[Any]:
        """Every value (discrete parameters only)."""
        if self.choices is not None:
            return list(self.choices)
        step = self.step or 1
        n = int(math.floor((self.high - self.low) / step + 1e-9)) + 1
        values = [self.low + i * step for i in range(n)]
        return [int(v) for v in values] if self.kind == "int" else values

    def extremes(self) -> list[Any]:
        if self.choices is not None:
            return list(self.choices)
        lo, hi = (self.low, self.high) if self.kind == "float" else (int(self.low), int(self.high))
        return [lo] if lo == hi else [lo, hi]


@dataclass(frozen=True)
class Constraint:
    metric: str
    min: float | None = None
    max: float | None = None

    def violation(self, value: float) -> float:
        """Optuna's convention: <= 0 feasible, > 0 by how much it is not."""
        over = value - self.max if self.max is not None else -math.inf
        under = self.min - value if self.min is not None else -math.inf
        return max(over, under)

    def describe(self) -> str:
        parts = []
        if self.min is not None:
            parts.append(f">= {self.min:g}")
        if self.max is not None:
            parts.append(f"<= {self.max:g}")
        return f"{self.metric} {' and '.join(parts)}"


@dataclass(frozen=True)
class StudySpec:
    path: str
    name: str
    engines: tuple[str, ...]
    """One engine, or several: then the engine is itself a searched parameter and
    each [space] key applies to the engines that know it."""
    dataset: str = "digits"
    n_trials: int = 30
    sampler: str = "nsga2"
    seed: int = 0
    pruner: str = "none"
    description: str = ""
    objectives: tuple[tuple[str, str], ...] = ()
    constraints: tuple[Constraint, ...] = ()
    space: tuple[Param, ...] = ()
    train: Mapping[str, Any] = field(default_factory=dict)
    hardware_models: tuple[str, ...] = ()
    hardware_options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def engine(self) -> str:
        """The engine, or "a+b" for a study that searches over several."""
        return "+".join(self.engines)

    def params_for(self, engine: str) -> tuple["Param", ...]:
        """The searched parameters that apply to one engine."""
        keys = engine_keys(engine)
        return tuple(p for p in self.space if p.name in keys)

    @property
    def metric_names(self) -> list[str]:
        return [metric for metric, _ in self.objectives]

    @property
    def directions(self) -> list[str]:
        return [direction for _, direction in self.objectives]

    def budget(self, *, device: str = "cpu", seed: int = 0) -> Budget:
        common = {k: v for k, v in self.train.items() if k in TRAIN_KEYS}
        extra = {k: v for k, v in self.train.items() if k not in TRAIN_KEYS}
        common["max_train_samples"] = common.get("max_train_samples") or None
        return Budget(**common, device=device, seed=seed, extra=extra)

    def metric_units(self) -> dict[str, tuple[str, str]]:
        """``{metric: (source, unit)}`` of everything a trial of this study reports."""
        units = {m: ("engine", u) for m, u in ENGINE_METRICS.items()}
        cost = hwmodels.units(self.hardware_models, **self.hardware_options)
        units.update(cost)
        if any(engines.get(e).training_profile for e in self.engines):
            units.update({f"{TRAINING_PREFIX}{m}": (model, unit) for m, (model, unit) in cost.items()})
        return units


# ---- loading -----------------------------------------------------------------

class _Checker:
    """Collects the file name so each check can say where it failed."""

    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, key: str, message: str) -> SpecError:
        return SpecError(self.path, key, message)

    def table(self, data: Mapping[str, Any], section: str) -> dict[str, Any]:
        value = data.get(section, {})
        if not isinstance(value, dict):
            raise self.fail(f"[{section}]", f"expected a table, got {_show(value)}")
        return value

    def only(self, table: Mapping[str, Any], where: str, valid: Mapping[str, Any] | tuple) -> None:
        unknown = [k for k in table if k not in valid]
        if unknown:
            raise self.fail(f"{where}.{unknown[0]}" if where else unknown[0],
                            f"unknown key; valid keys: {', '.join(valid)}")

    def value(self, key: Key, value: Any, where: str) -> Any:
        try:
            return key.check(value)
        except ValueError as exc:
            raise self.fail(where, str(exc)) from None


def load_spec(path: str | Path, **overrides: Any) -> StudySpec:
    """Read and check a study spec. `overrides` (from the command line) win over the file."""
    shown = str(path)
    check = _Checker(shown)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise check.fail("", "no such file") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise check.fail("", f"cannot read the file ({exc.__class__.__name__})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise check.fail("", f"not valid TOML: {exc}") from None
    return parse_spec(data, shown, **overrides)


def parse_spec(data: Mapping[str, Any], path: str = "<spec>", **overrides: Any) -> StudySpec:
    check = _Checker(path)
    unknown = [k for k in data if k not in SECTIONS]
    if unknown:
        raise check.fail(f"[{unknown[0]}]", f"unknown section; valid sections: {', '.join(SECTIONS)}")
    study = check.table(data, "study")
    spec = _study(check, study)
    spec = replace(spec, space=_space(check, check.table(data, "space"), spec.engines))
    train_keys = {k: key for e in spec.engines for k, key in engines.get(e).train_keys.items()}
    spec = replace(spec, train=_train(check, check.table(data, "train"), train_keys))
    models, options = _hardware(check, check.table(data, "hardware"))
    spec = replace(spec, hardware_models=models, hardware_options=options)
    for name, value in overrides.items():
        if value is not None:
            spec = replace(spec, **{name: value})
    spec = _objectives(check, check.table(data, "objectives"), spec, "sampler" in study or "sampler" in overrides)
    spec = replace(spec, constraints=_constraints(check, check.table(data, "constraints"), spec))
    if spec.sampler == "grid":
        if len(spec.engines) > 1:
            raise check.fail("[study].sampler", "the grid sampler needs a single engine (the space differs "
                                                "between engines); use nsga2, tpe or random")
        for param in spec.space:
            if not param.discrete:
                raise check.fail(f"[space].{param.name}",
                                 "the grid sampler needs choices, or an integer range, or a step")
    _check_feasible(check, spec)
    return spec


def _study(check: _Checker, study: dict[str, Any]) -> StudySpec:
    valid = ("name", "engine", "dataset", "n_trials", "sampler", "seed", "pruner", "description")
    check.only(study, "[study]", valid)
    for required in ("name", "engine"):
        if required not in study:
            raise check.fail(f"[study].{required}", "missing; it is required")
    name = study["name"]
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise check.fail("[study].name", f"expected letters, digits, '-', '_' or '.', got {_show(name)}")
    engine = study["engine"]
    chosen = engine if isinstance(engine, list) and engine else [engine]
    for engine_name in chosen:
        if engine_name not in engines.names():
            raise check.fail("[study].engine", f"expected one of {', '.join(map(_quote, engines.names()))} "
                                               f"(or a list of them), got {_show(engine)}")
    if len(set(chosen)) != len(chosen):
        raise check.fail("[study].engine", f"an engine is listed twice: {_show(engine)}")
    out = {
        "dataset": Key("dataset", "str", "digits", "", options=tuple(DATASETS)),
        "n_trials": Key("n_trials", "int", 30, "", low=1, high=10**7),
        "sampler": Key("sampler", "str", "nsga2", "", options=SAMPLERS),
        "seed": Key("seed", "int", 0, "", low=0, high=2**31 - 1),
        "pruner": Key("pruner", "str", "none", "", options=PRUNERS),
    }
    values = {k: check.value(key, study[k], f"[study].{k}") for k, key in out.items() if k in study}
    description = study.get("description", "")
    if not isinstance(description, str):
        raise check.fail("[study].description", f"expected a string, got {_show(description)}")
    return StudySpec(path=check.path, name=name, engines=tuple(chosen), description=description, **values)


def _quote(s: str) -> str:
    return f'"{s}"'


def _space(check: _Checker, table: dict[str, Any], engine_names: tuple[str, ...]) -> tuple[Param, ...]:
    per_engine = {e: engine_keys(e) for e in engine_names}
    valid = list(dict.fromkeys(k for keys in per_engine.values() for k in keys))
    params = []
    if len(engine_names) > 1:
        params.append(Param("engine", "str", choices=tuple(engine_names)))
    for name, entry in table.items():
        where = f"[space].{name}"
        owners = [keys[name] for keys in per_engine.values() if name in keys]
        if not owners:
            which = " or ".join(f'"{e}"' for e in engine_names)
            raise check.fail(where, f"engine {which} has no such key; valid keys: {', '.join(valid)}")
        param = _param(check, where, name, entry, owners[0])
        for other in owners[1:]:  # a key shared by several engines must suit each of them
            _param(check, where, name, entry, other)
        params.append(param)
    return tuple(params)


def _param(check: _Checker, where: str, name: str, entry: Any, key: Key) -> Param:
    if not isinstance(entry, dict):
        raise check.fail(where, "expected a table: { choices = [...] } or { low = ..., high = ... }")
    if "choices" in entry:
        check.only(entry, where, ("choices",))
        choices = entry["choices"]
        if not isinstance(choices, list) or not choices:
            raise check.fail(where, f"choices must be a non-empty list, got {_show(choices)}")
        values = tuple(check.value(key, c, where) for c in choices)
        if len(set(values)) != len(values):
            raise check.fail(where, "choices must not repeat a value")
        return Param(name, key.kind, choices=values)
    check.only(entry, where, ("low", "high", "log", "step"))
    if not key.numeric:
        raise check.fail(where, f"a range needs a numeric key; give choices: {key.expected()}")
    if "low" not in entry or "high" not in entry:
        raise check.fail(where, "a range needs both low and high (or give choices = [...])")
    low = check.value(key, entry["low"], f"{where}.low")
    high = check.value(key, entry["high"], f"{where}.high")
    if low > high:
        raise check.fail(where, f"low ({low:g}) must not exceed high ({high:g})")
    log = entry.get("log", False)
    if not isinstance(log, bool):
        raise check.fail(f"{where}.log", f"expected true or false, got {_show(log)}")
    if log and low <= 0:
        raise check.fail(f"{where}.low", f"a log range needs low > 0, got {low:g}")
    step = entry.get("step")
    if step is not None:
        if isinstance(step, bool) or not isinstance(step, (int, float)) or step <= 0 \
                or (key.kind == "int" and not isinstance(step, int)):
            kind = "an integer" if key.kind == "int" else "a number"
            raise check.fail(f"{where}.step", f"expected {kind} > 0, got {_show(step)}")
        if log:
            raise check.fail(f"{where}.step", "step and log cannot be combined")
    return Param(name, key.kind, low=low, high=high, log=log, step=step)


def _train(check: _Checker, table: dict[str, Any], engine_keys_: Mapping[str, Key]) -> dict[str, Any]:
    keys = {**TRAIN_KEYS, **engine_keys_}
    check.only(table, "[train]", keys)
    values = {name: key.default for name, key in keys.items()}
    values.update({name: check.value(keys[name], v, f"[train].{name}") for name, v in table.items()})
    return values


def _hardware(check: _Checker, table: dict[str, Any]) -> tuple[tuple[str, ...], dict[str, Any]]:
    available = hwmodels.available()
    models = table.get("models", available)
    if not isinstance(models, list) or not all(isinstance(m, str) for m in models) or not models:
        raise check.fail("[hardware].models", f"expected a list of model names among {', '.join(available)}, "
                                              f"got {_show(models)}")
    for model in models:
        if model not in available:
            raise check.fail("[hardware].models", f"unknown model \"{model}\"; available: {', '.join(available)}")
    options = {k: v for k, v in table.items() if k != "models"}
    for key in options:
        try:
            hwmodels.units(models, **{key: options[key]})
        except ValueError as exc:
            message = str(exc).removeprefix("hwmodels: ")
            raise check.fail(f"[hardware].{key}", message) from None
    return tuple(dict.fromkeys(models)), options


def _metric(check: _Checker, spec: StudySpec, metric: str, where: str) -> None:
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


def _objectives(check: _Checker, table: dict[str, Any], spec: StudySpec, sampler_given: bool) -> StudySpec:
    if not table:
        raise check.fail("[objectives]", "missing; give at least one metric = \"maximize\" or \"minimize\"")
    objectives = []
    for metric, direction in table.items():
        where = f"[objectives].{metric}"
        _metric(check, spec, metric, where)
        if direction not in DIRECTIONS:
            raise check.fail(where, f"expected \"maximize\" or \"minimize\", got {_show(direction)}")
        objectives.append((metric, direction))
    sampler = spec.sampler if sampler_given else ("nsga2" if len(objectives) > 1 else "tpe")
    if len(objectives) > 1 and spec.pruner != "none":
        raise check.fail("[study].pruner", "Optuna prunes single-objective studies only; use \"none\"")
    return replace(spec, objectives=tuple(objectives), sampler=sampler)


def _constraints(check: _Checker, table: dict[str, Any], spec: StudySpec) -> tuple[Constraint, ...]:
    constraints = []
    for metric, bound in table.items():
        where = f"[constraints].{metric}"
        _metric(check, spec, metric, where)
        if not isinstance(bound, dict) or not bound or set(bound) - {"min", "max"}:
            raise check.fail(where, "expected { max = number }, { min = number } or both")
        for side, value in bound.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise check.fail(f"{where}.{side}", f"expected a number, got {_show(value)}")
        constraint = Constraint(metric, min=bound.get("min"), max=bound.get("max"))
        if constraint.min is not None and constraint.max is not None and constraint.min > constraint.max:
            raise check.fail(where, f"impossible: min ({constraint.min:g}) exceeds max ({constraint.max:g})")
        constraints.append(constraint)
    return tuple(constraints)


def static_constraints(spec: StudySpec) -> tuple[Constraint, ...]:
    """The constraints that can be checked before training (shape-only metrics)."""
    static = hwmodels.static_metrics(spec.hardware_models, **spec.hardware_options)
    return tuple(c for c in spec.constraints if c.metric in static)


def _check_feasible(check: _Checker, spec: StudySpec) -> None:
    """Refuse a constraint that no design at the corners of the space can meet."""
    constraints = static_constraints(spec)
    if not constraints:
        return
    info = DATASETS[spec.dataset]
    shape = DataShape(shape=info.shape, n_classes=info.n_classes)
    best = {c.metric: math.inf for c in constraints}
    for design in corners(spec):
        try:
            profile = engines.get(design.engine).static_profile(design, shape)
        except ValueError:
            continue  # a corner the engine cannot build: the search will skip it too
        metrics = hwmodels.evaluate(profile, spec.hardware_models, **spec.hardware_options)
        violations = {c.metric: c.violation(metrics[c.metric]) for c in constraints}
        if all(v <= 0 for v in violations.values()):
            return
        for metric, v in violations.items():
            best[metric] = min(best[metric], v)
    worst = max(constraints, key=lambda c: best[c.metric])
    raise check.fail(f"[constraints].{worst.metric}",
                     f"impossible: no design in [space] meets {worst.describe()} "
                     f"(closest misses by {best[worst.metric]:g})")
