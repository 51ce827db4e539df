"""Model selection by the tinySNN reward (seed section 2.4, Eq. 3; Fig. 9).

For each trade-off mu, the stored design with the highest reward

.. math::

    R = A - \\mu M, \\qquad M = \\mathrm{Mem}_q / \\mathrm{Mem}_{nq}

(A the test accuracy, M the design's memory over the same network at 32 bits,
both from the hwmodels ``reward`` and ``memory`` models in the study's
``sparse_format``), computed from the stored profiles, so any mu can be asked
without retraining. mu = 0 picks the most accurate design; a larger mu picks
smaller ones. Ties go to the smaller memory, then to the earlier trial.

tinySNN selects "the SNN model that meets the memory- and energy-constraints"
(sections 2.4 and 4.4; the seed gives no formula for the constraint, so this form
is assumed): ``energy`` names a stored energy metric of the study (any stored
metric with "energy" in its name, ``training_<metric>`` included, e.g.
``energy_jetson_nano_j`` or ``training_energy_45nm_j``), and a design whose value
exceeds ``max_energy``, or whose ``memory_bits`` exceeds ``max_memory``, is not
eligible; a design with no stored value of the metric is not eligible either (it
cannot be shown to meet the bound). The reward then picks among the eligible ones.

>>> from dse.select import select
>>> select("tinysnn-digits", "sqlite:///dse.db", [0.0, 0.5, 2.0])  # doctest: +SKIP
"""

from __future__ import annotations

import math
from typing import Iterable

import hwmodels
import numpy as np
import pandas as pd

from .errors import UserError
from .pareto import nondominated
from .query import open_store
from .store import DEFAULT_URL, Store
from .store import names as n

COLUMNS = ["mu", "trial", "variant", "reward", "accuracy", "memory_bits", "memory_ratio"]
PRUNE_FROM = 64
"""From this many candidates on, only those on the accuracy-memory front compete (same choices, faster)."""


def check_mu(value: float) -> float:
    try:
        return hwmodels.get("reward").resolve({"mu": value})["mu"]
    except hwmodels.Invalid as exc:
        raise UserError(f"--mu {value}: {exc.message}") from None


def select(study_name: str, storage: str | Store = DEFAULT_URL, mus: Iterable[float] = (0.5,), *,
           variants: bool = False, energy: str | None = None, max_energy: float | None = None,
           max_memory: float | None = None) -> pd.DataFrame:
    """One row per mu: the design of highest reward, its reward, accuracy, memory and parameters.

    ``variants=True`` also considers the extra design points a trial produced
    (e.g. the same weights at fewer timesteps); training-phase profiles never
    compete (they describe learning, not a deployable model). ``energy``,
    ``max_energy`` and ``max_memory`` bound the eligible designs (module docstring);
    the energy metric's value is then a column of the result.
    """
    mus = [check_mu(mu) for mu in mus]
    if not mus:
        raise UserError("--mu: give at least one trade-off value, e.g. --mu 0.5")
    if max_energy is not None and energy is None:
        raise UserError("--max-energy: name the energy metric it bounds with --energy METRIC")
    store = open_store(storage)
    options = store.stored_spec(study_name).hardware_options
    memory_options = {"sparse_format": options["sparse_format"]} if "sparse_format" in options else {}
    found = _candidates(store, study_name, variants, metrics=energy is not None)
    if energy is not None:
        _check_energy(energy, study_name, found)
    contenders = _contenders(_eligible(found, energy, max_energy, max_memory, memory_options), memory_options)
    rows = _best_per_mu(contenders, mus, memory_options, energy)
    if not rows:
        return pd.DataFrame(columns=COLUMNS)
    frame = pd.DataFrame(rows)
    return frame if variants else frame.drop(columns=["variant"])


def _best_per_mu(contenders: list[tuple], mus: list[float], memory_options: dict, energy: str | None) -> list[dict]:
    memory = [hwmodels.evaluate(profile, "memory", **memory_options) for _, profile in contenders]
    rows = []
    for mu in mus if contenders else ():
        scored = [(hwmodels.evaluate(profile, "reward", mu=mu, **memory_options), point, profile, bits)
                  for (point, profile), bits in zip(contenders, memory)]
        reward, point, profile, bits = max(
            scored, key=lambda c: (c[0]["reward"], -c[3]["memory_bits"], -c[1].trial))
        rows.append({"mu": mu, "trial": point.trial, "variant": point.variant, "reward": reward["reward"],
                     "accuracy": profile.accuracy, "memory_bits": bits["memory_bits"],
                     "memory_ratio": reward["memory_ratio"],
                     **({energy: point.metrics.get(energy, math.nan)} if energy is not None else {}),
                     **{k: list(v) if isinstance(v, tuple) else v for k, v in point.params.items()}})
    return rows


def _check_energy(energy: str, study_name: str, candidates: list[tuple]) -> None:
    valid = sorted({m for point, _ in candidates for m in point.metrics if "energy" in m})
    if energy not in valid:
        hint = ", ".join(valid) if valid else "none (add an energy model, e.g. energy45nm or gpu, and run dse rescore)"
        raise UserError(f"--energy {energy}: not an energy metric stored for study {study_name!r}; valid: {hint}")


def _eligible(candidates: list[tuple], energy: str | None, max_energy: float | None,
              max_memory: float | None, memory_options: dict) -> list[tuple]:
    """The candidates that meet the memory and energy bounds (tinySNN's constraints)."""
    out = []
    for point, profile in candidates:
        if max_memory is not None and \
                not hwmodels.evaluate(profile, "memory", **memory_options)["memory_bits"] <= max_memory:
            continue
        if max_energy is not None and not point.metrics.get(energy, math.nan) <= max_energy:
            continue  # NaN or absent: not shown to meet the bound
        out.append((point, profile))
    return out


def _contenders(candidates: list[tuple], memory_options: dict) -> list[tuple]:
    """The candidates that can win for some mu: R = A - mu M is highest on the designs no other
    beats on both accuracy and memory ratio (equal ones all kept, for the tie-break), so the
    sweep over many mu scores a front of tens, not thousands of designs."""
    if len(candidates) < PRUNE_FROM:
        return candidates
    ratios = [hwmodels.evaluate(profile, "reward", mu=0.0, **memory_options)["memory_ratio"]
              for _, profile in candidates]
    keep = nondominated(np.array([[profile.accuracy, ratio] for (_, profile), ratio in zip(candidates, ratios)]),
                        ["maximize", "minimize"])
    return [c for c, k in zip(candidates, keep) if k]


def _candidates(store: Store, study_name: str, variants: bool, metrics: bool) -> list[tuple]:
    """(point, profile) of every measured design point: trained designs and their variants, not
    rejected designs or duplicates served from another trial; their stored metrics read where
    ``metrics`` (an energy bound needs them; the reward is computed from the profiles)."""
    points = {p.key: p for p in store.points(study_name, variants=variants, states=("complete",), metrics=metrics)
              if p.status in ("trained", "variant")}
    return [(points[key], profile) for key, profile in store.profiles(study_name, points).items()
            if key[1] != n.TRAINING and profile.accuracy is not None]
