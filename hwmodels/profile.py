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
from typing import Any, Callable, Mapping, NoReturn

from .validation import Boolean, Constraint, Interval, Invalid, ListOf, StrOptions

KINDS = ("dense", "conv2d", "lateral", "recurrent")
"""Layer kinds. "lateral" and "recurrent" are connections inside a population
whose neurons another (dense/conv2d) layer already declares."""

POPULATION_KINDS = ("dense", "conv2d")
CODINGS = ("rate", "direct", "ttfs")
PHASES = ("inference", "training")


def _fail(where: str, message: str, expected: str = "", got: Any = None) -> NoReturn:
    raise Invalid(expected or message, got, where, message=message)


def _only_fields(cls: type, data: Mapping[str, Any], where: str) -> None:
    if not isinstance(data, Mapping):
        _fail(where, f"expected an object, got {type(data).__name__}", "an object", data)
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        _fail(where, f"unknown field(s) {', '.join(unknown)}; valid: {', '.join(sorted(known))}",
              f"fields among {', '.join(sorted(known))}", unknown)


MAX_COUNT = 2**63 - 1
"""Largest count a profile holds (int64, as SQL and numpy store it); larger is not a network."""


class Optional(Constraint):
    """None, or a value meeting ``inner``."""

    def __init__(self, inner: Constraint) -> None:
        self.inner = inner

    def describe(self) -> str:
        return f"{self.inner.describe()} or null"

    def check(self, value: Any) -> Any:
        return None if value is None else self.inner.check(value)


@dataclass(frozen=True)
class Field:
    """A profile field's constraint and how a message words it ("n_inputs must be <wording>")."""

    constraint: Constraint
    wording: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "normal", _normal_test(self.constraint))


def _normal_test(constraint: Constraint) -> Callable[[Any], bool]:
    """True for a value the constraint accepts and returns unchanged (an int in range for an
    integer interval, a float in range for a float one, ...): profiles read back from a database
    are checked at the speed of a comparison, and anything else goes through ``check``."""
    if isinstance(constraint, Interval) and constraint.closed == "both":
        kind, low, high = constraint.type, constraint.low, constraint.high
        low = -math.inf if low is None else low
        high = math.inf if high is None else high
        if kind is int:
            return lambda v: type(v) is int and low <= v <= high
        return lambda v: type(v) is float and low <= v <= high and v != math.inf
    if isinstance(constraint, StrOptions):
        options = frozenset(constraint.options)
        return lambda v: type(v) is str and v in options
    if isinstance(constraint, Boolean):
        return lambda v: v is True or v is False
    return lambda v: False


COUNT = Field(Interval(int, 0, MAX_COUNT), "an integer in 0..2**63-1")
BITS = Field(Interval(int, 1, 64), "an integer in 1..64")
AMOUNT = Field(Interval(float, 0, None), "a finite number >= 0")


def _check_fields(obj: object, table: Mapping[str, Field], where: str) -> None:
    """Check and normalise (in place, on a frozen dataclass) every field of `table`."""
    for name, spec in table.items():
        value = getattr(obj, name)
        if spec.normal(value):
            continue
        try:
            object.__setattr__(obj, name, spec.constraint.check(value))
        except Invalid:
            _fail(where, f"{name} must be {spec.wording}, got {value!r}", spec.wording, value)


def _neuron_params(params: Mapping[str, Any], where: str) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    for key, pair in dict(params).items():
        if type(pair) in (list, tuple) and len(pair) == 2 and COUNT.normal(pair[0]) and BITS.normal(pair[1]):
            out[str(key)] = (pair[0], pair[1])
            continue
        try:
            count, bits = PAIR.check(pair)
        except Invalid:
            _fail(where, f"neuron_params[{key!r}] must be [count, bits], got {pair!r}", "[count, bits]", pair)
        try:
            out[str(key)] = (COUNT.constraint.check(count), BITS.constraint.check(bits))
        except Invalid:
            _fail(where, f"neuron_params[{key!r}] needs count in 0..2**63-1 and bits in 1..64, got {list(pair)}",
                  "[count in 0..2**63-1, bits in 1..64]", pair)
    return out


PAIR = ListOf(Interval(int), min_len=2, max_len=2)

LAYER_FIELDS: dict[str, Field] = {
    "kind": Field(StrOptions(KINDS), f"one of {', '.join(KINDS)}"),
    "n_inputs": COUNT,
    "n_neurons": COUNT,
    "n_weights": COUNT,
    "n_nonzero": COUNT,
    "weight_bits": BITS,
    "macs_per_step": COUNT,
    "fan_out": AMOUNT,
    "input_events": AMOUNT,
    "output_spikes": AMOUNT,
    "spiking_input": Field(Boolean(), "true or false"),
}
"""What each scalar field of a layer accepts (``name`` and ``neuron_params`` are checked apart)."""

PROFILE_FIELDS: dict[str, Field] = {
    "timesteps": Field(Interval(int, 1, None), "an integer >= 1"),
    "coding": Field(StrOptions(CODINGS), f"one of {', '.join(CODINGS)}"),
    "phase": Field(StrOptions(PHASES), f"one of {', '.join(PHASES)}"),
    "accuracy": Field(Optional(Interval(float, 0, 1)), "in 0..1 or null"),
}
"""What each scalar field of a profile accepts (``layers`` is checked apart)."""


@dataclass(frozen=True)
class LayerProfile:
    """One weight layer, per sample (see docs/architecture.md, Contract 1)."""

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
        if not isinstance(self.name, str) or not self.name:
            _fail("layer", f"name must be a non-empty string, got {self.name!r}", "a non-empty string", self.name)
        where = f"layer {self.name!r}"
        _check_fields(self, LAYER_FIELDS, where)
        if self.n_nonzero > self.n_weights:
            _fail(where, f"n_nonzero ({self.n_nonzero}) exceeds n_weights ({self.n_weights})",
                  f"n_nonzero <= n_weights ({self.n_weights})", self.n_nonzero)
        object.__setattr__(self, "neuron_params", _neuron_params(self.neuron_params, where))

    # Derived quantities (docs/cost-models.md, "Synaptic operations").
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
            _fail("profile", "needs at least one layer", "at least one layer", [])
        if not all(isinstance(layer, LayerProfile) for layer in layers):
            _fail("profile", "layers must be LayerProfile objects", "LayerProfile objects", layers)
        names = [layer.name for layer in layers]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            _fail("profile", f"layer names must be unique, repeated: {', '.join(duplicated)}",
                  "unique layer names", duplicated)
        _check_fields(self, PROFILE_FIELDS, "profile")
        object.__setattr__(self, "layers", layers)

    @property
    def n_neurons(self) -> int:
        """Neurons of the network: population layers only."""
        return sum(layer.n_neurons for layer in self.layers if layer.is_population)

    @property
    def neuron_steps(self) -> int:
        """Neuron-steps per sample, ``n_neurons x timesteps``: the slots a spike can fill."""
        return self.n_neurons * self.timesteps

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
