"""The time step and threshold test every NIR export shares (:mod:`.nir` for surrogate networks,
:mod:`.nir_stdp` for STDP ones): one place, so both convert the engines' discrete steps alike."""

from __future__ import annotations

import numpy as np

DT = 1e-4
"""The Euler step the exported time constants assume (snnTorch 1.0's ``import_from_nir`` uses it)."""


def below(threshold: float) -> float:
    """The largest float32 below `threshold`: ``v > below(theta)`` is ``v >= theta`` for float32 v."""
    return float(np.nextafter(np.float32(threshold), np.float32(-np.inf)))
