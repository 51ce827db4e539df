"""The spec's sampler and pruner, as Optuna objects."""

from __future__ import annotations

import optuna

from ..space import grid
from ..spec import StudySpec


def worker_seed(seed: int, worker: int) -> int:
    """The sampler seed of a study's `worker`-th worker: distinct per worker, reproducible."""
    return (seed * 1_000_003 + 7919 * worker) % (2**31 - 1)


def make_sampler(spec: StudySpec, worker: int = 0) -> optuna.samplers.BaseSampler:
    """The spec's sampler, seeded for this worker (:func:`worker_seed`), so that workers
    started together, and a study continued later, do not replay each other's proposals.
    TPE lies about running trials (constant liar) so parallel workers spread out.
    Constraints reach every sampler through ``trial.set_constraint`` (Optuna 5)."""
    seed = worker_seed(spec.seed, worker)
    name = spec.sampler
    population = max(4, min(50, spec.n_trials // 3))
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(population_size=population, seed=seed)
    if name == "nsga3":
        return optuna.samplers.NSGAIIISampler(population_size=population, seed=seed)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True,
                                          n_startup_trials=min(10, spec.n_trials // 3 or 1))
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    # one seed for every worker and every resume: the grid's order (grid id -> point) is drawn
    # from it, and the sampler hands out the ids no trial has visited yet
    return optuna.samplers.GridSampler(grid(spec), seed=spec.seed)


def make_pruner(spec: StudySpec) -> optuna.pruners.BasePruner:
    if spec.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
    if spec.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=spec.train["epochs"])
    return optuna.pruners.NopPruner()
