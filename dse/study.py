"""Running a study on Optuna: objectives, samplers, constraints, storage, progress.

One :class:`Objective` call is one trial: sample a Design, reject it before any
training if a shape-only metric already breaks a constraint, train it with the
spec's engine, score the measured Profile with every configured cost model,
store profile and metrics, and hand Optuna the objective values. A trial that
raises or diverges fails alone, its reason stored; Ctrl-C stops the study and
keeps every finished trial. Running the same spec again continues the study up
to ``n_trials``.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import hwmodels
import optuna
from optuna.trial import TrialState

from . import engines
from .data import Dataset, load_dataset
from .engines import DataShape, TrialOutcome
from .errors import UserError
from .interrupt import Interrupt
from .progress import Progress
from .space import grid, suggest
from .spec import TRAINING_PREFIX, StudySpec, static_constraints
from .storage import MetricRow, Store

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
TRAINING = "training"
"""The stored variant that holds a trial's training-phase profile."""
SPEC_ATTR = "dse_spec"


def trial_seed(spec: StudySpec, number: int) -> int:
    return (spec.seed * 1_000_003 + number) % (2**31 - 1)


def make_sampler(spec: StudySpec, offset: int = 0) -> optuna.samplers.BaseSampler:
    """The spec's sampler, seeded (offset by the trials already run, so a resumed
    study does not replay its first proposals). Constraints reach every sampler
    through ``trial.set_constraint`` (Optuna 5)."""
    seed = spec.seed + offset
    name = spec.sampler
    if name == "nsga2":
        population = max(4, min(50, spec.n_trials // 3))
        return optuna.samplers.NSGAIISampler(population_size=population, seed=seed)
    if name == "nsga3":
        population = max(4, min(50, spec.n_trials // 3))
        return optuna.samplers.NSGAIIISampler(population_size=population, seed=seed)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True,
                                          n_startup_trials=min(10, spec.n_trials // 3 or 1))
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.GridSampler(grid(spec), seed=seed)


def make_pruner(spec: StudySpec) -> optuna.pruners.BasePruner:
    if spec.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
    if spec.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=spec.train["epochs"])
    return optuna.pruners.NopPruner()


def metric_rows(metrics: dict[str, float], units: dict[str, tuple[str, str]]) -> list[MetricRow]:
    return [MetricRow(m, units[m][0], v, units[m][1]) for m, v in metrics.items() if m in units]


def score(spec: StudySpec, profile: hwmodels.Profile, extra: dict[str, float]) -> dict[str, float]:
    """Engine metrics plus every cost model's metrics for a profile."""
    metrics = dict(extra)
    metrics["accuracy"] = profile.accuracy if profile.accuracy is not None else math.nan
    metrics.update(hwmodels.evaluate(profile, spec.hardware_models, **spec.hardware_options))
    return metrics


@dataclass
class Objective:
    spec: StudySpec
    data: Dataset
    store: Store
    device: str
    progress: Progress

    def __post_init__(self) -> None:
        self.units = self.spec.metric_units()
        self.shape = DataShape(self.data.shape, self.data.n_classes)
        self.early = static_constraints(self.spec)

    current: int | None = None
    """Optuna's id of the trial this process is running, if any."""
    interrupt: Interrupt = field(default_factory=Interrupt)

    def __call__(self, trial: optuna.Trial) -> list[float]:
        self.current = trial._trial_id
        spec = self.spec
        design = suggest(trial, spec)
        engine = engines.get(design.engine)
        # everything the trial trains with, defaults included: reproducible from the database
        trial.set_user_attr("design", {"engine": design.engine, **{
            k: list(v) if isinstance(v, tuple) else v for k, v in design.params().items()}})
        self.progress.start_trial(trial.number, spec.train["epochs"])
        if self.early:
            static = hwmodels.evaluate(engine.static_profile(design, self.shape),
                                       spec.hardware_models, **spec.hardware_options)
            broken = [c for c in self.early if c.violation(static[c.metric]) > 0]
            if broken:
                reason = "; ".join(f"{c.metric} = {static[c.metric]:g} breaks {c.describe()}" for c in broken)
                trial.set_user_attr("infeasible", f"rejected before training: {reason}")
                raise optuna.TrialPruned(reason)
        budget = spec.budget(device=self.device, seed=trial_seed(spec, trial.number))
        try:
            with self.interrupt.training():
                outcome = engine.run(design, self.data, budget, self._reporter(trial))
            metrics, variants, rows, values = self._score(outcome)
        except optuna.TrialPruned:
            raise
        except Exception as exc:
            trial.set_user_attr("fail_reason", f"{exc.__class__.__name__}: {exc}")
            raise
        self.store.write_trial(spec.name, trial._trial_id, trial.number, design.engine, variants, rows)
        for metric, value in metrics.items():
            if math.isfinite(value):
                trial.set_user_attr(metric, value)
        for constraint in spec.constraints:
            trial.set_constraint(constraint.metric, constraint.violation(metrics[constraint.metric]))
        for key, value in outcome.extras.items():
            trial.set_user_attr(f"extra_{key}", value)
        return values

    def _score(self, outcome: TrialOutcome) -> tuple[dict[str, float], dict, dict, list[float]]:
        """Every metric of the outcome, its profiles and metric rows by variant, and the objective values."""
        spec = self.spec
        extra = {"val_accuracy": outcome.val_accuracy if outcome.val_accuracy is not None else math.nan,
                 "train_seconds": outcome.train_seconds, "eval_seconds": outcome.eval_seconds}
        metrics = score(spec, outcome.profile, extra)
        variants = {"": outcome.profile, **outcome.variants}
        rows = {"": metric_rows(metrics, self.units)}
        rows.update({name: metric_rows(score(spec, p, {}), self.units) for name, p in outcome.variants.items()})
        if outcome.training_profile is not None:
            training = hwmodels.evaluate(outcome.training_profile, spec.hardware_models, **spec.hardware_options)
            variants[TRAINING] = outcome.training_profile
            rows[TRAINING] = metric_rows(training, self.units)
            metrics.update({f"{TRAINING_PREFIX}{m}": v for m, v in training.items()})
        values = [metrics[m] for m in spec.metric_names]
        if not all(math.isfinite(v) for v in values):
            raise RuntimeError(f"objective values are not finite: {dict(zip(spec.metric_names, values))}")
        return metrics, variants, rows, values

    def _reporter(self, trial: optuna.Trial) -> Callable[[int, float], None]:
        single = len(self.spec.objectives) == 1

        def report(step: int, accuracy: float) -> None:
            self.progress.epoch(step, accuracy)
            if single:
                with self.interrupt.bookkeeping():  # writes to the storage: not to be cut half-way
                    trial.report(accuracy, step)
                    prune = trial.should_prune()
                if prune:
                    raise optuna.TrialPruned(f"pruned at epoch {step + 1} (validation accuracy {accuracy:.3f})")

        return report


@dataclass(frozen=True)
class RunResult:
    study: optuna.Study
    interrupted: bool
    ran: int


def open_study(spec: StudySpec, store: Store) -> optuna.Study:
    """Create the study, or load it where the same name exists with the same objectives."""
    existing = spec.name in store.study_names()
    if existing:
        study = optuna.load_study(study_name=spec.name, storage=store.optuna)
        stored = study.user_attrs.get(SPEC_ATTR, {})
        names = stored.get("objectives") or study.metric_names
        if names and list(names) != spec.metric_names or \
                [d.name.lower() for d in study.directions] != spec.directions:
            raise UserError(f"{spec.path}: [study].name: study {spec.name!r} already exists in {store.url} "
                            f"with objectives {list(names)}; give this spec another name")
        if stored.get("engine", spec.engine) != spec.engine:
            raise UserError(f"{spec.path}: [study].engine: study {spec.name!r} was run with engine "
                            f"{stored['engine']!r}; give this spec another name")
        if stored.get("dataset", spec.dataset) != spec.dataset:
            raise UserError(f"{spec.path}: [study].dataset: study {spec.name!r} was run on "
                            f"{stored['dataset']!r}; give this spec another name")
    done = 0
    if existing:
        done = len(study.get_trials(deepcopy=False))
    study = optuna.create_study(study_name=spec.name, storage=store.optuna, directions=spec.directions,
                                sampler=make_sampler(spec, done), pruner=make_pruner(spec),
                                load_if_exists=True)
    if not existing:
        study.set_metric_names(spec.metric_names)
        study.set_user_attr(SPEC_ATTR, {
            "path": spec.path, "engine": spec.engine, "dataset": spec.dataset,
            "objectives": spec.metric_names, "directions": spec.directions,
            "constraints": [{"metric": c.metric, "min": c.min, "max": c.max} for c in spec.constraints],
            "hardware_models": list(spec.hardware_models),
            "hardware_options": dict(spec.hardware_options),
            "space": [p.name for p in spec.space],
        })
    return study


def quiet_optuna() -> None:
    """Optuna's per-trial log lines (and failure tracebacks) would drown the
    progress bars; failures are shown by the progress and stored per trial."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    logging.getLogger("optuna").setLevel(logging.ERROR)


def run_study(spec: StudySpec, *, storage: str, data_dir: str | None = None, device: str = "cpu",
              show_progress: bool = True) -> RunResult:
    """Run (or continue) the study until n_trials trials have finished."""
    quiet_optuna()
    data = load_dataset(spec.dataset, data_dir)  # before the database: bad data writes nothing
    store = Store(storage, heartbeat=True)
    study = open_study(spec, store)
    finished = len(study.get_trials(deepcopy=False, states=FINISHED))
    remaining = max(0, spec.n_trials - finished)
    progress = Progress(total=spec.n_trials, done=finished, enabled=show_progress,
                        objectives=spec.objectives)
    objective = Objective(spec, data, store, device, progress)
    callbacks = [optuna.study.MaxTrialsCallback(spec.n_trials, states=None), progress.callback,
                 lambda study, trial: study.stop() if objective.interrupt.requested else None]
    interrupted = False
    try:
        with objective.interrupt.installed():
            if remaining:
                study.optimize(objective, n_trials=remaining, catch=(Exception,), callbacks=callbacks,
                               gc_after_trial=False)
    except KeyboardInterrupt:
        interrupted = True
        close_interrupted(store, objective.current)
    finally:
        interrupted = interrupted or objective.interrupt.requested
        progress.close()
    ran = len(study.get_trials(deepcopy=False, states=FINISHED)) - finished
    return RunResult(study, interrupted, ran)


def close_interrupted(store: Store, trial_id: int | None) -> None:
    """Mark the trial Ctrl-C stopped as failed, if Optuna did not get to it (a
    signal can land in its own bookkeeping, after the objective returned)."""
    if trial_id is None:
        return
    try:
        if store.optuna.get_trial(trial_id).state == TrialState.RUNNING:
            store.optuna.set_trial_user_attr(trial_id, "fail_reason", "interrupted (Ctrl-C)")
            store.optuna.set_trial_state_values(trial_id, TrialState.FAIL)
    except Exception:  # noqa: BLE001: best effort while exiting; the heartbeat would fail it later
        pass


def describe(study: optuna.Study) -> dict[str, Any]:
    counts = {state.name.lower(): 0 for state in TrialState}
    for trial in study.get_trials(deepcopy=False):
        counts[trial.state.name.lower()] += 1
    return counts
