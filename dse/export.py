"""``dse export --neurobench``: each trained design under NeuroBench 2.3's names and layout.

NeuroBench's harness (``neurobench.benchmarks.Benchmark.run``) returns one dict per
model, keyed by metric class name, static metrics first (``Footprint``,
``ConnectionSparsity``), then workload metrics (``ClassificationAccuracy``,
``ActivationSparsity``, ``MembraneUpdates``, ``SynapticOperations``, the last a dict
of ``Effective_MACs``, ``Effective_ACs`` and ``Dense``); ``Benchmark.save_benchmark_results``
writes it as JSON. The values come from the stored ``neurobench`` cost-model metrics
(:mod:`hwmodels.neurobench`), or, for a study scored without that model, from its stored
profiles. Accuracy is the stored test accuracy (a fraction, as NeuroBench's).
"""

from __future__ import annotations

import json
from typing import Any

import hwmodels

from .errors import UserError
from .output import plain
from .query import open_store
from .store import Store
from .store import names as n

NEUROBENCH_VERSION = "2.3.0"
NEUROBENCH_METRICS = ("footprint_bytes", "connection_sparsity", "activation_sparsity", "dense_synops",
                      "effective_acs", "effective_macs", "membrane_updates")


def neurobench_results(metrics: dict[str, float], accuracy: float | None) -> dict[str, Any]:
    """One model's results exactly as NeuroBench 2.3's ``Benchmark.run`` lays them out."""
    return {
        "Footprint": metrics["footprint_bytes"],
        "ConnectionSparsity": metrics["connection_sparsity"],
        "ClassificationAccuracy": accuracy,
        "ActivationSparsity": metrics["activation_sparsity"],
        "MembraneUpdates": metrics["membrane_updates"],
        "SynapticOperations": {"Effective_MACs": metrics["effective_macs"], "Effective_ACs": metrics["effective_acs"],
                               "Dense": metrics["dense_synops"]},
    }


def neurobench_export(study_name: str, storage: str | Store, trial: int | None = None) -> Any:
    """``[{"study", "trial", "neurobench", "results"}]`` for every trained design, or the
    results dict of trial `trial` alone."""
    store = open_store(storage)
    points = _trained(store, study_name, trial)
    missing = [p.key for p in points if any(m not in p.metrics for m in NEUROBENCH_METRICS)]
    profiles = store.profiles(study_name, missing) if missing else {}
    out = []
    for point in points:
        metrics = dict(point.metrics)
        if point.key in profiles:
            metrics.update(hwmodels.evaluate(profiles[point.key], "neurobench"))
        accuracy = metrics.get("accuracy")
        out.append({"study": study_name, "trial": point.trial, "neurobench": NEUROBENCH_VERSION,
                    "results": neurobench_results(metrics, accuracy if accuracy == accuracy else None)})
    return out[0]["results"] if trial is not None else out


def _trained(store: Store, study_name: str, trial: int | None) -> list:
    points = [p for p in store.points(study_name, variants=False, states=("complete",))
              if p.status == n.TRAINED_STATUS and p.variant == n.TRAINED]
    if trial is not None:
        points = [p for p in points if p.trial == trial]
        if not points:
            raise UserError(f"--trial {trial}: not a trained design of {study_name}; "
                            f"see `dse query {study_name} --where \"status == 'trained'\"`")
    return points


def neurobench_json(study_name: str, storage: str | Store, trial: int | None = None) -> str:
    return json.dumps(plain(neurobench_export(study_name, storage, trial)), indent=4, allow_nan=False) + "\n"
