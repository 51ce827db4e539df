"""When two trials propose the same design: the fingerprint that says so.

Two designs are the same when every resolved key (defaults included), the
engine, the data set and the training settings are equal, with continuous
values compared after the rounding the engine applies: a pruning rate is
replaced by the number of weights each layer keeps (what the engine prunes
to), other floats are compared to 9 significant digits.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .. import engines
from ..engines import DataShape, Design
from ..spec import StudySpec

DIGITS = 9


def _canonical(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.{DIGITS}g}")
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return value


def resolved(design: Design, shape: DataShape) -> dict[str, Any]:
    """The design as the engine trains it: every key, floats at the engine's resolution."""
    values = {k: _canonical(v) for k, v in design.params().items()}
    if "pruning" in values:
        profile = engines.get(design.engine).static_profile(design, shape)
        values["pruning"] = [layer.n_nonzero for layer in profile.layers]
    return values


def fingerprint(spec: StudySpec, design: Design, shape: DataShape) -> str:
    """sha256 of what a training of this design depends on."""
    what = {"engine": design.engine, "design": resolved(design, shape), "dataset": spec.dataset,
            "train": {k: _canonical(v) for k, v in sorted(spec.train.items())}}
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()
