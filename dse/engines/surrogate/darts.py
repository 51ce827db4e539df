"""LitE-SNN's differentiable search (its Sections 3.1-3.4) over a cell space, on the supernet's tensors.

Written by hand after the paper (no library implements it). The network is the
largest cell network of the space (most cells, nodes and channels: LitE-SNN
searches the cell structure, not the depth). Every cell edge is a *mixed
operation* (Eq. 1-3): ``sum_o softmax(alpha_e)_o op_o(x)``, each operation with
its own shared weight (:class:`.supernet.Supernet`). Every convolution is a
CompConv (Eq. 8-11): one float tensor W, quantised per bit-width branch and
averaged by ``softmax(beta_cell)`` (straight-through fake quantisation), then
pruned. LitE-SNN learns a pruning score per weight (HYDRA); here the pruning
rate is searched like the bit width, as ``softmax(gamma_cell)`` over a grid of
rates of the space's range, each rate's magnitude mask nested in the lower
rate's (:func:`.supernet.nested_mask`). Timesteps (Eq. 14, 17): the network runs
the largest T; the readout's running mean gives the logits after each candidate
T, and ``psi = softmax(tau)`` weighs their cross-entropies; a step t counts in
the expected spike rate with weight ``sum_{T >= t} psi_T`` (the chance the
network still runs at step t), as in Eq. 14's example.

Loss (Eq. 15): ``CE + lambda Size + mu BitSynOps``, Size (Eq. 18-19) the expected
stored bits (weights x expected keep rate x expected bits, each edge's operations
by their probability), BitSynOps (Eq. 20) the expected bits x synaptic operations
with the measured input spike rates. The two-step update of Section 3.4: each
iteration, one forward pass updates the weights, a second one, with the updated
weights on the next batch of a held-out half of the training split (DARTS'
convention), updates alpha, beta, gamma and tau. Decoding: each edge its strongest
operation, each cell its strongest bit width, the rate strongest on average over the cells
(the space has one ``pruning``), and the strongest T.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ...data import Dataset
from .._base import Budget, Design
from ..optim import make_optimizer
from ..quant import quantize_weight
from ..runtime import batch_indices, resolve_device, seed_everything, training_splits
from .fused import lif
from .supernet import SlicedNorm, Supernet, edge_keys, nested_mask, readout_key


@dataclass(frozen=True)
class Choices:
    """What the search chooses among (from the spec's space)."""

    ops: tuple[str, ...]
    bits: tuple[int, ...]
    rates: tuple[float, ...]
    steps: tuple[int, ...]


def _edge(edge, source: torch.Tensor, weight: torch.Tensor, norm: nn.Module) -> torch.Tensor:
    """One edge over all steps, [T, B, C, H, W] -> [T, B, C', H', W'] (a convolution, or identity)."""
    if edge.op == "skip":
        return source
    flat = source.reshape(-1, *source.shape[-3:])
    out = norm(F.conv2d(flat, weight, stride=edge.stride, padding=edge.kernel // 2))
    return out.reshape(*source.shape[:-3], *out.shape[1:])


def _key_map(plan) -> dict[tuple[int, int], tuple[str, tuple[int, ...]]]:
    """(population, edge) -> (shared-tensor key, shape) of every weighted edge of a plan."""
    keys = iter(edge_keys(plan))
    return {(p, e): next(keys) for p, pop in enumerate(plan.populations) for e, edge in enumerate(pop.edges)
            if edge.weighted}


class MixedSNN(nn.Module):
    """The continuous relaxation of the space (see the module docstring)."""

    def __init__(self, net: Supernet, template: Design, choices: Choices) -> None:
        super().__init__()
        self.net, self.template, self.choices = net, template, choices
        edges = template.cells * template.nodes * 2
        self.plans = {op: net.plan(replace(template, ops=(op,) * edges)) for op in choices.ops if op != "zero"}
        self.alpha = nn.Parameter(torch.zeros(edges, len(choices.ops)))
        self.beta = nn.Parameter(torch.zeros(template.cells, len(choices.bits)))
        self.gamma = nn.Parameter(torch.zeros(template.cells, len(choices.rates)))
        self.tau = nn.Parameter(torch.zeros(len(choices.steps)))
        self.first = next(iter(self.plans))
        self.keys = {op: _key_map(plan) for op, plan in self.plans.items()}
        shell = net.shell(replace(template, ops=(self.first,) * edges))
        self.cfg = shell.neuron_config(training=True)

    def arch_parameters(self) -> list[nn.Parameter]:
        return [self.alpha, self.beta, self.gamma, self.tau]

    def _weight(self, key: str, shape, cell: int | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """CompConv: (mixed weight, expected bits, expected keep rate) of one shared tensor."""
        w = self.net.weights[key][tuple(slice(0, s) for s in shape)]
        if cell is None:  # the stem: at the template's weight bits
            return quantize_weight(w, self.template.weight_bits, "nearest", train=True), \
                w.new_tensor(float(min(self.template.weight_bits, 32))), w.new_tensor(1.0)
        pb, pr = self.beta[cell].softmax(0), self.gamma[cell].softmax(0)
        mixed = sum(p * quantize_weight(w, b, "nearest", train=True) for p, b in zip(pb, self.choices.bits))
        mask = sum(p * nested_mask(w, r) for p, r in zip(pr, self.choices.rates))
        bits = (pb * pb.new_tensor([float(b) for b in self.choices.bits])).sum()
        keep = 1 - (pr * pr.new_tensor(list(self.choices.rates))).sum()
        return mixed * mask, bits, keep

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(logits [len(steps), B, classes] after each candidate T, expected Size, expected BitSynOps)."""
        steps = max(self.choices.steps)
        psi = self.tau.softmax(0)
        alive = torch.stack([psi[[i for i, s in enumerate(self.choices.steps) if s > t]].sum() for t in range(steps)])
        plan = self.plans[self.first]
        states: list = [None] * len(plan.states)
        states[0] = x.expand(steps, *x.shape)
        if self.template.coding == "rate":
            states[0] = torch.bernoulli(states[0])
        totals = [x.new_zeros(()), x.new_zeros(())]  # expected Size, expected BitSynOps
        row = 0
        for p, pop in enumerate(plan.populations):
            cell = None if p == 0 else (p - 1) // self.template.nodes
            current = 0.0
            for e in range(len(pop.edges)):
                if cell is None:  # the stem: one fixed convolution
                    current = current + self._branch(states, self.first, p, e, None, 1.0, alive, totals)
                    continue
                probs = self.alpha[row].softmax(0)
                current = current + sum(probs[o] * self._branch(states, op, p, e, cell, probs[o], alive, totals)
                                        for o, op in enumerate(self.choices.ops) if op != "zero")
                row += 1
            states[pop.state] = lif(current, steps, self.cfg, None, constant=False)
        return self._logits(states, plan, steps), totals[0], totals[1]

    def _branch(self, states: list, op: str, p: int, e: int, cell: int | None, share, alive: torch.Tensor,
                totals: list) -> torch.Tensor:
        """Edge `e` of population `p` as operation `op`, its expected costs added to `totals`."""
        own = self.plans[op]
        edge = own.populations[p].edges[e]
        source = self._state(states, own, edge.source)
        if not edge.weighted:
            return source
        key, shape = self.keys[op][(p, e)]
        weight, bits, keep = self._weight(key, shape, cell)
        totals[0] = totals[0] + share * weight.numel() * keep * bits
        if p:  # the stem's input is analog (MACs, not synaptic operations)
            rate = source.reshape(source.shape[0], -1).mean(1)
            totals[1] = totals[1] + share * keep * bits * own.edge_macs(own.populations[p], edge) * (alive * rate).sum()
        norm = SlicedNorm(self.net.norm_weight[key], self.net.norm_bias[key], shape[0])
        return _edge(edge, source, weight, norm)

    def _logits(self, states: list, plan, steps: int) -> torch.Tensor:
        """The readout of the running mean rate after each candidate T: [len(steps), B, classes]."""
        rate = self._state(states, plan, plan.readout_source).mean(dim=(-2, -1))  # [T, B, C]
        key, shape = readout_key(plan)
        running = rate.cumsum(0) / torch.arange(1, steps + 1, dtype=rate.dtype, device=rate.device).view(-1, 1, 1)
        w = self.net.weights[key][: shape[0], : shape[1]]
        bias = self.net.readout_bias[key][: shape[0]]
        return torch.stack([running[s - 1] @ w.t() + bias for s in self.choices.steps])

    @staticmethod
    def _state(states: list, plan, index: int) -> torch.Tensor:
        if states[index] is None and plan.states[index].parts:
            states[index] = torch.cat([states[i] for i in plan.states[index].parts], dim=-3)
        return states[index]

    def loss(self, x: torch.Tensor, y: torch.Tensor, lam: float, mu: float) -> tuple[torch.Tensor, float]:
        """Eq. 15: the timestep-weighted cross-entropy (Eq. 17) + lambda Size + mu BitSynOps; and the
        batch accuracy at the strongest T."""
        logits, size, synops = self(x)
        psi = self.tau.softmax(0)
        ce = sum(p * F.cross_entropy(lg, y) for p, lg in zip(psi, logits))
        accuracy = float((logits[int(psi.argmax())].argmax(1) == y).float().mean())
        return ce + lam * size + mu * synops, accuracy

    def decode(self) -> dict:
        """The strongest choice of every edge, cell and the timesteps (LitE-SNN's decoding)."""
        ops = [o for o in self.choices.ops if o != "zero"]
        strongest = [max(ops, key=lambda o: float(row[self.choices.ops.index(o)])) for row in self.alpha.detach()]
        return {"ops": tuple(strongest),
                "cell_bits": tuple(self.choices.bits[int(i)] for i in self.beta.argmax(1)),
                "pruning": float(self.choices.rates[int(self.gamma.softmax(1).mean(0).argmax())]),
                "timesteps": self.choices.steps[int(self.tau.argmax())]}


def search(mixed: MixedSNN, data: Dataset, budget: Budget, epochs: int, lam: float, mu: float,
           report: Callable[[int, float], None] | None = None, deadline: float | None = None) -> int:
    """The two-step update of Section 3.4 for `epochs`; returns the iterations run."""
    device = resolve_device(budget.device)
    mixed.to(device)
    generator = seed_everything(budget.seed)
    x, y, _, _ = training_splits(data, budget, device)
    half = len(y) // 2
    weights = [p for n, p in mixed.named_parameters() if not n.startswith(("alpha", "beta", "gamma", "tau"))]
    w_opt = make_optimizer(weights, budget.optimizer, budget.lr, budget.weight_decay, 1)
    a_opt = make_optimizer(mixed.arch_parameters(), "adam", 3e-3, 0.0, 1)
    iterations = 0
    for epoch in range(epochs):
        arch_batches = iter(batch_indices(len(y) - half, budget.batch_size, generator, device))
        for index in batch_indices(half, budget.batch_size, generator, device):
            for optimizer, batch in ((w_opt, index), (a_opt, half + next(arch_batches, index))):
                loss, accuracy = mixed.loss(x[batch], y[batch], lam, mu)
                w_opt.zero_grad()
                a_opt.zero_grad()
                loss.backward()
                optimizer.step()
            iterations += 1
            if deadline is not None and time.perf_counter() > deadline:
                return iterations
        if report is not None:
            report(epoch, accuracy)
    return iterations


