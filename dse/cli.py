"""The ``dse`` command line (Contract 6).

Data goes to stdout, progress and messages to stderr. Exit codes: 0 success,
2 bad input (one line naming the file/option, what was wrong and what would be
valid), 1 failure; ``--debug`` shows the traceback, 130 after Ctrl-C.
"""

from __future__ import annotations

import json
import re
import sys
from functools import wraps
from typing import Any, Callable

import click

from .errors import UserError
from .store.names import DEFAULT_URL

storage_option = click.option(
    "--storage", default=DEFAULT_URL, show_default=True, metavar="URL",
    help="SQLAlchemy URL of the trial database, e.g. postgresql+psycopg://user:pw@host/db.")


def output_options(command: Callable) -> Callable:
    """--format table|csv|json for every command that prints rows."""

    @click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
                  show_default=True, help="Output format on stdout.")
    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return command(*args, **kwargs)

    return wrapper


def emit(frame, fmt: str, path: str | None = None) -> None:
    """Rows to stdout (or `path`); JSON keeps every float exact (:mod:`dse.output`)."""
    from .output import write

    write(frame, fmt, path, echo=click.echo)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks of errors.")
@click.version_option(package_name="snn-dse", prog_name="dse")
def cli(debug: bool) -> None:
    """snn-dse: hardware-cost-aware design-space exploration for spiking neural networks."""


def _run_options(command: Callable) -> Callable:
    for option in reversed([
        storage_option,
        click.option("--data-dir", type=click.Path(), default=None,
                     help="Folder holding MNIST / Fashion-MNIST IDX files or CIFAR-10 batches."),
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


def check_device(device: str) -> None:
    """--device: cpu, cuda, cuda:N or auto, and a CUDA device this machine has (torch imported only then)."""
    if not re.fullmatch(r"cpu|auto|cuda(:\d+)?", device):
        raise UserError(f"--device {device}: expected cpu, cuda, cuda:N (N = 0, 1, ...) or auto")
    if not device.startswith("cuda"):
        return
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if int(device.partition(":")[2] or 0) >= count:
        have = ", ".join(f"cuda:{i}" for i in range(count))
        raise UserError(f"--device {device}: no CUDA device: " + (f"this machine has {count} ({have}); use cpu, "
                        f"auto or one of those" if count else "torch finds none on this machine; use cpu or auto"))


def _run(spec_path: str, storage: str, data_dir: str | None, device: str, n_trials: int | None,
         quiet: bool, report: bool, workers: int = 1, new_name: str | None = None, dask: str | None = None) -> None:
    from .spec import load_spec
    from .store.url import check_storage, shown
    from .study import PROPOSALS_PER_TRIAL, run_study

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
        from .study.local_workers import run_workers

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
    from .store import Store

    if not counts.get("trained") and not interrupted:
        _no_design_trained(Store(storage, create=False), spec.name)
    if not report:
        if interrupted:
            sys.exit(signal_exit)
        return
    from .report import build, pareto_frame, write_report  # pandas, once the trials are done

    store = Store(storage, create=False)
    data = build(store, spec.name)
    frame = pareto_frame(data)
    click.echo(f"Pareto-optimal designs of {spec.name} ({len(frame)}):", err=True)
    emit(frame, "table")
    path = write_report(store, spec.name, data=data)
    click.echo(f"report: {path}")
    if interrupted:
        sys.exit(signal_exit)


def _run_dask(spec, address: str, storage: str, data_dir: str | None, device: str,
              quiet: bool) -> tuple[dict[str, int], bool, bool]:
    from .study.dask_cluster import run_dask

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
def run(spec: str, storage: str, data_dir: str | None, device: str, n_trials: int | None, quiet: bool,
        new_name: str | None, workers: int, dask: str | None) -> None:
    """Run (or continue) the study in SPEC, then print its Pareto front and write its report."""
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


@cli.command()
@click.argument("study")
@storage_option
@click.option("-o", "--output", type=click.Path(), default=None, help="Where to write (default reports/STUDY.html).")
def report(study: str, storage: str, output: str | None) -> None:
    """Write the Pareto-front HTML report of STUDY."""
    from .report import write_report
    from .store import Store, lost

    store = Store(storage, create=False)
    lost.sweep(store, study, store.stored_spec(study).retries)  # no trial left RUNNING by a lost worker
    click.echo(f"report: {write_report(store, study, output)}")


@cli.command()
@click.argument("study")
@storage_option
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "parquet"]), default="table",
              show_default=True, help="Output format (parquet needs -o FILE).")
