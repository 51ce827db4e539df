"""Running a study on Optuna: open or continue it, run trials, stop cleanly.

:mod:`.objective` is one trial, :mod:`.feasibility` the checks before
training, :mod:`.samplers` the spec's sampler and pruner. Running the same
spec again continues the study up to ``n_trials``; Ctrl-C stops it and keeps
every finished trial.
"""

from __future__ import annotations

import json
import logging
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import optuna
from optuna.trial import TrialState

from ..data import load_dataset
from ..errors import UserError
from ..progress import Progress
from ..spec import StudySpec
from ..store import Store, StoredSpec
from ..store import lost
from ..store import names as n
from ..store.url import shown
from .feasibility import check_feasible
from .objective import Objective
from .scoring import budget, score, trial_seed
from .stages import Stage
from .stages import current as current_stage
from .samplers import make_pruner, make_sampler

__all__ = ["run_study", "open_study", "RunResult", "Objective", "budget", "score", "trial_seed",
           "check_feasible", "make_sampler", "make_pruner", "quiet_optuna", "stored_spec"]

def stored_spec(spec: StudySpec) -> StoredSpec:
    """What is stored beside a study of this spec."""
    return StoredSpec(
        path=spec.path, name=spec.name, engine=spec.engine, dataset=spec.dataset,
        objectives=tuple(spec.metric_names), directions=tuple(spec.directions),
        constraints=tuple({"metric": c.metric, "min": c.min, "max": c.max} for c in spec.constraints),
        hardware_models=tuple(spec.hardware_models), hardware_options=dict(spec.hardware_options),
        space=tuple(p.name for p in spec.space), sampler=spec.sampler, seed=spec.seed,
        n_trials=spec.n_trials, train={k: list(v) if isinstance(v, tuple) else v for k, v in spec.train.items()},
        retries=spec.retries, sections=sections(spec))


def sections(spec: StudySpec) -> dict[str, Any]:
    """The spec's parts that define a study's results (not n_trials, seed, sampler, pruner, retries)."""
    from dataclasses import asdict

    plain = json.loads(json.dumps({
        "study": {"dataset": spec.dataset, "engine": list(spec.engines), "mode": spec.mode,
                  "stages": [list(s) for s in spec.stages]},
        "space": {p.name: {k: v for k, v in asdict(p).items() if k not in ("name", "kind") and v not in (None, False)}
                  for p in spec.space},
        "objectives": dict(spec.objectives),
        "constraints": {c.metric: {"min": c.min, "max": c.max} for c in spec.constraints},
        "hardware": {"models": list(spec.hardware_models), **spec.hardware_options},
        "train": {k: v for k, v in spec.train.items() if k != "max_param_bytes"},
        "variants": {k: list(v) for k, v in spec.variants.items()},
    }, default=list))
    if spec.search != "trials":  # only then: the sections of studies stored before the key existed stay equal
        plain["study"].update(search=spec.search, supernet_epochs=spec.supernet_epochs,
                              finetune_steps=spec.finetune_steps, search_lambda=spec.search_lambda,
                              search_mu=spec.search_mu)
    return plain


def _plain(value: Any) -> str:
    return "nothing" if value is None else json.dumps(value)


def first_difference(stored: dict[str, Any], now: dict[str, Any]) -> tuple[str, Any, Any] | None:
    """(key path, stored value, new value) of the first key the two differ in, or None."""
    for section in dict.fromkeys([*stored, *now]):
        old, new = stored.get(section, {}), now.get(section, {})
        for key in dict.fromkeys([*old, *new]):
            if old.get(key) != new.get(key):
                where = f"[{section}].{key}" if section != "study" else f"[study].{key}"
                return where, old.get(key), new.get(key)
    return None


def _refuse_mismatch(spec: StudySpec, store: Store, stored: StoredSpec, directions: list[str]) -> None:
    if stored.sections:
        change = first_difference(dict(stored.sections), sections(spec))
        if change:
            where, old, new = change
            raise UserError(f"{spec.path}: {where}: study {spec.name!r} in {shown(store.url)} was run with "
                            f"{_plain(old)}, this spec has {_plain(new)}; one study holds one spec: run it "
                            f"under another name (--new-name NAME), or change only n_trials to continue it")
    objectives = list(stored.objectives) if stored.version else spec.metric_names  # another worker is storing it
    if objectives != spec.metric_names or directions != spec.directions:
        raise UserError(f"{spec.path}: [study].name: study {spec.name!r} already exists in {shown(store.url)} "
                        f"with objectives {objectives}; give this spec another name")
    if stored.engine and stored.engine != spec.engine:
        raise UserError(f"{spec.path}: [study].engine: study {spec.name!r} was run with engine "
                        f"{stored.engine!r}; give this spec another name")
    if stored.dataset and stored.dataset != spec.dataset:
        raise UserError(f"{spec.path}: [study].dataset: study {spec.name!r} was run on "
                        f"{stored.dataset!r}; give this spec another name")


