"""``dse evaluate``: a stored trained network run again on a split or another data set, no retraining."""

from __future__ import annotations

import click

from ._common import check_device, cli, emit, output_options, storage_option

artifacts_option = click.option(
    "--artifacts", default=None, metavar="DIR", type=click.Path(file_okay=False),
    help="Folder of the study's artifact store (default: beside an SQLite database, DB.artifacts).")


@cli.command()
@click.argument("study")
@storage_option
@artifacts_option
@click.option("--trial", "trial", type=int, required=True, metavar="N", help="The trial whose network runs.")
@click.option("--variant", default=None, metavar="V", help="One of its variants, e.g. 'T=4' or 'w=4'.")
@click.option("--dataset", default=None, metavar="NAME", help="Another data set of the same input shape.")
@click.option("--data-dir", type=click.Path(), default=None, help="Folder of mnist, fashion-mnist, cifar10.")
@click.option("--split", type=click.Choice(["train", "val", "test", "all"]), default="test", show_default=True)
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:N or auto.")
@output_options
def evaluate(study: str, storage: str, artifacts: str | None, trial: int, variant: str | None,
             dataset: str | None, data_dir: str | None, split: str, device: str, fmt: str) -> None:
    """Run trial N's stored network on a split (or data set) and report its accuracy and spikes.
    On the study's own test split it gives the stored accuracy exactly."""
    import pandas as pd

    from ..deploy.evaluate import evaluate_trial

    check_device(device)
    rows = evaluate_trial(study, trial, storage=storage, artifacts=artifacts, variant=variant, dataset=dataset,
                          data_dir=data_dir, split=split, device=device)
    emit(pd.DataFrame(rows), fmt)
