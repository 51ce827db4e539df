"""Everything snn-dse persists: one SQLAlchemy URL, Optuna's tables and snn-dse's own.

- :mod:`.names`: every table, column and attribute name, in one place;
- :mod:`.schema`: the tables, their version and the migrations;
- :mod:`.records`: the typed, versioned stored spec and the trial and design-point records readers get;
- :mod:`.url`: ``shown(url)`` (the password masked, for every message) and ``check_storage(url)``
  (in-memory SQLite and files that are no SQLite database refused before anything runs);
- :mod:`.db`: :class:`Store`, which writes a trial's design points in one transaction and reads
  records back in a few SQL queries.

A database written by an older snn-dse opens and is migrated in place; one
written by a newer one is refused. The names are imported lazily, so that
``dse.store.names`` costs no database driver.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Store", "MetricRow", "DEFAULT_URL", "StoredSpec", "TrialRecord", "PointRecord", "shown",
           "check_storage"]

_WHERE = {"Store": "db", "MetricRow": "db", "DEFAULT_URL": "names", "shown": "url", "check_storage": "url",
          "StoredSpec": "records", "TrialRecord": "records", "PointRecord": "records"}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'dse.store' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
