"""A trained STDP network as plain arrays, and back: what ``dse evaluate`` and ``dse export`` run.

:func:`network_state` turns a trial's network into the engine-neutral form of
:attr:`dse.engines.TrialOutcome.network` (``{"format", "engine", "meta", "arrays"}``):

- ``w`` [inputs, neurons] and ``vth`` [neurons]: the input weights and the thresholds
  (``thresh + theta`` relative to rest, theta as learning left it) exactly as the test
  evaluation used them (quantised where the design says so);
- ``assignment`` [neurons]: the readout, each neuron's class as labelled on the training
  split (-1: never fired, no vote); ``rng.eval``: the generator's state once the labels
  were assigned, where the test evaluation's draws (Poisson input, the one-spike choice,
  stochastic rounding of V_mem) start, so a re-run draws the same;
- ``learned.w``, ``learned.vth``, ``rng.quant``: W and V_th as learning left them, before
  any PTQ, and the generator's state then: every post-training variant is derived again
  from them by the engine's recipe (:meth:`.network.Network.requantized`);
- ``variant<i>.assignment``, ``variant<i>.rng``: the labels variant i (``meta["variants"]``,
  by name) assigned with its own spike counts on the training split, and the state after.
  A variant's weights are re-derived, but its labels need the training split, which the
  stored network does not hold: they are kept instead (one small integer per neuron).

``meta`` holds the design, the [train] keys (input rate, ...), the data shape, the trial
seed and device, the quantisation grids and the constants as evaluated (reset potentials,
inhibition strengths at their bits), and the neuron model (:func:`neuron_model`) for the
NIR export. Written by hand: ``torch.save`` pickles, and a stored network must load
without running code from the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from .._base import Budget, DataShape, Design, variant_name
from ..layer_bits import variant_design
from ..quant import Grid
from ..stored import design_meta, envelope, stored_design as _stored_design, stored_shape
from ..stored import to_array as _array, to_tensor as _tensor, trial_meta
from ...errors import UserError
from .network import Grids, Network
from .params import EXC, EXC_TO_INH, INH, Setup

if TYPE_CHECKING:
    from .engine import Labels, Trained

GRIDS = ("w", "v_exc", "v_th", "v_inh")
CONSTANTS = ("inh", "exc_to_inh", "thr0", "reset_exc", "reset_inh", "thr_inh")


def _grid(grid: Grid | None) -> list | None:
    return None if grid is None else [grid.delta, grid.kmin, grid.kmax, grid.offset]


def neuron_model() -> dict[str, Any]:
    """The populations' constants (mV relative to rest, steps of dt = 1 ms), for the export."""
    return {"dt_ms": 1.0,
            "exc": {"decay": EXC.decay, "tau_ms": EXC.tau, "refractory_steps": EXC.refrac},
            "inh": {"decay": INH.decay, "tau_ms": INH.tau, "refractory_steps": INH.refrac},
            "exc_to_inh_nominal": EXC_TO_INH}


def net_state(net: Network) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The grids, constants and evaluated W and V_th of `net` (meta part, arrays part)."""
    grids = {k: _grid(getattr(net.grids, k)) for k in GRIDS}
    meta = {"grids": {**grids, "weights": net.grids.weights},
            "constants": {k: float(getattr(net, k)) for k in CONSTANTS}}
    return meta, {"w": _array(net.w), "vth": _array(net.vth)}


def network_state(trained: "Trained", design: Design, budget: Budget, shape: DataShape, labels: "Labels",
                  variants: list[tuple[dict[str, Any], "Labels"]]) -> dict[str, Any]:
    """The trained network as plain numpy arrays plus JSON metadata (see the module docstring)."""
    net = trained.net
    w, vth, quant_state = trained.learned
    meta_net, arrays = net_state(net)
    arrays.update({"assignment": _array(labels.assignment), "rng.eval": _array(labels.state),
                   "learned.w": _array(w), "learned.vth": _array(vth), "rng.quant": _array(quant_state)})
    for i, (_, variant_labels) in enumerate(variants):
        arrays[f"variant{i}.assignment"] = _array(variant_labels.assignment)
        arrays[f"variant{i}.rng"] = _array(variant_labels.state)
    meta = {
        **trial_meta(design, shape, budget.seed, net.device),
        "train": dict(net.setup.train), "n_inputs": net.n_inputs,
        **meta_net,
        "neuron": neuron_model(),
        "variants": [variant_name(params) for params, _ in variants],
    }
    return envelope("stdp", meta, arrays)


def stored_design(meta: dict[str, Any]) -> Design:
    return _stored_design("stdp", meta)


@dataclass
class Restored:
    """A stored network rebuilt: the network (generator at the test evaluation's start) and its readout."""

    net: Network
    design: Design
    shape: DataShape
    assignment: torch.Tensor


def restore(network: dict[str, Any], device: str | torch.device = "cpu") -> Restored:
    """The network of a stored STDP trial on `device`, W, V_th and constants exactly as stored."""
    device = torch.device(device)
    meta, arrays = network["meta"], network["arrays"]
    design = stored_design(meta)
    net = Network(Setup(design, meta["train"]), int(meta["n_inputs"]), device, torch.Generator(device=device))
    stored_grids = meta["grids"]
    net.grids = Grids(**{k: Grid(*stored_grids[k]) if stored_grids[k] else None for k in GRIDS},
                      weights=bool(stored_grids["weights"]))
    net.set_constants()
    for name, value in meta["constants"].items():
        setattr(net, name, float(value))
    net.w, net.vth = _tensor(arrays["w"], device), _tensor(arrays["vth"], device)
    net.generator.set_state(_tensor(arrays["rng.eval"], "cpu"))
    return Restored(net, design, stored_shape(meta), _tensor(arrays["assignment"], device))


def variant_network(network: dict[str, Any], params: dict[str, Any],
                    device: str | torch.device = "cpu") -> dict[str, Any]:
    """The stored network of a variant: its design, W and V_th re-derived from the learned ones by
    the engine's recipe (:func:`.engine.variant`), the labels and random state its evaluation had."""
    if not params:
        return network
    meta, arrays = network["meta"], network["arrays"]
    name = variant_name(params)
    if name not in meta["variants"]:
        raise UserError(f"--variant {name}: the trial's network kept the labels of "
                        f"{', '.join(meta['variants']) or 'no variant'} only")
    index = meta["variants"].index(name)
    parent = restore(network, device)
    design = variant_design(parent.design, params)
    generator = torch.Generator(device=parent.net.device)
    generator.set_state(torch.from_numpy(np.array(arrays["rng.quant"])))
    net = parent.net.requantized(Setup(design, parent.net.setup.train), _tensor(arrays["learned.w"], device),
                                 _tensor(arrays["learned.vth"], device), design.quantization == "ptq", generator)
    meta_net, arrays_net = net_state(net)
    kept = {k: v for k, v in arrays.items() if not k.startswith("variant")}
    kept.update(arrays_net, assignment=arrays[f"variant{index}.assignment"], **{"rng.eval": arrays[f"variant{index}.rng"]})
    out_meta = {**meta, **meta_net, "design": design_meta(design), "variants": []}
    return {**network, "meta": out_meta, "arrays": kept}
