"""Joint search against LitE-SNN's sequential A + P + Q + T (its Table 4), same space, same budget.

Both modes run the quickstart space (digits) for ``n_trials`` trained designs
per seed: ``mode = "joint"`` with the spec's sampler (NSGA-II) and with TPE,
``mode = "sequential"`` with its default stages (A: width; P: pruning; Q:
weight and neuron bits, rounding, scheme; T: timesteps), budget split evenly,
each stage fixing the knee of the one before. Hypervolume of (accuracy,
memory_bits, energy_45nm_j) of each run's feasible trained designs, against one
reference point fixed per benchmark run (accuracy 0, 1.1 x the worst memory and
energy reached). One JSON line per run, then the median ratio:

    {"name": "hv_joint_over_sequential", "value": R}

    python benchmarks/joint_vs_sequential.py [--seeds 0 1 2] [--n-trials 32] [--epochs 15]
"""

from __future__ import annotations

import json
import math
import platform
import statistics
import tempfile
from pathlib import Path

import numpy as np

from dse.pareto import hypervolume
from search_common import DIRECTIONS, OBJECTIVES, ROOT, arguments
from search_common import reference as fixed_reference
from dse.spec import load_spec, parse_spec
from dse.store import Store
from dse.study import quiet_optuna, run_study

MODES = {"joint": {}, "joint-tpe": {"sampler": "tpe"}, "sequential": {"mode": "sequential", "sampler": "tpe"}}


def spec_for(path: str, mode: str, seed: int, n_trials: int, epochs: int):
    import tomllib

    data = tomllib.loads(Path(path).read_text())
    data["study"] = {**data["study"], "name": f"{mode}-{seed}", "seed": seed, "n_trials": n_trials, **MODES[mode]}
    data["train"] = {**data.get("train", {}), "epochs": epochs}
    return parse_spec(data, path)


def points(url: str, spec) -> list[list[float]]:
    out = []
    for p in Store(url, create=False).points(spec.name, variants=False):
        if p.status == "trained" and all(math.isfinite(p.metrics.get(m, math.nan)) for m in OBJECTIVES) \
                and all(c.violation(p.metrics[c.metric]) <= 0 for c in spec.constraints):
            out.append([p.metrics[m] for m in OBJECTIVES])
    return out


def main() -> None:
    args = arguments(__doc__, 32)
    quiet_optuna()
    load_spec(args.spec)  # refuse a bad spec before anything runs
    found = {}
    with tempfile.TemporaryDirectory() as folder:
        for seed in args.seeds:
            for mode in MODES:
                spec = spec_for(args.spec, mode, seed, args.n_trials, args.epochs)
                url = f"sqlite:///{folder}/{mode}-{seed}.db"
                run_study(spec, storage=url, show_progress=False)
                found[(mode, seed)] = (points(url, spec), spec.stages)
    every = np.array([p for pts, _ in found.values() for p in pts])
    reference = fixed_reference(every)
    config = {"spec": str(Path(args.spec).relative_to(ROOT)) if Path(args.spec).is_relative_to(ROOT) else args.spec,
              "n_trials": args.n_trials, "epochs": args.epochs, "reference": reference, "device": "cpu",
              "machine": platform.machine()}
    ratios = []
    for seed in args.seeds:
        hv = {}
        for mode in MODES:
            pts, stages = found[(mode, seed)]
            hv[mode] = hypervolume(np.array(pts).reshape(-1, 3), DIRECTIONS, reference)
            print(json.dumps({"name": "mode_run", "mode": mode, "seed": seed, "hypervolume": hv[mode],
                              "trained": len(pts), "best_accuracy": max(p[0] for p in pts),
                              "stages": [list(s) for s in stages], "config": config}))
        ratios.append(hv["joint"] / hv["sequential"])
    print(json.dumps({"name": "hv_joint_over_sequential", "value": statistics.median(ratios), "per_seed": ratios,
                      "unit": "1", "config": config}))


if __name__ == "__main__":
    main()
