"""How the read side scales: `dse report`, `dse query` and `dse studies` on synthetic studies of N trials.

    python benchmarks/report_scale.py [N ...] [--keep DIR]       (default 500 2000 5000)

Prints one JSON line per N: ``{"n": N, "report_s": .., "report_mb": .., "query_s": .., "query_where_s": ..,
"studies_s": .., "dashboard_s": ..}``. ``query_s`` is the slowest of the table, CSV and JSON formats;
``query_where_s`` is null unless ``dse query`` has ``--where``; ``dashboard_s`` is optuna-dashboard's
``GET /api/studies/<id>`` on the same database (the peer figure), null where it is not installed.

The study is written through the project's storage (Optuna trials and ``Store.write_trial``), with
realistic statuses (trained with a T=1 variant each, rejected, reused, pruned, failed), profiles
scored by hwmodels and three objectives. ``benchmarks/synthetic_study.py`` (``make_study``) is used
where it exists; until it lands, :func:`make_study` below is a minimal private generator.
"""

from __future__ import annotations

import io
import json
import random
import sys
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

MODELS = ["memory", "synops", "energy45nm", "neuromorphic", "gpu", "reward"]
OBJECTIVES = {"accuracy": "maximize", "memory_bits": "minimize", "energy_45nm_j": "minimize"}
MAX_MEMORY = 120_000


def _profile(hidden: int, bits: int, pruning: float, steps: int, rate: float, accuracy: float | None):
    from hwmodels import LayerProfile, Profile

    layers, n_in = [], 64
    for i, n_out in enumerate((hidden, 10)):
        weights = n_in * n_out
        events = 0.0 if accuracy is None else (n_in * rate * steps if i else 40.0 * steps)
        layers.append(LayerProfile(
            name=f"fc{i}", kind="dense", n_inputs=n_in, n_neurons=n_out, n_weights=weights,
            n_nonzero=int(weights * (1 - pruning)), weight_bits=bits, neuron_params={"v_mem": (n_out, 16)},
            macs_per_step=weights, fan_out=n_out * (1 - pruning), input_events=events,
            output_spikes=0.0 if accuracy is None else n_out * rate * steps, spiking_input=i > 0))
        n_in = n_out
    return Profile(layers=tuple(layers), timesteps=steps, accuracy=accuracy)


def _rows(profile, static: bool, train_s: float):
    import hwmodels
    from dse.store.db import MetricRow

    units = hwmodels.units(MODELS)
    values = hwmodels.evaluate(profile, MODELS)
    keep = hwmodels.static_metrics(MODELS) if static else set(values)
    rows = [MetricRow(m, units[m][0], v, units[m][1]) for m, v in values.items() if m in keep]
    if not static:
        rows += [MetricRow("accuracy", "engine", profile.accuracy, "1"),
                 MetricRow("train_seconds", "engine", train_s, "s")]
    return rows


def _spec_attr(name: str, n: int) -> dict:
    from dse.store.records import StoredSpec

    return StoredSpec(path=f"studies/{name}.toml", name=name, engine="surrogate", dataset="digits",
                      objectives=tuple(OBJECTIVES), directions=tuple(OBJECTIVES.values()),
                      constraints=({"metric": "memory_bits", "min": None, "max": MAX_MEMORY},),
                      hardware_models=tuple(MODELS), space=("hidden", "weight_bits", "pruning", "timesteps"),
                      sampler="nsga2", seed=0, n_trials=n, train={"epochs": 5}).to_attr()


def make_study(url: str, name: str, n: int, seed: int = 0) -> None:
    """Write a study of `n` trials to `url` (the private stand-in for synthetic_study.make_study)."""
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
    from optuna.trial import TrialState, create_trial

    from dse.store import Store

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    store = Store(url)
    study = optuna.create_study(study_name=name, storage=store.optuna, directions=list(OBJECTIVES.values()))
    study.set_metric_names(list(OBJECTIVES))
    study.set_user_attr("dse_spec", _spec_attr(name, n))
    dists = {"hidden": CategoricalDistribution([16, 32, 64, 128, 256]),
             "weight_bits": CategoricalDistribution([2, 4, 8, 16, 32]),
             "pruning": FloatDistribution(0.0, 0.9), "timesteps": IntDistribution(2, 16)}
    rng = random.Random(seed)
    trained: list[tuple[int, list[float]]] = []
    for number in range(n):
        params = {"hidden": rng.choice([16, 32, 64, 128, 256]), "weight_bits": rng.choice([2, 4, 8, 16, 32]),
                  "pruning": round(rng.uniform(0, 0.9), 3), "timesteps": rng.randint(2, 16)}
        kind = rng.choices(["trained", "rejected", "reused", "pruned", "failed"], [75, 8, 7, 5, 5])[0]
        if kind == "reused" and not trained:
            kind = "trained"
        _one_trial(store, study, name, number, params, dists, kind, rng, trained,
                   create_trial, TrialState)


def _accuracy(params: dict, rng: random.Random) -> float:
    capacity = min(1.0, params["hidden"] / 128) * (0.6 + 0.4 * min(params["weight_bits"], 8) / 8)
    return max(0.1, min(0.99, 0.55 + 0.4 * capacity * (1 - params["pruning"] ** 2)
                        * min(1.0, params["timesteps"] / 6) + rng.gauss(0, 0.02)))


