"""``dse export``: a study's designs in other tools' formats."""

from __future__ import annotations

import click

from ._common import cli, storage_option

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

    from ..export import neurobench_json

    text = neurobench_json(study, storage, trial)
    if output:
        Path(output).write_text(text)
        click.echo(f"exported: {output}", err=True)
    else:
        click.echo(text, nl=False)