@click.option("-o", "--output", type=click.Path(), default=None, help="Write to FILE instead of stdout.")
@click.option("--variants", is_flag=True, help="Add a row per extra design point (e.g. T=4 evaluations).")
@click.option("--state", "states", multiple=True,
              type=click.Choice(["complete", "pruned", "fail", "running", "waiting"]),
              help="Only trials in this state (repeatable).")
@click.option("--where", default=None, metavar="EXPR",
              help="Keep rows where EXPR holds, e.g. \"accuracy > 0.9 and weight_bits in [4, 8]\".")
@click.option("--sort", default=None, metavar="KEY[,KEY]", help="Order by columns; -KEY descending.")
@click.option("--pareto", is_flag=True, help="Only Pareto-optimal feasible design points (variants compete).")
@click.option("--limit", type=click.IntRange(min=0), default=None, metavar="N", help="At most N rows.")
@click.option("--columns", default=None, metavar="A,B,C", help="Only these columns, in this order.")
def query(study: str, storage: str, fmt: str, output: str | None, variants: bool, states: tuple[str, ...],
          where: str | None, sort: str | None, pareto: bool, limit: int | None, columns: str | None) -> None:
    """Every trial of STUDY: one row per trial, one column per parameter and metric; filter,
    sort and pick rows and columns (see README, "Querying")."""
    from .output import check
    from .query import query as run_query
    from .where import parse

    check(fmt, output)  # before the database is read: nothing written on bad input
    if where is not None:
        parse(where)
    emit(run_query(study, storage, variants=variants, states=states or None, where=where, sort=sort,
                   pareto=pareto, limit=limit, columns=columns), fmt, output)


@cli.command()
@click.argument("study")
@storage_option
@click.option("--neurobench", is_flag=True, required=True, help="NeuroBench 2.3's metric names and JSON layout.")
@click.option("--trial", "trial", type=int, default=None, metavar="N", help="Only trial N (its results object).")
@click.option("-o", "--output", type=click.Path(), default=None, help="Write to FILE instead of stdout.")
def export(study: str, storage: str, neurobench: bool, trial: int | None, output: str | None) -> None:
    """Each trained design of STUDY under NeuroBench 2.3's names, as its harness's Benchmark.run
    returns them (Footprint, ConnectionSparsity, ClassificationAccuracy, ActivationSparsity,
    MembraneUpdates, SynapticOperations)."""
    from pathlib import Path

    from .export import neurobench_json

    text = neurobench_json(study, storage, trial)
    if output:
        Path(output).write_text(text)
        click.echo(f"exported: {output}", err=True)
    else:
        click.echo(text, nl=False)


@cli.command()
@click.argument("study")
@storage_option
@output_options
@click.option("--mu", "mus", multiple=True, required=True, metavar="M[,M...]",
              help="Trade-off of the tinySNN reward, accuracy - mu * memory / memory at 32 bits "
                   "(repeatable, or a comma-separated list, to sweep).")
