"""The tinySNN reward: accuracy traded against normalised memory (tinySNN Eq. 3).

.. math::

    R = A - \\mu M, \\qquad M = \\mathrm{Mem}_q / \\mathrm{Mem}_{nq}

Putra & Shafique, "tinySNN", Eq. 3 (form assumed: the extracted text keeps the
symbols but not the equation, see docs/cost-models.md). A is the accuracy in [0, 1];
M is the design's memory (Eq. 4, :mod:`hwmodels.memory`, in the same
``sparse_format``) divided by the memory of the same network with every weight
and neuron parameter at 32 bits, so an unquantised model has M = 1. A larger
mu favours smaller models; ``dse select`` sweeps it (tinySNN Fig. 9).
"""

from __future__ import annotations

import math

from ._base import NON_NEGATIVE, CostModel, Option
from .validation import StrOptions
from .memory import SPARSE_FORMATS, memory_bits
from .profile import Profile

DEFAULT_MU = 0.5


def normalised_memory(profile: Profile, sparse_format: str = "ideal") -> float:
    reference = memory_bits(profile, sparse_format, bits=32)
    return memory_bits(profile, sparse_format) / reference if reference else 0.0


class RewardModel(CostModel):
    name = "reward"
    metrics = {"reward": "1", "memory_ratio": "1"}
    options = {
        "mu": Option(DEFAULT_MU, NON_NEGATIVE, "trade-off: reward = accuracy - mu * memory / memory at 32 bits"),
        "sparse_format": Option("ideal", StrOptions(SPARSE_FORMATS), "memory format, as the memory model's"),
    }
    static = frozenset({"memory_ratio"})

    def estimate(self, profile: Profile, mu: float = DEFAULT_MU, sparse_format: str = "ideal",
                 **_: object) -> dict[str, float]:
        ratio = normalised_memory(profile, sparse_format)
        accuracy = profile.accuracy if profile.accuracy is not None else math.nan
        return {"reward": accuracy - mu * ratio, "memory_ratio": ratio}
