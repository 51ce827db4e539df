"""Training spent per Pareto front: snn-dse against a plain Optuna loop, same engine, same space.

The plain loop is how snnTorch's Optuna tutorial searches: NSGA-II proposes,
every proposal is trained, nothing is checked before training, duplicates are
trained again, a network yields one design point, no trial stops early.
snn-dse runs the same spec through ``run_study`` with everything on: static
pre-check, dedupe, post-training variants (``[variants]``: 2/4/8-bit PTQ,
pruning at 0.5/0.8, T = 2/4 of every trained network) and the pareto pruner.
Both train ``n_trials`` networks of the quickstart space (digits) per seed.

Hypervolume of (accuracy, memory_bits, energy_45nm_j) over every feasible design
point found so far, as a function of the training seconds spent (each trial's
train + eval seconds; a pruned trial's whole duration), against one reference
point fixed per benchmark run: accuracy 0, and 1.1 x the worst memory and energy
any method's design reached. One JSON line per method and seed, then the
medians over the seeds:

    {"name": "seconds_to_baseline_final_hv", "value": R}   # snn-dse's seconds to the plain loop's
                                                           # final hypervolume / the plain loop's seconds
    {"name": "final_hv_ratio", "value": R}                 # snn-dse's final / the plain loop's

    python benchmarks/search_efficiency.py [--seeds 0 1 2] [--n-trials 30] [--epochs 15]
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import tempfile
from dataclasses import replace

import numpy as np
import optuna

from dse import engines
from dse.data import load_dataset
from dse.pareto import hypervolume
from search_common import DIRECTIONS, OBJECTIVES, ROOT, arguments
from search_common import reference as fixed_reference
from dse.space import suggest
from dse.spec import load_spec
from dse.store import Store
from dse.study import budget, quiet_optuna, run_study, score, trial_seed

VARIANTS = {"weight_bits": (2, 4, 8), "pruning": (0.5, 0.8), "timesteps": (2, 4)}


def plain_loop(spec, data, seed: int) -> list[tuple[float, list[list[float]]]]:
    """(seconds, design points) per trial, in order: train every proposal, one point each."""
    engine = engines.get(spec.engines[0])
    population = max(4, min(50, spec.n_trials // 3))
    study = optuna.create_study(directions=spec.directions,
                                sampler=optuna.samplers.NSGAIISampler(population_size=population, seed=seed))
    log = []

    def objective(trial: optuna.Trial) -> list[float]:
        design = suggest(trial, spec)
        out = engine.run(design, data, budget(spec, seed=trial_seed(spec, trial.number)), lambda e, a: None)
        metrics = score(spec, out.profile, {})
        feasible = all(c.violation(metrics[c.metric]) <= 0 for c in spec.constraints)
        log.append((out.train_seconds + out.eval_seconds, [[metrics[m] for m in OBJECTIVES]] if feasible else []))
        return [metrics[m] for m in spec.metric_names]

    study.optimize(objective, n_trials=spec.n_trials)
    return log


def dse_run(spec, seed: int, folder: str) -> list[tuple[float, list[list[float]]]]:
    """(seconds, design points incl. variants) per trial of a full-featured snn-dse study."""
    spec = replace(spec, name=f"search-efficiency-{seed}", seed=seed, variants=VARIANTS, pruner="pareto")
    url = f"sqlite:///{folder}/dse-{seed}.db"
    run_study(spec, storage=url, show_progress=False)
    store = Store(url, create=False)
    points: dict[int, list[list[float]]] = {}
    seconds: dict[int, float] = {}
    for p in store.points(spec.name, variants=True):
        if p.status == "trained":
            seconds[p.trial] = p.metrics.get("train_seconds", 0.0) + p.metrics.get("eval_seconds", 0.0)
        feasible = all(c.violation(p.metrics.get(c.metric, math.inf)) <= 0 for c in spec.constraints)
        if p.status in ("trained", "variant") and feasible and all(math.isfinite(p.metrics.get(m, math.nan))
                                                                  for m in OBJECTIVES):
            points.setdefault(p.trial, []).append([p.metrics[m] for m in OBJECTIVES])
    log = []
    for trial in store.trials(spec.name):
        if trial.status == "pruned":  # stopped early: it trained for its whole duration, at most
            log.append((trial.duration_s or 0.0, []))
        elif trial.status == "trained":
            log.append((seconds.get(trial.number, 0.0), points.get(trial.number, [])))
    return log


def curve(log, reference: list[float]) -> list[tuple[float, float]]:
    """(cumulative training seconds, hypervolume of every point so far) after each trial."""
    spent, found, out = 0.0, [], []
    for seconds, points in log:
        spent += seconds
        found += points
        out.append((spent, hypervolume(np.array(found).reshape(-1, 3), DIRECTIONS, reference) if found else 0.0))
    return out


def seconds_to(target: float, curve_: list[tuple[float, float]]) -> float:
    return next((s for s, hv in curve_ if hv >= target), math.inf)


def main() -> None:
    args = arguments(__doc__, 30)
    quiet_optuna()
    spec = load_spec(args.spec, n_trials=args.n_trials)
    spec = replace(spec, train={**spec.train, "epochs": args.epochs})
    data = load_dataset(spec.dataset)
    logs = {}
    with tempfile.TemporaryDirectory() as folder:
        for seed in args.seeds:
            logs[("plain", seed)] = plain_loop(replace(spec, seed=seed), data, seed)
            logs[("snn-dse", seed)] = dse_run(spec, seed, folder)
    every = np.array([p for log in logs.values() for _, pts in log for p in pts])
    reference = fixed_reference(every)
    config = {"spec": os.path.relpath(args.spec, ROOT), "n_trials": args.n_trials, "epochs": args.epochs,
              "reference": reference, "variants": VARIANTS, "device": "cpu", "machine": platform.machine()}
    ratios, to_baseline = [], []
    for seed in args.seeds:
        plain, ours = curve(logs[("plain", seed)], reference), curve(logs[("snn-dse", seed)], reference)
        for method, c in (("plain", plain), ("snn-dse", ours)):
            print(json.dumps({"name": "search_run", "method": method, "seed": seed, "training_seconds": c[-1][0],
                              "hypervolume": c[-1][1], "trials": len(c),
                              "design_points": sum(len(p) for _, p in logs[(method, seed)]), "config": config}))
        to_baseline.append(seconds_to(plain[-1][1], ours) / plain[-1][0])
        ratios.append(ours[-1][1] / plain[-1][1])
    print(json.dumps({"name": "seconds_to_baseline_final_hv", "value": statistics.median(to_baseline),
                      "per_seed": to_baseline, "unit": "1", "config": config}))
    print(json.dumps({"name": "final_hv_ratio", "value": statistics.median(ratios), "per_seed": ratios,
                      "unit": "1", "config": config}))


if __name__ == "__main__":
    main()
