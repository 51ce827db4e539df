"""``dse export``: a study's designs in other tools' formats: NeuroBench's metric layout, or the
trained network itself as a NIR graph or a plain torch module."""

from __future__ import annotations

import click

from ..errors import UserError
from ._common import cli, storage_option
from .evaluate import artifacts_option

FORMATS = ("neurobench", "nir", "torch")


@cli.command()
@click.argument("study")
@storage_option
@artifacts_option
@click.option("--neurobench", is_flag=True, help="The same as --format neurobench.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="neurobench: metrics under NeuroBench 2.3's names (JSON); nir: the network as a NIR graph "
                   "(.nir); torch: a folder with model.pt and its loader snn_model.py (needs only torch).")
@click.option("--trial", "trial", type=int, default=None, metavar="N", help="Only trial N.")
@click.option("--variant", default=None, metavar="V", help="With nir/torch: trial N's variant V, e.g. 'T=4'.")
@click.option("--pareto", is_flag=True, help="With nir/torch: every Pareto-optimal design, into the folder -o.")
@click.option("--unit-r", is_flag=True,
              help="With nir: fold each LIF's R into the weights feeding it, for clients that take R as 1 (Norse 1.1).")
@click.option("-o", "--output", type=click.Path(), default=None,
              help="Write to FILE (nir), FOLDER (torch, --pareto) or FILE instead of stdout (neurobench).")
def export(study: str, storage: str, artifacts: str | None, neurobench: bool, fmt: str | None, trial: int | None,
           variant: str | None, pareto: bool, unit_r: bool, output: str | None) -> None:
    """Each trained design of STUDY under NeuroBench 2.3's names (--neurobench: Footprint,
    ConnectionSparsity, ClassificationAccuracy, ActivationSparsity, MembraneUpdates, SynapticOperations),
    or a trained network itself (--format nir|torch --trial N, or --pareto)."""
    from pathlib import Path

    fmt = fmt or ("neurobench" if neurobench else None)
    if fmt is None:
        raise UserError(f"--format: give one of {', '.join(FORMATS)} (or --neurobench)")
    if fmt == "neurobench":
        from ..export import neurobench_json

        text = neurobench_json(study, storage, trial)
        if output:
            Path(output).write_text(text)
            click.echo(f"exported: {output}", err=True)
        else:
            click.echo(text, nl=False)
        return
    if output is None:
        raise UserError(f"-o: --format {fmt} writes files; give -o FILE (or a folder with --pareto or torch)")
    if pareto == (trial is not None):
        raise UserError(f"--format {fmt}: give either --trial N or --pareto")
    if unit_r and fmt != "nir":
        raise UserError(f"--unit-r: a NIR option; --format {fmt} has no R to fold")
    from ..deploy.exporting import export_pareto, export_point

    if pareto:
        written = export_pareto(study, fmt, output, storage, artifacts, unit_r)
        click.echo(f"exported {len(written)} Pareto-optimal design(s) into {output}", err=True)
    else:
        click.echo(f"exported: {export_point(study, trial, variant, fmt, output, storage, artifacts, unit_r)}",
                   err=True)
