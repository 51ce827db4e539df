"""The trial database as a pandas DataFrame: one row per trial, one column per
parameter and metric.

>>> from dse.query import query
>>> df = query("digits-quickstart", "sqlite:///dse.db")  # doctest: +SKIP
>>> df[df.state == "complete"].sort_values("memory_bits")  # doctest: +SKIP

Reads the store's typed records only (no Optuna study objects, no engines, no torch).
"""

from __future__ import annotations

from typing import Iterable

import pandas as pd

from .errors import UserError
from .store import DEFAULT_URL, PointRecord, Store

LEADING = ["trial", "variant", "status", "state"]


def open_store(storage: str | Store) -> Store:
    """A store to read: an existing database, never a new empty one."""
    return storage if isinstance(storage, Store) else Store(storage, create=False)


def query(study_name: str, storage: str | Store = DEFAULT_URL, *, variants: bool = False,
          states: tuple[str, ...] | None = None, where: str | None = None, sort: str | Iterable[str] | None = None,
          pareto: bool = False, limit: int | None = None, columns: str | Iterable[str] | None = None) -> pd.DataFrame:
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

    Then, in this order: ``pareto=True`` keeps only the Pareto-optimal design points over the
    study's objectives among its feasible trained designs and variants (variants always
    compete, and the ``variant`` column is kept); ``where`` keeps the rows a condition holds
    for (:mod:`dse.where`, e.g. ``"accuracy > 0.9 and weight_bits in [4, 8]"``); ``sort``
    orders by columns (``"-accuracy,memory_bits"``: a leading ``-`` sorts descending);
    ``limit`` keeps the first N rows; ``columns`` keeps those columns, in that order.
    """
    from . import where as where_

    limit = check_limit(limit)
    store = open_store(storage)
    variants = variants or pareto
    points = store.points(study_name, variants=variants, states=states)
    rows = [_row(p) for p in points]
    frame = pd.DataFrame(rows) if rows else pd.DataFrame(columns=[*LEADING, "note", "parent"])
    if not variants:
        frame = frame.drop(columns=["variant"])
    if pareto:
        frame = pareto_rows(frame, store.stored_spec(study_name))
    if where:
        frame = where_.filter_frame(frame, where)
    frame = sort_rows(frame, sort)
    frame = frame.head(limit) if limit is not None else frame
    return pick_columns(frame, columns).reset_index(drop=True)


def _keys(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return [k.strip() for k in items if k.strip()]


def _valid(frame: pd.DataFrame) -> str:
    names = [str(c) for c in frame.columns]
    return ", ".join(names[:12]) + (f", ... ({len(names) - 12} more)" if len(names) > 12 else "")


def check_limit(limit: int | None) -> int | None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise UserError(f"--limit {limit}: expected a whole number >= 0")
    return limit


def sort_rows(frame: pd.DataFrame, sort: str | Iterable[str] | None) -> pd.DataFrame:
    keys = _keys(sort)
    if not keys:
        return frame
    names = [k.removeprefix("-") for k in keys]
    for key, name in zip(keys, names):
        if name not in frame.columns:
            raise UserError(f"--sort {key}: no column {name!r}; valid columns: {_valid(frame)}")
    try:
        return frame.sort_values(names, ascending=[not k.startswith("-") for k in keys], kind="mergesort",
                                 na_position="last")
    except TypeError:
        raise UserError(f"--sort {','.join(keys)}: a column holds values that cannot be ordered "
                        f"(lists, or text beside numbers)") from None


def pick_columns(frame: pd.DataFrame, columns: str | Iterable[str] | None) -> pd.DataFrame:
    names = _keys(columns)
    if not names:
        return frame
    for name in names:
        if name not in frame.columns:
            raise UserError(f"--columns {','.join(names)}: no column {name!r}; valid columns: {_valid(frame)}")
    return frame[names]


def pareto_rows(frame: pd.DataFrame, spec) -> pd.DataFrame:
    """The feasible trained designs and variants no other one dominates on the study's objectives."""
    import numpy as np

    from .pareto import nondominated

    objectives = list(spec.objectives)
    if not len(frame) or any(o not in frame.columns for o in objectives):
        return frame.iloc[0:0]
    values = frame[objectives].apply(pd.to_numeric, errors="coerce")
    limits = sorted({c["metric"] for c in spec.constraints if c["metric"] in frame.columns})
    numbers = frame[limits].apply(pd.to_numeric, errors="coerce")
    feasible = np.array([spec.satisfies({k: v for k, v in zip(limits, row) if v == v})  # NaN: not measured
                         for row in numbers.itertuples(index=False, name=None)], dtype=bool)
    ok = frame["status"].isin(["trained", "variant"]).to_numpy() & (frame["state"] == "complete").to_numpy() \
        & feasible & np.isfinite(values.to_numpy(dtype=float)).all(axis=1)
    candidates = frame[ok]
    keep = nondominated(values[ok].to_numpy(dtype=float), list(spec.directions))
    return candidates[keep]


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

