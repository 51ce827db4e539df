"""The trial database as a pandas DataFrame: one row per trial, one column per
parameter and metric.

>>> from dse.query import query
>>> df = query("digits-quickstart", "sqlite:///dse.db")  # doctest: +SKIP
>>> df[df.state == "complete"].sort_values("memory_bits")  # doctest: +SKIP
"""

from __future__ import annotations

import pandas as pd
from optuna.trial import TrialState

from .space import decode
from .spec import TRAINING_PREFIX
from .storage import DEFAULT_URL, Store
from .study import TRAINING

LEADING = ["trial", "variant", "state"]


def query(study_name: str, storage: str | Store = DEFAULT_URL, *, variants: bool = False,
          states: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Trials of a study with their parameters and every stored metric.

    ``variants=True`` adds a row for each further design point a trial produced
    (e.g. the same weights evaluated at fewer timesteps), told apart by the
    ``variant`` column. An engine's training-phase metrics (STDP learns on the
    device) are columns ``training_<metric>``. ``states`` keeps only trials in those states
    ("complete", "pruned", "fail", "running").
    """
    store = storage if isinstance(storage, Store) else Store(storage, create=False)
    study = store.load_study(study_name)
    trials = study.get_trials(deepcopy=False)
    metrics = pd.DataFrame(store.metrics(study_name))
    by_trial: dict[tuple[int, str], dict[str, float]] = {}
    if not metrics.empty:
        for (trial_id, variant), group in metrics.groupby(["trial_id", "variant"]):
            by_trial[(trial_id, variant)] = dict(zip(group["metric"], group["value"]))
    rows = []
    for trial in trials:
        state = trial.state.name.lower()
        if states and state not in states:
            continue
        base = {"trial": trial.number, "variant": "", "state": state}
        base.update({name: _plain(decode(value)) for name, value in trial.params.items()})
        own = {v for (tid, v) in by_trial if tid == trial._trial_id} - {TRAINING}
        training = {f"{TRAINING_PREFIX}{m}": v for m, v in by_trial.get((trial._trial_id, TRAINING), {}).items()}
        for variant in sorted(own | {""}):
            if variant and not variants:
                continue
            row = dict(base, variant=variant)
            row.update(by_trial.get((trial._trial_id, variant), {}))
            row.update(training)  # the training phase is the same for every evaluation of a trial
            row["duration_s"] = trial.duration.total_seconds() if trial.duration else None
            row["note"] = _note(trial)
            rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=LEADING)
    if not variants:
        frame = frame.drop(columns=["variant"])
    return frame.reset_index(drop=True)


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


def _note(trial) -> str:
    if trial.state == TrialState.FAIL:
        return str(trial.user_attrs.get("fail_reason", "failed"))
    if trial.state == TrialState.PRUNED:
        return str(trial.user_attrs.get("infeasible", "pruned"))
    return ""
