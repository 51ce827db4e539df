"""Constants and per-trial settings of the STDP networks (torch-free).

Neuron and synapse constants are BindsNET's ``DiehlAndCook2015`` /
``DiehlAndCook2015v2`` [C BN:bindsnet/models/models.py, bindsnet/network/nodes.py],
as docs/engines.md section 1a lists them; dt = 1 ms. Everything a trial may change
comes from the design (search keys) and the spec's [train] table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from ..layer_bits import bits_per_layer
from ...keys import state_bits
from .keys import TRAIN_KEYS, WEIGHT_LAYERS

if TYPE_CHECKING:
    from .._base import Design


@dataclass(frozen=True)
class Population:
    """A LIF population: potentials in mV, time constants and refractory period in steps."""

    rest: float
    reset: float
    thresh: float
    refrac: int
    tau: float

    @property
    def decay(self) -> float:
        """Membrane decay per step, ``exp(-dt / tau)``."""
        return math.exp(-1.0 / self.tau)


EXC = Population(rest=-65.0, reset=-60.0, thresh=-52.0, refrac=5, tau=100.0)
"""Excitatory ``DiehlAndCookNodes`` (adaptive threshold, one spike per step)."""
INH = Population(rest=-60.0, reset=-45.0, thresh=-40.0, refrac=2, tau=10.0)
"""Inhibitory ``LIFNodes`` of the baseline."""
TAU_TRACE = 20.0
"""Spike-trace time constant of input and excitatory neurons (steps)."""
TAU_THETA = 1e7
"""Adaptive-threshold decay time constant (steps); theta decays only while learning."""
EXC_TO_INH = 22.5
"""Baseline Ae->Ai one-to-one weight (BindsNET ``exc``)."""
W_INIT = 0.3
"""Input weights start as ``W_INIT * U(0, 1)``."""
W_MAX = 1.0
"""Input weights are clamped to [0, W_MAX]."""


class Setup:
    """Everything one trial's simulation needs besides data and device.

    It declares no key of its own: a name of the engine's [train] table
    (:data:`.keys.TRAIN_KEYS`) reads the trial's value, checked, or the key's
    default; any other name reads the design's attribute (the search keys of
    :data:`.keys.KEYS` and the shared ones, e.g. ``timesteps``). Each value is
    kept on the instance after its first read, so the simulation's per-step reads
    are plain attribute look-ups.
    """

    def __init__(self, design: "Design", extra: Mapping[str, Any] | None = None) -> None:
        train = {name: key.default for name, key in TRAIN_KEYS.items()}
        for name, value in (extra or {}).items():
            if name in train:
                train[name] = TRAIN_KEYS[name].check(value)
        self.design = design
        self.train: Mapping[str, Any] = train

    @classmethod
    def of(cls, design: "Design", extra: Mapping[str, Any] | None = None) -> "Setup":
        """Settings from a Design and the engine's [train] keys (defaults where absent)."""
        return cls(design, extra)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("design", "train"):  # not yet set (copy, unpickling)
            raise AttributeError(name)
        value = self.train[name] if name in self.train else getattr(self.design, name)
        self.__dict__[name] = value
        return value

    def __repr__(self) -> str:
        return f"Setup({self.design!r}, {dict(self.train)!r})"

    @property
    def baseline(self) -> bool:
        """Whether the network has Diehl & Cook's inhibitory population (the baseline and SL-STDP)."""
        return self.network in ("diehl-cook", "sl-stdp")

    @property
    def pair_stdp(self) -> bool:
        """Whether it learns by pair STDP on every step (the Diehl & Cook baseline)."""
        return self.network == "diehl-cook"

    @property
    def sl_stdp(self) -> bool:
        """Whether it learns by SL-STDP (updates only on a postsynaptic spike)."""
        return self.network == "sl-stdp"

    @property
    def quantized_weights(self) -> bool:
        return self.weight_bits < 32

    @property
    def quantized_neurons(self) -> bool:
        return min(self.state_bits) < 32

    @property
    def state_bits(self) -> tuple[int, int]:
        """Bits of V_mem and of V_th (``vmem_bits`` / ``vth_bits``, else ``neuron_bits``)."""
        return state_bits(self.design)

    def layer_bits_of(self, layer: str) -> int:
        """Weight bits of a layer of :data:`.keys.WEIGHT_LAYERS` (``layer_bits``, else ``weight_bits``)."""
        names = WEIGHT_LAYERS[self.network]
        return bits_per_layer(self.design, len(names))[names.index(layer)]


def count_bits(timesteps: int) -> int:
    """Bits of a spike counter that counts up to `timesteps` (tinySNN's maxS_post, Eq. 1)."""
    return max(1, math.ceil(math.log2(timesteps + 1)))
