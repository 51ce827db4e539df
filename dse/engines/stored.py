"""What every engine's stored network shares: the envelope of :attr:`TrialOutcome.network`
(``{"format", "engine", "meta", "arrays"}``), tensors to numpy arrays and back, a module's
``state_dict`` as ``state.*`` arrays, and the design as JSON. Each engine's ``stored.py`` adds
what its network holds beyond these (frozen weights, thresholds, labels, random state)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from . import get
from ._base import DataShape, Design

FORMAT = 1
"""Version of the stored form, written into every file."""
STATE = "state."
"""Prefix of a module's ``state_dict`` entries among the arrays."""


def to_array(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy().copy()


def to_tensor(array: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.array(array)).to(device)


def envelope(engine: str, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    return {"format": FORMAT, "engine": engine, "meta": meta, "arrays": arrays}


def design_meta(design: Design) -> dict[str, Any]:
    """The design's parameters as JSON values (tuples as lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in design.params().items()}


def trial_meta(design: Design, shape: DataShape, seed: int, device: Any) -> dict[str, Any]:
    """What every stored network's ``meta`` opens with: the design, the data shape, the trial's seed
    and device."""
    return {"design": design_meta(design), "shape": list(shape.shape), "n_classes": shape.n_classes,
            "seed": seed, "device": str(device)}


def stored_shape(meta: dict[str, Any]) -> DataShape:
    """The data shape :func:`trial_meta` wrote."""
    return DataShape(tuple(meta["shape"]), int(meta["n_classes"]))


def stored_design(engine: str, meta: dict[str, Any]) -> Design:
    """The design written by :func:`design_meta` (lists back to tuples)."""
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in meta["design"].items()}
    return get(engine).design(**values)


def module_arrays(module: torch.nn.Module) -> dict[str, np.ndarray]:
    return {f"{STATE}{k}": to_array(v) for k, v in module.state_dict().items()}


def load_module(module: torch.nn.Module, arrays: dict[str, np.ndarray]) -> None:
    """Load the ``state.*`` arrays into `module` (on the CPU; move it after)."""
    module.load_state_dict({k[len(STATE):]: torch.from_numpy(np.array(v)) for k, v in arrays.items()
                            if k.startswith(STATE)})
