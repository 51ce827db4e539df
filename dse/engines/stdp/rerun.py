"""A stored STDP network run again (``dse evaluate``) or re-derived for a variant (``dse export
--variant``): the engine's own labelled vote (:func:`.engine.vote_accuracy`) with the stored
labels, on :mod:`.stored`'s arrays, and its variant recipe (:func:`.stored.variant_network`).

The interface every engine that keeps its network has (:func:`dse.deploy.evaluate.engine_runner`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from hwmodels import Profile

from .engine import single_thread, vote_accuracy
from .network import Counts
from .shapes import profile
from .stored import restore, variant_network

__all__ = ["evaluate", "variant_network"]


def evaluate(network: dict[str, Any], x: np.ndarray, y: np.ndarray, variant: dict[str, Any] | None = None,
             device: str = "cpu") -> Profile:
    """Accuracy and measured activity of a stored network (or of one of its variants) on images `x`
    and labels `y`: the stored labels vote, the input spikes are drawn from where the trial's test
    evaluation started, so its test split gives the stored accuracy exactly."""
    if variant:
        network = variant_network(network, variant, device)
    restored = restore(network, device)
    net, design = restored.net, restored.design
    with single_thread(str(net.device)):
        xt = torch.from_numpy(np.ascontiguousarray(x)).to(net.device)
        yt = torch.from_numpy(np.ascontiguousarray(y)).to(net.device)
        counts = Counts()
        accuracy = vote_accuracy(net, xt.reshape(len(xt), -1).float(), yt, design.timesteps,
                                 restored.assignment, restored.shape.n_classes, counts)
    return profile(design, restored.shape, "inference", counts.activity(), accuracy)
