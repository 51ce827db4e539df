"""The validated study spec: frozen records that cross every boundary after loading."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

import hwmodels

from .. import engines
from ..param import Param
from ..store.names import ENGINE_METRICS, ENGINE_SOURCE, TRAINING_PREFIX

SAMPLERS = ("nsga2", "nsga3", "tpe", "gp", "random", "grid")
PRUNERS = ("none", "median", "hyperband", "pareto")
MODES = ("joint", "sequential")
SEARCHES = ("trials", "supernet", "differentiable")
DIRECTIONS = ("maximize", "minimize")
SECTIONS = ("study", "objectives", "constraints", "space", "variants", "train", "hardware")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
MAX_NAME = 128
"""Longest study name: a database key, and a file name (reports/NAME.html) on any file system."""
RESERVED_NAMES = frozenset({"CON", "PRN", "AUX", "NUL", *(f"{d}{i}" for d in ("COM", "LPT") for i in range(1, 10))})
"""Device names Windows reserves with any extension (con.html cannot be a file there)."""


@dataclass(frozen=True)
class Constraint:
    """A bound on one metric: ``min``, ``max`` or both."""

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
    prune_margin: float = 0.02
    """The pareto pruner's margin on its optimistic accuracy bound."""
    retries: int = 1
    """A trial whose worker was lost or interrupted is tried this many times more."""
    mode: str = "joint"
    keep_weights: str = "all"
    """Which trained networks are kept as Optuna artifacts: all, pareto (the front's) or none."""
    artifacts: str = ""
    """The folder of the artifact store ("": beside an SQLite database, ``dse.db.artifacts``)."""
    stages: tuple[tuple[str, ...], ...] = ()
    """Sequential mode: the [space] keys each stage searches, in order."""
    stage_trials: tuple[int, ...] = ()
    """Sequential mode: trained designs per stage (summing to n_trials)."""
    search: str = "trials"
    """trials: train every design; supernet: train a weight-sharing supernet once, trials inherit its
    weights (:mod:`dse.study.oneshot`); differentiable: LitE-SNN's search (:mod:`dse.study.differentiable`)."""
    supernet_epochs: int = 0
    """Epochs of the supernet's (or the differentiable search's) training; 0 = 4 x [train] epochs."""
    finetune_steps: int = 0
    search_lambda: float = 5e-10
    """The differentiable search's weight of the model size (bits) in its loss (LitE-SNN Eq. 15's lambda)."""
    search_mu: float = 5e-14
    """The differentiable search's weight of the bit-SynOps in its loss (LitE-SNN Eq. 15's mu)."""
    """Training steps an inherited design takes from the supernet's weights before it is evaluated."""
    description: str = ""
    objectives: tuple[tuple[str, str], ...] = ()
    constraints: tuple[Constraint, ...] = ()
    space: tuple[Param, ...] = ()
    train: Mapping[str, Any] = field(default_factory=dict)
    max_param_bytes: int = engines.TRAIN_KEYS["max_param_bytes"].default
    """``[train] max_param_bytes``: the most bytes of parameters the largest design may hold."""
    hardware_models: tuple[str, ...] = ()
    hardware_options: Mapping[str, Any] = field(default_factory=dict)
    variants: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    """Post-training variants of every trained network: key -> values (``[variants]``, with
    ``[train] eval_timesteps`` as timesteps)."""

    @property
    def engine(self) -> str:
        """The engine, or "a+b" for a study that searches over several."""
        return "+".join(self.engines)

    def params_for(self, engine: str) -> tuple[Param, ...]:
        """The searched parameters that apply to one engine."""
        keys = engines.get(engine).all_keys
        return tuple(p for p in self.space if p.name in keys)

    @property
    def metric_names(self) -> list[str]:
        return [metric for metric, _ in self.objectives]

    @property
    def directions(self) -> list[str]:
        return [direction for _, direction in self.objectives]

    def metric_units(self) -> dict[str, tuple[str, str]]:
        """``{metric: (source, unit)}`` of everything a trial of this study reports."""
        units = {m: (ENGINE_SOURCE, u) for m, u in ENGINE_METRICS.items()}
        cost = hwmodels.units(self.hardware_models, **self.hardware_options)
        units.update(cost)
        if any(engines.get(e).training_profile for e in self.engines):
            units.update({f"{TRAINING_PREFIX}{m}": (model, unit) for m, (model, unit) in cost.items()})
        return units

    def static_metric_names(self) -> set[str]:
        """Metrics of the configured cost models that need no training (shape-only)."""
        return hwmodels.static_metrics(self.hardware_models, **self.hardware_options)

    def static_constraints(self) -> tuple[Constraint, ...]:
        """The constraints that can be checked before training (shape-only metrics)."""
        static = self.static_metric_names()
        return tuple(c for c in self.constraints if c.metric in static)
