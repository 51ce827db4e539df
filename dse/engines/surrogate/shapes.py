"""Shapes of a surrogate-engine network, without torch.

The same function names the layers and counts the weights for the feasibility
pre-check (activity zero) and for the trained network (the engine fills in the
measured activity), so both profiles always describe one network.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from hwmodels import LayerProfile, Profile

from .._base import DataShape

if TYPE_CHECKING:
    from ...space import Design


def kept(numel: int, pruning: float) -> int:
    """Weights left after magnitude pruning at rate p: the floor(p * numel) smallest go."""
    return numel - math.floor(pruning * numel)


def neuron_params(design: "Design", n: int) -> dict[str, tuple[int, int]]:
    """Membrane potential per neuron; threshold and decay shared by the layer."""
    bits = design.neuron_bits
    params = {"v_mem": (n, bits), "v_th": (1, bits)}
    if design.neuron == "lif":
        params["decay"] = (1, bits)
    return params


def dense_layers(design: "Design", data: DataShape) -> list[LayerProfile]:
    widths = [math.prod(data.shape), *design.hidden, data.n_classes]
    layers = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        readout = i == len(widths) - 2
        numel = n_in * n_out
        nonzero = kept(numel, design.pruning)
        if readout:
            # Non-spiking readout (LitE-SNN head): logits = mean over t of W s_t + b,
            # an accumulator and a bias per class.
            params = {"v_mem": (n_out, design.neuron_bits), "bias": (n_out, design.weight_bits)}
        else:
            params = neuron_params(design, n_out)
        layers.append(LayerProfile(
            name="out" if readout else f"fc{i + 1}",
            kind="dense",
            n_inputs=n_in,
            n_neurons=n_out,
            n_weights=numel,
            n_nonzero=nonzero,
            weight_bits=design.weight_bits,
            neuron_params=params,
            macs_per_step=numel,
            fan_out=nonzero / n_in,
            spiking_input=i > 0 or design.coding == "rate",
        ))
    return layers


def static_profile(design: "Design", data: DataShape) -> Profile:
    return Profile(layers=tuple(dense_layers(design, data)), timesteps=design.timesteps,
                   coding=design.coding, accuracy=None, phase="inference")
