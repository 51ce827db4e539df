"""A weight-sharing supernet over a surrogate-engine space (issue 17, one-shot search).

Written by hand: no library builds a supernet from snn-dse's :class:`~.shapes.Plan`.

Every weighted edge of every design of the space is named by its position
(population, source state, operation): ``c1_n0__c0__conv3x3``. All designs
whose plan has that edge share *one float tensor* for it, of the largest shape
any of them needs; a design takes the leading slice it needs (a dense layer of
width 32 uses rows :32 of the width-128 tensor, as once-for-all networks slice
channels). The readout is shared the same way, and each edge's batch-norm affine
parameters are sliced alongside its weight.

Per sub-network, as LitE-SNN's CompConv does: the *same* float tensor is
quantised per bit-width branch (``quantize_weight(W, b)`` for that edge's bits,
the grid from the slice's own statistics), and pruned by a magnitude mask per
rate computed from the slice (:func:`nested_mask`), so masks nest: a higher
rate's mask is a subset of a lower rate's. Timesteps are whatever the sampled
design says, drawn per batch by the trainer (:mod:`.oneshot`).

A sub-network runs through :class:`~.model.PlannedSNN`'s own forward pass (a
*shell* whose norms read the shared parameters), and :meth:`Supernet.extract`
copies the slices and masks into a standalone ``PlannedSNN``: the two give the
same outputs bit for bit (tests/test_oneshot.py), so inherited weights are the
shared weights and nothing else. In the supernet, batch norm always uses batch
statistics; an extracted network recalibrates its running statistics
(:func:`recalibrate`) before it is evaluated.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from .._base import DataShape, Design
from ..quant import bias_grid, fake_quant, quantize, quantize_weight
from .model import PlannedSNN, Weights
from .shapes import Plan, plan as make_plan


def nested_mask(w: torch.Tensor, rate: float) -> torch.Tensor:
    """1 for kept weights: all but the floor(rate * numel) smallest |w|, ties broken by position.

    One stable order of the magnitudes serves every rate, so the masks of two rates nest.
    """
    k = math.floor(rate * w.numel())
    mask = torch.ones(w.numel(), dtype=w.dtype, device=w.device)
    if k > 0:
        order = torch.argsort(w.detach().abs().flatten(), stable=True)
        mask[order[:k]] = 0.0
    return mask.view_as(w)


def edge_keys(plan: Plan) -> list[tuple[str, tuple[int, ...]]]:
    """(shared-tensor key, weight shape) of every weighted edge, in PlannedSNN's order."""
    keys = []
    for pop in plan.populations:
        for index, edge in enumerate(pop.edges):
            if edge.weighted:
                # a node of the first cell reads the stem twice: the edges from one source are told
                # apart by their order (a "zero" edge dropped before it makes the next one first)
                twin = sum(e.source == edge.source for e in pop.edges[:index])
                name = f"{pop.name}__{plan.states[edge.source].name}{twin or ''}__{edge.op}".replace(".", "_")
                keys.append((name, plan.edge_weight_shape(pop, edge)))
    return keys


def readout_key(plan: Plan) -> tuple[str, tuple[int, int]]:
    """The readout's shared tensor: one per source state (a 1-cell and a 2-cell network read different
    features, so they do not share it), sliced to the classes and the source's channels."""
    source = plan.states[plan.readout_source]
    return f"readout__{source.name}".replace(".", "_"), (plan.classes, source.shape[0])


