"""NeuroBench-compatible metrics, so a design can be set beside published NeuroBench results.

Definitions of NeuroBench 2.3 (Yik et al., Nature Communications 2025; the
``neurobench`` package's ``metrics/static`` and ``metrics/workload``), each
derived from the profile as closely as its per-layer counts allow. Counts are
per sample.

- ``footprint_bytes`` (NeuroBench ``Footprint``): bytes of parameters and
  buffers as stored, zeros included: ``sum_l N^w_l b^w_l / 8`` plus the neuron
  parameters ``sum_k N_k b_k / 8``. NeuroBench multiplies each tensor's numel
  by its dtype's element size; here each tensor is at the bits the design
  stores it with (a 4-bit weight counts half a byte, where NeuroBench would
  count the 1-byte or 4-byte tensor a simulator holds it in).
- ``connection_sparsity`` (``ConnectionSparsity``): zero weights over all
  weights of the connection layers (every profile layer is one),
  ``1 - sum n_nonzero / sum n_weights``; 0 for a network without weights.
- ``activation_sparsity`` (``ActivationSparsity``): ``1 - nonzero / all``
  activations over neurons, timesteps and samples, i.e. ``1 - S / (N T)``
  with S the spiking populations' spikes per sample and N their neurons (a
  spike is one nonzero activation of one neuron at one step). NeuroBench
  hooks the spiking-neuron layers only, so a population that neither spiked
  nor declares a threshold (``v_th`` among its neuron parameters) is left
  out: a non-spiking readout that only integrates, as LitE-SNN's head.
- ``dense_synops`` (``SynapticOperations`` "Dense"): every connection at every
  call, ``sum_l macs_per_step_l x T``. NeuroBench counts these by running the
  layer with all-ones weights on an all-ones input, so the zero padding of a
  convolution adds nothing; the profile's ``macs_per_step`` counts every
  kernel tap (C_in K^2 per output), so for a padded convolution this is an
  upper bound (exact for dense layers and unpadded convolutions).
- ``effective_acs`` ("Effective_ACs"): nonzero-input x nonzero-weight pairs
  where the input is spiking: the measured SynOps, ``input_events x fan_out``
  (fan_out counts only the weights left after pruning).
- ``effective_macs`` ("Effective_MACs"): the same pairs where the input is
  analog. Measured: the nonzero analog inputs the engine counted times the
  nonzero weights each drives, ``input_events x fan_out``, NeuroBench's count
  exactly. Before training (no input counted) every analog input is taken as
  nonzero, ``macs_per_step x T x n_nonzero / n_weights``, an upper bound, so
  the metric is not one a constraint can check before training.
- ``membrane_updates`` (``MembraneUpdates``): neurons whose membrane potential
  changed, summed over timesteps. A leaky neuron's potential decays at every
  step, so a leaky population (neuron_params with a decay/leak/tau) counts
  ``n_neurons x T``. A non-leaky (IF) potential changes only at a step where
  input reaches it; each synaptic event reaches one neuron at one step, so
  it counts ``min(n_neurons x T, synops + macs)`` of the population's own
  input: an upper bound. Lateral and recurrent layers declare no neurons.
"""

from __future__ import annotations

from ._base import CostModel
from .energy45nm import is_leaky
from .memory import layer_bits
from .neuromorphic import events
from .profile import LayerProfile, Profile


def membrane_updates(layer: LayerProfile, timesteps: int) -> float:
    """Every neuron-step of a leaky population; those an input event reached in an IF one."""
    _, reached, not_reached = events(layer, timesteps)
    return float(reached + not_reached if is_leaky(layer) else reached)


THRESHOLD = "v_th"
"""The neuron parameter that marks a spiking population (a readout without it only integrates)."""


def effective_macs(layer: LayerProfile, timesteps: int, density: float) -> float:
    """Nonzero analog inputs x the nonzero weights each drives, as measured; before any input was
    counted, every analog input taken as nonzero (an upper bound)."""
    if layer.spiking_input:
        return 0.0
    if layer.input_events:
        return layer.input_events * layer.fan_out
    return layer.macs(timesteps) * density


def sparsity(nonzero: float, total: float) -> float:
    """NeuroBench's sparsity, ``1 - nonzero / total``; 0 where there is nothing to count."""
    return 1 - nonzero / total if total else 0.0


class NeuroBenchModel(CostModel):
    name = "neurobench"
    metrics = {
        "footprint_bytes": "B",
        "connection_sparsity": "1",
        "activation_sparsity": "1",
        "dense_synops": "SynOp",
        "effective_acs": "AC",
        "effective_macs": "MAC",
        "membrane_updates": "update",
    }
    additive = frozenset({"footprint_bytes", "dense_synops", "effective_acs", "effective_macs",
                          "membrane_updates"})
    static = frozenset({"footprint_bytes", "connection_sparsity", "dense_synops"})

    def layer_estimates(self, profile: Profile, **_: object):
        steps = profile.timesteps
        out = {}
        for layer in profile.layers:
            density = layer.n_nonzero / layer.n_weights if layer.n_weights else 0.0
            out[layer.name] = {
                "footprint_bytes": layer_bits(layer, "dense") / 8,
                "dense_synops": float(layer.macs_per_step * steps),
                "effective_acs": layer.synops,
                "effective_macs": effective_macs(layer, steps, density),
                "membrane_updates": membrane_updates(layer, steps),
            }
        return out

    def estimate(self, profile: Profile, **options: object) -> dict[str, float]:
        totals = super().estimate(profile, **options)
        n_weights = sum(layer.n_weights for layer in profile.layers)
        n_nonzero = sum(layer.n_nonzero for layer in profile.layers)
        totals["connection_sparsity"] = sparsity(n_nonzero, n_weights)
        spiking = [layer for layer in profile.layers
                   if layer.is_population and (layer.output_spikes or THRESHOLD in layer.neuron_params)]
        totals["activation_sparsity"] = sparsity(sum(layer.output_spikes for layer in spiking),
                                                 sum(layer.n_neurons for layer in spiking) * profile.timesteps)
        return {metric: totals[metric] for metric in self.metrics}
