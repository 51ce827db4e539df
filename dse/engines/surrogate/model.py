"""A spiking network built from a :class:`~.shapes.Plan`: coding, LIF/IF populations,
linear and convolutional edges, a non-spiking readout.

Tensors are time-major, ``[T, B, C, H, W]``. Every edge runs once over all T
steps (one matmul or convolution on ``[T*B, ...]``); with direct coding the
input is the same at every step, so the first population's current is computed
once and never copied T times. The readout follows LitE-SNN's head,
``logits = mean_t W GAP(s_t) + b``, computed exactly as ``W mean_t GAP(s_t) + b``;
a population read only by the readout returns its mean spike train directly.

Weights are masked (pruning) and quantised at their population's bits (QAT:
fake-quantised in every training step; PTQ: float in training, quantised once
for evaluation). Neuron state is rounded onto its fixed-point grid after each
step (QAT: in training and evaluation; PTQ: in evaluation only). Batch norm
(cell networks) runs on ``[T*B, C, H, W]``, statistics shared over time (tdBN).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from .._base import Design
from ...keys import state_bits
from ..activity import Activity
from ..pruning import Prunable
from ..quant import FLOAT_BITS, Grid, bias_grid, fake_quant, fixed_point, quantize, quantize_weight
from .fused import lif
from .neurons import DEFAULT_SCALE, NeuronConfig
from .shapes import Edge, Plan

STATE_HEADROOM = 2.0
"""Membrane potentials are saturated at +-STATE_HEADROOM x threshold (rounded
up to a power of two): the integer bits of the state's fixed-point format."""


def state_grid(bits: int, threshold: float) -> Grid | None:
    if bits >= FLOAT_BITS:
        return None
    return fixed_point(bits, STATE_HEADROOM * threshold)


def quantized_constant(value: float, bits: int, signed: bool = True) -> float:
    """A neuron constant (threshold, decay) as stored at `bits` (nearest rounding)."""
    if bits >= FLOAT_BITS:
        return value
    grid = fixed_point(bits, abs(value), signed=signed)
    return float(quantize(torch.tensor([value], dtype=torch.float64), grid, "nearest")[0])


@dataclass
class Weights:
    """The weights a forward pass uses: one tensor per weighted edge, the readout's."""

    edges: list[torch.Tensor]
    readout: torch.Tensor
    bias: torch.Tensor

    @property
    def matrices(self) -> list[torch.Tensor]:
        return [*self.edges, self.readout]


def _merge_time(x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, ...]]:
    """[T, B, ...] (or [B, ...]) as [N, C, H, W] for a convolution, with the leading dims."""
    lead = x.shape[:-3]
    return x.reshape(-1, *x.shape[-3:]), lead


