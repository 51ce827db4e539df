"""A synthetic study of N trials, written through snn-dse's own storage code, for read-side benchmarks.

No training: each trial gets a realistic two-layer surrogate-gradient network profile
(searched hidden width, weight bits, pruning and timesteps), an accuracy that grows with
width, bits and timesteps, every built-in cost metric of that profile, and, like a real
study, a ``T=1`` variant with its lineage, some rejected designs (a static memory
constraint, shape-only costs, placeholder objectives) and some failed trials. Optuna's
trials are added with ``optuna.create_trial`` / ``study.add_trials`` carrying snn-dse's
user attributes; the profiles, metric rows and lineage go through ``Store.write_trial``.

    from benchmarks.synthetic_study import make_study
    make_study("sqlite:///bench.db", "synthetic-5000", 5000)

    python benchmarks/synthetic_study.py sqlite:///bench.db synthetic-5000 5000
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import hwmodels  # noqa: E402
from dse.engines import variant_name  # noqa: E402
from dse.store import MetricRow, Store, StoredSpec  # noqa: E402
from dse.store import names as n  # noqa: E402

OBJECTIVES = ("accuracy", "memory_bits")
DIRECTIONS = ("maximize", "minimize")
MAX_MEMORY_BITS = 400_000.0
MODELS = tuple(hwmodels.available()[:7])  # every built-in model
FAIL_EVERY, REJECT_EVERY = 37, 11


def spec_attr(name: str) -> dict:
    spec = StoredSpec(path=f"studies/{name}.toml", name=name, engine="surrogate", dataset="digits",
                      objectives=OBJECTIVES, directions=DIRECTIONS,
                      constraints=({"metric": "memory_bits", "min": None, "max": MAX_MEMORY_BITS},),
                      hardware_models=MODELS, hardware_options={}, space=("hidden", "weight_bits", "pruning",
                                                                          "timesteps"),
                      sampler="nsga2", seed=0, n_trials=0, train={"epochs": 1, "eval_timesteps": [1]})
    return spec.to_attr()


def profile(hidden: int, bits: int, pruning: float, timesteps: int, rng: random.Random,
            accuracy: float | None) -> hwmodels.Profile:
    rate = rng.uniform(0.02, 0.2)
    w1, w2 = 64 * hidden, hidden * 10
    keep = 1.0 - pruning
    layers = (
        hwmodels.LayerProfile("fc1", "dense", 64, hidden, w1, int(w1 * keep), bits,
                              {"v_mem": (hidden, 16), "beta": (hidden, 16)}, w1, hidden * keep,
                              64 * timesteps * 0.3, hidden * timesteps * rate, True),
        hwmodels.LayerProfile("fc2", "dense", hidden, 10, w2, int(w2 * keep), bits,
                              {"v_mem": (10, 16), "beta": (10, 16)}, w2, 10 * keep,
                              hidden * timesteps * rate, 10 * timesteps * 0.1, True),
    )
    return hwmodels.Profile(layers=layers, timesteps=timesteps, coding="rate", accuracy=accuracy)


def rows(metrics: dict[str, float], units: dict[str, tuple[str, str]]) -> list[MetricRow]:
    return [MetricRow(m, units[m][0] if m in units else n.ENGINE_SOURCE, v,
                      units[m][1] if m in units else n.ENGINE_METRICS.get(m, "1")) for m, v in metrics.items()]


def make_study(url: str, name: str, n_trials: int, seed: int = 0) -> Store:
    """Write study `name` of `n_trials` trials into `url` (created if need be); returns the store."""
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rng = random.Random(seed)
    store = Store(url)
    study = optuna.create_study(study_name=name, storage=store.optuna, directions=list(DIRECTIONS))
    study.set_user_attr(n.SPEC_ATTR, spec_attr(name))
    units = hwmodels.units(list(MODELS))
    static = hwmodels.static_metrics(list(MODELS))
    dists = {"hidden": CategoricalDistribution([32, 64, 128, 256, 512]), "weight_bits": IntDistribution(2, 16),
             "pruning": FloatDistribution(0.0, 0.9), "timesteps": IntDistribution(1, 16)}
    plans = [_plan(number, rng, units, static) for number in range(n_trials)]
    study.add_trials([optuna.trial.create_trial(
        params=p["params"], distributions=dists, values=p["values"], state=p["state"],
        user_attrs=p["attrs"]) for p in plans])
    for number, plan in enumerate(plans):
        if plan["profiles"]:
            store.write_trial(name, number, "surrogate", plan["profiles"], plan["metrics"], plan["lineage"])
    return store


def _plan(number: int, rng: random.Random, units: dict, static: set) -> dict:
    """What trial `number` holds: Optuna's side (params, values, state, attributes) and snn-dse's."""
    import optuna

    params = {"hidden": rng.choice([32, 64, 128, 256, 512]), "weight_bits": rng.randint(2, 16),
              "pruning": round(rng.uniform(0.0, 0.9), 4), "timesteps": rng.randint(1, 16)}
    design = {"engine": "surrogate", **params, "hidden": [params["hidden"]]}
    accuracy = min(0.99, 0.55 + 0.08 * math.log2(params["hidden"] / 16) + 0.01 * params["weight_bits"]
                   + 0.005 * params["timesteps"] - 0.1 * params["pruning"] ** 2 + rng.gauss(0, 0.02))
    main = profile(params["hidden"], params["weight_bits"], params["pruning"], params["timesteps"], rng, accuracy)
    metrics = hwmodels.evaluate(main, list(MODELS))
    if number % FAIL_EVERY == FAIL_EVERY - 1:
        return dict(params=params, values=None, state=optuna.trial.TrialState.FAIL, profiles={}, metrics={},
                    lineage={}, attrs={n.DESIGN_ATTR: design, n.STATUS_ATTR: n.FAILED,
                                       n.FAIL_ATTR: "RuntimeError: objective values are not finite"})
    if number % REJECT_EVERY == REJECT_EVERY - 1 or metrics["memory_bits"] > MAX_MEMORY_BITS * 1.5:
        shape = profile(params["hidden"], params["weight_bits"], params["pruning"], params["timesteps"], rng, None)
        statics = {m: v for m, v in hwmodels.evaluate(shape, list(MODELS)).items() if m in static}
        reason = f"memory_bits = {statics['memory_bits']:g} breaks memory_bits <= {MAX_MEMORY_BITS:g}"
        return dict(params=params, values=[0.0, statics["memory_bits"]], state=optuna.trial.TrialState.COMPLETE,
                    profiles={n.TRAINED: shape}, metrics={n.TRAINED: rows(statics, units)},
                    lineage={n.TRAINED: ("static", None, {})},
                    attrs={n.DESIGN_ATTR: design, n.STATUS_ATTR: n.REJECTED, n.UNMEASURED_ATTR: ["accuracy"],
                           n.REJECTED_ATTR: f"rejected before training: {reason}"})
    full = {"accuracy": accuracy, "val_accuracy": accuracy + rng.gauss(0, 0.01),
            "train_seconds": rng.uniform(5, 60), "eval_seconds": rng.uniform(0.1, 2), **metrics}
    short = profile(params["hidden"], params["weight_bits"], params["pruning"], 1, rng, accuracy - 0.05)
    variant = variant_name({"timesteps": 1})
    return dict(params=params, values=[accuracy, metrics["memory_bits"]], state=optuna.trial.TrialState.COMPLETE,
                profiles={n.TRAINED: main, variant: short},
                metrics={n.TRAINED: rows(full, units),
                         variant: rows({"accuracy": short.accuracy, **hwmodels.evaluate(short, list(MODELS))}, units)},
                lineage={n.TRAINED: ("trained", None, {}), variant: ("variant", n.TRAINED, {"timesteps": 1})},
                attrs={n.DESIGN_ATTR: design, n.STATUS_ATTR: n.TRAINED_STATUS,
                       n.METRICS_ATTR: {m: v for m, v in full.items() if math.isfinite(v)},
                       n.CURVE_ATTR: [accuracy - 0.1, accuracy], n.WORKER_ATTR: "bench:1"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("name")
    parser.add_argument("n", type=int)
    args = parser.parse_args()
    start = time.perf_counter()
    make_study(args.url, args.name, args.n)
    print(f'{{"study": "{args.name}", "trials": {args.n}, "seconds": {time.perf_counter() - start:.1f}}}')


if __name__ == "__main__":
    main()
