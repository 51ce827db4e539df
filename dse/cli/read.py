"""The read side: ``dse report``, ``query``, ``select`` and ``studies``."""

from __future__ import annotations

import click

from ..errors import UserError
from ._common import cli, emit, output_options, storage_option

@cli.command()
@click.argument("study")
@storage_option
@click.option("-o", "--output", type=click.Path(), default=None, help="Where to write (default reports/STUDY.html).")
def report(study: str, storage: str, output: str | None) -> None:
    """Write the Pareto-front HTML report of STUDY."""
    from ..report import write_report
    from ..store import Store, lost

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
    from ..output import check
    from ..query import query as run_query
    from ..where import parse

    check(fmt, output)  # before the database is read: nothing written on bad input
    if where is not None:
        parse(where)
    emit(run_query(study, storage, variants=variants, states=states or None, where=where, sort=sort,
                   pareto=pareto, limit=limit, columns=columns), fmt, output)


@cli.command()
@click.argument("study")
@storage_option
@output_options
@click.option("--mu", "mus", multiple=True, required=True, metavar="M[,M...]",
              help="Trade-off of the tinySNN reward, accuracy - mu * memory / memory at 32 bits "
                   "(repeatable, or a comma-separated list, to sweep).")
@click.option("--variants", is_flag=True, help="Also consider extra design points (e.g. T=4 evaluations).")
@click.option("--energy", default=None, metavar="METRIC",
              help="A stored energy metric (e.g. energy_jetson_nano_j): shown, and bounded by --max-energy.")
@click.option("--max-energy", type=click.FloatRange(min=0), default=None, metavar="E",
              help="Only designs whose --energy metric is at most E are eligible (tinySNN's energy constraint).")
@click.option("--max-memory", type=click.FloatRange(min=0), default=None, metavar="BITS",
              help="Only designs of at most BITS memory_bits are eligible (tinySNN's memory constraint).")
def select(study: str, storage: str, fmt: str, mus: tuple[str, ...], variants: bool, energy: str | None,
           max_energy: float | None, max_memory: float | None) -> None:
    """For each mu, the design of STUDY with the highest tinySNN reward (Eq. 3), with its
    reward, accuracy and memory, among those meeting the memory and energy bounds."""
    from ..select import select as run_select

    values = []
    for item in (part.strip() for text in mus for part in text.split(",")):
        try:
            values.append(float(item))
        except ValueError:
            raise UserError(f"--mu {item}: expected a number >= 0, e.g. --mu 0.5 or --mu 0,0.5,2") from None
    emit(run_select(study, storage, values, variants=variants, energy=energy, max_energy=max_energy,
                    max_memory=max_memory), fmt)


STUDY_COLUMNS = ("trained", "rejected", "reused", "pruned", "failed", "running")


@cli.command()
@storage_option
@output_options
def studies(storage: str, fmt: str) -> None:
    """The studies in the database, with their trial counts."""
    import pandas as pd

    from ..query import open_store

    from ..store import lost

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
