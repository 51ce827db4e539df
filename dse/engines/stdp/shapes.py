"""Profiles of the STDP networks, without torch.

One function names the layers and counts weights, neuron parameters and dense
operations for the feasibility pre-check (activity zero), for the trained
network's inference profile and for its training profile (measured activity
filled in), so all three describe one network. Counts (Contract 1, per sample):

Inference (every network)
    ``x_ae`` (dense): the plastic input weights, N_in x N at ``weight_bits``;
    neuron parameters ``v_mem`` and ``v_th`` per excitatory neuron at
    ``vmem_bits`` and ``vth_bits`` (each ``neuron_bits`` where 0: tinySNN section 2.3
    quantises V_mem and V_th as two parameters; V_th = thresh
    + theta is stored per neuron, docs/engines.md 1b); ``macs_per_step`` = N_in x N;
    every weight layer at ``weight_bits``, or its own with ``layer_bits``
    (``weight_bits_l{i}`` in the order of :data:`.keys.WEIGHT_LAYERS`);
    ``fan_out`` = N; ``input_events`` = Poisson input spikes; ``output_spikes``
    = excitatory spikes.
Diehl & Cook baseline and SL-STDP (docs/engines.md 1a, 1d, 1e; docs/cost-models.md "Memory")
    ``inh`` (dense, the inhibitory population as its own layer): Ae->Ai,
    one-to-one, BindsNET stores ``22.5 * I`` (N x N, N nonzero); Ai neurons
    keep ``v_mem`` each and one shared ``v_th`` (a fixed LIF threshold);
    ``macs_per_step`` = N x N (a dense matrix product, as BindsNET computes it);
    ``fan_out`` = 1; input events = excitatory spikes, output = inhibitory spikes.
    ``inh_exc`` (recurrent, into the excitatory population): Ai->Ae,
    ``-inh * (1 - I)``, N x N stored, N(N-1) nonzero; ``macs_per_step`` = N x N;
    ``fan_out`` = N - 1; input events = inhibitory spikes.
tinySNN (seed section 2.1)
    ``lateral`` (lateral): direct inhibition with one shared strength w_inh (one
    stored weight); each excitatory spike subtracts w_inh from the N - 1 other
    membranes (``fan_out`` = N - 1), computed per step as ``w_inh * (sum s - s_j)``,
    so ``macs_per_step`` = N; input events = excitatory spikes.
    Layers that only connect into a population declared elsewhere report
    ``output_spikes`` = 0, so no spike is counted twice.

Training (phase "training", per training presentation, averaged over all passes)
    The same layers with the activity measured while learning, plus the learning
    rule's own work on ``x_ae``:

    - state: ``x_pre`` (N_in input traces) for every network; the baseline adds
      ``x_post`` (N excitatory traces, pair STDP's depression term); tinySNN adds
      ``spike_count`` (N counters of ceil(log2(T + 1)) bits for maxS_post, Eq. 1)
      instead; SL-STDP needs nothing more (its depression is triggered by the
      postsynaptic spike and reads x_pre). Traces are not quantised by the seed: 32 bits.
    - dense work per step (``macs_per_step``, what a GPU computes): forward
      N_in x N, plus BindsNET's two outer products per step for pair STDP
      (2 N_in N), one (x_pre s_post^T) for SL-STDP (N_in N), or one Eq. 2 update
      every T_u steps for tinySNN (ceil(N_in N / T_u)), plus the per-sample
      normalisation (ceil(N_in N / T)).
    - event-driven work (``fan_out``, so that ``input_events * fan_out`` = the
      synaptic operations): every forward accumulate plus every synapse the rule
      reads and writes: pair STDP depresses the N synapses of each input spike and
      potentiates the N_in synapses of each excitatory spike; SL-STDP updates the
      N_in synapses of each excitatory spike only; tinySNN potentiates the
      N_in synapses of each neuron that fired in an update interval, once per
      interval (measured as ``updated_synapses``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hwmodels import LayerProfile, Profile

from .._base import DataShape
from ..layer_bits import bits_per_layer
from ...keys import state_bits
from .keys import WEIGHT_LAYERS
from .params import count_bits

if TYPE_CHECKING:
    from .._base import Design

TRACE_BITS = 32


@dataclass(frozen=True)
class Activity:
    """Measured counts per sample of one phase (zero: shapes only)."""

    input_events: float = 0.0
    exc_spikes: float = 0.0
    inh_spikes: float = 0.0
    updated_synapses: float = 0.0
    """Training only: synapses the learning rule updated (read-modify-write)."""


def _input_layer(design: "Design", n_in: int, phase: str, activity: Activity,
                 bits: dict[str, int]) -> LayerProfile:
    n = design.n_neurons
    vmem, vth = state_bits(design)
    numel = n_in * n
    params = {"v_mem": (n, vmem), "v_th": (n, vth)}
    macs = numel
    fan_out = float(n)
    if phase == "training":
        params["x_pre"] = (n_in, TRACE_BITS)
        if design.network == "diehl-cook":
            params["x_post"] = (n, TRACE_BITS)
            macs += 2 * numel
        elif design.network == "sl-stdp":
            macs += numel
        else:
            params["spike_count"] = (n, count_bits(design.timesteps))
            macs += math.ceil(numel / design.update_interval)
        macs += math.ceil(numel / design.timesteps)
        if activity.input_events > 0:
            fan_out = (activity.input_events * n + activity.updated_synapses) / activity.input_events
    return LayerProfile(
        name="x_ae", kind="dense", n_inputs=n_in, n_neurons=n, n_weights=numel, n_nonzero=numel,
        weight_bits=bits["x_ae"], neuron_params=params, macs_per_step=macs, fan_out=fan_out,
        input_events=activity.input_events, output_spikes=activity.exc_spikes, spiking_input=True)


def layers(design: "Design", data: DataShape, phase: str = "inference",
           activity: Activity = Activity()) -> tuple[LayerProfile, ...]:
    n = design.n_neurons
    n_in = math.prod(data.shape)
    names = WEIGHT_LAYERS[design.network]
    bits = dict(zip(names, bits_per_layer(design, len(names))))
    vmem, vth = state_bits(design)
    out = [_input_layer(design, n_in, phase, activity, bits)]
    if design.network in ("diehl-cook", "sl-stdp"):
        out.append(LayerProfile(
            name="inh", kind="dense", n_inputs=n, n_neurons=n, n_weights=n * n, n_nonzero=n,
            weight_bits=bits["inh"], neuron_params={"v_mem": (n, vmem), "v_th": (1, vth)}, macs_per_step=n * n,
            fan_out=1.0, input_events=activity.exc_spikes, output_spikes=activity.inh_spikes))
        out.append(LayerProfile(
            name="inh_exc", kind="recurrent", n_inputs=n, n_neurons=n, n_weights=n * n,
            n_nonzero=n * (n - 1), weight_bits=bits["inh_exc"], macs_per_step=n * n, fan_out=float(n - 1),
            input_events=activity.inh_spikes))
    else:
        out.append(LayerProfile(
            name="lateral", kind="lateral", n_inputs=n, n_neurons=n, n_weights=1, n_nonzero=1,
            weight_bits=bits["lateral"], macs_per_step=n, fan_out=float(n - 1), input_events=activity.exc_spikes))
    return tuple(out)


def profile(design: "Design", data: DataShape, phase: str = "inference", activity: Activity = Activity(),
            accuracy: float | None = None) -> Profile:
    return Profile(layers=layers(design, data, phase, activity), timesteps=design.timesteps,
                   coding="rate", accuracy=accuracy, phase=phase)


def static_profile(design: "Design", data: DataShape) -> Profile:
    """The inference profile before training: shapes exact, activity zero."""
    return profile(design, data)
