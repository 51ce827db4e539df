"""The event-driven solver of learning presentations: quiet steps in closed form.

Between excitatory spikes the float network is linear, so a block of K quiet
steps is solved at once (docs/engines.md section 1, :meth:`.network.Network.learn`):

.. math::

    v_k = a^k v_0 + \\sum_{u \\le k} a^{k-u} I_u, \\qquad
    \\vartheta_k = thresh + \\theta\\, d^k

(``v`` as one matrix product with the lower-triangular kernel
``L[k, u] = a^(k-u)``), and the pair-STDP depression of quiet steps as
``max(0, W - nu_pre A x_post^T)``, exact because a decreasing sequence clamped at
0 is its clamped sum [C BN:learning ``PostPre``]. A :class:`EventSolver` is owned
by one network: it holds the decay tables and the block buffers, allocated once
and overwritten by each presentation; the per-sample state (membranes,
refractory counters, traces) is the presentation's (:mod:`.presentation`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

from .params import EXC, TAU_THETA, TAU_TRACE

if TYPE_CHECKING:
    from .network import Network
    from .presentation import Presentation

BLOCK = 64
"""Most steps solved in closed form at once (a K x K decay matrix)."""


def decay_tables(device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, ...]:
    """Decay powers ``a^(k+1)``, ``d_theta^(k+1)``, ``d_trace^(k+1)``, the kernel
    ``L[k, u] = a^(k-u)`` (u <= k) and the step offsets k, for k < BLOCK."""
    k = torch.arange(BLOCK, dtype=torch.float64)
    a = EXC.decay
    decay_v = a ** (k + 1)
    diff = k[:, None] - k[None, :]
    kernel = torch.where(diff >= 0, a ** diff.clamp(min=0), torch.zeros(()))
    decay_theta = math.exp(-1.0 / TAU_THETA) ** (k + 1)
    decay_trace = math.exp(-1.0 / TAU_TRACE) ** (k + 1)
    return tuple(x.to(device=device, dtype=dtype) for x in (decay_v, kernel, decay_theta, decay_trace, k))


class EventSolver:
    """Closed-form blocks of quiet steps for one network (its tables and buffers)."""

    def __init__(self, net: Network) -> None:
        n, dev, dt = net.setup.n_neurons, net.device, net.dtype
        self.net = net
        self.decay_v, self.kernel, self.decay_theta, self.decay_trace, self.k = decay_tables(dev, dt)
        self.thr0_value = net.thr0
        self.thr0 = torch.full((BLOCK, n), net.thr0, device=dev, dtype=dt)
        self.feed, self.drive, self.vblock, self.thr = (torch.empty(BLOCK, n, device=dev, dtype=dt)
                                                        for _ in range(4))
        self.cross, self.active = (torch.empty(BLOCK, n, device=dev, dtype=torch.bool) for _ in range(2))
        self.acc: torch.Tensor | None = None  # A_1..A_k of the last block (baseline)

    def prepare(self) -> None:
        """Before a presentation: the threshold rows follow the network's stored ``thresh``."""
        if self.net.thr0 != self.thr0_value:
            self.thr0_value = self.net.thr0
            self.thr0.fill_(self.thr0_value)

    def block(self, p: Presentation, t: int, k: int) -> int | None:
        """Membranes of steps t..t+k-1 if no neuron fires; the offset of the first
        step on which one crosses threshold, or None."""
        net = self.net
        feed = self.feed[:k]
        torch.mm(p.padded[t:t + k], net.w, out=feed)
        self.acc = None
        if p.s.baseline and p.post_active:
            self.acc = self._accumulated(p, t, k)
            if k > 1:
                self._depression_in_block(p, t, k, feed)
        for step, inputs in p.pending.items():
            if t <= step < t + k:
                for spared, strength in inputs:
                    row = feed[step - t]
                    row.sub_(strength)
                    row[spared] += strength
        drive = feed
        if p.refr_until >= t:
            torch.ge(self.k[:k, None], p.refr[None, :], out=self.active[:k])
            drive = torch.mul(feed, self.active[:k], out=self.drive[:k])
        vb = self.vblock[:k]
        torch.mm(self.kernel[:k, :k], drive, out=vb)
        vb.addr_(self.decay_v[:k], p.v)
        thr = torch.addr(self.thr0[:k], self.decay_theta[:k], net.vth - net.thr0, out=self.thr[:k])
        cross = torch.ge(vb, thr, out=self.cross[:k])
        hits = cross.any(1).nonzero()
        first = int(hits[0]) if hits.numel() else None
        if p.ranges is not None:
            upto = k if first is None else first + 1
            p.ranges.see(v_exc=float(vb[:upto].abs().max()))
        return first

    def _depression_in_block(self, p: Presentation, t: int, k: int, feed: torch.Tensor) -> None:
        """Pair STDP's depression within quiet steps changes the weights each input
        spike sees: the input of step t+j uses ``max(0, W - nu_pre A_j x_post^T)`` with
        ``A_j = sum_{u<j} s_in(t+u) d^(u+1)`` (x_post decays by d per step)."""
        acc = self.acc  # rows: A_1 .. A_k
        pairs = p.padded[t + 1:t + k].nonzero()  # (j - 1, i) with s_in(t+j-1) = 1, j >= 1
        if pairs.numel() == 0:
            return
        j, i = pairs[:, 0], pairs[:, 1]
        amount = torch.outer(acc[j, i], p.x_post * p.s.nu_pre)
        feed.index_add_(0, j + 1, torch.minimum(self.net.w[i], amount), alpha=-1.0)

    def _accumulated(self, p: Presentation, t: int, k: int) -> torch.Tensor:
        """``A_j`` for j = 1..k: input spikes of steps t..t+j-1 weighted by the decay
        of x_post since step t - 1."""
        return torch.cumsum(p.padded[t + 1:t + 1 + k] * self.decay_trace[:k, None], 0)

    def advance(self, p: Presentation, t: int, m: int) -> None:
        """Accept m quiet steps t..t+m-1 from the last block."""
        net = self.net
        p.v.copy_(self.vblock[m - 1])
        p.refr.sub_(m)
        net.decay_threshold(float(self.decay_theta[m - 1]))
        if p.s.baseline and p.post_active:
            net.w.addr_(self.acc[m - 1], p.x_post, alpha=-p.s.nu_pre).clamp_(min=0.0)
        if p.post_active:
            p.x_post.mul_(float(self.decay_trace[m - 1]))
        for step in [s for s in p.pending if s < t + m]:
            del p.pending[step]
