"""Trained networks kept as Optuna artifacts: the file format, where the store is, upload and download.

A trial's network (:attr:`dse.engines.TrialOutcome.network`) is written as one ``.npz`` file:
every array under its own name, bit for bit (dtype and shape kept), plus ``__meta__``, the JSON
of ``format``, ``engine`` and ``meta`` as UTF-8 bytes. It loads with ``allow_pickle=False``:
no code runs from a stored file. The file is uploaded with ``optuna.artifacts.upload_artifact``
(so optuna-dashboard lists it on the trial) and its artifact id is kept in the trial's user
attribute ``dse_weights`` (:data:`dse.store.names.WEIGHTS_ATTR`).

The store is an ``optuna.artifacts.FileSystemArtifactStore``: the folder given by
``--artifacts DIR`` or ``[study] artifacts``, else ``<database>.artifacts/`` beside an SQLite
file (``dse.db`` -> ``dse.db.artifacts/``). A server database (PostgreSQL) has no such
place, so there the folder must be given, shared by every worker.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import sqlalchemy as sa

from ..errors import UserError
from ..store import names as n

META_KEY = "__meta__"
KEEP = ("all", "pareto", "none")


def save(network: dict[str, Any], path: str | Path) -> None:
    """Write a network (``{"format", "engine", "meta", "arrays"}``) as one .npz file."""
    meta = {"format": network["format"], "engine": network["engine"], "meta": network["meta"]}
    arrays = dict(network["arrays"])
    if META_KEY in arrays:
        raise ValueError(f"array name {META_KEY!r} is reserved")
    arrays[META_KEY] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def load(path: str | Path) -> dict[str, Any]:
    """The network :func:`save` wrote, arrays exactly as they were."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(arrays.pop(META_KEY).tobytes().decode())
    return {**meta, "arrays": arrays}


def artifacts_dir(storage: str, given: str | None) -> Path | None:
    """The folder of the artifact store: `given`, else beside an SQLite file, else None."""
    if given:
        return Path(given)
    url = sa.engine.make_url(storage)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(f"{url.database}.artifacts")
    return None


def artifact_store(storage: str, given: str | None, create: bool = True) -> Any:
    """The FileSystemArtifactStore of a study's database (None where there is no folder for it)."""
    from optuna.artifacts import FileSystemArtifactStore

    folder = artifacts_dir(storage, given)
    if folder is None:
        return None
    if create:
        folder.mkdir(parents=True, exist_ok=True)
    return FileSystemArtifactStore(str(folder))


def upload(network: dict[str, Any], trial: Any, store: Any, number: int) -> str:
    """Save the network and upload it as an artifact of `trial` (an optuna Trial); its artifact id."""
    from optuna.artifacts import upload_artifact

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"trial-{number}-weights.npz"
        save(network, path)
        return upload_artifact(artifact_store=store, file_path=str(path), study_or_trial=trial,
                               mimetype="application/x-npz")


def download(store: Any, artifact_id: str) -> dict[str, Any]:
    """The network stored under `artifact_id`."""
    from optuna.artifacts import download_artifact

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "weights.npz"
        download_artifact(artifact_store=store, file_path=str(path), artifact_id=artifact_id)
        return load(path)


def trial_attrs(storage: str, study: str, trial: int) -> dict[str, Any]:
    """A trial's Optuna user attributes, or a UserError naming the missing study or trial."""
    from ..query import open_store

    store = open_store(storage)
    try:
        return store.optuna.get_trial(store.trial_id(study, trial)).user_attrs
    except KeyError:
        raise UserError(f"--trial {trial}: study {study!r} has no trial {trial}") from None


def trial_network(storage: str, artifacts: str | None, study: str, trial: int) -> dict[str, Any]:
    """The stored network of trial `trial` of `study`, or a UserError saying why there is none."""
    attrs = trial_attrs(storage, study, trial)
    artifact_id = attrs.get(n.WEIGHTS_ATTR)
    if artifact_id is None:
        status = attrs.get(n.STATUS_ATTR, "unknown")
        raise UserError(f"--trial {trial}: trial {trial} of {study!r} kept no trained network (status {status}; "
                        f"only trained trials of a study run with [study] keep_weights = \"all\" or \"pareto\" "
                        f"(Pareto-optimal ones) and of an engine that stores its network keep one)")
    folder = artifacts_dir(storage, artifacts)
    if folder is None:
        raise UserError("--artifacts: the database is no SQLite file, so give the folder of its artifact store")
    if not (folder / artifact_id).exists():
        raise UserError(f"--artifacts {folder}: holds no artifact {artifact_id} (trial {trial}'s weights); "
                        f"give the folder the study was run with")
    return download(artifact_store(storage, artifacts, create=False), artifact_id)


def remove(storage: str, artifacts: str | None, ids: Iterable[str]) -> int:
    """Delete the artifacts `ids` from the store; how many were there."""
    store = artifact_store(storage, artifacts, create=False)
    folder = artifacts_dir(storage, artifacts)
    removed = 0
    for artifact_id in ids:
        if folder is not None and (folder / artifact_id).exists():
            store.remove(artifact_id)
            removed += 1
    return removed


def keep_pareto(store: Any, study_name: str, artifacts: str | None) -> int:
    """``keep_weights = "pareto"`` at the end of a run: delete the networks of trained trials off the
    study's Pareto front (Optuna's ``best_trials``: feasible, non-dominated), keeping those the front's
    reused trials were served from; how many were deleted."""
    import optuna

    study = optuna.load_study(study_name=study_name, storage=store.optuna)
    front = {t.number for t in study.best_trials}
    keep = front | {t.user_attrs.get(n.REUSED_ATTR) for t in study.best_trials}
    removed = 0
    for trial in study.get_trials(deepcopy=False):
        artifact_id = trial.user_attrs.get(n.WEIGHTS_ATTR)
        if artifact_id and trial.number not in keep:
            removed += remove(store.url, artifacts, [artifact_id])
            store.forget_weights(study_name, trial.number, artifact_id)
    return removed
