"""A trained TTFS network as plain arrays, and back: what ``dse evaluate`` runs.

:func:`network_state` turns a trial's network into the engine-neutral form of
:attr:`dse.engines.TrialOutcome.network` (``{"format", "engine", "meta", "arrays"}``):

- ``frozen.weight<i>``, ``frozen.bias<i>`` (one per weight layer), ``frozen.tau``,
  ``frozen.t_d`` (one per population, tau clamped at :data:`.kernel.MIN_TAU`): the
  :class:`.model.Frozen` network the test evaluation simulated, batch norm folded in,
  weights and biases quantised (stochastic rounding drawn once, by the final freeze) and
  the pruning masks applied, so the trained design runs on exactly those values;
- ``state.*``: the surrogate's ``state_dict`` (float weights, masks, batch-norm running
  statistics, the readout bias, the trained kernels), from which every post-training
  variant is derived again by the engine's recipe (:func:`.engine.variant_net`, its
  stochastic rounding seeded with the trial seed + 2, as the engine seeds it).

``meta`` holds the design, the data shape, the trial seed and device, and what the
simulator reads besides the arrays (window T_w, theta0, whether pixels enter as values).
The test evaluation draws no random numbers (the simulator and the closed form are
deterministic), so no generator state is kept. Written by hand: ``torch.save`` pickles,
and a stored network must load without running code from the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .._base import Budget, DataShape, Design
from ..runtime import Trained
from ..stored import envelope, load_module, module_arrays, stored_design as _stored_design, stored_shape
from ..stored import to_array as _array, to_tensor as _tensor, trial_meta
from .model import Frozen, TTFSNet
from .shapes import plan


def frozen_arrays(net: Frozen) -> dict[str, np.ndarray]:
    """The arrays of a frozen network (``frozen.*``)."""
    arrays = {f"frozen.weight{i}": _array(w) for i, w in enumerate(net.weights)}
    arrays.update({f"frozen.bias{i}": _array(b) for i, b in enumerate(net.biases)})
    arrays["frozen.tau"], arrays["frozen.t_d"] = _array(net.tau), _array(net.t_d)
    return arrays


def network_state(trained: Trained, design: Design, budget: Budget, shape: DataShape) -> dict[str, Any]:
    """The trained network as plain numpy arrays plus JSON metadata (see the module docstring)."""
    model: TTFSNet = trained.model  # type: ignore[assignment]
    net = model.frozen
    assert net is not None, "the network is frozen after fit()"
    arrays = module_arrays(model)
    arrays.update(frozen_arrays(net))
    meta = {
        **trial_meta(design, shape, budget.seed, trained.device),
        "window": net.window, "theta0": net.theta0, "analog_input": net.analog_input,
        "layers": [{"name": p.name, "kind": p.kind, "pool": p.pool} for p in net.plan],
    }
    return envelope("ttfs", meta, arrays)


def stored_design(meta: dict[str, Any]) -> Design:
    return _stored_design("ttfs", meta)


@dataclass
class Restored:
    """A stored network rebuilt: the surrogate (float weights, masks, kernels) and the frozen network."""

    model: TTFSNet
    design: Design
    shape: DataShape
    net: Frozen
    seed: int
    device: torch.device


def restore(network: dict[str, Any], device: str | torch.device = "cpu") -> Restored:
    """The surrogate of a stored network on `device`, with its frozen network exactly as stored."""
    device = torch.device(device)
    meta, arrays = network["meta"], network["arrays"]
    design = stored_design(meta)
    shape = stored_shape(meta)
    model = TTFSNet(design, shape)
    load_module(model, arrays)
    model.to(device).eval()
    layers = plan(design, shape)
    net = Frozen(layers, [_tensor(arrays[f"frozen.weight{i}"], device) for i in range(len(layers))],
                 [_tensor(arrays[f"frozen.bias{i}"], device) for i in range(len(layers))],
                 _tensor(arrays["frozen.tau"], device), _tensor(arrays["frozen.t_d"], device),
                 int(meta["window"]), float(meta["theta0"]), analog_input=bool(meta["analog_input"]))
    model.frozen = net
    return Restored(model, design, shape, net, int(meta["seed"]), device)
