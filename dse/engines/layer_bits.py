"""Precision per weight layer (``layer_bits``), shared by every engine; torch-free.

Contract 4: with ``layer_bits = true`` in a design, each weight layer takes its own
bit width, one search parameter per layer (``weight_bits_l{i}``, drawn like the
spec's ``weight_bits``), as ``cell_bits`` does per cell of a surrogate cell
network. Layers are numbered in the order of the engine's Profile layers that
hold weights (the surrogate's dense stack and the TTFS network: every hidden layer,
then the readout; STDP: ``x_ae`` then its inhibitory connections). The design then
holds the tuple in ``layer_bits`` and ``weight_bits`` = the lowest of them, so the
"is anything quantised" tests of the engines (``weight_bits < 32``) stay true
exactly when a layer is quantised; nothing else reads ``weight_bits`` of such a
design. A ``weight_bits`` post-training variant sets one precision for every
layer (:func:`variant_design` clears ``layer_bits``).

Written by hand: the per-item expansion follows :mod:`dse.engines.surrogate.expand`;
there is no library for it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable, Mapping

if TYPE_CHECKING:
    from ..param import Param
    from ._base import Design


def expand_layer_bits(design: "Design", n_layers: int, pick: Callable[[str, "Param"], Any],
                      params: Mapping[str, "Param"]) -> dict[str, Any]:
    """``layer_bits`` and ``weight_bits`` of a design with `n_layers` weight layers."""
    if isinstance(design.layer_bits, tuple):  # given per layer
        bits = design.layer_bits
    elif pick("layer_bits", params["layer_bits"]):
        bits = tuple(pick(f"weight_bits_l{i}", params["weight_bits"]) for i in range(n_layers))
    else:
        return {"layer_bits": None, "weight_bits": pick("weight_bits", params["weight_bits"])}
    if len(bits) != n_layers or not all(isinstance(b, int) and 1 <= b <= 32 for b in bits):
        raise ValueError(f"layer_bits: expected {n_layers} integers 1..32 (one per weight layer), got {list(bits)}")
    return {"layer_bits": tuple(bits), "weight_bits": min(bits)}


def bits_per_layer(design: "Design", n_layers: int) -> tuple[int, ...]:
    """Weight bits of each of the design's `n_layers` weight layers."""
    if isinstance(design.layer_bits, tuple):
        if len(design.layer_bits) != n_layers:
            raise ValueError(f"layer_bits: expected {n_layers} integers, got {list(design.layer_bits)}")
        return design.layer_bits
    return (design.weight_bits,) * n_layers


def variant_design(design: "Design", params: Mapping[str, Any]) -> "Design":
    """The design a post-training variant describes: a ``weight_bits`` variant sets every
    layer's precision, so it clears ``layer_bits``."""
    changed = dict(params)
    if "weight_bits" in changed:
        changed["layer_bits"] = None
    return replace(design, **changed)
