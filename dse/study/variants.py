"""Which post-training variants to read off a trained design, and how they are stored.

From the spec's ``[variants]`` and the trained design: every combination of
``weight_bits`` x ``rounding`` other than the design's own (post-training
quantisation of its float weights), every ``pruning`` rate above the design's
(magnitude pruning of the trained weights, no fine-tuning: a lower rate would
need the pruned weights back), and every ``timesteps`` other than the
design's. Only keys the engine can evaluate are asked for.
"""

from __future__ import annotations

import itertools
from typing import Any, Mapping

from ..engines import Design, Engine, Variant


def requests(variants: Mapping[str, tuple[Any, ...]], design: Design, engine: Engine) -> tuple[dict[str, Any], ...]:
    """The variants the engine evaluates for this design, each the keys it changes."""
    able = set(engine.variant_keys)
    out = _quantised(variants, design, able)
    if "pruning" in able:
        out += [{"pruning": p} for p in variants.get("pruning", ()) if p > design.pruning]
    if "timesteps" in able:
        out += [{"timesteps": t} for t in variants.get("timesteps", ()) if t != design.timesteps]
    return tuple(out)


def _quantised(variants: Mapping[str, tuple[Any, ...]], design: Design, able: set[str]) -> list[dict[str, Any]]:
    """Every (bits, rounding) the spec lists, other than the design's own. A design with bits
    per layer or per cell (``layer_bits``, ``cell_bits``) has no one precision of its own: any
    ``weight_bits`` variant sets every layer to it, so none is the design itself."""
    axes = [(k, variants[k] if k in variants and k in able else (getattr(design, k, None),))
            for k in ("weight_bits", "rounding")]
    mixed = any(isinstance(getattr(design, k, None), tuple) for k in ("layer_bits", "cell_bits"))
    out = []
    for combo in itertools.product(*(values for _, values in axes)):
        changed = {k: v for (k, _), v in zip(axes, combo)
                   if v != getattr(design, k, None) or (k == "weight_bits" and mixed and k in variants)}
        if changed:
            out.append(changed)
    return out


def lineage_params(variant: Variant, design: Design) -> dict[str, Any]:
    """What the variant changes, as stored: a quantised variant of an in-training-quantised
    design is quantised after training."""
    params = dict(variant.params)
    if {"weight_bits", "rounding"} & set(params) and getattr(design, "quantization", "ptq") != "ptq":
        params["quantization"] = "ptq"
    return params
