"""Energy on neuromorphic chips: T2FSNN's static + dynamic estimate and per-event figures.

**Relative energy** (TTFS seed, Park & Yoon, comparison table, after T2FSNN,
Park et al. DAC 2020):

.. math::

    E = a_{dyn} \\frac{S}{S_{ref}} + a_{sta} \\frac{T}{T_{ref}}

S is the profile's spikes per sample (:attr:`Profile.spikes`, populations
only), T its timesteps. TrueNorth a_dyn = 0.40, a_sta = 0.60; SpiNNaker
a_dyn = 0.64, a_sta = 0.36. The reference (= 1.00) is the TTFS seed's TSC row
(Han & Roy 2020, CIFAR-10): ``t_ref`` = 512 and ``s_ref`` = 0.19321e6 spikes
per sample (*assumed unit*: the table's spike column read as millions per
image). The spike column gives 0.193e6, three digits; the
table's spike-sparsity column (930.91 for rate coding, 68.86 for TSC) carries
the same ratio to five, ``2.612e6 x 68.86 / 930.91 = 0.19321e6``, and the
published energies follow it: with it every row of the table is reproduced
(0.193e6 gives the rate-coding row's SpiNNaker 9.02 instead of 9.01). Pass
``s_ref=0.193e6`` for the rounded reference. Metrics ``energy_truenorth``,
``energy_spinnaker`` (unit "1": relative to the reference).

``s_ref`` also takes the name of a row of the table (:data:`S_REF_PRESETS`):
``"cifar10"`` (the default above) or ``"cifar100"``, the CIFAR-100 TSC row's
0.170e6 spikes (its sparsity 60.57 % of VGG-16's 280,676 neurons with a
100-way readout gives 0.17000e6, the same to five digits); ``t_ref`` is 512 in
both rows.

**Absolute energy** per event (docs/cost-models.md table), metrics
``energy_<chip>_j``:

.. math::

    E = e_{syn} (\\mathrm{synops} + \\mathrm{macs}) + e_{act} U_{act} + e_{idle} (U - U_{act})

- Synaptic operations: each layer's SynOps plus its dense MACs (an analog
  input value delivered over a synapse is one synaptic event on these chips).
- Neuron updates U: these chips are time-stepped, so every neuron of every
  population (dense/conv2d layer) is updated once per timestep,
  ``U_l = n_neurons_l x T``. Lateral and recurrent layers add synaptic events
  but no neurons.
- Loihi prices an active update (the neuron received input) above an idle
  one. A profile does not say which neuron-steps received input; each
  synaptic event reaches one neuron at one step, so
  ``U_act,l = min(U_l, synops_l + macs_l)`` of the layer's own input: an
  upper bound on the active updates, hence on the energy.
- Loihi: 23.6 pJ per synaptic op, 81 pJ active / 52 pJ idle update
  (Davies et al., IEEE Micro 2018; *pre-silicon* figures).
- TrueNorth: 26 pJ per synaptic event, *all-in* (neuron updates, routing and
  static power included, measured at 20 Hz; Merolla et al., Science 2014),
  so no separate update term.
- SpiNNaker: 13.3 nJ per synaptic op, 26 nJ per neuron update; SpiNNaker 2:
  450 pJ and 2.19 nJ (Hoeppner et al. 2019).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._base import POSITIVE, CostModel, Option
from .validation import Constraint, Invalid
from .profile import LayerProfile, Profile

PJ = 1e-12


@dataclass(frozen=True)
class StaticDynamic:
    """T2FSNN coefficients: shares of dynamic (per spike) and static (per timestep) energy."""

    a_dyn: float
    a_sta: float

    def relative(self, spikes: float, timesteps: int, s_ref: float, t_ref: float) -> float:
        return self.a_dyn * spikes / s_ref + self.a_sta * timesteps / t_ref


@dataclass(frozen=True)
class EventEnergy:
    """Energy per synaptic operation and per neuron update (active / idle), in picojoules."""

    synop_pj: float
    update_active_pj: float
    update_idle_pj: float

    def pj(self, ops: float, active: float, idle: float) -> float:
        return ops * self.synop_pj + active * self.update_active_pj + idle * self.update_idle_pj


def events(layer: LayerProfile, timesteps: int) -> tuple[float, float, float]:
    """A layer's synaptic events, and its neuron-steps split into those an event may have
    reached (at most one per event: an upper bound) and the rest, per sample."""
    ops = layer.synops + layer.macs(timesteps)
    updates = layer.n_neurons * timesteps if layer.is_population else 0
    active = min(updates, ops)
    return ops, active, updates - active


RELATIVE = {
    "energy_truenorth": StaticDynamic(a_dyn=0.40, a_sta=0.60),
    "energy_spinnaker": StaticDynamic(a_dyn=0.64, a_sta=0.36),
}
ABSOLUTE = {
    "energy_loihi_j": EventEnergy(synop_pj=23.6, update_active_pj=81.0, update_idle_pj=52.0),
    "energy_truenorth_j": EventEnergy(synop_pj=26.0, update_active_pj=0.0, update_idle_pj=0.0),
    "energy_spinnaker_j": EventEnergy(synop_pj=13_300.0, update_active_pj=26_000.0, update_idle_pj=26_000.0),
    "energy_spinnaker2_j": EventEnergy(synop_pj=450.0, update_active_pj=2_190.0, update_idle_pj=2_190.0),
}
S_REF = 2.612e6 * 68.86 / 930.91
"""0.19321e6: the TSC row's spikes to five digits (the seed table's sparsity ratio)."""
T_REF = 512.0
S_REF_PRESETS = {"cifar10": S_REF, "cifar100": 0.170e6}
"""The TSC reference row of each data set of the TTFS seed's table (spikes per image)."""


class Reference(Constraint):
    """A positive number of spikes, or the name of a row of :data:`S_REF_PRESETS`."""

    def describe(self) -> str:
        return f"numbers > 0 or one of {', '.join(map(repr, S_REF_PRESETS))}"

    def check(self, value: Any) -> float:
        if isinstance(value, str):
            if value in S_REF_PRESETS:
                return S_REF_PRESETS[value]
            raise self.fail(value)
        try:
            return POSITIVE.check(value)
        except Invalid:
            raise self.fail(value) from None


class NeuromorphicModel(CostModel):
    name = "neuromorphic"
    metrics = {**dict.fromkeys(RELATIVE, "1"), **dict.fromkeys(ABSOLUTE, "J")}
    options = {
        "s_ref": Option(S_REF, Reference(), "reference spikes per sample of the relative energies (TSC, TTFS "
                        "seed), or its table's row: cifar10 (0.19321e6), cifar100 (0.170e6)"),
        "t_ref": Option(T_REF, POSITIVE, "reference timesteps of the relative energies (TSC, TTFS seed)"),
    }
    additive = frozenset(ABSOLUTE)

    def layer_estimates(self, profile: Profile, **_: object):
        out = {}
        for layer in profile.layers:
            counts = events(layer, profile.timesteps)
            out[layer.name] = {metric: chip.pj(*counts) * PJ for metric, chip in ABSOLUTE.items()}
        return out

    def estimate(self, profile: Profile, s_ref: float = S_REF, t_ref: float = T_REF,
                 **options: object) -> dict[str, float]:
        totals = {metric: chip.relative(profile.spikes, profile.timesteps, s_ref, t_ref)
                  for metric, chip in RELATIVE.items()}
        totals.update(super().estimate(profile, **options))
        return totals
