"""``dse retrain``: train inherited designs of a one-shot study from scratch, beside their twins."""

from __future__ import annotations

import click

from ..errors import UserError
from ._common import check_device, cli, emit, output_options, storage_option


@cli.command()
@click.argument("study")
@storage_option
@click.option("--pareto", is_flag=True, help="Retrain the Pareto front of the inherited designs (required).")
@click.option("--top", type=click.IntRange(min=1), default=None, metavar="K",
              help="K designs, picked one at a time: the one most likely to add the most hypervolume to those "
                   "retrained, its inherited values corrected by the gaps of the twins retrained before it. "
                   "K counts every twin retrained so far (by --spread too), so the same command continues "
                   "after Ctrl-C.")
@click.option("--spread", type=click.IntRange(min=1), default=None, metavar="K",
              help="K designs spread evenly over the front, chosen before any is trained: how faithfully the "
                   "supernet ranks the whole front (compare predicted and real accuracy).")
@click.option("--spec", "spec_path", type=click.Path(), default=None,
              help="The study's spec file (default: the path stored with the study).")
@click.option("--data-dir", type=click.Path(), default=None, help="Folder of MNIST / CIFAR-10 files.")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:N or auto.")
@click.option("--quiet", is_flag=True, help="No progress.")
@output_options
def retrain(study: str, storage: str, pareto: bool, top: int | None, spread: int | None, spec_path: str | None,
            data_dir: str | None, device: str, quiet: bool, fmt: str) -> None:
    """Train STUDY's inherited Pareto-optimal designs from scratch, as trials linked to their twins."""
    import pandas as pd

    from ..spec import load_spec
    from ..store import Store
    from ..study.retrain import front, spread_front
    from ..study.retrain import retrain as run_retrain

    if not pareto:
        raise UserError("dse retrain: --pareto: missing; retrain chooses the inherited Pareto front "
                        "(add --top K for K designs of it chosen one at a time, or --spread K)")
    if top and spread:
        raise UserError("dse retrain: --top and --spread: give one; --top picks by the hypervolume a design "
                        "adds, --spread evenly over the front")
    check_device(device)
    store = Store(storage, create=False)
    path = spec_path or store.stored_spec(study).path  # StudyNotFound names the studies stored
    spec = load_spec(path, name=study)
    if spec.search != "supernet":
        raise UserError(f"dse retrain: study {study!r}: its designs were trained, not inherited "
                        f"([study].search = \"{spec.search}\" in {path}); only a supernet study has twins to retrain")
    numbers = spread_front(spec, store, spread) if spread else front(spec, store)
    if not numbers:
        raise UserError(f"dse retrain: study {study!r} holds no inherited design yet; run it first")
    twins = run_retrain(spec, storage=storage, numbers=None if top else numbers, top=top, device=device,
                        data_dir=data_dir, show_progress=not quiet)
    accuracy = {p.trial: p.metrics.get("accuracy") for p in Store(storage, create=False).points(study, variants=False)}
    shown = twins if top else [t for t in numbers if t in twins]
    table = pd.DataFrame([(t, twins[t], accuracy.get(t), accuracy.get(twins[t])) for t in shown],
                         columns=["inherited_trial", "retrained_trial", "predicted_accuracy", "real_accuracy"])
    emit(table, fmt)
    _ranking(table)


def _ranking(table) -> None:
    """One line on stderr: how faithfully the inherited accuracies rank the retrained ones."""
    pairs = table.dropna(subset=["predicted_accuracy", "real_accuracy"])
    if len(pairs) >= 3:
        from scipy.stats import kendalltau

        tau = kendalltau(pairs["predicted_accuracy"], pairs["real_accuracy"]).statistic
        gap = (pairs["real_accuracy"] - pairs["predicted_accuracy"]).mean()
        click.echo(f"Kendall's tau, predicted against real accuracy over {len(pairs)} designs: {tau:.3f}; "
                   f"mean gap (real - predicted): {gap:+.4f}", err=True)
