"""The Profile: everything a cost model may know about a trained SNN.

Engines fill a :class:`Profile` from the trained network and from spike counts
measured on the evaluation split; cost models read nothing else. Counts are per
sample of the profile's phase (inference or training), summed over timesteps.

Both classes are frozen and round-trip through plain JSON types, so a profile
stored today can be re-scored by tomorrow's cost models::

    Profile.from_dict(json.loads(json.dumps(p.to_dict()))) == p
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

KINDS = ("dense", "conv2d", "lateral", "recurrent")
"""Layer kinds. "lateral" and "recurrent" are connections inside a population
whose neurons another (dense/conv2d) layer already declares."""

POPULATION_KINDS = ("dense", "conv2d")
CODINGS = ("rate", "direct", "ttfs")
PHASES = ("inference", "training")


def _fail(where: str, message: str) -> None:
    raise ValueError(f"{where}: {message}")


def _only_fields(cls: type, data: Mapping[str, Any], where: str) -> None:
    if not isinstance(data, Mapping):
        _fail(where, f"expected an object, got {type(data).__name__}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        _fail(where, f"unknown field(s) {', '.join(unknown)}; valid: {', '.join(sorted(known))}")


MAX_COUNT = 2**63 - 1
"""Largest count a profile holds (int64, as SQL and numpy store it); larger is not a network."""


@dataclass(frozen=True)
class LayerProfile:
    """One weight layer, per sample (see ARCHITECTURE.md, Contract 1)."""

    name: str
    kind: str
    n_inputs: int
    n_neurons: int
    n_weights: int
    n_nonzero: int
    weight_bits: int
    neuron_params: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    macs_per_step: int = 0
    fan_out: float = 0.0
    input_events: float = 0.0
    output_spikes: float = 0.0
    spiking_input: bool = True

    def __post_init__(self) -> None:
        where = f"layer {self.name!r}"
        if not isinstance(self.name, str) or not self.name:
            _fail("layer", f"name must be a non-empty string, got {self.name!r}")
        if self.kind not in KINDS:
            _fail(where, f"kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        for name in ("n_inputs", "n_neurons", "n_weights", "n_nonzero", "macs_per_step"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
                _fail(where, f"{name} must be an integer in 0..2**63-1, got {value!r}")
        if self.n_nonzero > self.n_weights:
            _fail(where, f"n_nonzero ({self.n_nonzero}) exceeds n_weights ({self.n_weights})")
        if isinstance(self.weight_bits, bool) or not isinstance(self.weight_bits, int) \
                or not 1 <= self.weight_bits <= 64:
            _fail(where, f"weight_bits must be an integer in 1..64, got {self.weight_bits!r}")
        for name in ("fan_out", "input_events", "output_spikes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value) or value < 0:
                _fail(where, f"{name} must be a finite number >= 0, got {value!r}")
        if not isinstance(self.spiking_input, bool):
            _fail(where, f"spiking_input must be true or false, got {self.spiking_input!r}")
        params: dict[str, tuple[int, int]] = {}
        for key, pair in dict(self.neuron_params).items():
            if not isinstance(pair, (list, tuple)) or len(pair) != 2 or any(
                isinstance(v, bool) or not isinstance(v, int) for v in pair
            ):
                _fail(where, f"neuron_params[{key!r}] must be [count, bits], got {pair!r}")
            count, bits = pair
            if not 0 <= count <= MAX_COUNT or not 1 <= bits <= 64:
                _fail(where, f"neuron_params[{key!r}] needs count in 0..2**63-1 and bits in 1..64, "
                             f"got {list(pair)}")
            params[str(key)] = (count, bits)
        object.__setattr__(self, "neuron_params", params)
        object.__setattr__(self, "fan_out", float(self.fan_out))
        object.__setattr__(self, "input_events", float(self.input_events))
        object.__setattr__(self, "output_spikes", float(self.output_spikes))

    # Derived quantities (REFERENCE.md, "Synaptic operations").
    @property
    def synops(self) -> float:
        """Accumulate operations: input events x synapses each one drives."""
        return self.input_events * self.fan_out if self.spiking_input else 0.0

    def macs(self, timesteps: int) -> float:
        """Dense multiply-accumulates of analog input over all timesteps."""
        return 0.0 if self.spiking_input else float(self.macs_per_step * timesteps)

    @property
    def is_population(self) -> bool:
        """True where this layer declares its own neurons (not lateral/recurrent)."""
        return self.kind in POPULATION_KINDS

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["neuron_params"] = {k: list(v) for k, v in self.neuron_params.items()}
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "LayerProfile":
        _only_fields(cls, data, "layer")
        return cls(**dict(data))


@dataclass(frozen=True)
class Profile:
    """A whole network: its layers, timesteps, coding, accuracy and phase."""

    layers: tuple[LayerProfile, ...]
    timesteps: int
    coding: str = "rate"
    accuracy: float | None = None
    phase: str = "inference"

    def __post_init__(self) -> None:
        layers = tuple(self.layers)
        if not layers:
            _fail("profile", "needs at least one layer")
        if not all(isinstance(layer, LayerProfile) for layer in layers):
            _fail("profile", "layers must be LayerProfile objects")
        names = [layer.name for layer in layers]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            _fail("profile", f"layer names must be unique, repeated: {', '.join(duplicated)}")
        if isinstance(self.timesteps, bool) or not isinstance(self.timesteps, int) \
                or self.timesteps < 1:
            _fail("profile", f"timesteps must be an integer >= 1, got {self.timesteps!r}")
        if self.coding not in CODINGS:
            _fail("profile", f"coding must be one of {', '.join(CODINGS)}, got {self.coding!r}")
        if self.phase not in PHASES:
            _fail("profile", f"phase must be one of {', '.join(PHASES)}, got {self.phase!r}")
        if self.accuracy is not None:
            if isinstance(self.accuracy, bool) or not isinstance(self.accuracy, (int, float)) \
                    or not 0.0 <= self.accuracy <= 1.0:
                _fail("profile", f"accuracy must be in 0..1 or null, got {self.accuracy!r}")
            object.__setattr__(self, "accuracy", float(self.accuracy))
        object.__setattr__(self, "layers", layers)

    @property
    def n_neurons(self) -> int:
        """Neurons of the network: population layers only."""
        return sum(layer.n_neurons for layer in self.layers if layer.is_population)

    @property
    def spikes(self) -> float:
        """Spikes per sample emitted by the network's populations."""
        return sum(layer.output_spikes for layer in self.layers if layer.is_population)

    def with_bits(self, bits: int) -> "Profile":
        """The same network with every weight and neuron parameter at `bits` bits."""
        from dataclasses import replace

        layers = tuple(
            replace(
                layer,
                weight_bits=bits,
                neuron_params={k: (count, bits) for k, (count, _) in layer.neuron_params.items()},
            )
            for layer in self.layers
        )
        return replace(self, layers=layers)

    def to_dict(self) -> dict[str, Any]:
        return {
            "layers": [layer.to_dict() for layer in self.layers],
            "timesteps": self.timesteps,
            "coding": self.coding,
            "accuracy": self.accuracy,
            "phase": self.phase,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Profile":
        _only_fields(cls, data, "profile")
        if "layers" not in data or "timesteps" not in data:
            _fail("profile", "needs 'layers' and 'timesteps'")
        args = dict(data)
        args["layers"] = tuple(LayerProfile.from_dict(layer) for layer in data["layers"])
        return cls(**args)
