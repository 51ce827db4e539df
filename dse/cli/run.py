"""``dse run`` and ``dse worker``: run (or join) a study, then print its front and write its report."""

from __future__ import annotations

import sys
from typing import Callable

import click

from ..errors import UserError
from ._common import check_device, cli, emit, storage_option

def _run_options(command: Callable) -> Callable:
    for option in reversed([
        storage_option,
        click.option("--data-dir", type=click.Path(), default=None,
                     help="Folder holding MNIST / Fashion-MNIST IDX files, CIFAR-10 / CIFAR-100 batches or "
                          "the Speech Commands v0.02 folder."),
        click.option("--device", default="cpu", show_default=True,
                     help="cpu, cuda, cuda:N or auto (CUDA when available)."),
        click.option("--n-trials", type=click.IntRange(min=1), default=None,
                     help="Override [study].n_trials."),
        click.option("--quiet", is_flag=True, help="No progress bars."),
        click.option("--new-name", default=None, metavar="NAME",
                     help="Run the spec as a study of this name (e.g. after changing [space])."),
    ]):
        command = option(command)
    return command


def _run(spec_path: str, storage: str, data_dir: str | None, device: str, n_trials: int | None,
         quiet: bool, report: bool, workers: int = 1, new_name: str | None = None, dask: str | None = None) -> None:
    from ..spec import load_spec
    from ..store.url import check_storage, shown
    from ..study import PROPOSALS_PER_TRIAL, run_study

    check_device(device)  # both before the spec, the data, the database and any training
    check_storage(storage)
    spec = load_spec(spec_path, n_trials=n_trials, name=new_name)
    click.echo(f"study {spec.name}: engine {spec.engine}, data set {spec.dataset}, {spec.n_trials} trials, "
               f"sampler {spec.sampler}{f', {workers} workers' if workers > 1 else ''}"
               f"{f', Dask cluster {dask}' if dask else ''}; storage {shown(storage)}", err=True)
    signal_exit = 130
    if dask:
        counts, interrupted, gave_up = _run_dask(spec, dask, storage, data_dir, device, quiet)
    elif workers > 1:
        from ..study.local_workers import run_workers

        result = run_workers(spec, spec_path, workers, storage=storage, data_dir=data_dir, device=device,
                             n_trials=n_trials, show_progress=not quiet)
        for code, line in result.failures[:1]:
            click.echo(f"a worker exited {code}: {line}", err=True)
            sys.exit(code if code in (1, 2) else 1)
        counts, interrupted, gave_up = result.counts, result.interrupted, False
        signal_exit = 130
    else:
        outcome = run_study(spec, storage=storage, data_dir=data_dir, device=device, show_progress=not quiet)
        counts, interrupted, gave_up = outcome.counts, outcome.interrupted, outcome.gave_up
        signal_exit = outcome.exit_code
    if interrupted:
        click.echo("interrupted: finished trials are stored; run the same command again to continue", err=True)
    elif gave_up:
        click.echo(f"stopped after {PROPOSALS_PER_TRIAL} proposals per asked-for design: {_tally(counts)} "
                   f"of {spec.n_trials}; the space holds too few distinct designs that meet the constraints",
                   err=True)
    from ..store import Store

    if not counts.get("trained") and not interrupted:
        _no_design_trained(Store(storage, create=False), spec.name)
    if not report:
        if interrupted:
            sys.exit(signal_exit)
        return
    from ..report import build, pareto_frame, write_report  # pandas, once the trials are done

    store = Store(storage, create=False)
    data = build(store, spec.name)
    frame = pareto_frame(data)
    click.echo(f"Pareto-optimal designs of {spec.name} ({len(frame)}):", err=True)
    emit(frame, "table")
    path = write_report(store, spec.name, data=data)
    click.echo(f"report: {path}")
    if interrupted:
        sys.exit(signal_exit)


def _dry_run(spec_path: str, data_dir: str | None, device: str, n_trials: int | None, new_name: str | None) -> None:
    from ..spec import load_spec
    from ..study.dry_run import dry_run, lines

    check_device(device)
    spec = load_spec(spec_path, n_trials=n_trials, name=new_name)
    for line in lines(dry_run(spec, data_dir, device)):
        click.echo(line)


def _run_dask(spec, address: str, storage: str, data_dir: str | None, device: str,
              quiet: bool) -> tuple[dict[str, int], bool, bool]:
    from ..study.dask_cluster import run_dask

    result = run_dask(spec, address, storage=storage, data_dir=data_dir, device=device, show_progress=not quiet)
    for line in result.failures[:1]:
        click.echo(f"a Dask trial loop failed: {line}", err=True)
        if not result.counts.get("trained"):
            sys.exit(1)
    return result.counts, result.interrupted, result.gave_up


def _no_design_trained(store, name: str) -> None:
    """Exit 1 saying why: the first distinct reasons the trials gave."""
    reasons = list(dict.fromkeys(t.note for t in store.trials(name) if t.note))[:3]
    click.echo(f"error: no design of {name} was trained; " + ("; ".join(reasons) or "no trial ran"), err=True)
    sys.exit(1)


def _tally(counts: dict[str, int]) -> str:
    return ", ".join(f"{counts.get(k, 0)} {k}" for k in ("trained", "rejected", "reused", "pruned", "failed"))


@cli.command()
@click.argument("spec", type=click.Path())
@_run_options
@click.option("--workers", type=click.IntRange(min=1, max=256), default=1, show_default=True,
              help="Worker processes on this machine sharing the study (SQLite included).")
@click.option("--dask", default=None, metavar="ADDRESS",
              help="Run trials on the Dask cluster at tcp://HOST:PORT (one trial per worker process; storage "
                   "reachable by every worker, e.g. PostgreSQL), or local:K for a local cluster of K workers.")
@click.option("--dry-run", is_flag=True,
              help="Check the spec (and --data-dir), print the design count, the static costs at the corners "
                   "of the space and an estimated training time per trial; train nothing, write nothing.")
def run(spec: str, storage: str, data_dir: str | None, device: str, n_trials: int | None, quiet: bool,
        new_name: str | None, workers: int, dask: str | None, dry_run: bool) -> None:
    """Run (or continue) the study in SPEC, then print its Pareto front and write its report."""
    if dry_run:
        _dry_run(spec, data_dir, device, n_trials, new_name)
        return
    if dask and workers > 1:
        raise UserError("--dask and --workers: give one; a Dask cluster's workers are its own (local:K for K here)")
    _run(spec, storage, data_dir, device, n_trials, quiet, report=True, workers=workers, new_name=new_name,
         dask=dask)


@cli.command()
@click.argument("spec", type=click.Path())
@_run_options
def worker(spec: str, storage: str, data_dir: str | None, device: str, n_trials: int | None,
           quiet: bool, new_name: str | None) -> None:
    """Join the study in SPEC as one more worker (share --storage, e.g. PostgreSQL)."""
    _run(spec, storage, data_dir, device, n_trials, quiet, report=False, new_name=new_name)
