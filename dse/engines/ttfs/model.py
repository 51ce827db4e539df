"""The surrogate DNN of a TTFS network (Park & Yoon, section 3), and its frozen form.

Training runs the surrogate: each hidden layer is ``z = BN(W h)`` followed by
the TTFS activation of eq. 5 (:mod:`.kernel`) with its population's trainable
kernel (tau, t_d); with stochastic relaxation a layer takes ``ReLU(z)``
instead, drawn per layer and step. The pixels reach layer 1 as ``input_coding``
says: ``analog`` (the default, docs/engines.md section 3 and the seed's code: layer 1
computes ``W x`` once, as direct coding does) or ``ttfs`` (the seed's text, "we
encoded the input intensity into spike time": population 0 turns each pixel
into a spike time through its own kernel, so every layer receives spikes). The
readout ``W h + b`` integrates without firing and gives the logits.

:meth:`TTFSNet.freeze` folds each batch norm into its layer (docs/engines.md
section 3: ``W' = gamma W / sigma``, ``b' = beta - gamma mu / sigma``),
quantises the folded weights and biases at ``weight_bits`` (each layer at its own
with ``layer_bits``) and applies the pruning mask. :func:`infer` runs that frozen network in closed form (eq. 5 with
ceil), the reference the event-driven simulator is checked against.

Quantisation: ``ptq`` quantises the folded weights once after training;
``qat`` folds the batch norm into the weights in every training step, with
the batch's statistics, and fake-quantises the folded weights and biases
(Jacob et al., CVPR 2018, section 3.2, without their running-statistics
correction), so training sees the grid the network is stored on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .._base import Design
from .._base import DataShape
from ..layer_bits import bits_per_layer
from ..pruning import Prunable
from ..quant import FLOAT_BITS, bias_grid, fake_quant, quantize, quantize_weight
from .kernel import MIN_TAU, decode, spike_time, ttfs, x_min
from .shapes import LayerPlan, plan

ACTIVATIONS = ("ttfs", "relu")


@dataclass
class Frozen:
    """A trained network as it runs on hardware: BN folded, weights quantised and masked."""

    plan: tuple[LayerPlan, ...]
    weights: list[torch.Tensor]
    biases: list[torch.Tensor]
    tau: torch.Tensor  # [populations], clamped at MIN_TAU
    t_d: torch.Tensor
    window: int
    theta0: float
    analog_input: bool = False
    """Pixels enter layer 1 as values (no input population, no input spikes)."""

    def op(self, i: int, h: torch.Tensor, bias: bool = True) -> torch.Tensor:
        """Layer i's synaptic input (with its folded bias unless bias=False)."""
        return synaptic(self.plan[i].kind, h, self.weights[i], self.biases[i] if bias else None)

    def kernel(self, population: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.tau[population], self.t_d[population]


def synaptic(kind: str, h: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
    """``W h + b`` of a 3x3 same-padded convolution or a dense layer (input flattened)."""
    if kind == "conv2d":
        return F.conv2d(h, w, b, padding=1)
    return F.linear(h.flatten(1), w, b)


def fold_bn(w: torch.Tensor, norm: nn.modules.batchnorm._BatchNorm, mean: torch.Tensor,
            var: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """BN folded into the layer before it (docs/engines.md section 3):
    ``W' = gamma W / sigma``, ``b' = beta - gamma mu / sigma``, ``sigma = sqrt(var + eps)``."""
    scale = norm.weight / torch.sqrt(var + norm.eps)
    return w * scale.view(-1, *([1] * (w.dim() - 1))), norm.bias - scale * mean


def pool(h: torch.Tensor) -> torch.Tensor:
    """2x2 max-pool of decoded values: the earliest spike of each window."""
    return F.max_pool2d(h, 2)


def pool_times(t: torch.Tensor) -> torch.Tensor:
    """The same pooling on spike times (earliest = smallest)."""
    return -F.max_pool2d(-t, 2)


class TTFSNet(Prunable, nn.Module):
    """The surrogate DNN: the layers of :func:`.shapes.plan` with BN and temporal kernels.

    Populations: 0 is the input, i + 1 the output of hidden layer i; each has
    one tau and one t_d (trainable, initialised from the design).
    """

    def __init__(self, design: Design, data: DataShape) -> None:
        super().__init__()
        self.design = design
        self.plan = plan(design, data)
        self.bits = bits_per_layer(design, len(self.plan))
        self.layers = nn.ModuleList()
        self.norms = nn.ModuleList()
        for layer in self.plan:
            if layer.kind == "conv2d":
                self.layers.append(nn.Conv2d(layer.in_shape[0], layer.out_shape[0], 3, padding=1, bias=False))
                self.norms.append(nn.BatchNorm2d(layer.out_shape[0]))
            else:
                self.layers.append(nn.Linear(layer.n_inputs, layer.n_neurons, bias=layer.readout))
                if not layer.readout:
                    self.norms.append(nn.BatchNorm1d(layer.n_neurons))
        populations = len(self.plan)  # the input and every hidden layer
        self.tau = nn.Parameter(torch.full((populations,), float(design.tau)))
        self.t_d = nn.Parameter(torch.full((populations,), float(design.t_d)))
        self.register_masks()
        self.frozen: Frozen | None = None

    @property
    def matrices(self) -> list[torch.Tensor]:
        return [layer.weight for layer in self.layers]

    def nonzero_weights(self, net: Frozen | None = None) -> list[int]:
        """Nonzero weights per layer of `net` (default: the frozen network)."""
        net = net if net is not None else self.frozen
        assert net is not None, "freeze() first"
        return [int(torch.count_nonzero(w)) for w in net.weights]

    def param_groups(self, weight_decay: float) -> list[tuple[list[nn.Parameter], float]]:
        """(parameters, weight decay): the weights decay; BN, readout bias and the kernels do not
        (decay would pull tau towards 0)."""
        weights = self.matrices
        rest = [*self.norms.parameters(), self.layers[-1].bias]
        return [(weights, weight_decay), (rest, 0.0), ([self.tau, self.t_d], 0.0)]

    @property
    def qat(self) -> bool:
        return self.design.quantization == "qat" and self.design.weight_bits < FLOAT_BITS

    # ---- training forward ------------------------------------------------------------
    def forward(self, x: torch.Tensor, relaxed: Sequence[bool] = (), activation: str = "ttfs",
                generator: torch.Generator | None = None) -> torch.Tensor:
        """Logits of the surrogate in training mode.

        ``relaxed[p]``: population p takes ReLU instead of TTFS this step
        (stochastic relaxation). ``activation="relu"`` is the same network with
        ReLU everywhere (the speed baseline).
        """
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
        relu = activation == "relu"
        h = x if self.plan[0].kind == "conv2d" else x.flatten(1)
        if self.design.input_coding == "ttfs":
            h = self._activate(h, 0, relu or _get(relaxed, 0))
        for i, (layer, spec) in enumerate(zip(self.layers, self.plan)):
            if spec.readout:
                w, b = self._train_weight(i, generator), layer.bias
                if self.qat:
                    b = fake_quant(b, bias_grid(b, self.bits[i]), self.design.rounding, generator)
                return F.linear(h.flatten(1), w, b)
            z = self._normalised(i, h, generator)
            h = self._activate(z, i + 1, relu or _get(relaxed, i + 1))
            if spec.pool:
                h = pool(h)
        raise AssertionError("a plan ends with its readout")

    def _activate(self, z: torch.Tensor, population: int, relaxed: bool) -> torch.Tensor:
        if relaxed:
            return torch.relu(z)
        return ttfs(z, self.tau[population], self.t_d[population], self.design.theta0, self.design.window, True)

    def _train_weight(self, i: int, generator: torch.Generator | None) -> torch.Tensor:
        """Masked weights; the readout's fake-quantised with QAT (hidden layers quantise after folding)."""
        w = self.layers[i].weight
        if self.qat and self.plan[i].readout:
            w = quantize_weight(w, self.bits[i], self.design.rounding, generator, train=True)
        return w * self.masks()[i]

    def _normalised(self, i: int, h: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """``BN(W h)``; with QAT the BN is folded into fake-quantised weights (batch statistics)."""
        w = self._train_weight(i, generator)
        kind, norm = self.plan[i].kind, self.norms[i]
        if not self.qat or not self.training:
            return norm(synaptic(kind, h, w))
        y = synaptic(kind, h, w)
        dims = (0, 2, 3) if kind == "conv2d" else (0,)
        mean, var = y.mean(dims), y.var(dims, unbiased=False)
        with torch.no_grad():  # the running statistics, as nn.BatchNorm keeps them
            n = y.numel() // y.shape[1]
            norm.running_mean.lerp_(mean, norm.momentum)
            norm.running_var.lerp_(var * n / max(1, n - 1), norm.momentum)
            norm.num_batches_tracked += 1
        folded, bias = fold_bn(w, norm, mean, var)
        bits, rounding = self.bits[i], self.design.rounding
        folded = quantize_weight(folded, bits, rounding, generator, train=True) * self.masks()[i]
        bias = fake_quant(bias, bias_grid(bias, bits), rounding, generator)
        return synaptic(kind, h, folded, bias)

    # ---- training aids -----------------------------------------------------------------
    def pruning_thresholds(self) -> torch.Tensor:
        """``theta0 x_m`` of each hidden population (detached): below it, no spike."""
        with torch.no_grad():
            tau = self.tau[1:].clamp(min=MIN_TAU)
            return self.design.theta0 * x_min(tau, self.t_d[1:], self.design.window)

    # ---- frozen network ---------------------------------------------------------------
    @torch.no_grad()
    def freeze(self, generator: torch.Generator | None = None) -> Frozen:
        """Fold BN (running statistics), quantise weights and biases, apply the masks."""
        self.frozen = self.frozen_as(self.bits, self.design.rounding, self.masks(), generator)
        return self.frozen

    @torch.no_grad()
    def frozen_as(self, bits: Sequence[int], rounding: str, masks: list[torch.Tensor],
                  generator: torch.Generator | None = None) -> Frozen:
        """The frozen network at `bits` (per weight layer) with `rounding` and `masks`, the module left as it is.

        :meth:`freeze` takes the design's settings; a post-training variant its own
        (PTQ of the float weights at other bits, or a sparser magnitude mask).
        """
        weights, biases = [], []
        for i, (layer, mask) in enumerate(zip(self.layers, masks)):
            w = layer.weight * mask
            if self.plan[i].readout:
                b = layer.bias.clone()
            else:
                norm = self.norms[i]
                w, b = fold_bn(w, norm, norm.running_mean, norm.running_var)
            weights.append(quantize_weight(w, bits[i], rounding, generator) * mask)
            grid = bias_grid(b, bits[i])
            biases.append(b if grid is None else quantize(b, grid, rounding, generator))
        return Frozen(self.plan, weights, biases, self.tau.detach().clamp(min=MIN_TAU).clone(),
                      self.t_d.detach().clone(), self.design.window, float(self.design.theta0),
                      analog_input=self.design.input_coding != "ttfs")


def _get(flags: Sequence[bool], i: int) -> bool:
    return bool(flags[i]) if i < len(flags) else False


@torch.no_grad()
def infer(net: Frozen, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The frozen surrogate in closed form: logits and every population's spike times.

    Spike times are integers in 0..T_w-1, or T_w for a neuron that stays
    silent; population 0 is the input (absent with analog input). Pooled
    layers' times are before pooling.
    """
    h = x if net.plan[0].kind == "conv2d" else x.flatten(1)
    times = []
    for population in range(len(net.plan)):
        if population > 0:
            h = net.op(population - 1, h)
        elif net.analog_input:
            continue  # the pixels themselves reach layer 1
        tau, t_d = net.kernel(population)
        t = spike_time(h, tau, t_d, net.theta0, net.window)
        times.append(t)
        h = decode(t, tau, t_d, net.window)
        if population > 0 and net.plan[population - 1].pool:
            h = pool(h)
    return net.op(len(net.plan) - 1, h), times