def _slice(tensor: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    return tensor[tuple(slice(0, s) for s in shape)]


class SlicedNorm(nn.Module):
    """Batch norm over batch statistics with the leading `channels` of shared affine parameters."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, channels: int) -> None:
        super().__init__()
        self.shared = (weight, bias)  # a tuple: not registered, the supernet owns them
        self.channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight, bias = self.shared
        return F.batch_norm(x, None, None, weight[: self.channels], bias[: self.channels], training=True,
                            momentum=0.1, eps=1e-5)


class Supernet(nn.Module):
    """Shared weights for every design of a space (see the module docstring).

    ``layout``: key -> the largest weight shape, from `designs` (designs spanning every
    shape of the space: :func:`dse.study.oneshot.prototypes`); it and the state dict
    are what is stored, so a stored supernet is rebuilt by ``Supernet(layout=..., shape=...)``.
    """

    def __init__(self, shape: DataShape, designs: Iterable[Design] = (),
                 layout: dict[str, list[int]] | None = None) -> None:
        super().__init__()
        self.shape = shape
        if layout is None:
            layout = {}
            for design in designs:
                plan = make_plan(design, shape)
                for key, wshape in [*edge_keys(plan), readout_key(plan)]:
                    old = layout.get(key, [0] * len(wshape))
                    layout[key] = [max(a, b) for a, b in zip(old, wshape)]
        self.layout = {k: list(v) for k, v in layout.items()}
        self.weights = nn.ParameterDict()
        self.norm_weight = nn.ParameterDict()
        self.norm_bias = nn.ParameterDict()
        self.readout_bias = nn.ParameterDict()
        for key, wshape in self.layout.items():
            if key.startswith("readout__"):
                readout = nn.Linear(wshape[1], wshape[0])  # torch's default initialisation, as PlannedSNN's
                self.weights[key], self.readout_bias[key] = readout.weight, readout.bias
                continue
            weight = nn.Parameter(torch.empty(wshape))
            nn.init.kaiming_uniform_(weight, a=math.sqrt(5))  # as PlannedSNN initialises its own
            self.weights[key] = weight
            self.norm_weight[key] = nn.Parameter(torch.ones(wshape[0]))
            self.norm_bias[key] = nn.Parameter(torch.zeros(wshape[0]))
        self._shells: dict[Design, PlannedSNN] = {}

    @property
    def device(self) -> torch.device:
        return next(iter(self.readout_bias.values())).device

    # ---- one sub-network ---------------------------------------------------------------
    def plan(self, design: Design) -> Plan:
        return make_plan(design, self.shape)

    def matrices(self, plan: Plan) -> tuple[list[torch.Tensor], torch.Tensor]:
        """The float slices a design's plan uses: its edges' and the readout's (weight, bias) last."""
        key, wshape = readout_key(plan)
        ws = [_slice(self.weights[name], shape) for name, shape in [*edge_keys(plan), (key, wshape)]]
        return ws, self.readout_bias[key][: plan.classes]

    def masks(self, matrices: list[torch.Tensor], rate: float) -> list[torch.Tensor] | None:
        return [nested_mask(w, rate) for w in matrices] if rate > 0 else None

    def sub_weights(self, design: Design, plan: Plan, train: bool,
                    generator: torch.Generator | None = None) -> Weights:
        """The weights `design` runs with, computed from the shared tensors exactly as
        :meth:`PlannedSNN.train_weights` (`train`) or :meth:`PlannedSNN.freeze` compute them."""
        matrices, bias = self.matrices(plan)
        bits = [plan.populations[p].bits for p, pop in enumerate(plan.populations)
                for edge in pop.edges if edge.weighted] + [plan.readout_bits]
        masks = self.masks(matrices, design.pruning)
        if train:
            if design.quantization == "qat":
                ws = [quantize_weight(w, b, design.rounding, generator, train=True) for w, b in zip(matrices, bits)]
                bias = fake_quant(bias, bias_grid(bias, design.weight_bits), design.rounding, generator)
            else:
                ws = list(matrices)
        else:
            with torch.no_grad():
                ws = [quantize_weight(w, b, design.rounding, generator) for w, b in zip(matrices, bits)]
                bias = bias.detach()
                grid = bias_grid(bias, bits[-1])
                if grid is not None:
                    bias = quantize(bias, grid, design.rounding, generator)
        if masks is not None:
            ws = [w * mask for w, mask in zip(ws, masks)]
        return Weights(ws[:-1], ws[-1], bias)

    def shell(self, design: Design) -> PlannedSNN:
        """A PlannedSNN of the design's structure whose norms read the shared parameters (cached
        by everything but pruning and timesteps, which the shell's forward does not read)."""
        key = replace(design, pruning=0.0, timesteps=1)
        if key not in self._shells:
            plan = self.plan(design)
            shell = PlannedSNN(key, plan)
            norms = []
            for (p, _), (name, wshape) in zip(shell.edges, edge_keys(plan)):
                norms.append(SlicedNorm(self.norm_weight[name], self.norm_bias[name], wshape[0])
                             if plan.populations[p].norm else nn.Identity())
            shell.norms = nn.ModuleList(norms)
            shell.weights = nn.ParameterList()  # the shell's own weights are never used
            if len(self._shells) > 256:
                self._shells.clear()
            self._shells[key] = shell.to(self.device)
        return self._shells[key]

    def forward(self, design: Design, x: torch.Tensor, steps: int | None = None, train: bool = True,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """Logits of the sub-network `design` (its timesteps unless `steps` says otherwise)."""
        shell = self.shell(design)
        weights = self.sub_weights(design, shell.plan, train, generator)
        return shell(x, steps or design.timesteps, weights, shell.neuron_config(training=train), generator)

    # ---- inheritance -----------------------------------------------------------------------
    @torch.no_grad()
    def extract(self, design: Design) -> PlannedSNN:
        """A standalone network of `design` holding the shared weights: its float weights are the
        slices, its masks the nested masks at its rate, its norms' affine parameters the slices
        (running statistics at their defaults: :func:`recalibrate` them)."""
        plan = self.plan(design)
        model = PlannedSNN(design, plan).to(self.device)
        matrices, bias = self.matrices(plan)
        for own, shared in zip(model.matrices, matrices):
            own.copy_(shared)
        model.readout.bias.copy_(bias)
        for norm, (name, wshape) in zip(model.norms, edge_keys(plan)):
            if isinstance(norm, nn.BatchNorm2d):
                norm.weight.copy_(self.norm_weight[name][: wshape[0]])
                norm.bias.copy_(self.norm_bias[name][: wshape[0]])
        if design.pruning > 0:
            for mask, w in zip(model.masks(), model.matrices):
                mask.copy_(nested_mask(w, design.pruning))
        return model


def has_norm(model: PlannedSNN) -> bool:
    return any(isinstance(norm, nn.BatchNorm2d) for norm in model.norms)


@torch.no_grad()
def recalibrate(model: PlannedSNN, x: torch.Tensor, steps: int, generator: torch.Generator | None,
                batch_size: int = 256) -> None:
    """Batch-norm running statistics of an extracted network, re-estimated over `x` with its frozen
    (quantised, masked) weights: a cumulative average over the batches (momentum None)."""
    norms = [norm for norm in model.norms if isinstance(norm, nn.BatchNorm2d)]
    if not norms:
        return
    weights = model.freeze(generator)
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None
        norm.train()
    cfg = model.neuron_config(training=False)
    for start in range(0, len(x), batch_size):
        model(x[start:start + batch_size], steps, weights, cfg, generator)
    for norm in norms:
        norm.momentum = 0.1
    model.eval()
