"""One training sample presented with learning, event-driven (float neuron state).

Samples are presented one by one, in order, because every sample's weight and
threshold changes shape the next sample's response (BindsNET's batched learning
sums the updates of a batch, a different rule). A :class:`Presentation` holds
the state of one sample: its input spikes and traces, the membranes, refractory
counters and post-synaptic traces, and the inhibition still to arrive. Quiet
stretches are solved by the network's :class:`.solver.EventSolver`; the steps on
which an excitatory neuron fires are simulated here one by one, with the
learning rules (docs/engines.md section 1):

- pair STDP of the baseline on the firing step [C BN:learning ``PostPre``]:
  ``W -= nu_pre * s_pre x_post^T``, then ``W += nu_post * x_pre s_post^T``,
  clamped to [0, 1], with traces set to 1 on a spike and decaying with tau 20;
- tinySNN's Eq. 1-2 at the update instants ``t_u = m T_u`` (seed section 2.2,
  :meth:`.network.Network.tinysnn_update`).

The inhibitory neurons of the baseline receive input only from their own
excitatory partner, so each is advanced lazily, in plain Python, when that
partner fires.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

from .params import EXC, INH, TAU_TRACE, W_MAX
from .solver import BLOCK

if TYPE_CHECKING:
    from .network import Counts, Network, Ranges


def input_traces(spikes: torch.Tensor, decay: float) -> torch.Tensor:
    """Traces ``x(t) = d^(t - last spike)`` (0 before the first), along dim 0."""
    steps = torch.arange(spikes.shape[0], device=spikes.device).view(-1, *([1] * (spikes.dim() - 1)))
    last = torch.where(spikes > 0, steps, torch.full_like(steps, -1)).cummax(0).values
    powers = torch.tensor(decay, dtype=torch.float64, device=spikes.device) ** (steps - last)
    return torch.where(last >= 0, powers, torch.zeros((), dtype=torch.float64, device=spikes.device)
                       ).to(spikes.dtype)


class Presentation:
    """The state of one event-driven training presentation (see :meth:`.network.Network.learn`)."""

    def __init__(self, net: Network, spikes: torch.Tensor, counts: Counts | None, ranges: Ranges | None) -> None:
        s = net.setup
        self.net, self.s, self.counts, self.ranges = net, s, counts, ranges
        self.solver = net.solver
        self.solver.prepare()
        T, n_in = spikes.shape
        dev, dt = net.device, net.dtype
        self.T, self.n = T, s.n_neurons
        self.padded = torch.cat([torch.zeros(1, n_in, device=dev, dtype=dt), spikes])  # row t: spikes of t - 1
        self.x_in = input_traces(spikes, math.exp(-1.0 / TAU_TRACE))
        n = self.n
        self.v = torch.zeros(n, device=dev, dtype=dt)
        self.refr = torch.zeros(n, device=dev, dtype=dt)
        self.x_post = torch.zeros(n, device=dev, dtype=dt)
        self.post_active = False  # any excitatory spike yet (x_post nonzero)
        self.refr_until = -1  # last step on which some neuron is still refractory
        self.pending: dict[int, list[tuple[int, float]]] = {}  # step -> [(spared neuron, strength)]
        self.spike_count = [0] * n
        self.fired: set[int] = set()
        # inhibitory neuron j: (v - rest, refractory counter, step of that state)
        self.inh_state: dict[int, tuple[float, float, int]] = {}
        self.exc_spikes = 0
        self.inh_spikes = 0
        self.updated = 0.0

    def run(self) -> None:
        net, s, solver = self.net, self.s, self.solver
        if s.baseline:  # pair STDP clamps W on every step, so after step 0 it is in [0, 1]
            net.w.clamp_(0.0, W_MAX)
        t = 0
        interval = s.update_interval if not s.baseline else self.T
        while t < self.T:
            boundary = min(self.T, (t // interval + 1) * interval)
            k = min(BLOCK, boundary - t)
            first = solver.block(self, t, k)
            quiet = k if first is None else first
            if quiet:
                solver.advance(self, t, quiet)
                t += quiet
            if first is not None:
                self._spike_step(t, first)
                t += 1
            if not s.baseline and t == boundary and t % interval == 0:
                self._update(t - 1)
        net.normalize()
        if self.ranges is not None:
            self.ranges.see(v_th=float(net.vth.max()))
        if self.counts is not None:
            inputs = float(self.padded.sum())
            self.counts.add(1, input_events=inputs, exc_spikes=self.exc_spikes, inh_spikes=self.inh_spikes,
                            updated_synapses=self.updated + (inputs * self.n if s.baseline else 0.0))

    def _spike_step(self, t: int, j: int) -> None:
        """Step t, on which some neuron crosses threshold (row j of the last block)."""
        net, s, solver = self.net, self.s, self.solver
        cross = solver.cross[j]
        crossers = cross.nonzero().flatten()
        self.v.copy_(solver.vblock[j]).masked_fill_(cross, net.reset_exc)
        self.refr.sub_(1.0).masked_fill_(cross, float(EXC.refrac))
        self.refr_until = t + EXC.refrac
        net.decay_threshold(float(solver.decay_theta[0]))
        net.vth.add_(cross, alpha=s.theta_plus)
        winner = net.pick(crossers)
        self.exc_spikes += 1
        self.pending.pop(t, None)
        decay = float(solver.decay_trace[0])
        if self.post_active:
            self.x_post.mul_(decay)
        self.x_post[winner] = 1.0
        self.post_active = True
        if s.baseline:
            net.w.addr_(self.padded[t + 1], self.x_post, alpha=-s.nu_pre)
            net.w[:, winner].add_(self.x_in[t], alpha=s.nu_post)
            net.w.clamp_(0.0, W_MAX)
            self.updated += net.n_inputs  # the winner's column is potentiated
            if t + 1 < self.T and self._inhibitory_fires(winner, t + 1):
                self.pending.setdefault(t + 2, []).append((winner, net.inh))
        else:
            self.spike_count[winner] += 1
            self.fired.add(winner)
            self.pending.setdefault(t + 1, []).append((winner, net.inh))

    def _inhibitory_fires(self, j: int, step: int) -> bool:
        """Inhibitory neuron j at `step`, whose only input is 22.5 from Ae_j at step - 1."""
        net = self.net
        v, refr, last = self.inh_state.get(j, (0.0, 0.0, -1))
        quiet = step - 1 - last  # steps without input since its last update
        v *= INH.decay ** quiet
        refr -= quiet
        v *= INH.decay
        drive = net.exc_to_inh if refr <= 0 else 0.0
        refr -= 1
        v += drive
        if self.ranges is not None:
            self.ranges.see(v_inh=abs(v))
        fires = v >= net.thr_inh
        if fires:
            v, refr = net.reset_inh, float(INH.refrac)
            self.inh_spikes += 1
        self.inh_state[j] = (v, refr, step)
        return fires

    def _update(self, t: int) -> None:
        """tinySNN's update at the end of step t (an update instant)."""
        if not self.fired:
            return
        net = self.net
        fired = torch.zeros(self.n, device=net.device, dtype=torch.bool)
        fired[list(self.fired)] = True
        net.tinysnn_update(self.x_in[t], fired, float(max(self.spike_count)))
        self.updated += len(self.fired) * net.n_inputs
        self.fired.clear()
