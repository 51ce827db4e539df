"""Search-key and setting declarations: what each key accepts, its default, one line of help.

A :class:`Key` is a name, a kind (how Optuna samples it), a default, help text
and a constraint from :mod:`hwmodels.validation`, the one validation
vocabulary of the project. ``Key.check`` returns the value normalised or raises
:class:`hwmodels.validation.Invalid` (``expected <what>, got <value>``), which
the spec loader places at the file and key path. The shared keys of the
engines live here; each engine declares its own in ``dse/engines/<name>/keys.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from hwmodels.validation import Boolean, Constraint, Interval, Invalid, ListOf, StrOptions, show

__all__ = ["Key", "Invalid", "SHARED_KEYS", "ROUNDINGS", "QUANTIZATIONS", "show", "state_bits"]

ROUNDINGS = ("truncate", "nearest", "stochastic")
QUANTIZATIONS = ("ptq", "qat")
KINDS = ("int", "float", "str", "bool", "ints")


@dataclass(frozen=True)
class Preset(Constraint):
    """A list `inner` accepts, or a name standing for one (checked by `inner` too)."""

    inner: Constraint
    presets: dict[str, tuple]

    def describe(self) -> str:
        return f"{self.inner.describe()} or one of {', '.join(map(show, self.presets))}"

    def check(self, value: Any) -> Any:
        if isinstance(value, str) and value in self.presets:
            return self.inner.check(self.presets[value])
        try:
            return self.inner.check(value)
        except Invalid:
            raise self.fail(value) from None


@dataclass(frozen=True)
class Key:
    """One declared key.

    kind: "int", "float", "str", "bool" or "ints" (a list of integers).
    low/high bound numbers (and each element of "ints"); ``open_high`` makes the
    upper bound exclusive. ``options`` lists the valid strings; ``min_len`` the
    shortest valid list.
    """

    name: str
    kind: str
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    open_high: bool = False
    options: tuple[str, ...] = ()
    min_len: int = 1
    presets: tuple[tuple[str, tuple[int, ...]], ...] = ()
    """Names an "ints" key also accepts, each standing for its list (``conv = "vgg16"``)."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"key {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}")

    @property
    def numeric(self) -> bool:
        return self.kind in ("int", "float")

    @cached_property
    def constraint(self) -> Constraint:
        closed = "left" if self.open_high else "both"
        if self.kind in ("int", "float", "ints"):
            number = Interval(float if self.kind == "float" else int, self.low, self.high, closed)
            if self.kind == "ints":
                lists = ListOf(number, self.min_len)
                return Preset(lists, dict(self.presets)) if self.presets else lists
            return number
        return StrOptions(self.options) if self.kind == "str" else Boolean()

    def expected(self) -> str:
        return self.constraint.describe()

    def check(self, value: Any) -> Any:
        """The value normalised (lists become tuples, ints floats where needed), or :class:`Invalid`."""
        return self.constraint.check(value)


SHARED_KEYS: dict[str, Key] = {k.name: k for k in (
    Key("weight_bits", "int", 32, "bits of each weight (32 = float32)", low=1, high=32),
    Key("neuron_bits", "int", 32, "bits of membrane potential and threshold (32 = float32)", low=1, high=32),
    Key("vmem_bits", "int", 0, "bits of the membrane potential alone; 0 = neuron_bits "
        "(a value > 0 takes precedence over neuron_bits for v_mem)", low=0, high=32),
    Key("vth_bits", "int", 0, "bits of the firing threshold alone; 0 = neuron_bits "
        "(a value > 0 takes precedence over neuron_bits for v_th)", low=0, high=32),
    Key("layer_bits", "bool", False, "true: each weight layer's bits are their own parameter "
        "weight_bits_l{i}, drawn like weight_bits (tinySNN/LitE-SNN mixed precision)"),
    Key("rounding", "str", "nearest", "rounding of quantised values", options=ROUNDINGS),
    Key("quantization", "str", "qat", "ptq: quantise after training; qat: in training (tinySNN's ITQ)",
        options=QUANTIZATIONS),
    Key("pruning", "float", 0.0, "fraction of each layer's weights pruned by magnitude",
        low=0.0, high=1.0, open_high=True),
    Key("timesteps", "int", 8, "simulation timesteps per sample", low=1, high=100_000),
)}


def state_bits(design: Any) -> tuple[int, int]:
    """Bits of (membrane potential, threshold) of a design with ``neuron_bits``.

    ``vmem_bits`` / ``vth_bits`` split ``neuron_bits`` (tinySNN section 2.3 quantises
    V_mem and V_th as two parameters): each, where > 0, takes precedence over
    ``neuron_bits`` for its own parameter; at 0 (the default) ``neuron_bits`` sets
    it, so a spec with only the old key keeps its meaning.
    """
    neuron = design.neuron_bits
    return (getattr(design, "vmem_bits", 0) or neuron, getattr(design, "vth_bits", 0) or neuron)
