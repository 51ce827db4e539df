"""Synaptic operations, bit-SynOps, MACs and spike rate (LitE-SNN Eq. 12, 20).

LitE-SNN (IJCAI 2024) Eq. 12 counts, per layer l and timestep t,

.. math::

    \\mathrm{SynOps}_{l,t} = (1 - p_l)\\, C_{in} C_{out} K^2 H_{out} W_{out}\\, r_{l,t}

with r the input spike rate; Eq. 20 weighs each by the layer's weight bits,
``BitSynOps = sum_l b_l SynOps_l``. The profile carries the measured equivalent
``input_events * fan_out`` per layer (per sample, all timesteps). Layers with
analog input (direct coding's first layer) perform
``macs_per_step * timesteps`` multiply-accumulates instead and no SynOps.
LitE-SNN's code leaves the analog stem and the classifier out of bit-SynOps;
here every layer counts and :func:`hwmodels.breakdown` shows each one.

``spikes_per_sample`` sums the spikes of the populations (dense/conv2d layers;
lateral and recurrent layers are connections inside a population counted once),
``spike_rate = spikes / (neurons x timesteps)`` and ``spike_sparsity = spikes /
neurons``: the TTFS seed's spike rate (after Han & Roy 2020) and sparsity (after
Zhou et al. 2021), ``S / (N T)`` and ``S / N`` with S the spikes, N the neurons
and T the timesteps of a sample. The seed's table gives them in percent: VGG-16's
280,586 neurons (input, hidden and readout), 0.067e6 spikes and 544 steps give
its 0.04 % and 23.88 %. An engine whose input is a population of its own
(TTFS with spike-coded pixels) lists it as a layer, so both count its neurons
and spikes as the seed does.
"""

from __future__ import annotations

from ._base import CostModel
from .profile import Profile


class SynOpsModel(CostModel):
    name = "synops"
    metrics = {
        "synops": "SynOp",
        "bit_synops": "bit*SynOp",
        "macs": "MAC",
        "spikes_per_sample": "spike",
        "spike_rate": "spike/(neuron*step)",
        "spike_sparsity": "spike/neuron",
    }
    additive = frozenset({"synops", "bit_synops", "macs", "spikes_per_sample"})
    static = frozenset({"macs"})

    def layer_estimates(self, profile: Profile, **_: object):
        out = {}
        for layer in profile.layers:
            synops = layer.synops
            out[layer.name] = {
                "synops": synops,
                "bit_synops": layer.weight_bits * synops,
                "macs": layer.macs(profile.timesteps),
                "spikes_per_sample": layer.output_spikes if layer.is_population else 0.0,
            }
        return out

    def estimate(self, profile: Profile, **options: object) -> dict[str, float]:
        totals = super().estimate(profile, **options)
        slots = profile.neuron_steps
        totals["spike_rate"] = totals["spikes_per_sample"] / slots if slots else 0.0
        neurons = profile.n_neurons
        totals["spike_sparsity"] = totals["spikes_per_sample"] / neurons if neurons else 0.0
        return totals
