"""Sequential search (LitE-SNN Table 4): the ``[space]`` keys in stages, searched in turn.

By default four stages, as LitE-SNN's sequential baseline: A (architecture:
every searched key not below), P (``pruning``), Q (precision, rounding and
scheme: ``weight_bits``, ``neuron_bits``, ``vmem_bits``, ``vth_bits``, ``rounding``,
``quantization``, ``cell_bits``, ``io_bits``, ``layer_bits``) and T (``timesteps``); stages without a searched
key are dropped. ``[study] stages`` lists the stages' keys explicitly, every
searched key in exactly one; ``[study] stage_trials`` splits ``n_trials``
(evenly by default, the first stages taking the remainder).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

from hwmodels.validation import ListOf, StrOptions, show

from ._checker import Checker
from .model import StudySpec

PRUNING = ("pruning",)
PRECISION = ("weight_bits", "neuron_bits", "vmem_bits", "vth_bits", "rounding", "quantization", "cell_bits",
             "io_bits", "layer_bits")
TIMESTEPS = ("timesteps",)
DYNAMIC_SAMPLERS = ("tpe", "random")
"""Samplers that search a space that changes between trials (each stage searches other keys)."""


def default_stages(searched: list[str]) -> tuple[tuple[str, ...], ...]:
    later = set(PRUNING + PRECISION + TIMESTEPS)
    stages = ([k for k in searched if k not in later], [k for k in searched if k in PRUNING],
              [k for k in searched if k in PRECISION], [k for k in searched if k in TIMESTEPS])
    return tuple(tuple(s) for s in stages if s)


def stages_section(check: Checker, study: dict[str, Any], spec: StudySpec, sampler_given: bool) -> StudySpec:
    """The stages of a sequential study, checked against [space]; a joint study has none."""
    if spec.mode != "sequential":
        for key in ("stages", "stage_trials"):
            if key in study:
                raise check.fail(f"[study].{key}", 'only a sequential study has stages; set mode = "sequential"')
        return spec
    if len(spec.engines) > 1:
        raise check.fail("[study].mode", "a sequential study needs a single engine")
    if not sampler_given:
        spec = replace(spec, sampler="tpe")
    elif spec.sampler not in DYNAMIC_SAMPLERS:
        raise check.fail("[study].sampler", f"a sequential study searches other keys in each stage, which "
                                            f"needs \"tpe\" or \"random\", got {show(spec.sampler)}")
    searched = [p.name for p in spec.space if p.name != "engine" and not p.fixed()]  # one value: not searched
    stages = _explicit(check, study["stages"], searched) if "stages" in study else default_stages(searched)
    if not stages:
        raise check.fail("[space]", "a sequential study needs searched keys to put in stages")
    trials = _trials(check, study.get("stage_trials"), len(stages), spec.n_trials)
    return replace(spec, stages=stages, stage_trials=trials)


def _explicit(check: Checker, value: Any, searched: list[str]) -> tuple[tuple[str, ...], ...]:
    where = "[study].stages"
    stages = check.value(ListOf(ListOf(StrOptions(searched), min_len=1), min_len=1), value, where)
    listed = Counter(k for stage in stages for k in stage)
    problems = [f"{show(k)} is in no stage" for k in searched if not listed[k]] + \
        [f"{show(k)} is in two stages" for k, count in listed.items() if count > 1]
    if problems:
        raise check.fail(where, f"every searched key belongs to exactly one stage: {problems[0]}")
    return stages


def _trials(check: Checker, value: Any, n_stages: int, n_trials: int) -> tuple[int, ...]:
    if value is None:
        if n_trials < n_stages:
            raise check.fail("[study].n_trials", f"{n_stages} stages need at least {n_stages} trials, got {n_trials}")
        return tuple(n_trials // n_stages + (i < n_trials % n_stages) for i in range(n_stages))
    ok = isinstance(value, list) and len(value) == n_stages and all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value) and sum(value) == n_trials
    if not ok:
        raise check.fail("[study].stage_trials", f"expected {n_stages} integers >= 1 summing to n_trials "
                                                 f"({n_trials}), got {show(value)}")
    return tuple(value)
