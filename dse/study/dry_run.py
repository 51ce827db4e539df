"""``dse run --dry-run SPEC``: what a study would cost, without training it or writing anything.

It checks the spec as ``dse run`` does (and the data folder, when given, by loading it),
counts the designs of the space, gives the static costs (the cost models' static metrics
of the engine's ``static_profile``) at the corners of the space, and estimates the
training time of a trial from timed batches of its most expensive corner.

The time estimate (written for this command): the corner with the most dense work
(``sum macs_per_step x T``, then the most weights) trains for one epoch on one batch and
on three batches of a small copy of the data (the data set's first samples, or without
``--data-dir`` random values of the data set's known shape and labels; validation and test
cut to a few samples), and ``(t_3 - t_1) / 2`` is the time of one batch without the fixed
costs (set-up, validation), after one untimed warm-up run; each t is the fastest of up to
five tries (while they take under 10 s), since other processes only ever add time. A trial is then ``batches per epoch x epochs`` such batches,
``batches per epoch = ceil(min(n_train, max_train_samples) / batch_size)``; the final
evaluation on the test split and post-training variants are not included.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

import hwmodels

from .. import engines
from ..data import DATASETS, Dataset, load_dataset
from ..engines import DataShape, Design
from ..param import Param
from ..spec import StudySpec, designs
from .feasibility import check_feasible, param_bytes, static_metrics
from .scoring import budget, trial_seed

COUNT_LIMIT = 100_000
"""Ordinary-parameter combinations walked to count the items of expanded keys."""
SMALL_EVAL = 8
"""Validation and test samples of the timing data."""
REPEATS, REPEAT_WITHIN_S = 5, 10.0
"""Timings repeated up to REPEATS times while they have taken less than REPEAT_WITHIN_S seconds."""


@dataclass(frozen=True)
class Timing:
    design: Design
    seconds_per_batch: float
    batches_per_epoch: int
    epochs: int
    n_train: int

    @property
    def seconds_per_trial(self) -> float:
        return self.seconds_per_batch * self.batches_per_epoch * self.epochs


@dataclass(frozen=True)
class DryRun:
    spec: StudySpec
    n_designs: float
    """Distinct designs of the space (math.inf with a continuous range)."""
    corners: list[tuple[Design, dict[str, float]]]
    data_note: str
    timing: Timing | None


def design_count(spec: StudySpec) -> float:
    """Distinct designs: per engine, every combination of the parameters' values, each item
    of an expanded key (e.g. an operation per cell edge) chosen on its own."""
    total = 0.0
    for name in spec.engines:
        params = spec.params_for(name)
        expanded = engines.get(name).expanded
        ordinary = [p for p in params if p.name not in expanded]
        if any(not p.discrete for p in params):
            return math.inf
        if not expanded or math.prod(p.size() for p in ordinary) > COUNT_LIMIT:
            total += math.prod(p.size() for p in params)  # items counted once (a lower bound when expanded)
            continue
        total += sum(_expanded_count(name, ordinary, params, combo)
                     for combo in _combos(ordinary))
    return total


def _combos(params: list[Param]):
    import itertools

    return itertools.product(*(p.values() for p in params))


def _expanded_count(engine: str, ordinary: list[Param], params: tuple[Param, ...], combo: tuple) -> int:
    from ..design import make_design

    items: dict[str, int] = {}

    def pick(item: str, param: Param) -> Any:
        items[item] = int(param.size())
        return param.values()[0]

    make_design(engine, dict(zip((p.name for p in ordinary), combo)), pick, {p.name: p for p in params})
    return math.prod(items.values())


def corner_costs(spec: StudySpec, shape: DataShape) -> list[tuple[Design, dict[str, float]]]:
    """Each buildable corner design with its static metrics."""
    statics = hwmodels.static_metrics(spec.hardware_models, **spec.hardware_options)
    out = []
    for design in designs(spec, corners=True):
        try:
            metrics = static_metrics(spec, design, shape)
        except ValueError:
            continue
        out.append((design, {m: v for m, v in metrics.items() if m in statics}))
    return out


def dense_work(design: Design, shape: DataShape) -> tuple[float, int]:
    profile = engines.get(design.engine).static_profile(design, shape)
    return sum(l.macs_per_step for l in profile.layers) * profile.timesteps, param_bytes(design, shape)


def timing_data(spec: StudySpec, data: Dataset | None, n_train: int, seed: int = 0) -> Dataset:
    """A small copy: the data set's first samples, or random ones of its shape."""
    info = DATASETS[spec.dataset]
    if data is not None:
        return Dataset(data.name, data.x_train[:n_train], data.y_train[:n_train], data.x_val[:SMALL_EVAL],
                       data.y_val[:SMALL_EVAL], data.x_test[:SMALL_EVAL], data.y_test[:SMALL_EVAL], data.n_classes)
    rng = np.random.default_rng(seed)

    def part(n: int) -> tuple[np.ndarray, np.ndarray]:
        x = rng.random((n, *info.shape), dtype=np.float32)
        return x, (np.arange(n) % info.n_classes).astype(np.int64)

    (xt, yt), (xv, yv), (xs, ys) = part(n_train), part(SMALL_EVAL), part(SMALL_EVAL)
    return Dataset(spec.dataset, xt, yt, xv, yv, xs, ys, info.n_classes)


