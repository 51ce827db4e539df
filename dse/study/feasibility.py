"""Before training: which designs a static constraint rules out, and whether any design can meet them.

Static metrics (memory, dense operations) follow from a design's shapes
alone (the engine's ``static_profile``), so a design that breaks a bound on
one is rejected without training, and a study whose every corner of the
space breaks it is refused before it starts.
"""

from __future__ import annotations

import math

import hwmodels
from hwmodels.validation import show

from .. import engines
from ..data import DATASETS
from ..engines import DataShape, Design
from ..errors import SpecError
from ..spec import Constraint, StudySpec, designs

FLOAT32_BYTES = 4


def static_metrics(spec: StudySpec, design: Design, shape: DataShape) -> dict[str, float]:
    """The cost models' metrics of a design before training (activity zero)."""
    profile = engines.get(design.engine).static_profile(design, shape)
    return hwmodels.evaluate(profile, spec.hardware_models, **spec.hardware_options)


def broken(constraints: tuple[Constraint, ...], metrics: dict[str, float]) -> list[Constraint]:
    return [c for c in constraints if c.violation(metrics[c.metric]) > 0]


def check_feasible(spec: StudySpec) -> None:
    """Refuse a space whose largest design is too big to train, or a constraint that no design at
    the corners of the space can meet (SpecError)."""
    info = DATASETS[spec.dataset]
    shape = DataShape(shape=info.shape, n_classes=info.n_classes)
    check_param_memory(spec, shape)
    constraints = spec.static_constraints()
    if not constraints:
        return
    best = {c.metric: math.inf for c in constraints}
    for design in designs(spec, corners=True):
        try:
            metrics = static_metrics(spec, design, shape)
        except ValueError:
            continue  # a corner the engine cannot build: the search will skip it too
        violations = {c.metric: c.violation(metrics[c.metric]) for c in constraints}
        if all(v <= 0 for v in violations.values()):
            return
        for metric, v in violations.items():
            best[metric] = min(best[metric], v)
    worst = max(constraints, key=lambda c: best[c.metric])
    raise SpecError(spec.path, f"[constraints].{worst.metric}",
                    f"impossible: no design in [space] meets {worst.describe()} "
                    f"(closest misses by {best[worst.metric]:g})")


def param_bytes(design: Design, shape: DataShape) -> int:
    """Bytes of a design's parameters while it trains: every layer's weights as float32 masters."""
    profile = engines.get(design.engine).static_profile(design, shape)
    return FLOAT32_BYTES * sum(layer.n_weights for layer in profile.layers)


def check_param_memory(spec: StudySpec, shape: DataShape) -> None:
    """Refuse a space whose largest design (at its corners) holds more than ``[train] max_param_bytes``,
    before anything allocates it."""
    largest, most = None, 0
    for design in designs(spec, corners=True):
        try:
            found = param_bytes(design, shape)
        except ValueError:
            continue  # a corner the engine cannot build: the search will skip it too
        if found > most:
            largest, most = design, found
    if largest is None or most <= spec.max_param_bytes:
        return
    values = largest.params()
    keys = ", ".join(f"{p.name}={show(values[p.name])}" for p in spec.params_for(largest.engine) if p.name in values)
    raise SpecError(spec.path, "[space]", f"the largest design ({largest.engine}: {keys}) holds {_bytes(most)} of "
                                          f"parameters (float32 while training), more than [train].max_param_bytes "
                                          f"= {_bytes(spec.max_param_bytes)}; shrink [space] or raise the limit")


def _bytes(n: int) -> str:
    return f"{n:,} bytes ({n / 2**30:.3g} GiB)"


def placeholder_values(spec: StudySpec, static: dict[str, float],
                       trained_range: dict[str, tuple[float, float]]) -> tuple[list[float], list[str]]:
    """What Optuna is told for a design rejected before training, so that its sampler (which
    reads complete trials and their constraint violations) learns to avoid the region.

    A static objective (known from the shapes) takes its real value; any other takes the
    worst value a trained design of the study reached (the lowest accuracy, the highest
    energy), or without one 0 for what is maximised and the zero-activity value for a
    cost. Those objectives are returned as *unmeasured*: the read side never shows them.
    """
    statics = hwmodels.static_metrics(spec.hardware_models, **spec.hardware_options)
    values, unmeasured = [], []
    for metric, direction in spec.objectives:
        if metric in statics:
            values.append(static[metric])
            continue
        unmeasured.append(metric)
        low, high = trained_range.get(metric, (None, None))
        if direction == "maximize":
            values.append(low if low is not None else 0.0)
        else:
            values.append(high if high is not None else static.get(metric, 0.0))
    return values, unmeasured
