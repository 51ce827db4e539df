"""A stored TTFS network run again (``dse evaluate``) or re-derived for a variant: the engine's own
event-driven evaluation (:func:`.engine.measure`) on :mod:`.stored`'s frozen arrays, and its
variant recipe (:func:`.engine.variant_net`) applied to the stored surrogate.

The interface every engine that keeps its network has (:func:`dse.deploy.evaluate.engine_runner`).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

from hwmodels import Profile

from ..layer_bits import variant_design
from ..runtime import device_generator
from .engine import measure, variant_net
from .model import Frozen
from ..stored import design_meta
from .stored import Restored, frozen_arrays, restore

__all__ = ["evaluate", "variant_network"]


def _variant(restored: Restored, params: dict[str, Any]) -> tuple[Any, Frozen]:
    """A variant's design and frozen network, stochastic rounding seeded as the engine seeds it."""
    design = variant_design(restored.design, params)
    net = variant_net(restored.model, restored.design, design, device_generator(restored.device, restored.seed + 2))
    return design, net


def evaluate(network: dict[str, Any], x: np.ndarray, y: np.ndarray, variant: dict[str, Any] | None = None,
             device: str = "cpu") -> Profile:
    """Accuracy and measured activity of a stored network (or of one of its variants, re-derived from
    the stored surrogate by the engine's own recipe) on images `x` and labels `y`, simulated event
    by event as the trial's test evaluation was."""
    restored = restore(network, device)
    design, net = restored.design, restored.net
    if variant:
        design, net = _variant(restored, variant)
    xt = torch.from_numpy(np.ascontiguousarray(x)).to(restored.device)
    yt = torch.from_numpy(np.ascontiguousarray(y)).to(restored.device)
    data = SimpleNamespace(shape=restored.shape.shape, n_classes=restored.shape.n_classes)
    return measure(restored.model, design, data, xt, yt, net).profile


def variant_network(network: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The stored network of a variant: its design, and the frozen network its evaluation used."""
    if not params:
        return network
    design, net = _variant(restore(network), params)
    arrays = {**network["arrays"], **frozen_arrays(net)}
    return {**network, "meta": {**network["meta"], "design": design_meta(design)}, "arrays": arrays}
