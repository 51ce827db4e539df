"""``dse export --format nir|torch``: one stored trial (or variant), or every Pareto-optimal design, as files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import UserError
from ..store import names as n
from .evaluate import engine_runner, variant_params
from .weights import trial_attrs, trial_network

SUFFIX = {"nir": ".nir", "torch": ""}


def network_of(study: str, trial: int, variant: str | None, storage: str, artifacts: str | None,
               fmt: str = "torch") -> tuple:
    """(the network the design point evaluated with, its info for metadata)."""
    from ..query import open_store

    store = open_store(storage)
    if fmt == "nir":
        from .nir import engine_refusal

        design = trial_attrs(storage, study, trial).get(n.DESIGN_ATTR) or {}
        reason = engine_refusal(design.get("engine", "surrogate"))
        if reason:
            raise UserError(f"--format nir: cannot export {reason}")
    network = trial_network(storage, artifacts, study, trial)
    params = variant_params(store, study, trial, variant)
    if params:
        network = engine_runner(network["engine"]).variant_network(network, params)
    metrics = {p.variant: p.metrics for p in store.points(study, variants=True) if p.trial == trial}
    info = {"study": study, "trial": trial, "variant": variant or n.TRAINED,
            "metrics": {k: v for k, v in metrics.get(variant or n.TRAINED, {}).items()}}
    return network, info


def export_one(network: dict[str, Any], info: dict[str, Any], fmt: str, output: str | Path,
               unit_r: bool = False) -> Path:
    if fmt == "nir":
        from .nir import write

        write(network, output, info, unit_r)
        return Path(output)
    from .torch_module import export

    return export(network, output, info)


def export_point(study: str, trial: int, variant: str | None, fmt: str, output: str, storage: str,
                 artifacts: str | None, unit_r: bool = False) -> Path:
    network, info = network_of(study, trial, variant, storage, artifacts, fmt)
    return export_one(network, info, fmt, output, unit_r)


def export_pareto(study: str, fmt: str, folder: str, storage: str, artifacts: str | None,
                  unit_r: bool = False) -> list[Path]:
    """Every Pareto-optimal design point (variants included) into `folder`, one file (or folder) each,
    named ``trial-N`` or ``trial-N-<variant>``; points whose trial kept no network are named on stderr."""
    import click

    from ..query import query

    front = query(study, storage, variants=True, pareto=True)
    if front.empty:
        raise UserError(f"--pareto: study {study!r} has no trained design")
    out, written = Path(folder), []
    out.mkdir(parents=True, exist_ok=True)
    for _, row in front.iterrows():
        trial = int(row["trial"])
        variant = row["variant"] if isinstance(row.get("variant"), str) and row["variant"] else None
        source = int(row["parent"]) if row.get("status") == n.REUSED and str(row.get("parent", "")).isdigit() else trial
        name = f"trial-{trial}" + (f"-{variant.replace(' ', '_').replace('=', '')}" if variant else "")
        try:
            written.append(export_point(study, source, variant, fmt, str(out / f"{name}{SUFFIX[fmt]}"),
                                        storage, artifacts, unit_r))
        except UserError as exc:
            click.echo(f"skipped {name}: {exc}", err=True)
    return written