@click.option("--variants", is_flag=True, help="Also consider extra design points (e.g. T=4 evaluations).")
def select(study: str, storage: str, fmt: str, mus: tuple[str, ...], variants: bool) -> None:
    """For each mu, the design of STUDY with the highest tinySNN reward (Eq. 3), with its
    reward, accuracy and memory."""
    from .select import select as run_select

    values = []
    for item in (part.strip() for text in mus for part in text.split(",")):
        try:
            values.append(float(item))
        except ValueError:
            raise UserError(f"--mu {item}: expected a number >= 0, e.g. --mu 0.5 or --mu 0,0.5,2") from None
    emit(run_select(study, storage, values, variants=variants), fmt)


STUDY_COLUMNS = ("trained", "rejected", "reused", "pruned", "failed", "running")


@cli.command()
@storage_option
@output_options
def studies(storage: str, fmt: str) -> None:
    """The studies in the database, with their trial counts."""
    import pandas as pd

    from .query import open_store

    from .store import lost

    store = open_store(storage)
    rows = []
    for name in store.study_names():
        spec = store.stored_spec(name)
        lost.sweep(store, name, spec.retries)  # count a lost worker's trial as failed, not running
        counts = store.status_counts(name)
        rows.append({"study": name, "engine": spec.engine, "dataset": spec.dataset,
                     "trials": sum(counts.values()), **{s: counts.get(s, 0) for s in STUDY_COLUMNS},
                     "objectives": ", ".join(f"{m} {d[:3]}" for m, d in spec.objective_pairs)})
    emit(pd.DataFrame(rows, columns=["study", "engine", "dataset", "trials", *STUDY_COLUMNS, "objectives"]), fmt)


@cli.command()
@output_options
def models(fmt: str) -> None:
    """Cost models: their metrics, units and options (built-in and plug-ins)."""
    import pandas as pd

    import hwmodels

    rows = []
    for name in hwmodels.available():
        model = hwmodels.get(name)
        options = "; ".join(f"{k}={json.dumps(o.default)}: {o.help}" for k, o in model.options.items())
        resolved = model.resolve({})
        notes = model.notes(**resolved)
        for metric, unit in model.metrics_for(**resolved).items():
            rows.append({"model": name, "metric": metric, "unit": unit,
                         "before training": "yes" if model.is_static(metric) else "",
                         "options": options, "note": notes.get(metric, "")})
    for name, reason in hwmodels.broken().items():  # skipped with a warning: say which and why
        rows.append({"model": name, "metric": "", "unit": "", "before training": "", "options": "",
                     "note": f"broken plug-in, skipped: {reason}"})
    emit(pd.DataFrame(rows), fmt)


@cli.command()
@click.argument("study")
@storage_option
@click.option("--models", "model_names", default=None, metavar="M1,M2",
              help="Cost models to run (default: the study's).")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="A cost-model option, value in JSON or a bare string (repeatable), "
                   "e.g. --option gpu_targets='[\"jetson-nano\"]' --option sparse_format=csr.")
def rescore(study: str, storage: str, model_names: str | None, options: tuple[str, ...]) -> None:
    """Re-score every stored trial of STUDY with other cost models or options, without retraining."""
    from .rescore import rescore as run_rescore

    from hwmodels import parse_options

    try:
        parsed = parse_options(options)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    names = [m.strip() for m in model_names.split(",")] if model_names else None
    result = run_rescore(study, storage, names, parsed)
    click.echo(f"rescored {result.points} design point(s) of {study}", err=True)
    if result.objectives:
        click.echo(f"updated Optuna's objective values ({', '.join(result.objectives)}) and dse_metrics of "
                   f"{result.trials} trial(s): optuna-dashboard and optuna.load_study show the new values", err=True)
    else:
        click.echo("no objective of the study was rescored: Optuna's objective values are unchanged", err=True)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        cli.main(args=args, prog_name="dse", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("interrupted", err=True)
        sys.exit(130)
    except UserError as exc:
        if debug:
            raise
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001: the one place that turns failures into exit 1
        if debug:
            raise
        click.echo(f"error: {exc.__class__.__name__}: {exc} (run with --debug for the traceback)", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
