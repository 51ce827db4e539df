"""A trained surrogate network as plain arrays, and back: what ``dse evaluate`` and ``dse export`` run.

:func:`network_state` turns the trained module into the engine-neutral form of
:attr:`dse.engines.TrialOutcome.network` (``{"format", "engine", "meta", "arrays"}``):

- ``state.*``: the module's ``state_dict`` (float master weights, pruning masks,
  batch-norm statistics, the readout), from which every post-training variant is
  derived again by :func:`.engine.variant_weights` (the stored recipe);
- ``frozen.*``: the quantised, masked weights and the quantised readout bias the
  test evaluation used (``W_out = mask * Q(W)``), so the trained design runs on
  exactly those values, never re-quantised;
- ``rng.eval``: the state of the generator the test evaluation drew its rate-coded
  input spikes (and stochastic state rounding) from, so a re-run draws the same.

``meta`` holds the design, the data shape, the trial seed and the neuron settings
as evaluated (threshold and decay as stored at ``neuron_bits``). Written by hand:
torch's own ``torch.save`` pickles, and a stored network must load without running
code from the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from .._base import Budget, DataShape, Design
from ..runtime import Trained
from ..stored import envelope, load_module, module_arrays, stored_design as _stored_design, stored_shape, to_array
from ..stored import to_tensor, trial_meta
from .model import PlannedSNN, Weights
from .neurons import NeuronConfig
from .shapes import plan

def network_state(trained: Trained, design: Design, budget: Budget, shape: DataShape,
                  eval_generator: torch.Generator) -> dict[str, Any]:
    """The trained network as plain numpy arrays plus JSON metadata (see the module docstring)."""
    model: PlannedSNN = trained.model  # type: ignore[assignment]
    frozen = model.frozen
    assert frozen is not None, "the network is frozen after fit()"
    arrays = module_arrays(model)
    arrays.update({f"frozen.edge{i}": to_array(w) for i, w in enumerate(frozen.edges)})
    arrays["frozen.readout"] = to_array(frozen.readout)
    arrays["frozen.bias"] = to_array(frozen.bias)
    arrays["rng.eval"] = to_array(eval_generator.get_state())
    cfg = model.neuron_config(training=False)
    meta = {
        **trial_meta(design, shape, budget.seed, trained.device),
        "neuron": {"decay": cfg.decay, "threshold": cfg.threshold, "hard_reset": cfg.hard_reset,
                   "state_bits": design.neuron_bits if cfg.state_grid is not None else None,
                   "rounding": cfg.rounding},
        "edges": [{"population": p, "source": e.source, "op": e.op, "stride": e.stride} for p, e in model.edges],
    }
    return envelope("surrogate", meta, arrays)


def stored_design(meta: dict[str, Any]) -> Design:
    return _stored_design("surrogate", meta)


@dataclass
class Restored:
    """A stored network rebuilt: the module (master weights), the evaluated weights and settings."""

    model: PlannedSNN
    design: Design
    shape: DataShape
    weights: Weights
    cfg: NeuronConfig
    eval_state: torch.Tensor
    seed: int
    device: torch.device


def restore(network: dict[str, Any], device: str | torch.device = "cpu") -> Restored:
    """The module of a stored network on `device`, with its frozen weights exactly as stored."""
    device = torch.device(device)
    meta, arrays = network["meta"], network["arrays"]
    design = stored_design(meta)
    shape = stored_shape(meta)
    model = PlannedSNN(design, plan(design, shape))
    load_module(model, arrays)
    model.to(device).eval()
    n_edges = sum(1 for k in arrays if k.startswith("frozen.edge"))
    weights = Weights([to_tensor(arrays[f"frozen.edge{i}"], device) for i in range(n_edges)],
                      to_tensor(arrays["frozen.readout"], device), to_tensor(arrays["frozen.bias"], device))
    model.frozen = weights
    return Restored(model, design, shape, weights, model.neuron_config(training=False),
                    to_tensor(arrays["rng.eval"], "cpu"), int(meta["seed"]), device)


def evaluation_generator(restored: Restored) -> torch.Generator:
    """A generator at the state the engine's test evaluation started from."""
    generator = torch.Generator(device=restored.device)
    generator.set_state(restored.eval_state)
    return generator

