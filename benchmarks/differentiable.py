"""LitE-SNN's differentiable search against joint and sequential Optuna search, at equal time budget (issue 17).

On the LitE-SNN digits space: (a) joint Optuna search (``mode = "joint"``) for B seconds;
(b) sequential search (``mode = "sequential"``, TPE, the default stages A, P, Q, T) with as
many trained designs as (a) managed; (c) the differentiable search (``search =
"differentiable"``) for B minus one training, then its decoded design trained standalone.
Prints one JSON line per figure: each run's hypervolume (reference: accuracy 0 and 1.1 x
the worst cost seen), and the decoded design's accuracy and costs, and whether (a)'s front
dominates it.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
import tomllib
from pathlib import Path

import numpy as np

from dse import engines
from dse.data import load_dataset
from dse.design import make_design
from dse.pareto import hypervolume, nondominated
from dse.spec import parse_spec
from dse.store import Store
from dse.study import quiet_optuna, run_study
from dse.study.differentiable import run_search, template
from dse.study.scoring import budget, score

import search_common

ROOT = Path(__file__).resolve().parents[1]


def emit(name: str, value: float) -> None:
    print(json.dumps({"name": name, "value": round(float(value), 6)}), flush=True)


def spec_with(document: dict, path: str, **study):
    return parse_spec({**document, "study": {**document["study"], **study}}, path)


def front_values(store: Store, spec) -> np.ndarray:
    points = [p for p in store.points(spec.name, variants=False) if p.status == "trained"
              and all(math.isfinite(p.metrics.get(m, math.nan)) for m in spec.metric_names)]
    return np.array([[p.metrics[m] for m in spec.metric_names] for p in points]).reshape(-1, len(spec.metric_names))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default=str(ROOT / "studies" / "litesnn_digits.toml"))
    parser.add_argument("--budget", type=float, default=90.0, help="seconds for each search")
    args = parser.parse_args()
    quiet_optuna()
    document = tomllib.loads(Path(args.spec).read_text())
    url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='differentiable-')) / 'd.db'}"
    data = load_dataset(document["study"].get("dataset", "digits"))

    joint = spec_with(document, args.spec, name="joint", n_trials=100_000)
    started = time.perf_counter()
    run_study(joint, storage=url, show_progress=False, should_stop=lambda: time.perf_counter() - started > args.budget)
    store = Store(url)
    trained = store.status_counts("joint")["trained"]
    per_design = (time.perf_counter() - started) / max(1, trained)

    sequential = spec_with(document, args.spec, name="sequential", mode="sequential", sampler="tpe",
                           n_trials=max(4, trained))
    run_study(sequential, storage=url, show_progress=False)

    lite = spec_with(document, args.spec, name="differentiable", search="differentiable", n_trials=1,
                     supernet_epochs=100_000)
    decoded, derived = run_search(lite, data, seconds=max(1.0, args.budget - per_design))
    base = template(lite)
    design = make_design("surrogate", {**{k: v for k, v in base.params().items() if k not in engines.get(
        "surrogate").expanded}, **decoded, "weight_bits": base.weight_bits})
    outcome = engines.get("surrogate").run(design, data, budget(lite, seed=lite.seed), lambda step, acc: None)
    point = score(lite, outcome.profile, {})
    mine = np.array([[point[m] for m in lite.metric_names]])

    a, s = front_values(store, joint), front_values(store, sequential)
    everything = np.vstack([a, s, mine])
    reference = search_common.reference(everything, joint.directions)
    emit("budget_s", args.budget)
    emit("joint_designs", len(a))
    emit("sequential_designs", len(s))
    emit("differentiable_search_s", derived["seconds"])
    emit("differentiable_iterations", derived["iterations"])
    for metric, value in zip(lite.metric_names, mine[0]):
        emit(f"differentiable_{metric}", value)
    emit("hv_joint", hypervolume(a, joint.directions, reference))
    emit("hv_sequential", hypervolume(s, joint.directions, reference))
    emit("hv_differentiable", hypervolume(mine, joint.directions, reference))
    emit("hv_joint_plus_differentiable", hypervolume(np.vstack([a, mine]), joint.directions, reference))
    emit("differentiable_on_joint_front", bool(nondominated(np.vstack([a, mine]), joint.directions)[-1]))


if __name__ == "__main__":
    main()
