"""A stored surrogate network run again (``dse evaluate``) or re-derived for a variant (``dse export
--variant``): the engine's own evaluation (:func:`.engine.measure`) and variant recipe
(:func:`.engine.variant_weights`) applied to :mod:`.stored`'s arrays.

Each engine that keeps its network has a module of this name with ``evaluate`` and
``variant_network`` (:func:`dse.deploy.evaluate.engine_runner` finds it).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

from hwmodels import Profile

from ..runtime import device_generator
from .engine import measure, variant_design, variant_weights
from ..stored import design_meta, to_array
from .stored import evaluation_generator, restore


def evaluate(network: dict[str, Any], x: np.ndarray, y: np.ndarray, variant: dict[str, Any] | None = None,
             device: str = "cpu") -> Profile:
    """Accuracy and measured activity of a stored network (or of one of its variants, re-derived from
    the master weights by the engine's own recipe) on images `x` and labels `y`."""
    restored = restore(network, device)
    design, weights, cfg = restored.design, restored.weights, restored.cfg
    if variant:
        design = variant_design(restored.design, variant)
        weights, cfg = variant_weights(restored.model, restored.design, design, restored.shape,
                                       device_generator(restored.device, restored.seed + 2))
    xt = torch.from_numpy(np.ascontiguousarray(x)).to(restored.device)
    yt = torch.from_numpy(np.ascontiguousarray(y)).to(restored.device)
    data = SimpleNamespace(shape=restored.shape.shape, n_classes=restored.shape.n_classes)
    return measure(restored.model, design, data, xt, yt, design.timesteps,
                   evaluation_generator(restored), weights, cfg)


def variant_network(network: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The stored network of a variant: its design, and the weights its evaluation used (re-derived
    from the master weights by :func:`.engine.variant_weights` with the engine's seed)."""
    if not params:
        return network
    restored = restore(network)
    design = variant_design(restored.design, params)
    weights, cfg = variant_weights(restored.model, restored.design, design, restored.shape,
                                   device_generator(restored.device, restored.seed + 2))
    arrays = dict(network["arrays"])
    arrays.update({f"frozen.edge{i}": to_array(w) for i, w in enumerate(weights.edges)})
    arrays["frozen.readout"], arrays["frozen.bias"] = to_array(weights.readout), to_array(weights.bias)
    meta = dict(network["meta"], design=design_meta(design))
    meta["neuron"] = dict(meta["neuron"], rounding=cfg.rounding)
    return {**network, "meta": meta, "arrays": arrays}
