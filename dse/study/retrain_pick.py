"""Which inherited design ``dse retrain --top`` trains next: a model of the inherited values' bias,
and the expected hypervolume a retraining adds.

Written by hand (a few dozen lines of numpy): the model is fitted on at most a few dozen twins,
and what it must do (a prior that tightens as twins come back, costs corrected by ratio,
designs described by their precision rather than by every searched key) is specific to
inherited-versus-retrained gaps; a Gaussian-process library would add a dependency and
hyper-parameters to fit on five points.

- **What a design is, for the model** (:func:`summary`, :func:`features`): its stored design,
  summarised. A bit width counts by its logarithm (1 -> 2 bits is a bigger step than 4 -> 8),
  a list of numbers (per-cell or per-layer bits, hidden widths) by its minimum and mean, a list of
  choices (a cell's per-edge operations) by the share of each choice, any other choice one-hot.
  Summarised, a LitE space's 24 per-edge operation columns become 3, and what the gap depends on
  most (how low the precision goes) is one column rather than spread over one per cell.
- **The gap** (:func:`model`): retrained minus inherited, per objective, regressed on the features
  by ridge regression (L2 ``RIDGE``, features centred on the twins). A cost (a minimised objective
  whose values are all positive) is corrected by ratio: its gap is taken on the log scale (a
  retrained network spikes some percent more, not some fixed count more). The spread of each
  prediction is the residuals' (pooled with a prior, ``SIGMA`` or ``COST_SIGMA``, weighing
  ``PRIOR_TWINS`` twins, so one lucky twin does not make the model sure of itself) times
  sqrt(1 + leverage): wider for a design unlike the twins, widest with no twin at all.
- **The pick** (:func:`pick`): among the designs whose values, optimistic by two spreads, are not
  dominated, the one with the largest *expected* hypervolume gain over the twins retrained so far,
  averaged over ``DRAWS`` Latin-hypercube draws of its predicted values (normal quantiles, a fixed
  permutation per objective). Taking the predicted values at their word picks the design the model
  over-rates most.

Simulated on LitE digits (``benchmarks/retrain_picks.py``: 792 inherited designs of a one-shot
study, each also trained alone; 20 picks from each of 8 random pools of 594 of them; hypervolume of
the 20 over that of the 124 designs a per-trial search trained in the same time budget): the previous model (every searched key as a
feature, linear costs, predicted values at their word) 0.972 on average; this one 0.996 (0.985-1.010);
picking with the trained accuracies known 1.030.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any, Mapping

import numpy as np

from ..pareto import costs, hypervolume, nondominated, signs

RIDGE = 0.3
"""L2 penalty of the gap regression (features scaled to [0, 1])."""
SIGMA = 0.05
"""Prior spread of a gap in an objective that is not a cost (5 points of accuracy)."""
COST_SIGMA = 0.01
"""Prior spread of a cost's gap, relative (1 %): costs are counted, not learned; a retrained network's
costs differ only by its activity, which the twins' residuals measure. (On LitE digits a 5 % prior made
a cost's spread outweigh accuracy's, and the simulated picks fell from 0.996 to 0.966.)"""
PRIOR_TWINS = 3
"""How many twins' residuals the prior spread weighs as."""
DRAWS = 16
"""Draws per design of the expected hypervolume gain."""
OPTIMISM = 2.0
"""Spreads added to a design's predicted values to decide whether it may be worth a retraining."""


def summary(design: Mapping[str, Any]) -> dict[str, Any]:
    """A design's stored values as the model reads them (module docstring)."""
    out: dict[str, Any] = {}
    for key, value in design.items():
        if key == "engine":
            continue
        number = (lambda v: math.log2(max(float(v), 1.0))) if "bits" in key else float
        if isinstance(value, (list, tuple)):
            if value and all(_numeric(v) for v in value):
                values = [number(v) for v in value]
                out[f"{key}.min"], out[f"{key}.mean"] = min(values), sum(values) / len(values)
            for level in sorted({repr(v) for v in value if not _numeric(v)}):
                out[f"{key}={level}"] = sum(repr(v) == level for v in value) / len(value)
        else:
            out[key] = number(value) if _numeric(value) else value
    return out


