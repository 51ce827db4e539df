"""The shape of a surrogate-engine network, without torch: its :class:`Plan`.

A network is a list of *states* (the input, each population's spikes, channel
concatenations of them) and of *populations* of LIF/IF neurons, each fed by
one or more *edges* from earlier states (linear, 3x3 or 1x1 convolution, or an
identity skip), then a linear readout of the mean spike rate. The plan is the
single source of the network's shape: the feasibility pre-check's profile, the
torch model and the trained profile are all built from it, so they always
describe the same network.

Dense stacks (``hidden``): input -> fc1 -> ... -> readout "out".

Cell networks (``cells`` > 0, LitE-SNN / spikeDHS): a 3x3 stem conv, then
``cells`` searchable cells, global average pooling and the readout. Cell k reads
h0 (the output of cell k-2, or the stem) and h1 (cell k-1, or the stem); node i
of a cell sums two edges, from states i and i+1 of [h0, h1, node 0, node 1, ...]
(the two most recent: a fixed topology, with the operation of every edge
searched, one parameter per edge); the cell outputs all its nodes' spikes,
concatenated. Cells at positions N//3 and 2N//3 (from 1 on; N = cells) halve
the resolution (stride 2) and double the channels, as LitE-SNN's cells 2 and 5
of 8 do. An edge from a cell input whose channels or resolution differ turns
"skip" into a strided 1x1 convolution, and any convolution takes the stride.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hwmodels import LayerProfile, Profile

from .._base import DataShape
from ..layer_bits import bits_per_layer
from ...keys import state_bits

if TYPE_CHECKING:
    from .._base import Design

KERNEL = {"linear": 0, "conv3x3": 3, "conv1x1": 1, "skip": 0}
CELL_OPS = ("conv3x3", "conv1x1", "skip", "zero")
"""Operations an edge of a cell can take (the spec's ``ops`` choices)."""


@dataclass(frozen=True)
class State:
    name: str
    shape: tuple[int, int, int]  # channels, height, width (dense: N, 1, 1)
    parts: tuple[int, ...] = ()  # for a concatenation: the states it joins on channels

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class Edge:
    source: int  # index into Plan.states
    op: str  # "linear", "conv3x3", "conv1x1" or "skip" (identity)
    stride: int = 1

    @property
    def kernel(self) -> int:
        return KERNEL[self.op]

    @property
    def weighted(self) -> bool:
        return self.op != "skip"


@dataclass(frozen=True)
class Population:
    name: str
    state: int  # the state its spikes form
    edges: tuple[Edge, ...]
    bits: int  # weight bits of its edges
    norm: bool  # batch norm on each weighted edge (conv networks)


@dataclass(frozen=True)
class Plan:
    states: tuple[State, ...]
    populations: tuple[Population, ...]
    readout_source: int
    classes: int
    readout_bits: int

    def edge_weight_shape(self, pop: Population, edge: Edge) -> tuple[int, ...]:
        src, dst = self.states[edge.source], self.states[pop.state]
        if edge.op == "linear":
            return (dst.numel, src.numel)
        if edge.weighted:
            return (dst.shape[0], src.shape[0], edge.kernel, edge.kernel)
        return ()

    def edge_macs(self, pop: Population, edge: Edge) -> int:
        """Dense multiply-accumulates of one timestep on this edge."""
        dst = self.states[pop.state]
        if edge.op == "linear":
            return dst.numel * self.states[edge.source].numel
        if edge.weighted:
            return dst.numel * self.states[edge.source].shape[0] * edge.kernel**2
        return dst.numel  # identity: one accumulate per unit

    def consumers(self, state: int) -> list[int]:
        """Populations reading a state (directly or through a concatenation)."""
        readers = []
        for index, pop in enumerate(self.populations):
            for edge in pop.edges:
                if edge.source == state or state in self.states[edge.source].parts:
                    readers.append(index)
        return readers


def conv_out(size: int, kernel: int, stride: int) -> int:
    """Output size of a convolution padded by kernel // 2."""
    return (size + 2 * (kernel // 2) - kernel) // stride + 1


def kept(numel: int, pruning: float) -> int:
    """Weights left after magnitude pruning at rate p: the floor(p * numel) smallest go."""
    return numel - math.floor(pruning * numel)


def _dense_plan(design: "Design", data: DataShape) -> Plan:
    states = [State("input", data.shape)]
    pops = []
    bits = bits_per_layer(design, len(design.hidden) + 1)  # each hidden layer, then the readout
    for i, width in enumerate(design.hidden):
        states.append(State(f"fc{i + 1}", (width, 1, 1)))
        pops.append(Population(f"fc{i + 1}", len(states) - 1, (Edge(len(states) - 2, "linear"),),
                               bits[i], norm=False))
    return Plan(tuple(states), tuple(pops), len(states) - 1, data.n_classes, bits[-1])


def reduction_cells(cells: int) -> set[int]:
    return {k for k in (cells // 3, 2 * cells // 3) if 1 <= k < cells}


def n_edges(design: "Design") -> int:
    return design.cells * design.nodes * 2


def _cell_plan(design: "Design", data: DataShape) -> Plan:
    edges_needed = n_edges(design)
    ops = design.ops if design.ops is not None else ("conv3x3",) * edges_needed
    if len(ops) != edges_needed:
        raise ValueError(f"{design.cells} cells of {design.nodes} nodes have {edges_needed} edges, "
                         f"got {len(ops)} operations")
    cell_bits = design.cell_bits or (design.weight_bits,) * design.cells
    if len(cell_bits) != design.cells:
        raise ValueError(f"{design.cells} cells need as many weight bits, got {len(cell_bits)}")
    c_in, h, w = data.shape
    states = [State("input", data.shape), State("stem", (design.channels, h, w))]
    pops = [Population("stem", 1, (Edge(0, "conv3x3"),), design.weight_bits, norm=True)]
    outputs = [1, 1]  # the states cells read: h0, h1
    channels = design.channels
    reductions = reduction_cells(design.cells)
    op_iter = iter(ops)
    for k in range(design.cells):
        h0, h1 = outputs[-2], outputs[-1]
        if k in reductions:
            channels *= 2
            h, w = conv_out(h, 3, 2), conv_out(w, 3, 2)
        cell_states = [h0, h1]
        for i in range(design.nodes):
            edges = []
            for source in (cell_states[i], cell_states[i + 1]):
                op = next(op_iter)
                if op == "zero":
                    continue
                src = states[source].shape
                stride = max(1, -(-src[1] // h))  # ceil: a 7x7 map reaches 4x4 with stride 2
                if op == "skip" and (src[0] != channels or stride != 1):
                    op = "conv1x1"  # a skip between different shapes becomes a strided 1x1 conv
                edges.append(Edge(source, op, stride))
            states.append(State(f"c{k}.n{i}", (channels, h, w)))
            cell_states.append(len(states) - 1)
            pops.append(Population(f"c{k}.n{i}", len(states) - 1, tuple(edges), cell_bits[k], norm=True))
        nodes = tuple(cell_states[2:])
        states.append(State(f"c{k}", (channels * design.nodes, h, w), parts=nodes))
        outputs.append(len(states) - 1)
    return Plan(tuple(states), tuple(pops), outputs[-1], data.n_classes, design.weight_bits)


def plan(design: "Design", data: DataShape) -> Plan:
    return _cell_plan(design, data) if design.cells else _dense_plan(design, data)


def neuron_params(design: "Design", pop: Population, plan_: Plan) -> dict[str, tuple[int, int]]:
    """Membrane potential per neuron (at ``vmem_bits``); threshold (at ``vth_bits``) and
    decay shared by the population; a batch norm's per-channel scale and shift per
    weighted edge (folded into the neuron on hardware, kept at the neuron's precision)."""
    bits = design.neuron_bits
    vmem, vth = state_bits(design)
    params = {"v_mem": (plan_.states[pop.state].numel, vmem), "v_th": (1, vth)}
    if design.neuron == "lif":
        params["decay"] = (1, bits)
    if pop.norm:
        channels = plan_.states[pop.state].shape[0] * sum(e.weighted for e in pop.edges)
        if channels:
            params["bn_scale"] = (channels, bits)
            params["bn_shift"] = (channels, bits)
    return params


def layer_profiles(design: "Design", plan_: Plan) -> list[LayerProfile]:
    return [_population_profile(design, plan_, pop) for pop in plan_.populations] + [_readout_profile(design, plan_)]


def _population_profile(design: "Design", plan_: Plan, pop: Population) -> LayerProfile:
    numel = sum(math.prod(plan_.edge_weight_shape(pop, e)) for e in pop.edges if e.weighted)
    nonzero = sum(kept(math.prod(plan_.edge_weight_shape(pop, e)), design.pruning)
                  for e in pop.edges if e.weighted)
    n_inputs = sum(plan_.states[e.source].numel for e in pop.edges)
    macs = sum(plan_.edge_macs(pop, e) for e in pop.edges)
    # synapses after pruning: each weighted edge keeps its share, a skip all of its own
    synapses = sum(plan_.edge_macs(pop, e) * (kept(n, design.pruning) / n if e.weighted else 1)
                   for e in pop.edges for n in [math.prod(plan_.edge_weight_shape(pop, e)) or 1])
    analog = any(e.source == 0 for e in pop.edges) and design.coding == "direct"
    return LayerProfile(
        name=pop.name, kind="dense" if not design.cells else "conv2d",
        n_inputs=n_inputs, n_neurons=plan_.states[pop.state].numel,
        n_weights=numel, n_nonzero=nonzero, weight_bits=pop.bits,
        neuron_params=neuron_params(design, pop, plan_),
        macs_per_step=macs, fan_out=synapses / n_inputs if n_inputs else 0.0,
        spiking_input=not analog,
    )


def _readout_profile(design: "Design", plan_: Plan) -> LayerProfile:
    src = plan_.states[plan_.readout_source]
    channels = src.shape[0]
    numel = channels * plan_.classes
    # Non-spiking readout (LitE-SNN head): logits = mean over t of W GAP(s_t) + b, an
    # accumulator and a bias per class; every spike, at any position, drives its
    # channel's row of W.
    return LayerProfile(
        name="out", kind="dense", n_inputs=src.numel, n_neurons=plan_.classes,
        n_weights=numel, n_nonzero=kept(numel, design.pruning), weight_bits=plan_.readout_bits,
        neuron_params={"v_mem": (plan_.classes, state_bits(design)[0]), "bias": (plan_.classes, plan_.readout_bits)},
        macs_per_step=numel, fan_out=kept(numel, design.pruning) / channels, spiking_input=True,
    )


def static_profile(design: "Design", data: DataShape) -> Profile:
    return Profile(layers=tuple(layer_profiles(design, plan(design, data))), timesteps=design.timesteps,
                   coding=design.coding, accuracy=None, phase="inference")
