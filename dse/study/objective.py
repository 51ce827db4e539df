"""One trial: sample a design, then reject it, serve it from the store, or train it.

- A design whose shape-only metrics already break a constraint is *rejected*
  without training. Optuna still gets a complete trial with the constraint
  violations and placeholder objectives (:func:`.feasibility.placeholder_values`),
  because its samplers learn from complete trials only; the read side shows
  the static costs and never the placeholders.
- A design some trial already trained (same fingerprint, :mod:`.dedupe`) is
  *reused*: served from that trial, linked to it, not trained again, not
  counted in ``n_trials``; one being trained by another worker is waited for.
- Otherwise the trial claims one of the ``n_trials`` training slots, the engine
  trains, every cost model scores the measured profile and its variants, and
  all of it is stored in one transaction. A trial that raises fails alone,
  its reason stored.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import optuna

from .. import engines
from ..data import Dataset
from ..deploy import weights
from ..engines import DataShape, Design
from ..interrupt import Interrupt
from ..progress import Progress
from ..space import suggest
from ..spec import StudySpec
from ..store import Store
from ..store import lost
from ..store import names as n
from ..store.claims import FULL, REUSE, WAIT, worker_label
from .dedupe import fingerprint
from .feasibility import broken, placeholder_values, static_metrics
from .pareto_pruner import ParetoPruner
from .scoring import budget, metric_rows, score_outcome, trial_seed
from .stages import Stage
from .variants import requests

WAIT_SECONDS = (0.2, 5.0)
"""First and longest pause while another worker trains the same design."""


@dataclass
class Objective:
    spec: StudySpec
    data: Dataset
    store: Store
    device: str
    progress: Progress
    current: int | None = None
    """Number of the trial this process is running, if any."""
    interrupt: Interrupt = field(default_factory=Interrupt)
    worker: str = field(default_factory=worker_label)
    stage: Stage | None = None
    """The stage of a sequential study being searched."""
    attrs: dict = field(default_factory=dict)
    """The running trial's user attributes, written once when it ends."""
    supernet: Any = None
    """A one-shot study's :class:`.oneshot.Stored` supernet: its trials inherit weights, except retrains."""

    def __post_init__(self) -> None:
        self.units = self.spec.metric_units()
        self.shape = DataShape(self.data.shape, self.data.n_classes)
        self.early = self.spec.static_constraints()
        self.pruner = ParetoPruner(self.spec, self.store) if self.spec.pruner == "pareto" else None
        self.weights = (weights.artifact_store(self.store.url, self.spec.artifacts or None)
                        if self.spec.keep_weights != "none" else None)
        """Where trained networks are kept (None: not kept, or no folder for a server database)."""

    def __call__(self, trial: optuna.Trial) -> list[float]:
        """One trial; its attributes are written with its rows (one transaction), however it ends."""
        self.current = trial.number
        self.attrs = {n.WORKER_ATTR: self.worker}
        self._flush(trial)  # at once: if this process dies, the next run knows whose trial it was
        try:
            return self._trial(trial)
        except optuna.TrialPruned:
            self._flush(trial)
            raise
        except KeyboardInterrupt:
            self.attrs.update({n.FAIL_ATTR: f"interrupted ({self.interrupt.name})", n.STATUS_ATTR: n.FAILED})
            self._flush(trial)
            raise
        except Exception as exc:
            self.attrs.update({n.FAIL_ATTR: f"{exc.__class__.__name__}: {exc}", n.STATUS_ATTR: n.FAILED})
            self._flush(trial)
            raise

    def _flush(self, trial: optuna.Trial) -> None:
        with self.interrupt.bookkeeping():
            self.store.set_attrs(self.spec.name, trial.number, self.attrs)

    def _trial(self, trial: optuna.Trial) -> list[float]:
        spec = self.spec
        fixed: dict = {}
        design = suggest(trial, spec, self.stage, fixed)
        engine = engines.get(design.engine)
        if self.stage is not None:
            self.attrs[n.STAGE_ATTR] = self.stage.index
            self.attrs[n.FIXED_ATTR] = {k: list(v) if isinstance(v, tuple) else v for k, v in fixed.items()}
        # everything the trial trains with, defaults included: reproducible from the database
        self.attrs[n.DESIGN_ATTR] = {"engine": design.engine, **{
            k: list(v) if isinstance(v, tuple) else v for k, v in design.params().items()}}
        engine.validate(design)
        static = static_metrics(spec, design, self.shape) if self.early or self.pruner else {}
        bad = broken(self.early, static)
        if bad:
            return self._reject(trial, design, static, bad)
        cap = self.stage.cap if self.stage else spec.n_trials
        key = fingerprint(spec, design, self.shape)
        if n.RETRAIN_OF_ATTR in trial.user_attrs:  # `dse retrain`: trained beside its inherited twin
            cap, key = math.inf, f"{key}:retrain"
        claim = self.store.claim(spec.name, trial.number, key, cap)
        pause = WAIT_SECONDS[0]
        while claim.kind == WAIT:  # another worker trains this very design now
            time.sleep(pause)
            pause = min(2 * pause, WAIT_SECONDS[1])
            lost.sweep(self.store, spec.name, spec.retries)  # unless that worker is gone
            claim = self.store.claim(spec.name, trial.number, key, cap)
        if claim.kind == REUSE:
            return self._reuse(trial, claim.owner, claim.owner_state)
        if claim.kind == FULL:
            self.attrs.update({n.STATUS_ATTR: n.PRUNED,
                               n.PRUNED_ATTR: f"not trained: other workers filled the {spec.n_trials} trials"})
            raise optuna.TrialPruned("n_trials reached")
        return self._train(trial, design, engine, static)

    def _train(self, trial: optuna.Trial, design: Design, engine: engines.Engine,
               static: dict[str, float]) -> list[float]:
        spec = self.spec
        inherits = self.supernet is not None and n.RETRAIN_OF_ATTR not in trial.user_attrs
        self.progress.start_trial(trial.number, 1 if inherits else spec.train["epochs"])
        plan = budget(spec, device=self.device, seed=trial_seed(spec, trial.number),
                      variants=requests(spec.variants, design, engine))
        curve: list[float] = []
        if self.pruner:
            self.pruner.start(design, self.shape)
        # the engine (and torch) imported before the training window: a signal that lands in an
        # import is deferred like any other outside training, never raised inside torch's loaders
        engine.run_function()
        with self.interrupt.training():
            if inherits:
                from .oneshot import inherit

                outcome, self.attrs[n.INHERITED_ATTR] = inherit(self.supernet, design, self.data, plan,
                                                                self._reporter(trial, curve), spec.finetune_steps)
            else:
                outcome = engine.run(design, self.data, plan, self._reporter(trial, curve))
        scored = score_outcome(spec, self.units, outcome, design)
        self.attrs.update({n.METRICS_ATTR: {m: v for m, v in scored.metrics.items() if math.isfinite(v)},
                           n.CURVE_ATTR: curve, n.STATUS_ATTR: n.TRAINED_STATUS,
                           **{f"{n.EXTRA_PREFIX}{key}": value for key, value in outcome.extras.items()}})
        for constraint in spec.constraints:
            trial.set_constraint(constraint.metric, constraint.violation(scored.metrics[constraint.metric]))
        if outcome.network is not None and self.weights is not None:
            with self.interrupt.bookkeeping():  # the trained network, as an Optuna artifact of the trial
                self.attrs[n.WEIGHTS_ATTR] = weights.upload(dict(outcome.network), trial, self.weights, trial.number)
        with self.interrupt.bookkeeping():  # rows and attributes together: whole or not at all
            self.store.write_trial(spec.name, trial.number, design.engine, scored.profiles, scored.rows,
                                   scored.lineage, self.attrs)
        return scored.values

    def _reject(self, trial: optuna.Trial, design: Design, static: dict[str, float], bad: list) -> list[float]:
        """Record the static costs and the violations; tell Optuna placeholders it can learn from."""
        spec = self.spec
        reason = "; ".join(f"{c.metric} = {static[c.metric]:g} breaks {c.describe()}" for c in bad)
        values, unmeasured = placeholder_values(spec, static, self.store.trained_range(spec.name))
        profile = engines.get(design.engine).static_profile(design, self.shape)
        statics = {m: v for m, v in static.items() if m in self.units and m not in unmeasured
                   and m in spec.static_metric_names()}
        for constraint in spec.constraints:
            value = static.get(constraint.metric)
            known = value is not None and constraint.metric in spec.static_metric_names()
            trial.set_constraint(constraint.metric, constraint.violation(value) if known else 0.0)
        self.attrs.update({n.REJECTED_ATTR: f"rejected before training: {reason}", n.UNMEASURED_ATTR: unmeasured,
                           n.STATUS_ATTR: n.REJECTED})
        self.store.write_trial(spec.name, trial.number, design.engine, {n.TRAINED: profile},
                               {n.TRAINED: metric_rows(statics, self.units)}, {n.TRAINED: ("static", None, {})},
                               self.attrs)
        return values

    def _reuse(self, trial: optuna.Trial, owner: int, owner_state: str) -> list[float]:
        """Serve a duplicate design from the trial that trained it."""
        self.attrs.update({n.REUSED_ATTR: owner, n.STATUS_ATTR: n.REUSED})
        if owner_state == "PRUNED":
            raise optuna.TrialPruned(f"the same design as trial {owner}, which was stopped early")
        frozen = self.store.optuna.get_trial(self.store.trial_id(self.spec.name, owner))
        for name, value in (frozen.constraints or {}).items():
            trial.set_constraint(name, value)
        self._flush(trial)
        return list(frozen.values)

    def _reporter(self, trial: optuna.Trial, curve: list[float]) -> Callable[[int, float], None]:
        single = len(self.spec.objectives) == 1

        def report(step: int, accuracy: float) -> None:
            curve.append(accuracy)
            self.progress.epoch(step, accuracy)
            if self.pruner and (reason := self.pruner.verdict(step, accuracy)):
                self._pruned(trial, curve, reason)
            if single and self.spec.pruner in ("median", "hyperband"):
                with self.interrupt.bookkeeping():  # writes to the storage: not to be cut half-way
                    trial.report(accuracy, step)
                    prune = trial.should_prune()
                if prune:
                    self._pruned(trial, curve, f"pruned at epoch {step + 1} (validation accuracy {accuracy:.3f})")

        return report

    def _pruned(self, trial: optuna.Trial, curve: list[float], reason: str) -> None:
        self.attrs.update({n.PRUNED_ATTR: reason, n.CURVE_ATTR: list(curve), n.STATUS_ATTR: n.PRUNED})
        raise optuna.TrialPruned(reason)