def time_batches(spec: StudySpec, design: Design, data: Dataset | None, device: str) -> Timing:
    base = budget(spec, device=device, seed=trial_seed(spec, 0))
    size = base.batch_size
    small = timing_data(spec, data, 3 * size)
    seconds = [math.inf, math.inf]
    warm_up = replace(base, epochs=1, max_train_samples=size, variants=())
    engines.get(design.engine).run(design, small, warm_up, lambda step, accuracy: None)  # first calls: not timed
    started = time.perf_counter()
    for _ in range(REPEATS):  # the fastest of a few tries: other processes only ever add time
        for i, batches in enumerate((1, 3)):
            run = replace(base, epochs=1, max_train_samples=batches * size, variants=())
            outcome = engines.get(design.engine).run(design, small, run, lambda step, accuracy: None)
            seconds[i] = min(seconds[i], outcome.train_seconds)
        if time.perf_counter() - started > REPEAT_WITHIN_S:
            break
    per_batch = (seconds[1] - seconds[0]) / 2
    if per_batch <= 0:  # too fast to tell apart: the one-batch run, fixed costs included
        per_batch = seconds[0]
    n_train = len(data.y_train) if data is not None else DATASETS[spec.dataset].n_train
    used = min(n_train, base.max_train_samples) if base.max_train_samples else n_train
    return Timing(design, per_batch, math.ceil(used / size), base.epochs, n_train)


def dry_run(spec: StudySpec, data_dir: str | Path | None, device: str = "cpu", timed: bool = True) -> DryRun:
    check_feasible(spec)
    info = DATASETS[spec.dataset]
    data = None
    if data_dir is not None or not info.needs_dir:
        data = load_dataset(spec.dataset, data_dir)
        note = f"data: {data.summary()}"
    else:
        note = (f"data: no --data-dir; {spec.dataset}'s known shape {'x'.join(map(str, info.shape))}, "
                f"{info.n_classes} classes, {info.n_train:,} training samples (timed on random values)")
    shape = DataShape(data.shape if data is not None else info.shape, info.n_classes)
    corners = corner_costs(spec, shape)
    timing = None
    if timed and corners:
        costliest = max((d for d, _ in corners), key=lambda d: dense_work(d, shape))
        timing = time_batches(spec, costliest, data, device)
    return DryRun(spec, design_count(spec), corners, note, timing)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.3g} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.3g} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.3g} h"
    return f"{seconds / 86400:.3g} days"


def _short(value: Any) -> str:
    """A value; an expanded key's items (one per cell edge) as ``all X`` where they agree."""
    if isinstance(value, tuple) and len(value) > 3 and all(v == value[0] for v in value):
        return f"all {value[0]}"
    return str(value)


def _varying(corners: list[tuple[Design, dict[str, float]]]) -> list[str]:
    """The design fields whose values differ between the corners (expanded keys' items included)."""
    seen: dict[str, set[str]] = {}
    for design, _ in corners:
        for key, value in design.params().items():
            seen.setdefault(key, set()).add(repr(value))
    return [key for key, values in seen.items() if len(values) > 1]


def _searched(design: Design, varying: list[str]) -> str:
    """The design's values of the fields the space varies."""
    values = design.params()
    shown = [f"{key}={_short(values[key])}" for key in varying if key in values]
    return f"{design.engine}: " + (", ".join(shown) if shown else "the only design")


def lines(result: DryRun) -> list[str]:
    """The dry run as text, one line each."""
    spec = result.spec
    out = [f"dry run of study {spec.name} (engine {spec.engine}, data set {spec.dataset}, {spec.n_trials} trials): "
           f"nothing trained, nothing written", result.data_note]
    if math.isinf(result.n_designs):
        ranges = [p.name for p in spec.space if not p.discrete]
        out.append(f"designs: infinitely many (continuous ranges: {', '.join(ranges)})")
    else:
        out.append(f"designs: {int(result.n_designs):,}")
    out.append(f"static costs at the {len(result.corners)} corners of the space (min / max):")
    metrics = sorted({m for _, values in result.corners for m in values})
    varying = _varying(result.corners)
    for metric in metrics:
        low = min(result.corners, key=lambda c: c[1][metric])
        high = max(result.corners, key=lambda c: c[1][metric])
        out.append(f"  {metric}: {low[1][metric]:.4g} ({_searched(low[0], varying)}) / "
                   f"{high[1][metric]:.4g} ({_searched(high[0], varying)})")
    timing = result.timing
    if timing is not None:
        out.append(f"training time per trial, estimated from timed batches of the costliest corner "
                   f"({_searched(timing.design, varying)}): {timing.seconds_per_batch:.3g} s per batch x "
                   f"{timing.batches_per_epoch:,} batches x {timing.epochs} epochs = "
                   f"{_duration(timing.seconds_per_trial)}; {spec.n_trials} trials: "
                   f"{_duration(timing.seconds_per_trial * spec.n_trials)} on one worker "
                   f"(test-split evaluation and variants not included)")
    return out