def _one_trial(store, study, name, number, params, dists, kind, rng, trained, create_trial, TrialState) -> None:
    design = {**params, "hidden": [params["hidden"]], "engine": "surrogate"}
    attrs = {"design": design, "dse_status": kind, "worker": "bench:1"}
    hidden = params["hidden"]
    if kind in ("pruned", "failed"):
        reason = {"pruned": ["accuracy below the front at epoch 2", "no better than the median at epoch 1"],
                  "failed": ["diverged: loss is NaN at epoch 3", "worker lost (no heartbeat for 30 s)",
                             "CUDA out of memory"]}[kind]
        attrs["pruned_reason" if kind == "pruned" else "fail_reason"] = rng.choice(reason)
        state = TrialState.PRUNED if kind == "pruned" else TrialState.FAIL
        study.add_trial(create_trial(state=state, params=params, distributions=dists, user_attrs=attrs))
        return
    if kind == "reused":
        source, values = rng.choice(trained)
        attrs["reused_from"] = source
        study.add_trial(create_trial(values=values, params=params, distributions=dists, user_attrs=attrs))
        return
    static = _profile(hidden, params["weight_bits"], params["pruning"], params["timesteps"], 0.0, None)
    if kind == "trained" and _memory(static) > MAX_MEMORY and rng.random() < 0.5:
        kind = attrs["dse_status"] = "rejected"
    if kind == "rejected":
        rows = _rows(static, True, 0.0)
        memory = next(r.value for r in rows if r.metric == "memory_bits")
        attrs.update(infeasible=[f"memory_bits {memory:g} > {MAX_MEMORY}"], unmeasured=["accuracy", "energy_45nm_j"])
        study.add_trial(create_trial(values=[0.0, memory, 1.0], params=params, distributions=dists, user_attrs=attrs,
                                     constraints={"memory_bits": memory - MAX_MEMORY}))
        store.write_trial(name, number, "surrogate", {"": static}, {"": rows})
        return
    _trained(store, study, name, number, params, dists, attrs, rng, trained, create_trial)


def _memory(profile) -> float:
    import hwmodels

    return hwmodels.evaluate(profile, ["memory"])["memory_bits"]


def _trained(store, study, name, number, params, dists, attrs, rng, trained, create_trial) -> None:
    accuracy = _accuracy(params, rng)
    rate = rng.uniform(0.02, 0.3)
    train_s = rng.uniform(5, 60) * params["hidden"] / 64
    profile = _profile(params["hidden"], params["weight_bits"], params["pruning"], params["timesteps"], rate, accuracy)
    short = _profile(params["hidden"], params["weight_bits"], params["pruning"], 1, rate,
                     max(0.1, accuracy - rng.uniform(0.02, 0.2)))
    rows = {"": _rows(profile, False, train_s), "T=1": _rows(short, False, train_s)}
    by = {r.metric: r.value for r in rows[""]}
    values = [by[m] for m in OBJECTIVES]
    attrs["dse_metrics"] = by
    attrs["dse_curve"] = [accuracy * (e + 1) / 5 for e in range(5)]
    study.add_trial(create_trial(values=values, params=params, distributions=dists, user_attrs=attrs,
                                 constraints={"memory_bits": by["memory_bits"] - MAX_MEMORY}))
    store.write_trial(name, number, "surrogate", {"": profile, "T=1": short}, rows,
                      {"": ("trained", None, {}), "T=1": ("variant", "", {"timesteps": 1})})
    trained.append((number, values))


def _generator():
    try:
        from synthetic_study import make_study as shared  # benchmarks/synthetic_study.py, once it lands
        return shared
    except ImportError:
        return make_study


def _timed(argv: list[str]) -> float:
    from dse.cli import main

    start = time.perf_counter()
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        try:
            main(argv)
        except SystemExit as exc:
            if exc.code:
                raise RuntimeError(f"dse {' '.join(argv)} exited {exc.code}") from None
    return time.perf_counter() - start


def _has_where() -> bool:
    from dse.cli import cli

    return any(p.name == "where" for p in cli.commands["query"].params)


def _dashboard_s(url: str, name: str) -> float | None:
    try:
        from optuna_dashboard import wsgi
    except ImportError:
        return None
    from wsgiref.util import setup_testing_defaults

    from dse.store import Store

    app = wsgi(url)
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": f"/api/studies/{Store(url).study_id(name)}",
               "wsgi.input": io.BytesIO()}
    setup_testing_defaults(environ)
    start = time.perf_counter()
    b"".join(app(environ, lambda *a: None))
    return time.perf_counter() - start


def measure(n: int, folder: Path) -> dict:
    url, name = f"sqlite:///{folder / f'scale{n}.db'}", f"scale-{n}"
    _generator()(url, name, n)
    out = folder / f"{name}.html"
    report_s = _timed(["report", name, "--storage", url, "-o", str(out)])
    query_s = max(_timed(["query", name, "--storage", url, "--variants", "--format", f]) for f in ("table", "csv", "json"))
    where = _timed(["query", name, "--storage", url, "--where", "accuracy > 0.8"]) if _has_where() else None
    return {"n": n, "report_s": round(report_s, 2), "report_mb": round(out.stat().st_size / 1e6, 2),
            "query_s": round(query_s, 2), "query_where_s": where and round(where, 2),
            "studies_s": round(_timed(["studies", "--storage", url]), 2),
            "dashboard_s": (lambda s: s and round(s, 2))(_dashboard_s(url, name))}


def main(argv: list[str]) -> None:
    """``--keep DIR`` leaves the databases and reports there (e.g. to open them in a browser)."""
    keep = argv[argv.index("--keep") + 1] if "--keep" in argv else None
    sizes = [int(a) for a in argv if a.isdigit()] or [500, 2000, 5000]
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(keep or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        for n in sizes:
            for old in folder.glob(f"scale{n}.db*"):
                old.unlink()
            print(json.dumps(measure(n, folder)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
