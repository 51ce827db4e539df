"""One-shot against trial-by-trial search on the LitE-SNN digits space, at equal time budget (issue 17).

(a) ``search = "trials"``: every design trained for the spec's ``[train]`` budget, until B
    seconds have passed. (b) ``search = "supernet"``: a supernet trained for ``--share`` x B
    seconds, then designs evaluated with inherited weights until B seconds have passed in all.
Then designs of (b) are trained from scratch, ``--designs`` of them twice over:

- **spread over the inherited front** (``dse retrain --pareto --spread``: farthest-point picks in
  the objectives scaled to [0, 1], costs by log; dse/pareto.py ``spread``): Kendall's tau between
  their inherited and standalone accuracy and the mean gap, the issue's measure of how faithfully
  the supernet ranks its front;
- **picked for hypervolume** (``dse retrain --pareto --top``: one at a time, the most expected
  hypervolume gain, values predicted from the gaps of the twins retrained before:
  dse/study/retrain_pick.py): the hypervolume of their standalone values against (a)'s front
  (reference: accuracy 0 and 1.1 x the worst cost of any point), and their own tau
  (``kendall_tau_picks``: these cluster where retraining pays, so their ranking is read over a
  narrower range of accuracy). A design in both sets is trained once.

One JSON line per figure; the last three are the issue's targets.

Both arms run with ``--threads`` torch threads (default 1: on a small shared machine OpenMP's
waiting makes a two-thread step several times slower now and then, which would decide the
comparison by chance).
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from scipy.stats import kendalltau

from dse.data import load_dataset
from dse.pareto import hypervolume
from dse.spec import load_spec
from dse.store import Store
from dse.study import quiet_optuna, run_study
from dse.study.oneshot import ensure_supernet
from dse.study.retrain import retrain, spread_front

import search_common

ROOT = Path(__file__).resolve().parents[1]


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default=str(ROOT / "studies" / "litesnn_digits.toml"))
    parser.add_argument("--budget", type=float, default=300.0, help="seconds for each of (a) and (b)")
    parser.add_argument("--share", type=float, default=0.2, help="part of (b)'s budget that trains the supernet")
    parser.add_argument("--threads", type=int, default=1, help="torch threads, both arms (0: torch's default)")
    parser.add_argument("--designs", type=int, default=20, help="designs of (b)'s front trained from scratch")
    parser.add_argument("--storage", default=None, help="folder of the database (default: a temporary one)")
    return parser.parse_args()


def emit(name: str, value: float) -> None:
    print(json.dumps({"name": name, "value": round(float(value), 4)}), flush=True)


def tau(inherited: list[float], standalone: list[float]) -> float:
    """Kendall's tau-b; 0 where it is undefined (fewer than two designs, or no spread)."""
    value = kendalltau(inherited, standalone).statistic
    return float(value) if math.isfinite(value) else 0.0


def values(store: Store, spec, numbers=None) -> np.ndarray:
    points = [p for p in store.points(spec.name, variants=False)
              if p.status == "trained" and (numbers is None or p.trial in numbers)
              and all(math.isfinite(p.metrics.get(m, math.nan)) for m in spec.metric_names)]
    return np.array([[p.metrics[m] for m in spec.metric_names] for p in points]).reshape(-1, len(spec.metric_names))


def timed_study(spec, url: str, budget: float, started: float) -> int:
    run_study(spec, storage=url, show_progress=False, should_stop=lambda: time.perf_counter() - started > budget)
    return Store(url).status_counts(spec.name).get("trained", 0)


def main() -> None:
    args = arguments()
    if args.threads:
        torch.set_num_threads(args.threads)
    quiet_optuna()
    base = load_spec(args.spec)
    folder = Path(args.storage or tempfile.mkdtemp(prefix="oneshot-"))
    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder / 'oneshot.db'}"
    data = load_dataset(base.dataset)
    per_trial = replace(base, name="oneshot-a", n_trials=100_000, search="trials")
    one_shot = replace(base, name="oneshot-b", n_trials=100_000, search="supernet", supernet_epochs=100_000)

    designs_a = timed_study(per_trial, url, args.budget, time.perf_counter())
    started = time.perf_counter()
    stored = ensure_supernet(one_shot, data, url, seconds=args.share * args.budget)
    designs_b = timed_study(one_shot, url, args.budget, started)
    store = Store(url)
    picks = retrain(one_shot, storage=url, top=args.designs, show_progress=False)
    spread = spread_front(one_shot, store, args.designs)
    twins = retrain(one_shot, storage=url, numbers=spread, show_progress=False)

    accuracy = {p.trial: p.metrics["accuracy"] for p in store.points(one_shot.name, variants=False)}
    inherited = [accuracy[t] for t in spread if t in twins]
    standalone = [accuracy[twins[t]] for t in spread if t in twins]
    a, b_inherited = values(store, per_trial), values(store, one_shot, set(accuracy) - set(twins.values()))
    b_retrained = values(store, one_shot, set(picks.values()))
    everything = np.vstack([a, b_inherited, b_retrained])
    reference = search_common.reference(everything, base.directions)
    hv_a = hypervolume(a, base.directions, reference)
    hv_b = hypervolume(b_retrained, base.directions, reference)
    emit("budget_s", args.budget)
    emit("torch_threads", torch.get_num_threads())
    emit("supernet_train_s", stored.seconds)
    emit("supernet_steps", stored.steps)
    emit("designs_per_trial", designs_a)
    emit("designs_oneshot", designs_b)
    emit("hv_per_trial", hv_a)
    emit("hv_oneshot_inherited", hypervolume(b_inherited, base.directions, reference))
    emit("hv_oneshot_retrained", hv_b)
    emit("retrained_designs", len(picks))
    emit("spread_designs", len(standalone))
    emit("kendall_tau_picks", tau([accuracy[t] for t in picks], [accuracy[picks[t]] for t in picks]))
    emit("mean_accuracy_gap", float(np.mean(np.array(standalone) - np.array(inherited))))
    emit("designs_ratio", designs_b / max(1, designs_a))
    emit("kendall_tau", tau(inherited, standalone))
    emit("retrained_hv_ratio", hv_b / hv_a if hv_a > 0 else math.inf)


if __name__ == "__main__":
    main()
