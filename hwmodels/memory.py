"""Memory footprint of weights and neuron parameters (tinySNN Eq. 4).

.. math::

    \\mathrm{Mem} = \\sum_l N^{w}_l \\, b^{w}_l + \\sum_k N^{n}_k \\, b^{n}_k

Putra & Shafique, "tinySNN", Eq. 4: weights times their bit width plus every
neuron parameter kind k (membrane potential, threshold, ...) times its bit width.
The stored weight count depends on ``sparse_format`` (docs/cost-models.md, "Memory"):

- ``ideal``: only the nonzero weights, ``n_nonzero * b`` (LitE-SNN's model size
  ``(1 - p) C_in C_out K^2 b``);
- ``dense``: every weight, zeros included, ``n_weights * b``;
- ``bitmask``: the nonzero weights plus one presence bit per weight;
- ``csr``: each nonzero weight with a column index of ``ceil(log2(n_inputs))``
  bits, plus one 32-bit row pointer per neuron. The profile's n_inputs and
  n_neurons include spatial positions, so for convolutions this follows the
  formula literally (an upper bound for a kernel stored once).
"""

from __future__ import annotations

import math

from ._base import CostModel, Option
from .validation import StrOptions
from .profile import LayerProfile, Profile

SPARSE_FORMATS = ("ideal", "dense", "bitmask", "csr")
ROW_POINTER_BITS = 32


def index_bits(n_inputs: int) -> int:
    """Bits of a column index over `n_inputs` columns (at least 1)."""
    return max(1, math.ceil(math.log2(n_inputs))) if n_inputs > 1 else 1


def weight_bits(layer: LayerProfile, sparse_format: str, bits: int | None = None) -> float:
    """Bits to store one layer's weights in the given format (at `bits` each if given)."""
    b = layer.weight_bits if bits is None else bits
    if sparse_format == "ideal":
        return layer.n_nonzero * b
    if sparse_format == "dense":
        return layer.n_weights * b
    if sparse_format == "bitmask":
        return layer.n_nonzero * b + layer.n_weights
    return layer.n_nonzero * (b + index_bits(layer.n_inputs)) + ROW_POINTER_BITS * layer.n_neurons


def neuron_bits(layer: LayerProfile, bits: int | None = None) -> float:
    """Bits of the layer's neuron parameters: sum over kinds of count x bits (or x `bits`)."""
    if bits is not None:
        return bits * sum(count for count, _ in layer.neuron_params.values())
    return sum(count * b for count, b in layer.neuron_params.values())


def layer_bits(layer: LayerProfile, sparse_format: str = "ideal", bits: int | None = None) -> float:
    """Bits of one layer: its weights in the given format plus its neuron parameters,
    as stored, or with every weight and parameter at `bits` bits."""
    return weight_bits(layer, sparse_format, bits) + neuron_bits(layer, bits)


def memory_bits(profile: Profile, sparse_format: str = "ideal", bits: int | None = None) -> float:
    """Eq. 4 over the whole profile; `bits` as in :func:`layer_bits`
    (``memory_bits(p, f, 32) == memory_bits(p.with_bits(32), f)``)."""
    return sum(layer_bits(l, sparse_format, bits) for l in profile.layers)


class MemoryModel(CostModel):
    name = "memory"
    metrics = {"memory_bits": "bit", "memory_bytes": "B"}
    options = {
        "sparse_format": Option(
            "ideal", StrOptions(SPARSE_FORMATS),
            "how pruned weights are stored: ideal (nonzeros only), dense, bitmask, csr"),
    }
    additive = frozenset(metrics)
    static = frozenset(metrics)

    def layer_estimates(self, profile: Profile, sparse_format: str = "ideal", **_: object):
        out = {}
        for layer in profile.layers:
            bits = layer_bits(layer, sparse_format)
            out[layer.name] = {"memory_bits": bits, "memory_bytes": bits / 8}
        return out