def open_study(spec: StudySpec, store: Store) -> optuna.Study:
    """Create or load the study (:func:`ensure_study`) as one more worker: its sampler's seed
    follows from the study's seed and the worker's index, so workers started together, and
    runs that continue a study, propose different designs."""
    study = ensure_study(spec, store)
    study.sampler = make_sampler(spec, store.register_worker(spec.name))
    return study


def ensure_study(spec: StudySpec, store: Store) -> optuna.Study:
    """Create the study, or load it where the same name exists with the same objectives."""
    existing = spec.name in store.study_names()
    if existing:
        stored = store.stored_spec(spec.name)
        _refuse_mismatch(spec, store, stored, list(stored.directions))
    study = optuna.create_study(study_name=spec.name, storage=store.optuna, directions=spec.directions,
                                pruner=make_pruner(spec), load_if_exists=True)
    if not existing:
        study.set_metric_names(spec.metric_names)
        study.set_user_attr(n.SPEC_ATTR, stored_spec(spec).to_attr())
    store.prepare_claims(spec.name)
    return study


def quiet_optuna() -> None:
    """Optuna's per-trial log lines (and failure tracebacks) would drown the
    progress bars; failures are shown by the progress and stored per trial."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    logging.getLogger("optuna").setLevel(logging.ERROR)


@dataclass(frozen=True)
class RunResult:
    study: optuna.Study
    interrupted: bool
    ran: int
    """Trials this run finished, whatever their status."""
    counts: dict[str, int] = field(default_factory=dict)
    """Trials of the whole study by status (trained, rejected, reused, pruned, failed, running)."""
    gave_up: bool = False
    """Stopped after :data:`PROPOSALS_PER_TRIAL` x n_trials proposals without n_trials trained."""
    exit_code: int = 130
    """After an interruption: 130 (SIGINT) or 143 (SIGTERM)."""


PROPOSALS_PER_TRIAL = 20
"""A study stops after this many proposals per asked-for trained design, however few trained."""


class Stopper:
    """After every trial: stop once n_trials designs are trained (by any worker), when the
    proposals run out, on Ctrl-C, or when `should_stop` (e.g. a Dask client's stop event) says so."""

    def __init__(self, spec: StudySpec, store: Store, objective: Objective, progress: Progress,
                 should_stop: Callable[[], bool] | None = None) -> None:
        self.spec, self.store, self.objective, self.progress = spec, store, objective, progress
        self.should_stop = should_stop
        self.gave_up = False
        self.stopped = False

    @property
    def cap(self) -> int:
        """Trained designs that end this run (of a sequential study: this stage)."""
        return self.objective.stage.cap if self.objective.stage else self.spec.n_trials

    def done(self, counts: dict[str, int]) -> bool:
        if counts.get(n.TRAINED_STATUS, 0) >= self.cap:
            return True
        if sum(counts.values()) - counts.get(n.RUNNING, 0) >= PROPOSALS_PER_TRIAL * self.spec.n_trials:
            self.gave_up = True
            return True
        return False

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        counts = self.store.status_counts(self.spec.name)
        self.progress.trial_done(trial, counts)
        # every slot trained or being trained by another worker: its trials finish the study
        full = self.store.slots_used(self.spec.name) >= self.cap
        self.stopped = self.stopped or bool(self.should_stop and self.should_stop())
        if self.done(counts) or full or self.objective.interrupt.requested or self.stopped:
            study.stop()


def run_study(spec: StudySpec, *, storage: str, data_dir: str | None = None, device: str = "cpu",
              show_progress: bool = True, should_stop: Callable[[], bool] | None = None) -> RunResult:
    """Run (or continue) the study until n_trials designs are trained (rejected, reused and
    failed trials do not count), or until `should_stop()`, asked after each trial, is true."""
    quiet_optuna()
    check_feasible(spec)
    data = load_dataset(spec.dataset, data_dir)  # before the database: bad data writes nothing
    store = Store(storage, heartbeat=True, on_lost=lambda study, trial: on_lost(store, spec, trial.number))
    study = open_study(spec, store)
    lost.sweep(store, spec.name, spec.retries)
    before = store.status_counts(spec.name)
    progress = Progress(total=spec.n_trials, counts=before, enabled=show_progress, objectives=spec.objectives)
    objective = Objective(spec, data, store, device, progress)
    stopper = Stopper(spec, store, objective, progress, should_stop)
    interrupted = False
    try:
        with objective.interrupt.installed():
            if spec.search == "supernet":
                objective.supernet = supernet_for(spec, data, store, study, objective)
            if spec.search == "differentiable":
                _differentiable(spec, data, store, study, objective, stopper)
            for stage in _stages(spec, store):
                objective.stage = stage
                if stopper.done(store.status_counts(spec.name)):
                    break
                study.optimize(objective, n_trials=None, catch=(Exception,), callbacks=[stopper],
                               gc_after_trial=False)
                if stopper.gave_up or stopper.stopped or objective.interrupt.requested:
                    break
    except KeyboardInterrupt:
        interrupted = True
        close_interrupted(store, spec, objective.current, objective.interrupt.name)
    finally:
        interrupted = interrupted or objective.interrupt.requested
        progress.close()
    if spec.keep_weights == "pareto" and not interrupted and not stopper.gave_up:
        from ..deploy.weights import keep_pareto

        keep_pareto(store, spec.name, spec.artifacts or None)
    counts = store.status_counts(spec.name)
    ran = sum(counts.values()) - sum(before.values())
    return RunResult(study, interrupted, ran, counts, stopper.gave_up, objective.interrupt.exit_code)


def supernet_for(spec: StudySpec, data, store: Store, study: optuna.Study, objective: Objective):
    """The study's supernet, trained first where it is not stored (:mod:`.oneshot`)."""
    from .oneshot import ensure_supernet

    stored = ensure_supernet(spec, data, store.url, device=objective.device, progress=objective.progress,
                             interrupt=objective.interrupt)
    study.set_user_attr(n.SUPERNET_ATTR, {**stored.lineage(), "seconds": stored.seconds})
    return stored


def _differentiable(spec: StudySpec, data, store: Store, study: optuna.Study, objective: Objective,
                    stopper: Stopper) -> None:
    """LitE-SNN's search, then its decoded design trained as the study's first trial (:mod:`.differentiable`);
    n_trials beyond it are searched by the sampler as usual."""
    from .differentiable import enqueue_decoded

    pending = enqueue_decoded(spec, data, store, study, objective)
    if pending:
        study.optimize(objective, n_trials=pending, catch=(Exception,), callbacks=[stopper], gc_after_trial=False)


def _stages(spec: StudySpec, store: Store) -> Iterator[Stage | None]:
    """One pass for a joint study; for a sequential one, each unfinished stage in turn, with the
    values its predecessor's best design fixes."""
    if spec.mode != "sequential":
        yield None
        return
    while (stage := current_stage(spec, store)) is not None:
        yield stage
        if current_stage(spec, store) == stage:  # not finished: stopped for another reason
            return


def close_interrupted(store: Store, spec: StudySpec, number: int | None, signal_name: str) -> None:
    """Fail the trial a signal stopped, with its reason, if Optuna did not get to it (a signal can
    land in its own bookkeeping), and retry it."""
    if number is None:
        return
    try:
        lost.fail(store, spec.name, number, f"interrupted ({signal_name})")
        if store.optuna.get_trial(store.trial_id(spec.name, number)).state == TrialState.FAIL:
            lost.retry(store, spec.name, number, spec.retries)
    except Exception:  # noqa: BLE001: best effort while exiting; the next run sweeps it
        pass


def on_lost(store: Store, spec: StudySpec, number: int) -> None:
    """Optuna failed a trial whose heartbeat stopped: say why, and retry it."""
    store.set_attrs(spec.name, number, {n.FAIL_ATTR: "worker lost: no heartbeat for "
                                                     f"{lost.GRACE_SECONDS} s", n.STATUS_ATTR: n.FAILED})
    lost.retry(store, spec.name, number, spec.retries)
