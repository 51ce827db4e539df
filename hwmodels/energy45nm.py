"""Arithmetic energy in 45 nm CMOS (Horowitz, ISSCC 2014; LitE-SNN section 4.5).

``adds = synops + macs`` and ``mults = macs``: a spike costs one accumulate, an
analog input one multiply-accumulate. Then

- ``arithmetic = "fp32"`` (default, LitE-SNN's convention):
  ``E = adds x 0.9 pJ + mults x 3.7 pJ``. Reproduces LitE-SNN Table 5 (ANN large:
  970.12 M adds and mults -> 4.46 mJ).
- ``arithmetic = "int"``: per layer at its weight bits b, add energy linear
  between Horowitz's 8-bit (0.03 pJ) and 32-bit (0.1 pJ) integer adders, mult
  energy quadratic, ``0.2 pJ x (b/8)^2``. Horowitz gives no 16-bit integer
  figure: 16-bit values are interpolated (assumed).
- ``include_neuron_updates``: each neuron update adds one add, and one mult for a
  leaky neuron (a layer whose neuron_params hold a ``decay``/``leak``/``tau``),
  per neuron per timestep.
- ``include_weight_fetch``: each operation reads its weight from SRAM; 64-bit
  words at 10 / 20 / 100 pJ for an 8 KB / 32 KB / 1 MB SRAM chosen by the
  model's size (nonzero weights at their bits), DRAM at 1.3 nJ beyond 1 MB
  (Horowitz's lower DRAM figure; assumed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

from ._base import CostModel, Option
from .validation import Boolean, StrOptions
from .profile import LayerProfile, Profile

PJ = 1e-12
LEAKY_PARAMS = ("decay", "leak", "tau", "tau_v", "beta")


@dataclass(frozen=True)
class Horowitz45nm:
    """Horowitz (ISSCC 2014) 45 nm energies, in picojoules: his table of
    operations by precision, and a 64-bit word read by memory size."""

    add_pj: Mapping[str, float] = field(
        default_factory=lambda: {"int8": 0.03, "int32": 0.1, "fp16": 0.4, "fp32": 0.9})
    mult_pj: Mapping[str, float] = field(
        default_factory=lambda: {"int8": 0.2, "int32": 3.1, "fp16": 1.1, "fp32": 3.7})
    word_read_pj_by_bytes: tuple[tuple[float, float], ...] = (
        (8 * 1024, 10.0),  # 8 KB SRAM
        (32 * 1024, 20.0),  # 32 KB SRAM
        (1024 * 1024, 100.0),  # 1 MB SRAM
        (math.inf, 1300.0),  # DRAM (Horowitz's lower figure; assumed)
    )
    """``(largest model in bytes, pJ per 64-bit word)``, smallest memory first."""

    def add_int_pj(self, bits: int) -> float:
        """Integer add, linear in bits through the 8- and 32-bit points."""
        slope = (self.add_pj["int32"] - self.add_pj["int8"]) / 24
        return max(0.0, self.add_pj["int8"] + slope * (bits - 8))

    def mult_int_pj(self, bits: int) -> float:
        """Integer multiply, quadratic in bits through the 8-bit point."""
        return self.mult_pj["int8"] * (bits / 8) ** 2

    def word_read_pj(self, model_bytes: float) -> float:
        """Reading one 64-bit word from the smallest memory that holds the model."""
        return next(energy for limit, energy in self.word_read_pj_by_bytes if model_bytes <= limit)


HOROWITZ = Horowitz45nm()


def is_leaky(layer: LayerProfile) -> bool:
    return any(key in layer.neuron_params for key in LEAKY_PARAMS)


class Energy45nmModel(CostModel):
    name = "energy45nm"
    metrics = {"energy_45nm_j": "J", "adds": "op", "mults": "op"}
    options = {
        "arithmetic": Option("fp32", StrOptions(("fp32", "int")),
                             "fp32: 0.9 pJ add, 3.7 pJ mult (LitE-SNN); int: scaled by each layer's bits"),
        "include_neuron_updates": Option(False, Boolean(),
                                         "add one add (and one mult if leaky) per neuron per timestep"),
        "include_weight_fetch": Option(False, Boolean(),
                                       "add a 64-bit SRAM/DRAM read per operation's weight bits"),
    }
    additive = frozenset(metrics)
    coefficients = HOROWITZ

    def layer_estimates(self, profile: Profile, arithmetic: str = "fp32",
                        include_neuron_updates: bool = False,
                        include_weight_fetch: bool = False, **_: object):
        c = self.coefficients
        model_bytes = sum(l.n_nonzero * l.weight_bits for l in profile.layers) / 8
        out = {}
        for layer in profile.layers:
            macs = layer.macs(profile.timesteps)
            adds, mults = layer.synops + macs, macs
            if include_neuron_updates and layer.is_population:
                updates = layer.n_neurons * profile.timesteps
                adds += updates
                mults += updates if is_leaky(layer) else 0
            if arithmetic == "fp32":
                energy_pj = adds * c.add_pj["fp32"] + mults * c.mult_pj["fp32"]
            else:
                energy_pj = adds * c.add_int_pj(layer.weight_bits) + mults * c.mult_int_pj(layer.weight_bits)
            if include_weight_fetch:
                words = (layer.synops + macs) * layer.weight_bits / 64
                energy_pj += words * c.word_read_pj(model_bytes)
            out[layer.name] = {"energy_45nm_j": energy_pj * PJ, "adds": adds, "mults": mults}
        return out
