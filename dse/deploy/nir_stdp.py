"""A stored STDP network (Diehl & Cook, tinySNN, SL-STDP) as a NIR graph, as far as NIR 1.0 can hold it.

The graph, with every projection into a population delayed by one engine step (``nir.Delay``
of ``dt``: the engine's input of step t is made of the spikes of step t - 1)::

    input [pixels] -> delay_in -> fc (Linear) -> exc (LIF) -> output
    tinysnn:           exc -> lateral (Linear) -> delay_lateral -> exc
    diehl-cook, sl-stdp: exc -> exc_inh (Linear) -> delay_exc_inh -> inh (LIF)
                         inh -> inh_exc (Linear) -> delay_inh_exc -> exc

- ``input``: the image flattened row-major, pixels in [0, 1]; each 1 ms step presents
  Bernoulli (Poisson) spikes with P(1) = min(1, input_rate * pixel / 1000) (metadata).
- ``fc``: ``nir.Linear`` holding the input weights exactly as the engine evaluated them
  (``W^T``, [neurons, pixels], on their Q0.b grid where quantised).
- ``exc``: the engine's excitatory neuron (potentials relative to rest), ``v <- a v + I``, spike
  ``v >= vartheta``, reset to ``v_reset``, is NIR's LIF stepped by forward Euler at ``dt``, with
  the surrogate export's conversion (:mod:`.nir`): ``tau = dt / (1 - a)``, ``R = tau / dt``,
  ``v_leak = 0``, ``v_reset`` the engine's reset (5 mV above rest, on the V_mem grid where
  quantised), ``a = exp(-1/100)``. The adaptive threshold is folded in as learned: each neuron's
  ``v_threshold`` is its ``thresh + theta`` (theta is frozen at inference), as the largest
  float32 below it, since NIR fires on ``v > v_thr`` and the engine on ``v >= vartheta``.
- lateral inhibition: tinySNN's direct inhibition is a recurrent ``nir.Linear``
  ``-w_inh (1 - I)`` (every other neuron); the baseline's (and SL-STDP's) inhibitory
  population is a LIF population (``a = exp(-1/10)``, threshold 20 mV, reset 15 mV above
  rest) driven one-to-one by ``exc_inh = 22.5 I`` and inhibiting every other excitatory
  neuron through ``inh_exc = -inhibition (1 - I)``, the strengths at their layers' bits.
- the readout: NIR has no label-assignment node, so the graph ends at the excitatory spikes
  and the labelled vote is metadata: ``assignment`` (each neuron's class, -1 for none),
  ``n_classes`` and ``readout`` (the class whose labelled neurons fire most on average over
  the presentation's ``timesteps`` steps).

What NIR 1.0 cannot express, so every STDP export is marked ``exact = false`` and its
metadata ``not_expressed`` lists it: the refractory periods (5 steps excitatory, 2 inhibitory,
during which input is ignored: NIR's LIF has none); the one-spike rule (of the excitatory
neurons crossing threshold on a step all reset, but only one, chosen at random, spikes:
NIR neurons spike independently); and, where ``neuron_bits`` (``vmem_bits``) < 32, the
membrane rounded onto its fixed-point grid every step (NIR neurons are real-valued). The
synapses are current-based, so nothing there is lost. No STDP network is refused: every
network and variant the engine trains has the structure above.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from .nir_units import DT, below

GAPS = {
    "refractory": ("refractory periods (excitatory 5 steps, inhibitory 2 steps, input ignored meanwhile): "
                   "NIR 1.0's LIF has no refractory period"),
    "one_spike": ("one spike per step: of the excitatory neurons that cross threshold on a step all reset but "
                  "only one, drawn at random, spikes; NIR neurons spike independently"),
    "state_bits": "the membrane potential rounded onto its fixed-point grid every step (NIR neurons are real-valued)",
}


def lif(nir: Any, decay: float, thresholds: np.ndarray, reset: float, meta: dict[str, Any]) -> Any:
    """The engine's discrete LIF (relative to rest) as NIR's LIF stepped by Euler at DT (module docstring)."""
    ones = np.ones(len(thresholds))
    tau = DT / (1.0 - decay)
    theta = np.array([below(t) for t in thresholds])
    return nir.LIF(tau=tau * ones, r=(tau / DT) * ones, v_leak=0 * ones, v_threshold=theta,
                   v_reset=reset * ones, metadata={"decay": decay, "dt": DT, **meta})


def delay(nir: Any, size: int) -> Any:
    return nir.Delay(delay=np.full(size, DT))


def all_but_self(strength: float, n: int) -> np.ndarray:
    """``-strength (1 - I)``: every other neuron inhibited by `strength`."""
    return (-strength * (np.ones((n, n)) - np.eye(n))).astype(np.float32)


def stdp_graph(nir: Any, network: dict[str, Any], info: dict[str, Any] | None = None) -> Any:
    """The NIR graph of a stored STDP network (see the module docstring); `info` goes into its metadata."""
    meta, arrays = network["meta"], network["arrays"]
    design, constants, neuron = meta["design"], meta["constants"], meta["neuron"]
    w = np.asarray(arrays["w"], dtype=np.float32).T.copy()  # [neurons, pixels]
    n, n_in = w.shape
    nodes: dict[str, Any] = {
        "input": nir.Input(input_type={"input": np.array([n_in])}),
        "delay_in": delay(nir, n_in),
        "fc": nir.Linear(weight=w, metadata={"weight_bits": _layer_bits(design, 0)}),
        "exc": lif(nir, neuron["exc"]["decay"], np.asarray(arrays["vth"], dtype=np.float64),
                   constants["reset_exc"], {"refractory_steps": neuron["exc"]["refractory_steps"],
                                            "threshold": "thresh + theta as learned, per neuron"}),
        "output": nir.Output(output_type={"output": np.array([n])}),
    }
    edges = [("input", "delay_in"), ("delay_in", "fc"), ("fc", "exc"), ("exc", "output")]
    if design["network"] == "tinysnn":
        nodes["lateral"] = nir.Linear(weight=all_but_self(constants["inh"], n),
                                      metadata={"weight_bits": _layer_bits(design, 1)})
        nodes["delay_lateral"] = delay(nir, n)
        edges += [("exc", "lateral"), ("lateral", "delay_lateral"), ("delay_lateral", "exc")]
    else:
        nodes["exc_inh"] = nir.Linear(weight=(constants["exc_to_inh"] * np.eye(n)).astype(np.float32),
                                      metadata={"weight_bits": _layer_bits(design, 1)})
        nodes["delay_exc_inh"] = delay(nir, n)
        nodes["inh"] = lif(nir, neuron["inh"]["decay"], np.full(n, constants["thr_inh"]), constants["reset_inh"],
                           {"refractory_steps": neuron["inh"]["refractory_steps"]})
        nodes["inh_exc"] = nir.Linear(weight=all_but_self(constants["inh"], n),
                                      metadata={"weight_bits": _layer_bits(design, 2)})
        nodes["delay_inh_exc"] = delay(nir, n)
        edges += [("exc", "exc_inh"), ("exc_inh", "delay_exc_inh"), ("delay_exc_inh", "inh"),
                  ("inh", "inh_exc"), ("inh_exc", "delay_inh_exc"), ("delay_inh_exc", "exc")]
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=stdp_metadata(network, info or {}))


def _layer_bits(design: dict[str, Any], index: int) -> int:
    layer_bits = design.get("layer_bits")
    return int(layer_bits[index]) if layer_bits else int(design["weight_bits"])


def stdp_metadata(network: dict[str, Any], info: dict[str, Any]) -> dict[str, Any]:
    """Flat metadata (strings and numbers, as NIR's HDF5 writer takes): presentation, readout, gaps."""
    meta = network["meta"]
    design, grids = meta["design"], meta["grids"]
    gaps = [GAPS["refractory"], GAPS["one_spike"]] + ([GAPS["state_bits"]] if grids["v_exc"] else [])
    out = {
        "producer": "snn-dse", "engine": "stdp", "network": design["network"],
        "timesteps": int(design["timesteps"]), "dt": DT, "engine_dt_ms": float(meta["neuron"]["dt_ms"]),
        "coding": "rate", "input_rate_hz": float(meta["train"]["input_rate"]),
        "input_range": "pixels in [0, 1]", "input_shape": json.dumps(meta["shape"]),
        "flattening": "row-major reshape(-1) of [channels, height, width]",
        "input_presentation": "Bernoulli spikes each 1 ms step, P(1) = min(1, input_rate_hz * pixel / 1000)",
        "delays": "every projection into a population carries one step (Delay nodes of dt), as the engine steps",
        "readout": ("labelled vote, not a NIR node: score[c] = mean over neurons with assignment c of their "
                    "spike counts over the timesteps; prediction = argmax (no spike from a labelled neuron: none)"),
        "assignment": json.dumps([int(a) for a in np.asarray(network["arrays"]["assignment"])]),
        "n_classes": int(meta["n_classes"]),
        "threshold_test": "engine: v >= vartheta; here v > v_threshold = the float32 just below vartheta",
        "potentials": "mV relative to the resting potential (v_leak = 0)",
        "weight_bits": int(design["weight_bits"]), "neuron_bits": int(design["neuron_bits"]),
        "vmem_quantized": grids["v_exc"] is not None, "vth_quantized": grids["v_th"] is not None,
        "exact": False, "not_expressed": "; ".join(gaps),
    }
    out.update({k: v if isinstance(v, (int, float, str)) else json.dumps(v) for k, v in info.items()})
    return out
