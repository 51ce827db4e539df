"""The layer plan and shapes of a TTFS network, without torch.

A network is ``input -> [conv3x3 -> BN -> TTFS (-> 2x2 max-pool)] x conv ->
[dense -> BN -> TTFS] x hidden -> dense readout``. The pixels reach the first
layer as values (``input_coding = "analog"``: dense MACs, like direct coding)
or as spikes of their own population (``"ttfs"``: SynOps), every hidden
population fires at most once, and the readout integrates without firing.

With spiking input the input population is a layer of the profile,
``"input"`` (:func:`input_population`): no weights, one neuron per pixel, its
spikes counted in ``spikes_per_sample`` and in the spike-based energies as the
seed counts them (its spike sparsity S / N divides by input + hidden + readout
neurons: 280,586 for VGG-16 on CIFAR-10, which gives the table's 930.91 % for
the rate-coding row's 2.612e6 spikes). Before, it was not, so a digits network
sent ~33 input spikes per sample into layer 1 (that layer's ``input_events``)
while ``spikes_per_sample`` counted only the ~15 of the hidden populations.

:func:`plan` is the one description of that network: the model builds its
modules from it and :func:`static_profile` names the layers and counts the
weights from it, so the feasibility pre-check and the trained profile always
describe the same network.

Latency (docs/engines.md section 3, the seed's run script, ``544 = 16 x 32 + 32``
for VGG-16): ``(N_w + 1) x T_w`` steps for N_w weight layers, one window per
population, input and readout included.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hwmodels import LayerProfile, Profile

from .._base import DataShape
from ..layer_bits import bits_per_layer

if TYPE_CHECKING:
    from .._base import Design

FLOAT_STATE_BITS = 32
"""The engine has no neuron_bits key: membrane potentials and kernel parameters
are float32 (32 bits) in the profile."""

POOL = 0
"""In ``conv``, 0 marks a 2x2 max-pool (VGG's "M")."""


@dataclass(frozen=True)
class LayerPlan:
    """One weight layer: its input and output shapes and what follows it.

    ``in_shape`` / ``out_shape`` are (C, H, W) for conv layers and (F,) for
    dense ones; ``pool`` is true where a 2x2 max-pool follows the layer's
    spikes (the earliest spike of each window passes).
    """

    name: str
    kind: str  # "conv2d" or "dense"
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    pool: bool = False
    readout: bool = False

    @property
    def n_inputs(self) -> int:
        return math.prod(self.in_shape)

    @property
    def n_neurons(self) -> int:
        return math.prod(self.out_shape)

    @property
    def n_weights(self) -> int:
        if self.kind == "conv2d":
            return self.out_shape[0] * self.in_shape[0] * 9
        return self.n_inputs * self.n_neurons

    @property
    def positions(self) -> int:
        """Output positions that share each weight (H x W for conv, 1 for dense)."""
        return math.prod(self.out_shape[1:]) if self.kind == "conv2d" else 1

    @property
    def bias_count(self) -> int:
        """Folded batch-norm biases: one per channel (conv) or neuron (dense, readout)."""
        return self.out_shape[0]


def plan(design: "Design", data: DataShape) -> tuple[LayerPlan, ...]:
    """The weight layers of the design on this data set, in order.

    Raises ``ValueError`` for a conv stack that cannot be built (a pool that
    does not follow a convolution, or a map too small to pool).
    """
    conv = tuple(design.conv or ())
    layers: list[LayerPlan] = []
    shape: tuple[int, ...] = tuple(data.shape)
    for i, width in enumerate(conv):
        if width == POOL:
            if not layers or layers[-1].pool:
                raise ValueError(f"conv {list(conv)}: a 0 (2x2 max-pool) must follow a convolution "
                                 f"(position {i})")
            c, h, w = layers[-1].out_shape
            if h < 2 or w < 2:
                raise ValueError(f"conv {list(conv)}: the {h}x{w} map at position {i} is too small to pool")
            layers[-1] = LayerPlan(layers[-1].name, "conv2d", layers[-1].in_shape, (c, h, w), pool=True)
            shape = (c, h // 2, w // 2)
            continue
        n = sum(1 for layer in layers if layer.kind == "conv2d") + 1
        layers.append(LayerPlan(f"conv{n}", "conv2d", shape, (width, *shape[1:])))
        shape = (width, *shape[1:])
    features = math.prod(shape)
    for i, width in enumerate(design.hidden or ()):
        layers.append(LayerPlan(f"fc{i + 1}", "dense", (features,), (width,)))
        features = width
    layers.append(LayerPlan("out", "dense", (features,), (data.n_classes,), readout=True))
    return tuple(layers)


def latency(design: "Design", data: DataShape) -> int:
    """Simulated steps per sample: ``(N_w + 1) x T_w``."""
    return (len(plan(design, data)) + 1) * design.window


def kept(numel: int, pruning: float) -> int:
    """Weights left after magnitude pruning at rate p: the floor(p * numel) smallest go."""
    return numel - math.floor(pruning * numel)


def neuron_params(design: "Design", layer: LayerPlan, spiking_input: bool, bits: int) -> dict[str, tuple[int, int]]:
    """What a layer stores besides its weights.

    Every layer: a membrane potential per neuron and the folded batch-norm bias
    (at the layer's weight precision, `bits`), plus, where its input is spikes, the (tau, t_d)
    of the kernel that decodes them. Hidden layers also hold theta0 for their
    dynamic threshold (their own kernel is stored by the layer they feed).
    """
    params = {"v_mem": (layer.n_neurons, FLOAT_STATE_BITS), "bias": (layer.bias_count, bits)}
    if spiking_input:
        params["kernel"] = (2, FLOAT_STATE_BITS)
    if not layer.readout:
        params["v_th"] = (1, FLOAT_STATE_BITS)
    return params


INPUT = "input"
"""The name of the input population's layer (spiking input only)."""


def input_population(design: "Design", data: DataShape, kind: str) -> LayerProfile:
    """The pixels' own population (``input_coding = "ttfs"``): one neuron per pixel that
    loads its pixel (V = x: a write, no MAC) and fires once in window 1 against its
    dynamic threshold; no weights (its kernel is stored by layer 1, which decodes it)."""
    n = math.prod(data.shape)
    return LayerProfile(name=INPUT, kind=kind, n_inputs=n, n_neurons=n, n_weights=0, n_nonzero=0,
                        weight_bits=design.weight_bits,
                        neuron_params={"v_mem": (n, FLOAT_STATE_BITS), "v_th": (1, FLOAT_STATE_BITS)},
                        spiking_input=False)


def static_profile(design: "Design", data: DataShape) -> Profile:
    """The design's Profile before training: shapes exact, activity zero.

    A layer integrates only in its own window, T_w of the ``(N_w + 1) x T_w``
    steps, and analog input is added once, so ``macs_per_step`` spreads a
    layer's dense work over all the steps (rounded up): ``macs_per_step x
    timesteps`` is the dense work of a time-stepped simulation,
    ``n_weights x positions`` x (T_w for spiking input, 1 for analog).
    Spiking input puts the input population first (:func:`input_population`).
    """
    layers = []
    steps = latency(design, data)
    layer_plan = plan(design, data)
    bits = bits_per_layer(design, len(layer_plan))
    if design.input_coding == "ttfs":
        layers.append(input_population(design, data, layer_plan[0].kind))
    for i, layer in enumerate(layer_plan):
        nonzero = kept(layer.n_weights, design.pruning)
        spiking = i > 0 or design.input_coding == "ttfs"
        dense_work = layer.n_weights * layer.positions * (design.window if spiking else 1)
        layers.append(LayerProfile(
            name=layer.name,
            kind=layer.kind,
            n_inputs=layer.n_inputs,
            n_neurons=layer.n_neurons,
            n_weights=layer.n_weights,
            n_nonzero=nonzero,
            weight_bits=bits[i],
            neuron_params=neuron_params(design, layer, spiking, bits[i]),
            macs_per_step=-(-dense_work // steps),
            fan_out=nonzero * layer.positions / layer.n_inputs,
            spiking_input=spiking,
        ))
    return Profile(layers=tuple(layers), timesteps=steps, coding="ttfs",
                   accuracy=None, phase="inference")
