"""``dse evaluate``: a stored network run again, on any split or data set of its input shape, no retraining.

The trained design runs on its stored quantised weights; a variant is derived again from the
stored master weights by the engine's own recipe (the keys its lineage row says it changes).
Rate-coded inputs are drawn from the generator state the engine's test evaluation started
from, so the stored test split gives the stored accuracy exactly (on the device type the
trial was evaluated on: a CUDA generator draws other numbers than a CPU one).
"""

from __future__ import annotations

import importlib
from typing import Any

from ..engines._base import VARIANT_KEYS
from ..errors import UserError
from ..store import names as n
from .weights import trial_network

SPLITS = ("train", "val", "test")


def variant_params(store: Any, study: str, trial: int, variant: str | None) -> dict[str, Any]:
    """The keys variant `variant` of the trial changes ({} for the trained design)."""
    if not variant:
        return {}
    lineage = store.lineage(study, trial)
    points = {v: p for v, (kind, _, p) in lineage.items() if kind == "variant"}
    if variant not in points:
        raise UserError(f"--variant {variant}: trial {trial} of {study!r} has no such variant; "
                        f"its variants: {', '.join(sorted(points)) or 'none'}")
    return {k: v for k, v in points[variant].items() if k in VARIANT_KEYS}


def engine_runner(engine: str) -> Any:
    """The engine's module that runs a stored network (``dse.engines.<engine>.rerun``)."""
    try:
        return importlib.import_module(f"dse.engines.{engine}.rerun")
    except ModuleNotFoundError:
        raise UserError(f"the {engine} engine keeps no network to run again; "
                        f"only surrogate, stdp and ttfs trials do") from None


def evaluate_trial(study: str, trial: int, *, storage: str, artifacts: str | None = None,
                   variant: str | None = None, dataset: str | None = None, data_dir: str | None = None,
                   split: str = "test", device: str = "cpu") -> list[dict[str, Any]]:
    """One row per split: samples, accuracy, spikes per sample, and the stored accuracy where the
    split and data set are the ones the study measured (test)."""
    from ..data import load_dataset
    from ..query import open_store

    store = open_store(storage)
    network = trial_network(storage, artifacts, study, trial)
    params = variant_params(store, study, trial, variant)
    stored = store.stored_spec(study)
    name = dataset or stored.dataset or "digits"
    data = load_dataset(name, data_dir)
    shape = tuple(network["meta"]["shape"])
    if tuple(data.shape) != shape:
        raise UserError(f"--dataset {name}: inputs of shape {tuple(data.shape)}, but trial {trial}'s network "
                        f"takes {shape} (channels, height, width); choose a data set of that shape")
    runner = engine_runner(network["engine"])
    metrics = {p.variant: p.metrics for p in store.points(study, variants=True) if p.trial == trial}
    rows = []
    for part in (SPLITS if split == "all" else (split,)):
        x, y = getattr(data, f"x_{part}"), getattr(data, f"y_{part}")
        profile = runner.evaluate(network, x, y, params, device)
        same = part == "test" and name == stored.dataset
        rows.append({"study": study, "trial": trial, "variant": variant or n.TRAINED, "dataset": name,
                     "split": part, "samples": int(len(y)), "accuracy": profile.accuracy,
                     "spikes_per_sample": profile.spikes,
                     "stored_accuracy": metrics.get(variant or n.TRAINED, {}).get("accuracy") if same else None})
    return rows
