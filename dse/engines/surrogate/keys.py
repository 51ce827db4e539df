"""Search keys of the surrogate-gradient engine (Contract 4, LitE-SNN seed)."""

from __future__ import annotations

from ...keys import Key
from .shapes import CELL_OPS

NEURONS = ("lif", "if")
SURROGATES = ("atan", "fast-sigmoid", "dspike")
CODINGS = ("direct", "rate")
RESETS = ("hard", "soft")

KEYS: dict[str, Key] = {k.name: k for k in (
    Key("hidden", "ints", (128,), "widths of the hidden layers of a dense stack", low=1, high=65536),
    Key("neuron", "str", "lif", "lif: leaky integrate-and-fire; if: integrate-and-fire (no leak)",
        options=NEURONS),
    Key("surrogate", "str", "atan", "surrogate gradient of the spike function", options=SURROGATES),
    Key("coding", "str", "direct", "direct: analog input every step (MACs); rate: Bernoulli spikes",
        options=CODINGS),
    Key("threshold", "float", 1.0, "firing threshold of the membrane potential", low=1e-6, high=1e6),
    Key("decay", "float", 0.5, "membrane decay per step of a LIF neuron, u <- decay*u + I",
        low=0.0, high=1.0),
    Key("reset", "str", "hard", "hard: to zero after a spike; soft: subtract the threshold",
        options=RESETS),
    Key("surrogate_scale", "float", 0.0, "the surrogate's sharpness: atan alpha, fast-sigmoid k, "
        "Dspike temperature b (0 = its default: 2, 25, 3)", low=0.0, high=1e4),
    Key("channels", "int", 16, "channels of the stem convolution (cell networks)", low=1, high=4096),
    Key("cells", "int", 0, "searchable cells after the stem; 0 = a dense stack of `hidden`", low=0, high=64),
    Key("nodes", "int", 3, "nodes per cell, each fed by two edges", low=1, high=16),
    Key("ops", "str", "conv3x3", "candidate operations: every edge of every cell picks one",
        options=CELL_OPS),
    Key("cell_bits", "bool", False, "true: weight_bits chosen per cell (LitE-SNN mixed precision)"),
    Key("io_bits", "int", 0, "with cell_bits: bits of the stem and the readout (LitE-SNN keeps 4); "
        "0 = weight_bits", low=0, high=32),
)}
