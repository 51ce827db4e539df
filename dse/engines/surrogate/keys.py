"""Search keys of the surrogate-gradient engine (Contract 4, LitE-SNN seed)."""

from __future__ import annotations

from ...keys import Key

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
)}
