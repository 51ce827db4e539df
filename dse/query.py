"""The trial database as a pandas DataFrame: one row per trial, one column per
parameter and metric.

>>> from dse.query import query
>>> df = query("digits-quickstart", "sqlite:///dse.db")  # doctest: +SKIP
>>> df[df.state == "complete"].sort_values("memory_bits")  # doctest: +SKIP

Reads the store's typed records only (no Optuna study objects, no engines, no torch).
"""

from __future__ import annotations

import pandas as pd

from .store import DEFAULT_URL, PointRecord, Store

LEADING = ["trial", "variant", "status", "state"]


def open_store(storage: str | Store) -> Store:
    """A store to read: an existing database, never a new empty one."""
    return storage if isinstance(storage, Store) else Store(storage, create=False)


def query(study_name: str, storage: str | Store = DEFAULT_URL, *, variants: bool = False,
          states: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Trials of a study with their parameters and every stored metric.

    ``variants=True`` adds a row for each further design point a trial produced
    (e.g. the same weights evaluated at fewer timesteps), told apart by the
    ``variant`` column, its own parameters (e.g. its ``timesteps``) and its
    ``parent`` (the label of the design point it derives from, e.g. ``"12"``). ``status`` says
    what became of each: trained, variant, rejected (before training: only its shape-only
    costs are known), reused (a duplicate design, served from the trial in ``parent``),
    pruned, failed or running. An engine's training-phase metrics (STDP learns on the device)
    are columns ``training_<metric>``. ``states`` keeps only trials in those
    states ("complete", "pruned", "fail", "running").
    """
    store = open_store(storage)
    points = store.points(study_name, variants=variants, states=states)
    rows = [_row(p) for p in points]
    if not rows:
        return pd.DataFrame(columns=LEADING)
    frame = pd.DataFrame(rows)
    if not variants:
        frame = frame.drop(columns=["variant"])
    return frame.reset_index(drop=True)


def _row(point: PointRecord) -> dict:
    row = {"trial": point.trial, "variant": point.variant, "status": point.status, "state": point.state}
    row.update({k: list(v) if isinstance(v, tuple) else v for k, v in point.params.items()})
    row.update(point.metrics)
    row["duration_s"] = point.duration_s
    row["note"] = _note(point)
    row["parent"] = point.parent_label
    row["worker"] = point.worker
    return row


def _note(point: PointRecord) -> str:
    if point.status == "reused":
        return f"the design of trial {point.reused_from}, served from its training"
    if point.status in ("failed", "pruned", "rejected"):
        return point.note or point.status
    return ""

