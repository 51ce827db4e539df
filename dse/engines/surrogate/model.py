"""Dense spiking networks: input coding, LIF/IF layers, a non-spiking readout.

``x -> [Linear -> LIF] x len(hidden) -> Linear readout``; the readout follows
LitE-SNN's head, ``logits = mean_t (W s_t) + b``, which is computed exactly as
``W mean_t(s_t) + b``, one matmul instead of T. Each hidden layer's matmul runs
once over all T steps ([T*B, N] at once); with direct coding the first layer's
current is the same at every step and is computed once.

Weights are masked (pruning) and quantised (QAT: fake-quantised in every
training step; PTQ: float in training, quantised once for evaluation). Neuron
state is rounded onto its fixed-point grid after each step (QAT: in training
and evaluation; PTQ: in evaluation only).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import nn

from ...space import Design
from ..quant import FLOAT_BITS, Grid, fake_quant, fixed_point, quantize, quantize_weight
from ..pruning import update_mask
from .fused import lif
from .neurons import DEFAULT_SCALE, NeuronConfig

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
    """The weights a forward pass uses: one matrix per layer, the readout's bias."""

    matrices: list[torch.Tensor]
    bias: torch.Tensor


def bias_grid(bias: torch.Tensor, bits: int) -> Grid | None:
    return None if bits >= FLOAT_BITS else fixed_point(bits, float(bias.detach().abs().max()))


@dataclass
class Activity:
    """Per-layer event counts summed over the samples seen.

    ``synops`` counts, for every input event, the nonzero weights of that
    input's column: the exact synaptic operations, pruning included.
    """

    input_events: list[float]
    output_spikes: list[float]
    synops: list[float]
    samples: int = 0

    @classmethod
    def empty(cls, n_layers: int) -> "Activity":
        return cls([0.0] * n_layers, [0.0] * n_layers, [0.0] * n_layers)

    def record_inputs(self, layer: int, events: torch.Tensor, weight: torch.Tensor, steps: int = 1) -> None:
        """Events [..., N_in] (summed over all leading dims) into layer `layer` of weight [N_out, N_in]."""
        per_input = events.reshape(-1, events.shape[-1]).sum(0) * steps
        self.input_events[layer] += float(per_input.sum())
        self.synops[layer] += float(per_input @ (weight != 0).sum(0).to(per_input.dtype))


class DenseSNN(nn.Module):
    def __init__(self, design: Design, n_inputs: int, n_classes: int) -> None:
        super().__init__()
        self.design = design
        widths = [n_inputs, *design.hidden]
        self.hidden = nn.ModuleList(nn.Linear(a, b, bias=False) for a, b in zip(widths[:-1], widths[1:]))
        self.readout = nn.Linear(widths[-1], n_classes)
        for i, layer in enumerate(self.layers):
            self.register_buffer(f"mask{i}", torch.ones_like(layer.weight))
        bits = design.neuron_bits
        self.float_neuron = NeuronConfig(
            decay=design.decay if design.neuron == "lif" else 1.0,
            threshold=design.threshold,
            hard_reset=design.reset == "hard",
            surrogate=design.surrogate,
            scale=DEFAULT_SCALE[design.surrogate],
        )
        self.quant_neuron = replace(
            self.float_neuron,
            decay=quantized_constant(self.float_neuron.decay, bits, signed=False),
            threshold=quantized_constant(design.threshold, bits),
            state_grid=state_grid(bits, design.threshold),
            rounding=design.rounding,
        )
        self.frozen: Weights | None = None  # quantised weights for evaluation

    @property
    def layers(self) -> list[nn.Linear]:
        return [*self.hidden, self.readout]

    def masks(self) -> list[torch.Tensor]:
        return [getattr(self, f"mask{i}") for i in range(len(self.layers))]

    # ---- weights ----------------------------------------------------------------
    def prune(self, rate: float) -> None:
        for layer, mask in zip(self.layers, self.masks()):
            mask.copy_(update_mask(layer.weight, mask, rate))
        self.frozen = None

    def train_weights(self, generator: torch.Generator | None) -> Weights:
        d = self.design
        qat = d.quantization == "qat"
        # The mask comes last (LitE-SNN: W_out = mask * Q(W)): a mid-rise grid has no zero level.
        matrices = [quantize_weight(layer.weight, d.weight_bits, d.rounding, generator, train=True)
                    if qat else layer.weight for layer in self.layers]
        if d.pruning > 0:
            matrices = [w * mask for w, mask in zip(matrices, self.masks())]
        bias = self.readout.bias
        if qat:
            bias = fake_quant(bias, bias_grid(bias, d.weight_bits), d.rounding, generator)
        return Weights(matrices, bias)

    def freeze(self, generator: torch.Generator | None) -> Weights:
        """Quantise the masked weights once (PTQ, and QAT's final weights)."""
        d = self.design
        with torch.no_grad():
            matrices = [quantize_weight(layer.weight, d.weight_bits, d.rounding, generator) * mask
                        for layer, mask in zip(self.layers, self.masks())]
            bias = self.readout.bias.detach()
            grid = bias_grid(bias, d.weight_bits)
            if grid is not None:
                bias = quantize(bias, grid, d.rounding, generator)
        self.frozen = Weights(matrices, bias)
        return self.frozen

    def nonzero_weights(self) -> list[int]:
        assert self.frozen is not None, "freeze() first"
        return [int(torch.count_nonzero(w)) for w in self.frozen.matrices]

    # ---- forward ----------------------------------------------------------------
    def neuron_config(self, training: bool) -> NeuronConfig:
        quantized = self.design.neuron_bits < FLOAT_BITS and (
            not training or self.design.quantization == "qat")
        return self.quant_neuron if quantized else self.float_neuron

    def forward(self, x: torch.Tensor, steps: int, params: Weights,
                cfg: NeuronConfig, generator: torch.Generator | None = None,
                activity: Activity | None = None) -> torch.Tensor:
        """Logits [B, classes] for inputs [B, F] over `steps` timesteps."""
        batch, weights = x.shape[0], params.matrices
        if self.design.coding == "rate":
            inputs = torch.bernoulli(x.expand(steps, *x.shape), generator=generator)
            current = inputs @ weights[0].t()
        else:
            inputs = x
            current = x @ weights[0].t()  # constant in time: [B, N]
        if activity is not None:
            activity.record_inputs(0, (inputs != 0).to(x.dtype), weights[0], steps if inputs.dim() == 2 else 1)
            activity.samples += batch
        spikes = rate = None
        last = len(weights) - 2
        for i, w in enumerate(weights[:-1]):
            if i > 0:
                current = (spikes.reshape(steps * batch, -1) @ w.t()).view(steps, batch, -1)
            noise = None
            if cfg.state_grid is not None and cfg.rounding == "stochastic":
                shape = (steps, batch, w.shape[0])
                noise = torch.rand(shape, generator=generator, device=x.device, dtype=x.dtype)
            if i < last:
                spikes = lif(current, steps, cfg, noise)
                events = spikes.detach()
            else:  # the readout only needs the mean spike train
                rate = lif(current, steps, cfg, noise, rate=True)
                events = rate.detach() * steps
            if activity is not None:
                activity.output_spikes[i] += float(events.sum())
                activity.record_inputs(i + 1, events, weights[i + 1])
        return rate @ weights[-1].t() + params.bias
