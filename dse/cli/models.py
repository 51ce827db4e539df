"""``dse models`` and ``dse rescore``: the cost models, and scoring stored trials with others."""

from __future__ import annotations

import json

import click

from ..errors import UserError
from ._common import cli, emit, output_options, storage_option

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
    from ..rescore import rescore as run_rescore

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
