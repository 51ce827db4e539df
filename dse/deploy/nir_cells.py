"""A stored network of convolutional cells (LitE-SNN's search space) as a NIR graph.

The plan (:func:`dse.engines.surrogate.shapes.plan`) gives every population (the stem, each
node of each cell) and its edges; the graph has one LIF/IF node per population, shape
``[C, H, W]``, and per edge:

- a convolution: ``nir.Conv2d`` (padding k // 2, the edge's stride) with the engine's batch
  norm folded in (eval mode: ``W' = W g / sqrt(v + eps)`` per output channel,
  ``b' = beta - m g / sqrt(v + eps)``), so its values are the quantised weights scaled per
  channel (graph metadata ``batch_norm = "folded"``); folding rounds differently from the
  engine's conv-then-norm, so a membrane within float32 rounding of theta may fire in one and
  not the other;
- a skip: an edge straight from the source's neuron node;
- an edge from a cell's output, the channel concatenation of its nodes, which NIR has no
  primitive for: one convolution per node, each on its slice of the input channels (its
  contributions summed at the target, as NIR sums a node's inputs; the plan turns a skip
  between different shapes into a 1x1 convolution, so no skip reads a concatenation);
- the readout, ``W GAP(s) + b``: per node of the last cell a ``nir.Conv2d`` whose kernel covers
  the whole map with weights ``W[:, channels] / (H W)``, output ``[classes, 1, 1]``, summed by
  ``readout``, a 1x1 identity convolution holding the bias (nirtorch returns an Output node's
  inputs separately rather than summing them).

A population whose edges are all "zero" never spikes: it has no node, and edges from it are
left out.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

EPS = 1e-5
"""torch.nn.BatchNorm2d's default eps, which the engine's cell networks use."""


def _folded(arrays: dict[str, np.ndarray], i: int, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Conv weight and bias with edge i's batch norm (eval mode) folded in."""
    gamma = np.asarray(arrays[f"state.norms.{i}.weight"], dtype=np.float64)
    beta = np.asarray(arrays[f"state.norms.{i}.bias"], dtype=np.float64)
    mean = np.asarray(arrays[f"state.norms.{i}.running_mean"], dtype=np.float64)
    var = np.asarray(arrays[f"state.norms.{i}.running_var"], dtype=np.float64)
    scale = gamma / np.sqrt(var + EPS)
    return ((weight * scale[:, None, None, None]).astype(np.float32), (beta - mean * scale).astype(np.float32))


def _parts(plan: Any, state: int) -> list[tuple[int, int, int]]:
    """(state, first channel, channels) of each piece of a state (one piece unless a concatenation)."""
    pieces = plan.states[state].parts or (state,)
    out, offset = [], 0
    for piece in pieces:
        channels = plan.states[piece].shape[0]
        out.append((piece, offset, channels))
        offset += channels
    return out


def cell_graph(nir: Any, plan: Any, arrays: dict[str, np.ndarray], neuron: Callable[[tuple], Any]
               ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Nodes and edges of a cell network; `neuron(shape)` makes a population's LIF/IF node."""
    names = {0: "input"}
    nodes: dict[str, Any] = {"input": nir.Input(input_type={"input": np.array(plan.states[0].shape)})}
    edges: list[tuple[str, str]] = []
    weighted = 0
    for p, pop in enumerate(plan.populations):
        target = f"lif{p}"
        for edge in pop.edges:
            if edge.weighted:
                weight, bias = _folded(arrays, weighted, np.asarray(arrays[f"frozen.edge{weighted}"], np.float64))
                weighted += 1
            biased = False  # the folded bias goes with the first piece present
            for piece, offset, channels in _parts(plan, edge.source):
                if piece not in names:
                    continue  # a population that never spikes
                h, w = plan.states[piece].shape[1:]
                if edge.weighted:
                    part_w, pad = weight[:, offset:offset + channels], edge.kernel // 2
                    part_b, biased = (np.zeros_like(bias) if biased else bias), True
                else:  # a skip: the plan makes one only between equal shapes, so never from a concatenation
                    edges.append((names[piece], target))
                    continue
                name = f"e{p}_{edge.source}_{piece}"
                nodes[name] = nir.Conv2d(input_shape=(h, w), weight=part_w, stride=edge.stride, padding=pad,
                                         dilation=1, groups=1, bias=part_b)
                edges += [(names[piece], name), (name, target)]
        if any(e[1] == target for e in edges):
            nodes[target] = neuron(plan.states[pop.state].shape)
            names[pop.state] = target
    readout = np.asarray(arrays["frozen.readout"], dtype=np.float64)
    bias = np.asarray(arrays["frozen.bias"], dtype=np.float32)
    for piece, offset, channels in _parts(plan, plan.readout_source):
        if piece not in names:
            continue
        c, h, w = plan.states[piece].shape
        kernel = np.repeat(np.repeat(readout[:, offset:offset + c, None, None] / (h * w), h, 2), w, 3)
        name = f"readout_{piece}"
        nodes[name] = nir.Conv2d(input_shape=(h, w), weight=kernel.astype(np.float32), stride=1, padding=0,
                                 dilation=1, groups=1, bias=np.zeros_like(bias))
        edges += [(names[piece], name), (name, "readout")]
    # the sum of the parts, plus the bias, in one node: consumers (nirtorch) return each input of
    # an Output node separately instead of summing them
    eye = np.eye(plan.classes, dtype=np.float32)[:, :, None, None]
    nodes["readout"] = nir.Conv2d(input_shape=(1, 1), weight=eye, stride=1, padding=0, dilation=1, groups=1,
                                  bias=bias)
    nodes["output"] = nir.Output(output_type={"output": np.array([plan.classes, 1, 1])})
    edges.append(("readout", "output"))
    return nodes, edges
