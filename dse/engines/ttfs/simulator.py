"""Event-driven simulation of a frozen TTFS network (docs/engines.md section 3; Park & Yoon, Appendix A).

Each population has an integration phase, then a fire phase, one window of
T_w steps each, and the fire phase of one population is the integration phase
of the next:

- window 0: with ``input_coding = "ttfs"`` the input neurons integrate the
  pixels (V = x) and fire in window 1; with analog input (the default) layer 1
  adds ``W x`` to its V once, at the start, and receives no spikes;
- window d (d = 1..N_w): population d-1 fires, at local step t' = 0..T_w-1,
  when ``V >= theta0 eps_{d-1}(t')`` (the dynamic threshold) and it has not
  fired yet; then it is refractory for good (at most one spike). Weight layer d
  integrates each spike as it arrives, ``V += w eps_{d-1}(t')`` (the
  presynaptic kernel), on top of its folded bias. A 2x2 max-pool passes the
  earliest spike of its window.
- The readout (layer N_w) only integrates; the prediction is argmax V.

So a sample takes ``(N_w + 1) T_w`` steps (:func:`.shapes.latency`); the seed's
run script counts the same (544 = 16 x 32 + 32 for VGG-16).

Batched over samples: state is [B, ...]; every step integrates the spike mask
of that step through the layer's weights, and fires by comparing V with that
step's threshold. Of the surrogate it shares only the kernel's values
(:func:`.kernel.kernel_table`, the T_w numbers a chip would store per layer):
no logarithm, no rounding, no matmul of decoded values, so its agreement with
:func:`.model.infer` checks eq. 4 and 5 against the dynamics they stand for.

Counts per layer (an :class:`~dse.engines.activity.Activity`, summed over
the batch): ``input_events`` (spikes reaching the layer, after pooling),
``synops`` (for each input spike, the nonzero synapses it drives) and
``output_spikes`` (spikes emitted, counted in the fire phase); with spiking
input also ``input_spikes``, the input population's spikes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..activity import Activity
from .kernel import kernel_table
from .model import Frozen, pool_times


@dataclass
class Simulation:
    """Output potentials [B, classes] and spike times per population (T_w = silent)."""

    potentials: torch.Tensor
    times: list[torch.Tensor]


def fire(v: torch.Tensor, tau: torch.Tensor, t_d: torch.Tensor, theta0: float,
         window: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Fire phase: step through the window; a neuron spikes when V >= theta0 eps(t') and it has
    not spiked before (refractory for the rest of the window).

    Returns the spike times (T_w where the neuron stayed silent) and the number
    of spikes each neuron emitted (0 or 1; counted, not inferred from the times).
    """
    thresholds = theta0 * kernel_table(tau, t_d, window)
    times = torch.full_like(v, float(window))
    emitted = torch.zeros_like(v)
    ready = torch.ones_like(v, dtype=torch.bool)  # not refractory yet
    for step in range(window):
        spike = ready & (v >= thresholds[step])
        times = torch.where(spike, float(step), times)
        emitted += spike
        ready &= ~spike
    return times, emitted


def integrate(net: Frozen, layer: int, times: torch.Tensor, tau: torch.Tensor, t_d: torch.Tensor) -> torch.Tensor:
    """Integration phase of weight layer `layer`: its folded bias, then each step's spikes."""
    kernel = kernel_table(tau, t_d, net.window)  # the presynaptic kernel
    v = None
    for step in range(net.window):
        events = (times == step).to(times.dtype)
        current = net.op(layer, events, bias=False) * kernel[step]
        v = current if v is None else v + current
    return v + _bias_shape(net, layer)


def _bias_shape(net: Frozen, layer: int) -> torch.Tensor:
    b = net.biases[layer]
    return b.view(-1, 1, 1) if net.plan[layer].kind == "conv2d" else b


def synapses_per_input(net: Frozen, layer: int) -> torch.Tensor:
    """For each input unit of the layer, the nonzero synapses one of its spikes drives."""
    w = (net.weights[layer] != 0).to(net.weights[layer].dtype)
    spec = net.plan[layer]
    if spec.kind == "conv2d":
        c, h, wd = spec.out_shape
        ones = torch.ones(1, c, h, wd, dtype=w.dtype, device=w.device)
        return F.conv_transpose2d(ones, w, padding=1)[0]
    return w.sum(0)


@torch.no_grad()
def simulate(net: Frozen, x: torch.Tensor, counts: Activity | None = None) -> Simulation:
    """Run the network on a batch of inputs [B, C, H, W]; add its events to `counts`."""
    v = x if net.plan[0].kind == "conv2d" else x.flatten(1)
    times = []
    if not net.analog_input:  # the input population fires in window 1
        input_times, emitted = fire(v, *net.kernel(0), net.theta0, net.window)
        times.append(input_times)
        if counts is not None:
            counts.input_spikes += float(emitted.sum())
    for layer, spec in enumerate(net.plan):
        if layer == 0 and net.analog_input:
            v = net.op(0, v)  # the analog input, added once: dense work, no events
        else:
            arriving = times[-1]
            if layer > 0 and net.plan[layer - 1].pool:
                arriving = pool_times(arriving)
            if spec.kind == "dense":
                arriving = arriving.flatten(1)
            v = integrate(net, layer, arriving, *net.kernel(layer))
            if counts is not None:
                spikes = (arriving < net.window).to(v.dtype)
                counts.input_events[layer] += float(spikes.sum())
                counts.synops[layer] += float((spikes * synapses_per_input(net, layer)).sum())
        if spec.readout:
            if counts is not None:
                counts.samples += x.shape[0]
            return Simulation(v, times)
        spike_times, emitted = fire(v, *net.kernel(layer + 1), net.theta0, net.window)
        times.append(spike_times)
        if counts is not None:
            counts.output_spikes[layer] += float(emitted.sum())
    raise AssertionError("a plan ends with its readout")
