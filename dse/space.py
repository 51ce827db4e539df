"""From an Optuna trial to a :class:`Design`: one frozen point of the design space.

A Design holds every search key of Contract 4. Keys that the engine does not
use stay ``None``; keys it uses but the spec fixes nowhere take the engine's
default, so an engine reads plain fields and never guesses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

from . import engines
from .keys import SHARED_KEYS, Key

if TYPE_CHECKING:
    import optuna

    from .spec import Param, StudySpec


@dataclass(frozen=True)
class Design:
    """One design point. ``engine`` chooses which other fields apply."""

    engine: str
    # Shared keys (Contract 4).
    weight_bits: int | None = None
    neuron_bits: int | None = None
    rounding: str | None = None
    quantization: str | None = None
    pruning: float | None = None
    timesteps: int | None = None
    # Surrogate engine: dense stacks and neurons.
    hidden: tuple[int, ...] | None = None
    neuron: str | None = None
    surrogate: str | None = None
    coding: str | None = None
    threshold: float | None = None
    decay: float | None = None
    reset: str | None = None
    surrogate_scale: float | None = None
    # Surrogate engine: convolutional networks of searchable cells (LitE-SNN).
    channels: int | None = None
    cells: int | None = None
    nodes: int | None = None
    ops: tuple[str, ...] | None = None  # the operation of every cell edge, in order
    cell_bits: tuple[int, ...] | None = None  # weight bits of every cell (mixed precision); None: weight_bits
    io_bits: int | None = None  # with cell_bits: bits of the stem and readout (0: weight_bits)
    # STDP engine (tinySNN).
    network: str | None = None
    n_neurons: int | None = None
    inhibition: float | None = None
    update_interval: int | None = None
    # TTFS engine.
    conv: tuple[int, ...] | None = None
    input_coding: str | None = None
    window: int | None = None
    tau: float | None = None
    t_d: float | None = None
    theta0: float | None = None
    relaxation: float | None = None
    kernel_reg: float | None = None
    kernel_bn: float | None = None

    def params(self) -> dict[str, Any]:
        """The fields that apply to this design's engine (not None): what was trained."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name != "engine" and getattr(self, f.name) is not None}


DESIGN_FIELDS = frozenset(f.name for f in fields(Design)) - {"engine"}


def engine_keys(engine_name: str) -> dict[str, Key]:
    """Every key the engine understands, with its defaults applied."""
    engine = engines.get(engine_name)
    keys = {name: SHARED_KEYS[name] for name in engine.shared}
    keys = {name: replace(key, default=engine.defaults.get(name, key.default)) for name, key in keys.items()}
    keys.update(engine.keys)
    return keys


Pick = Callable[[str, "Param"], Any]


def make_design(engine_name: str, params: Mapping[str, Any], pick: Pick | None = None,
                spec_params: Mapping[str, "Param"] | None = None) -> Design:
    """A Design from parameter values; missing keys take the engine's defaults.

    Keys the engine expands (e.g. ``ops``: one operation per cell edge) are
    derived by its ``expand`` hook, sampling each item with `pick` (default: the
    value of that key given in `params`, or its default, for every item).
    """
    engine = engines.get(engine_name)
    keys = engine_keys(engine_name)
    values = {name: key.default for name, key in keys.items()
              if name in DESIGN_FIELDS and name not in engine.expanded}
    for name, value in params.items():
        if name not in keys:
            raise ValueError(f"engine {engine_name!r} has no key {name!r}")
        if name in DESIGN_FIELDS and name not in engine.expanded:
            values[name] = keys[name].check(value)
    design = Design(engine=engine_name, **values)
    if engine.expand is None:
        return design
    explicit = {k: tuple(params[k]) for k in engine.expanded if isinstance(params.get(k), (list, tuple))}
    if explicit:  # per-item values given directly: the engine's expand checks them
        design = replace(design, **explicit)
    fixed = {k: keys[k].check(params[k]) if k in params else keys[k].default
             for k in engine.expanded if k not in explicit}
    pick = pick or (lambda name, param: fixed.get(param.name, getattr(design, param.name, None)))
    spec_params = dict(spec_params or {})
    for key in engine.expanded:  # a fixed value behaves as a one-element choice
        if key not in spec_params and key not in explicit:
            spec_params[key] = _fixed_param(key, keys[key], fixed[key])
    return replace(design, **engine.expand(design, pick, spec_params))


def _fixed_param(name: str, key: Key, value: Any) -> "Param":
    from .spec import Param

    return Param(name, key.kind, choices=(value,))


# ---- Optuna's view of the parameters --------------------------------------

def encode(value: Any) -> Any:
    """A choice as Optuna stores it: lists become JSON strings."""
    return json.dumps(list(value)) if isinstance(value, (list, tuple)) else value


def decode(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("["):
        return tuple(json.loads(value))
    return value


def suggest_param(trial: "optuna.Trial", param: "Param") -> Any:
    if param.choices is not None:
        return decode(trial.suggest_categorical(param.name, [encode(c) for c in param.choices]))
    if param.kind == "int":
        return trial.suggest_int(param.name, int(param.low), int(param.high),
                                 step=int(param.step or 1), log=param.log)
    return trial.suggest_float(param.name, param.low, param.high, step=param.step, log=param.log)


def suggest(trial: "optuna.Trial", spec: "StudySpec") -> Design:
    """Sample the engine (where the study has several), then every parameter that
    applies to it, and build the Design."""
    engine_name = spec.engines[0]
    if len(spec.engines) > 1:
        engine_name = trial.suggest_categorical("engine", list(spec.engines))
    engine = engines.get(engine_name)
    params = spec.params_for(engine_name)
    values = {p.name: suggest_param(trial, p) for p in params if p.name not in engine.expanded}

    def pick(name: str, param: "Param") -> Any:
        return suggest_param(trial, replace(param, name=name))

    return make_design(engine_name, values, pick, {p.name: p for p in params})


def grid(spec: "StudySpec") -> dict[str, list[Any]]:
    """The whole space as lists, for Optuna's GridSampler (spec checked it is discrete)."""
    return {param.name: [encode(v) for v in param.values()] for param in spec.space}


def corners(spec: "StudySpec", limit: int = 4096) -> Iterator[Design]:
    """Designs at the extremes of every parameter (each end of every range, every
    choice; expanded keys take one extreme for all their items), per engine, up to
    `limit` each: used to tell an impossible constraint from a hard one."""
    import itertools

    for engine_name in spec.engines:
        engine = engines.get(engine_name)
        params = spec.params_for(engine_name)
        by_name = {p.name: p for p in params}
        ordinary = [p for p in params if p.name not in engine.expanded]
        families = [p for p in params if p.name in engine.expanded]  # all their items alike
        combos = itertools.product(itertools.product(*[p.extremes() for p in ordinary]),
                                   itertools.product(*[p.extremes() for p in families]))
        for values, family_values in itertools.islice(combos, limit):
            chosen = {p.name: v for p, v in zip(families, family_values)}
            yield make_design(engine_name, dict(zip((p.name for p in ordinary), values)),
                              lambda name, param: chosen.get(param.name, param.extremes()[0]), by_name)