def _numeric(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def features(params: list[dict]) -> np.ndarray:
    """Rows of numbers: a numeric entry scaled to [0, 1] over these rows (0 where a row lacks it, with a
    column marking that), any other one-hot by value (a missing one its own value)."""
    columns: list[list[float]] = []
    for key in sorted({k for p in params for k in p}):
        columns += _columns([p.get(key) for p in params])
    return np.array(columns, dtype=float).T.reshape(len(params), -1)


def _columns(values: list) -> list[list[float]]:
    numbers = [v for v in values if v is not None]
    if not numbers or not all(_numeric(v) for v in numbers):
        return [[float(repr(v) == level) for v in values] for level in sorted({repr(v) for v in values})]
    low, span = min(numbers), max(max(numbers) - min(numbers), 1e-12)
    scaled = [[(v - low) / span if v is not None else 0.0 for v in values]]
    return scaled + ([[float(v is None) for v in values]] if len(numbers) < len(values) else [])


def model(candidates: np.ndarray, x: np.ndarray, inherited: np.ndarray, real: np.ndarray, x_twins: np.ndarray,
          directions: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Predicted values of the candidates (inherited values `candidates`, features `x`) and their spread
    on the corrected scale (log for costs), from the twins' inherited and `real` values (features `x_twins`)."""
    logged = costs(directions, candidates, inherited, real)
    scale = lambda v: np.where(logged, np.log(np.where(logged, v, 1.0)), v)  # noqa: E731
    predicted = scale(candidates)
    prior = np.where(logged, COST_SIGMA, SIGMA) ** 2
    spread = np.tile(np.sqrt(2.0 * prior), (len(candidates), 1))  # no twin: the prior at leverage 1
    if len(real):
        gaps = scale(real) - scale(inherited)
        mean_x, mean_gap = x_twins.mean(0), gaps.mean(0)
        centred = x_twins - mean_x
        inverse = np.linalg.inv(centred.T @ centred + RIDGE * np.eye(x.shape[1]))
        beta = inverse @ centred.T @ (gaps - mean_gap)
        residuals = gaps - mean_gap - centred @ beta
        variance = (PRIOR_TWINS * prior + (residuals ** 2).sum(0)) / (PRIOR_TWINS + len(real))
        offset = x - mean_x
        leverage = 1.0 / len(real) + np.einsum("ij,jk,ik->i", offset, inverse, offset)
        predicted = predicted + mean_gap + offset @ beta
        spread = np.sqrt(np.outer(1.0 + leverage, variance))
    # back to the objectives' units; a cost's spread is relative, so times the predicted cost
    unscaled = np.where(logged, np.exp(predicted), predicted)
    return unscaled, spread * np.where(logged, unscaled, 1.0)


def pick(candidates: np.ndarray, x: np.ndarray, inherited: np.ndarray, real: np.ndarray, x_twins: np.ndarray,
         directions: list[str]) -> int:
    """Row of `candidates` whose retraining adds the most expected hypervolume to the twins' `real`
    values (module docstring). Reference: the worst value seen on each objective, a tenth of its
    range further."""
    predicted, spread = model(candidates, x, inherited, real, x_twins, directions)
    flip = signs(directions)
    seen = np.vstack([predicted, real, inherited]) * flip
    worst, best = seen.max(0), seen.min(0)
    reference = list((worst + 0.1 * np.maximum(worst - best, 1e-12)) * flip)
    base = hypervolume(real, directions, reference)
    hopeful = np.flatnonzero(nondominated(predicted - OPTIMISM * spread * flip, directions))
    draws = _draws(len(directions))
    gains = [np.mean([hypervolume(np.vstack([real, point]), directions, reference)
                      for point in predicted[i] + draws * spread[i]]) - base for i in hopeful]
    return int(hopeful[int(np.argmax(gains))])


def _draws(objectives: int) -> np.ndarray:
    """DRAWS standard-normal points, a Latin hypercube: the quantiles of DRAWS equal slices, shuffled
    per objective by a fixed seed (so a pick is the same every time)."""
    quantiles = np.array([NormalDist().inv_cdf((k + 0.5) / DRAWS) for k in range(DRAWS)])
    rng = np.random.default_rng(0)
    return np.column_stack([rng.permutation(quantiles) for _ in range(objectives)])
