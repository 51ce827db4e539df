"""Typed records the read side gets from the store: the stored spec, trials, design points.

Readers (query, select, report, rescore) see these and nothing of Optuna's
objects or of the tables; a record is keyed by public identifiers only: the
study name, the trial number and the variant name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

STORED_SPEC_VERSION = 3
"""1: snn-dse 0.1 (path, engine, dataset, objectives, directions, constraints,
hardware models and options, searched key names). 2 adds the rest of the spec.
3 adds ``sections``, what a rerun of the study must not change."""


@dataclass(frozen=True)
class StoredSpec:
    """What a study was run with, as stored beside it (Optuna study user attribute ``dse_spec``)."""

    version: int = STORED_SPEC_VERSION
    """0 where nothing is stored (yet: another worker is creating the study)."""
    path: str = ""
    name: str = ""
    engine: str = ""
    dataset: str = ""
    objectives: tuple[str, ...] = ()
    directions: tuple[str, ...] = ()
    constraints: tuple[Mapping[str, Any], ...] = ()
    """``{"metric": m, "min": x | None, "max": y | None}`` each."""
    hardware_models: tuple[str, ...] = ()
    hardware_options: Mapping[str, Any] = field(default_factory=dict)
    space: tuple[str, ...] = ()
    """Names of the searched keys."""
    sampler: str = ""
    seed: int = 0
    n_trials: int = 0
    train: Mapping[str, Any] = field(default_factory=dict)
    retries: int = 1
    sections: Mapping[str, Any] = field(default_factory=dict)
    """What a rerun must not change (version 3): [space], [objectives], [constraints], [hardware],
    [train], [variants], the data set, the engines and the mode, as plain JSON."""

    @classmethod
    def from_attr(cls, data: Mapping[str, Any] | None) -> "StoredSpec":
        """Read any stored version (a study written before snn-dse stored one reads as empty)."""
        data = dict(data or {})
        known = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("objectives", "directions", "hardware_models", "space"):
            values[key] = tuple(values.get(key, ()))
        values["constraints"] = tuple(dict(c) for c in values.get("constraints", ()))
        values["version"] = int(data.get("version", 1)) if data else 0  # 0: nothing stored (yet)
        return cls(**values)

    def to_attr(self) -> dict[str, Any]:
        return {f: _plain(getattr(self, f)) for f in self.__dataclass_fields__}

    @property
    def objective_pairs(self) -> tuple[tuple[str, str], ...]:
        return tuple(zip(self.objectives, self.directions))

    def satisfies(self, metrics: Mapping[str, float]) -> bool:
        """Whether every stored constraint holds for these metrics (a missing metric does not)."""
        for c in self.constraints:
            value = metrics.get(c["metric"])
            if value is None or (c.get("min") is not None and value < c["min"]) \
                    or (c.get("max") is not None and value > c["max"]):
                return False
        return True


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class TrialRecord:
    """One trial: its state, the parameters Optuna sampled, and why it did not complete."""

    number: int
    state: str
    """complete, pruned, fail, running or waiting."""
    params: Mapping[str, Any]
    """Sampled parameters, decoded (list choices as tuples)."""
    design: Mapping[str, Any] | None
    """Every key the trial trained with, defaults included, and the engine."""
    values: tuple[float, ...] | None
    duration_s: float | None
    note: str
    """The failure reason, or why the design was rejected before training."""
    rejected: bool = False
    """Rejected before training (a static constraint it breaks)."""
    extras: Mapping[str, Any] = field(default_factory=dict)
    status: str = "trained"
    """trained, rejected, reused, pruned, failed or running (:data:`dse.store.names.STATUSES`)."""
    reused_from: int | None = None
    """For a reused trial: the trial whose training it was served from."""
    unmeasured: tuple[str, ...] = ()
    """Objectives Optuna holds a placeholder for (a rejected design): never shown as measured."""
    curve: tuple[float, ...] = ()
    """Validation accuracy after each epoch."""
    worker: str = ""
    retry_of: int | None = None
    """For a retried trial: the first attempt, whose worker was lost or interrupted."""
    stage: int | None = None
    """The stage of a sequential study the trial searched in."""
    fixed: Mapping[str, Any] = field(default_factory=dict)
    """A sequential study's values of the keys the trial's stage did not search."""
    inherited: Mapping[str, Any] | None = None
    """A one-shot study's trial evaluated with its supernet's weights: the supernet and how (None: trained)."""
    retrain_of: int | None = None
    """A design ``dse retrain`` trained from scratch: its inherited twin's trial number."""


@dataclass(frozen=True)
class PointRecord:
    """One design point: a trial's trained design or a variant of it, with every stored metric."""

    trial: int
    variant: str
    kind: str
    """trained, variant, static (a rejected design's shape-only costs) or reused."""
    parent: str | None
    """The variant it derives from ("" = the trained design), None for a trained design."""
    state: str
    params: Mapping[str, Any]
    """The trial's sampled parameters with the variant's own values applied (e.g. its timesteps)."""
    metrics: Mapping[str, float]
    """Every stored metric; an engine's training-phase metrics as ``training_<metric>``."""
    duration_s: float | None = None
    note: str = ""
    status: str = "trained"
    """trained, variant, rejected, reused, pruned, failed or running."""
    reused_from: int | None = None
    worker: str = ""
    """host:pid of the process that ran the trial (a Dask worker's, under ``dse run --dask``)."""

    @property
    def label(self) -> str:
        """How a report names the point: ``12``, or ``12 (T=4)`` for a variant."""
        return f"{self.trial} ({self.variant})" if self.variant else str(self.trial)

    @property
    def parent_label(self) -> str:
        """The label of the design point it derives from or was served from ("" for none)."""
        if self.reused_from is not None:
            return str(self.reused_from)
        if self.parent is None:
            return ""
        return f"{self.trial} ({self.parent})" if self.parent else str(self.trial)

    @property
    def key(self) -> tuple[int, str]:
        return self.trial, self.variant
