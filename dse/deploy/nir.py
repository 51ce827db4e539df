"""A stored surrogate network as a NIR graph (``nir`` 1.0): the exchange format of neuromorphic tools.

The graph of a dense stack, input to output::

    input [C*H*W] -> fc0 (Linear) -> lif0 (LIF or IF) -> fc1 -> lif1 ... -> readout (Affine) -> output

- ``input``: the image flattened row-major (numpy ``reshape(-1)`` of ``[C, H, W]``), pixels in
  [0, 1]. With ``coding = "direct"`` the same analog vector is presented at every one of T steps;
  with ``coding = "rate"`` each step presents Bernoulli spikes, P(1) = the pixel value.
- ``fc<i>``: ``nir.Linear`` holding the quantised, pruned weights exactly as the engine evaluated
  them (``W_out = mask * Q(W)``, float32 values on the weight grid); the bits are in its metadata.
- neurons: the engine's discrete LIF, ``u_t = beta r_{t-1} + I_t``, spike ``u_t >= theta``, hard
  reset ``r_t = u_t (1 - s_t)``, is NIR's LIF, ``tau dv/dt = (v_leak - v) + R I``, stepped by
  forward Euler at ``dt`` (``v <- v + dt/tau (v_leak - v + R I)``), with

  ``dt = 1e-4`` (metadata ``dt``; the step snnTorch's importer assumes), ``tau = dt / (1 - beta)``,
  ``R = tau / dt`` (so ``dt R / tau = 1``: the current enters unscaled), ``v_leak = 0``,
  ``v_reset = 0``, and ``v_threshold`` the largest float32 below theta: NIR fires on ``v > v_thr``,
  the engine on ``u >= theta``, and for float32 membranes the two are then the same test.
  ``beta = 1`` (IF) is NIR's IF, ``dv/dt = R I``, with ``R = 1 / dt``.
  Theta and beta are the values the engine evaluated with (quantised at ``neuron_bits``).
- ``readout``: ``nir.Affine`` (quantised weights and bias). The engine's logits are the mean over
  the T steps of this node's output (``W mean_t s_t + b``); summing it over time gives the same
  class.

Networks of convolutional cells: :mod:`.nir_cells` (batch norm folded into the convolutions,
concatenations split per node). Refused, naming what NIR lacks (exit 2): the soft (subtractive)
reset, since NIR 1.0's LIF and IF only reset to ``v_reset``; TTFS networks (NIR has no single-spike neuron,
time-varying threshold or synaptic kernel) (:data:`ENGINE_GAPS`). STDP networks: :mod:`.nir_stdp`
(exported, never exactly: NIR has no refractory period). Exported
with a warning, not exactly: a membrane quantised at ``neuron_bits`` < 32 (rounded onto its
fixed-point grid each step; NIR neurons are real-valued): its metadata says ``state_bits``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UserError
from .nir_units import DT, below

__all__ = ["DT", "below", "engine_refusal", "neuron_node", "refusal", "to_nir", "write"]

ENGINE_GAPS = {
    "ttfs": ("a TTFS network: its neurons fire at most once per window against a dynamic threshold "
             "theta0 eps(t') and integrate each input spike through a presynaptic kernel w eps(t'), with "
             "values coded in spike times over staggered windows; NIR 1.0 has no single-spike (time-to-first-spike) "
             "neuron, no time-varying threshold and no per-synapse kernel"),
}
"""What NIR 1.0 lacks for the networks of engines that do not export (``dse export`` names it)."""

EXPORTED = ("surrogate", "stdp")
"""Engines whose networks export (STDP's by :mod:`.nir_stdp`, not exactly: see there)."""


def engine_refusal(engine: str) -> str | None:
    """Why no network of `engine` exports to NIR, or None."""
    if engine in EXPORTED:
        return None
    return ENGINE_GAPS.get(engine, f"the {engine} engine keeps no network to export")


def refusal(network: dict[str, Any]) -> str | None:
    """Why NIR cannot hold this network, or None."""
    if network["engine"] != "surrogate":
        return engine_refusal(network["engine"])
    if not network["meta"]["neuron"]["hard_reset"]:
        return ("reset = \"soft\": NIR 1.0's LIF and IF reset the membrane to v_reset; a subtractive reset "
                "(u - theta) has no NIR primitive (use --format torch)")
    return None


def neuron_node(nir: Any, size: int | tuple, neuron: dict[str, Any]) -> Any:
    """The engine's discrete LIF/IF as NIR's continuous LIF/IF (module docstring: the conversion)."""
    ones = np.ones(size)
    theta = below(neuron["threshold"]) * ones
    beta = float(neuron["decay"])
    meta = {"beta": beta, "theta": float(neuron["threshold"]), "dt": DT, "reset": "zero"}
    if beta >= 1.0:
        return nir.IF(r=ones / DT, v_threshold=theta, v_reset=0 * ones, metadata=meta)
    tau = DT / (1.0 - beta)
    return nir.LIF(tau=tau * ones, r=(tau / DT) * ones, v_leak=0 * ones, v_threshold=theta, v_reset=0 * ones,
                   metadata=meta)


def graph_metadata(network: dict[str, Any], info: dict[str, Any]) -> dict[str, Any]:
    """Flat metadata (NIR writes it to HDF5: strings and numbers only)."""
    meta = network["meta"]
    design = meta["design"]
    out = {
        "producer": "snn-dse", "engine": network["engine"], "timesteps": int(design["timesteps"]),
        "coding": design["coding"], "dt": DT,
        "input_range": "pixels in [0, 1]",
        "input_shape": json.dumps(meta["shape"]), "flattening": "row-major reshape(-1) of [channels, height, width]",
        "input_presentation": ("the same analog vector at every step" if design["coding"] == "direct"
                               else "Bernoulli spikes each step, P(1) = pixel value"),
        "readout": "logits = mean over the timesteps of the output node",
        "threshold_test": "engine: u >= theta; here v > v_threshold = the float32 just below theta",
        "weight_bits": int(design["weight_bits"]), "neuron_bits": int(design["neuron_bits"]),
        "exact": meta["neuron"]["state_bits"] is None,
    }
    out.update({k: v if isinstance(v, (int, float, str)) else json.dumps(v) for k, v in info.items()})
    return out


def _nir() -> Any:
    try:
        import nir
    except ModuleNotFoundError:
        raise UserError("--format nir: the nir package is not installed; pip install 'snn-dse[nir]'") from None
    return nir


def to_nir(network: dict[str, Any], info: dict[str, Any] | None = None) -> Any:
    """The NIR graph of a stored surrogate network (dense stack or cells) or STDP network; `info`
    (study, trial, metrics) goes into the graph's metadata. Raises UserError where NIR cannot express it."""
    nir = _nir()

    reason = refusal(network)
    if reason:
        raise UserError(f"--format nir: cannot export {reason}")
    if network["engine"] == "stdp":
        from .nir_stdp import stdp_graph

        return stdp_graph(nir, network, info)
    arrays, meta = network["arrays"], network["meta"]
    if meta["design"].get("cells", 0):
        return _cells(nir, network, info)
    n_edges = sum(1 for k in arrays if k.startswith("frozen.edge"))
    weights = [np.asarray(arrays[f"frozen.edge{i}"], dtype=np.float32) for i in range(n_edges)]
    nodes: dict[str, Any] = {"input": nir.Input(input_type={"input": np.array([weights[0].shape[1]])})}
    edges, last = [], "input"
    for i, w in enumerate(weights):
        nodes[f"fc{i}"] = nir.Linear(weight=w, metadata={"weight_bits": int(meta["design"]["weight_bits"])})
        nodes[f"lif{i}"] = neuron_node(nir, w.shape[0], meta["neuron"])
        edges += [(last, f"fc{i}"), (f"fc{i}", f"lif{i}")]
        last = f"lif{i}"
    readout = np.asarray(arrays["frozen.readout"], dtype=np.float32)
    nodes["readout"] = nir.Affine(weight=readout, bias=np.asarray(arrays["frozen.bias"], dtype=np.float32),
                                  metadata={"weight_bits": int(meta["design"]["weight_bits"])})
    nodes["output"] = nir.Output(output_type={"output": np.array([readout.shape[0]])})
    edges += [(last, "readout"), ("readout", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=graph_metadata(network, info or {}))


def _cells(nir: Any, network: dict[str, Any], info: dict[str, Any] | None) -> Any:
    from ..engines import DataShape, get
    from ..engines.surrogate.shapes import plan
    from .nir_cells import cell_graph

    meta = network["meta"]
    design = get("surrogate").design(**{k: tuple(v) if isinstance(v, list) else v for k, v in meta["design"].items()})
    nodes, edges = cell_graph(nir, plan(design, DataShape(tuple(meta["shape"]), int(meta["n_classes"]))),
                              network["arrays"], lambda shape: neuron_node(nir, shape, meta["neuron"]))
    metadata = {**graph_metadata(network, info or {}), "batch_norm": "folded into the convolutions",
                "readout": "logits = mean over the timesteps of the output node ([classes, 1, 1])",
                "flattening": "none: the input is [channels, height, width]"}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata)


def write(network: dict[str, Any], path: str | Path, info: dict[str, Any] | None = None,
          unit_r: bool = False) -> Any:
    """Export to a .nir file (HDF5); the graph written (with R folded into the weights where
    `unit_r`, :mod:`.nir_unit_r`)."""
    graph = to_nir(network, info)
    if unit_r:
        from .nir_unit_r import unit_r as fold

        graph = fold(graph)
    _nir().write(str(path), graph)
    return graph