class PlannedSNN(Prunable, nn.Module):
    def __init__(self, design: Design, plan: Plan) -> None:
        super().__init__()
        self.design, self.plan = design, plan
        self.edges: list[tuple[int, Edge]] = []  # (population index, edge) of every weighted edge
        weights, norms = [], []
        for p, pop in enumerate(plan.populations):
            for edge in pop.edges:
                if edge.weighted:
                    shape = plan.edge_weight_shape(pop, edge)
                    weight = nn.Parameter(torch.empty(shape))
                    nn.init.kaiming_uniform_(weight, a=math.sqrt(5))  # torch's Linear/Conv default
                    weights.append(weight)
                    norms.append(nn.BatchNorm2d(shape[0]) if pop.norm else nn.Identity())
                    self.edges.append((p, edge))
        self.weights = nn.ParameterList(weights)
        self.norms = nn.ModuleList(norms)
        channels = plan.states[plan.readout_source].shape[0]
        self.readout = nn.Linear(channels, plan.classes)
        self.bits = [plan.populations[p].bits for p, _ in self.edges] + [plan.readout_bits]
        self.register_masks()
        # what each state is read by: populations or only the readout (then its mean suffices)
        self.rate_only = {pop.state for pop in plan.populations
                          if not plan.consumers(pop.state)
                          and (pop.state == plan.readout_source or pop.state in plan.states[plan.readout_source].parts)}
        self.float_neuron = NeuronConfig(
            decay=design.decay if design.neuron == "lif" else 1.0,
            threshold=design.threshold,
            hard_reset=design.reset == "hard",
            surrogate=design.surrogate,
            scale=design.surrogate_scale or DEFAULT_SCALE[design.surrogate],
        )
        bits = design.neuron_bits
        vmem, vth = state_bits(design)
        self.quant_neuron = replace(
            self.float_neuron,
            decay=quantized_constant(self.float_neuron.decay, bits, signed=False),
            threshold=quantized_constant(design.threshold, vth),
            state_grid=state_grid(vmem, design.threshold),
            rounding=design.rounding,
        )
        self.frozen: Weights | None = None  # quantised weights for evaluation

    @property
    def matrices(self) -> list[torch.Tensor]:
        return [*self.weights, self.readout.weight]

    # ---- weights ----------------------------------------------------------------
    def _weights(self, quantize_fn) -> Weights:
        d = self.design
        # The mask comes last (LitE-SNN: W_out = mask * Q(W)): a mid-rise grid has no zero level.
        ws = [quantize_fn(w, bits) for w, bits in zip(self.matrices, self.bits)]
        if d.pruning > 0:
            ws = [w * mask for w, mask in zip(ws, self.masks())]
        return Weights(ws[:-1], ws[-1], self.readout.bias)

    def train_weights(self, generator: torch.Generator | None) -> Weights:
        d = self.design
        if d.quantization != "qat":
            return self._weights(lambda w, bits: w)
        params = self._weights(lambda w, bits: quantize_weight(w, bits, d.rounding, generator, train=True))
        params.bias = fake_quant(self.readout.bias, bias_grid(self.readout.bias, self.bits[-1]), d.rounding,
                                 generator)
        return params

    def freeze(self, generator: torch.Generator | None) -> Weights:
        """Quantise the masked weights once (PTQ, and QAT's final weights)."""
        d = self.design
        self.frozen = self.quantized(self.bits, d.rounding, self.masks() if d.pruning > 0 else None, generator)
        return self.frozen

    def quantized(self, bits: list[int], rounding: str, masks: list[torch.Tensor] | None,
                  generator: torch.Generator | None) -> Weights:
        """The float (master) weights quantised once, without changing the module.

        Each matrix at its own bits (``bits``: per weighted edge, then the readout),
        with ``rounding``, then masked (``W_out = mask * Q(W)``, as LitE-SNN does);
        the readout bias at the readout's bits on a Q(i.f) grid sized from max|b|.
        :meth:`freeze` calls it with the design's settings; a post-training variant
        with its own (:func:`.engine.variant_weights`).
        """
        with torch.no_grad():
            ws = [quantize_weight(w, b, rounding, generator) for w, b in zip(self.matrices, bits)]
            if masks is not None:
                ws = [w * mask for w, mask in zip(ws, masks)]
            bias = self.readout.bias.detach()
            grid = bias_grid(bias, bits[-1])
            if grid is not None:
                bias = quantize(bias, grid, rounding, generator)
        return Weights(ws[:-1], ws[-1], bias)

    def nonzero_weights(self, weights: Weights | None = None) -> list[int]:
        """Nonzero stored weights per population, then the readout's (of `weights`, default the frozen ones)."""
        weights = weights if weights is not None else self.frozen
        assert weights is not None, "freeze() first"
        counts = [0] * len(self.plan.populations)
        for (p, _), w in zip(self.edges, weights.edges):
            counts[p] += int(torch.count_nonzero(w))
        return [*counts, int(torch.count_nonzero(weights.readout))]

    # ---- forward ----------------------------------------------------------------
    def neuron_config(self, training: bool) -> NeuronConfig:
        quantized = min(self.design.neuron_bits, *state_bits(self.design)) < FLOAT_BITS and (
            not training or self.design.quantization == "qat")
        return self.quant_neuron if quantized else self.float_neuron

    def _apply_edge(self, edge: Edge, source: torch.Tensor, weight: torch.Tensor, norm: nn.Module) -> torch.Tensor:
        if edge.op == "skip":
            return source
        if edge.op == "linear":
            out = source.reshape(*source.shape[:-3], -1) @ weight.t()
            return out.reshape(*out.shape, 1, 1)
        flat, lead = _merge_time(source)
        out = norm(F.conv2d(flat, weight, stride=edge.stride, padding=edge.kernel // 2))
        return out.reshape(*lead, *out.shape[1:])

    def forward(self, x: torch.Tensor, steps: int, params: Weights, cfg: NeuronConfig,
                generator: torch.Generator | None = None, activity: Activity | None = None,
                prefixes: tuple[int, ...] | None = None) -> torch.Tensor | list[torch.Tensor]:
        """Logits [B, classes] for inputs [B, C, H, W] over `steps` timesteps; with `prefixes`, a list of
        the logits after each of those step counts (each at most `steps`) instead, read off this one run
        (equal to runs of that many steps where the run is deterministic and the input constant)."""
        batch = x.shape[0]
        stepwise = prefixes is not None or (activity is not None and activity.per_step)  # spikes of every step
        if self.design.coding == "rate":
            x = torch.bernoulli(x.expand(steps, *x.shape), generator=generator)
        states: list[torch.Tensor | None] = [None] * len(self.plan.states)
        states[0] = x  # [B, ...] for direct coding: constant in time
        means: dict[int, torch.Tensor] = {}  # mean spike trains of states read by the readout only
        weights = iter(zip(params.edges, self.norms))
        for p, pop in enumerate(self.plan.populations):
            current = None
            for edge in pop.edges:
                source = self._state(states, edge.source)
                weight, norm = next(weights) if edge.weighted else (None, None)
                if activity is not None:
                    self._record_edge(activity, p, edge, source, weight, steps)
                contribution = self._apply_edge(edge, source, weight, norm)
                current = contribution if current is None else current + contribution
            if current is None:  # every edge "zero": no input, no spike
                current = x.new_zeros((batch, *self.plan.states[pop.state].shape))
            self._fire(p, current, steps, cfg, generator, activity, states, means if not stepwise else None)
        if prefixes is not None:
            return self._prefix_logits(states, params, prefixes, activity, batch)
        rate = self._readout_rate(states, means, steps)  # [B, C]
        if activity is not None:
            counts = rate.detach() * steps * math.prod(self.plan.states[self.plan.readout_source].shape[1:])
            self._record(activity, len(self.plan.populations), counts, params.readout)
            activity.samples += batch
        return rate @ params.readout.t() + params.bias

    def _fire(self, p: int, current: torch.Tensor, steps: int, cfg: NeuronConfig, generator: torch.Generator | None,
              activity: Activity | None, states: list, means: dict | None) -> None:
        """Population `p`'s spikes into `states`, or into `means` their mean over time where only the readout
        reads them (`means` None: every step's spikes wanted), its spikes counted into `activity`."""
        pop = self.plan.populations[p]
        noise = None
        if cfg.state_grid is not None and cfg.rounding == "stochastic":
            shape = (steps, current.shape[-4], *self.plan.states[pop.state].shape)
            noise = torch.rand(shape, generator=generator, device=current.device, dtype=current.dtype)
        constant = current.dim() == 4  # [B, C, H, W]: the same current at every step
        if pop.state in self.rate_only and means is not None:
            means[pop.state] = lif(current, steps, cfg, noise, rate=True, constant=constant)
            if activity is not None:
                activity.add("output_spikes", p, (means[pop.state].detach() * steps).flatten())
        else:
            states[pop.state] = lif(current, steps, cfg, noise, constant=constant)
            if activity is not None:
                activity.add("output_spikes", p, states[pop.state].detach().flatten(1).sum(1, dtype=torch.float64))

    def _prefix_logits(self, states: list, params: Weights, prefixes: tuple[int, ...],
                       activity: Activity | None, batch: int) -> list[torch.Tensor]:
        """The logits after each prefix of the run, computed as a run of that length computes them (the
        spikes' mean over its steps, then over space: :meth:`_readout_rate`), and the readout's events per step."""
        source = self.plan.states[self.plan.readout_source]
        spikes = [states[i] for i in (source.parts or (self.plan.readout_source,))]  # each [T, B, C, H, W]
        if activity is not None:
            per_step = torch.cat([s.detach().sum((-2, -1), dtype=torch.float64) for s in spikes], dim=-1).sum(1)
            nonzero = (params.readout != 0).sum(0).to(torch.float64)
            readout = len(self.plan.populations)
            activity.add("input_events", readout, per_step.sum(1))
            activity.add("synops", readout, per_step @ nonzero)
            activity.samples += batch
        rates = [torch.cat([s[:t].mean(0).mean(dim=(-2, -1)) for s in spikes], dim=-1) for t in prefixes]
        return [rate @ params.readout.t() + params.bias for rate in rates]

    def _state(self, states: list, index: int) -> torch.Tensor:
        """A state's spikes; a cell output (the concatenation of its nodes) is built once, when first read."""
        if states[index] is None and self.plan.states[index].parts:
            states[index] = torch.cat([states[i] for i in self.plan.states[index].parts], dim=-3)
        return states[index]

    def _readout_rate(self, states: list, means: dict, steps: int) -> torch.Tensor:
        """Mean over time and space of the readout's source: [B, C]."""
        source = self.plan.states[self.plan.readout_source]
        parts = source.parts or (self.plan.readout_source,)
        rates = [means[i] if i in means else states[i].mean(0) for i in parts]
        return torch.cat([r.mean(dim=(-2, -1)) for r in rates], dim=-1)

    # ---- activity -----------------------------------------------------------------
    @staticmethod
    def _record(activity: Activity, layer: int, per_input: torch.Tensor, weight: torch.Tensor) -> None:
        """Events per input unit, [B, C], reaching a linear map [out, C]."""
        events = per_input.sum(0)
        activity.input_events[layer] += float(events.sum())
        activity.synops[layer] += float(events @ (weight != 0).sum(0).to(events.dtype))

    def _record_edge(self, activity: Activity, p: int, edge: Edge, source: torch.Tensor,
                     weight: torch.Tensor | None, steps: int) -> None:
        """Input events of one edge, and the (event, nonzero weight) pairs they drive: per step, or
        summed over the steps first (float64: whole counts exact)."""
        if source.dim() == 5:  # [T, B, C, H, W]: the events of each step, summed over the batch
            events = (source != 0).sum(1, dtype=torch.float64)
            if not activity.per_step:
                events = events.sum(0, keepdim=True)
        else:  # [B, C, H, W]: the same events at every step
            events = (source != 0).sum(0, keepdim=True, dtype=torch.float64)
            events = events.expand(steps, *events.shape[1:]) if activity.per_step else events * steps
        inputs = events.sum((1, 2, 3))  # [T] or [1]
        activity.add("input_events", p, inputs)
        if edge.op == "skip":
            synops = inputs
        elif edge.op == "linear":
            synops = events.reshape(len(events), -1) @ (weight != 0).sum(0).to(torch.float64)
        else:  # a convolution of the event counts with the nonzero pattern counts every pair; it is
            # linear, so the batch's counts are summed first
            synops = F.conv2d(events, (weight != 0).to(torch.float64), stride=edge.stride,
                              padding=edge.kernel // 2).sum((1, 2, 3))
        activity.add("synops", p, synops)
