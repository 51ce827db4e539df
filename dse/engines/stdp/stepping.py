"""Step-by-step simulation: inference batches, quantised learning, the reference.

Each step follows BindsNET's order [C BN:network.py ``run``]: the input of step
t comes from the spikes of step t - 1, then the excitatory update (docs/engines.md
section 1, the equations of :mod:`.network`), the inhibitory update of the
baseline, the traces and the learning rule; after a learning sample the input
weights are normalised. Inference simulates a whole batch of samples per step on
preallocated tensors, with the feed-forward currents of all steps from one
matrix product. Learning (B = 1) steps one by one where the neuron state is
rounded every step (not linear between spikes), and is the reference the
event-driven path (:mod:`.presentation`) is held to.

A :class:`Stepper` picks its phases once (input, learning rule) so the step loop
carries no branch on the network kind or on learning.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable

import torch

from .params import EXC, INH, TAU_THETA, TAU_TRACE, W_MAX
from .presentation import input_traces

if TYPE_CHECKING:
    from .network import Counts, Network, Ranges


class Stepper:
    """One step-by-step presentation of spikes [T, B, N_in] (see :meth:`.network.Network.simulate`)."""

    def __init__(self, net: Network, spikes: torch.Tensor, learning: bool, counts: Counts | None,
                 ranges: Ranges | None) -> None:
        T, B, _ = spikes.shape
        if learning and B != 1:
            raise ValueError("STDP learning presents one sample at a time (B = 1)")
        s, dev, dt = net.setup, net.device, net.dtype
        self.net, self.s, self.g, self.spikes = net, s, net.grids, spikes
        self.learning, self.counts, self.ranges = learning, counts, ranges
        n = self.n = s.n_neurons

        def zeros(dtype: torch.dtype = dt) -> torch.Tensor:
            return torch.zeros(B, n, device=dev, dtype=dtype)

        self.v, self.refr, self.spiked, self.total = zeros(), zeros(), zeros(), zeros()
        self.current = torch.empty(B, n, device=dev, dtype=dt)
        self.cross = torch.empty(B, n, device=dev, dtype=torch.bool)
        self.blocked = torch.empty(B, n, device=dev, dtype=torch.bool)
        self.d_theta, self.d_trace = math.exp(-1.0 / TAU_THETA), math.exp(-1.0 / TAU_TRACE)
        self.rows = torch.arange(B, device=dev)
        if s.baseline:
            self.vi, self.refri, self.si = zeros(), zeros(), zeros()
            self.current_i = torch.empty(B, n, device=dev, dtype=dt)
            self.cross_i = torch.empty(B, n, device=dev, dtype=torch.bool)
            self.inh_total = torch.zeros((), device=dev, dtype=dt)  # summed on the device: no sync per step
        if learning:
            self.x_in = input_traces(spikes[:, 0], self.d_trace)
            self.x_post = torch.zeros(n, device=dev, dtype=dt)
            self.fired = torch.zeros(n, device=dev, dtype=torch.bool)
            self.spike_count = torch.zeros(n, device=dev, dtype=dt)
        else:
            self.feed = torch.zeros(T, B, n, device=dev, dtype=dt)
            torch.matmul(spikes[:-1], net.w, out=self.feed[1:])
        self.input: Callable[[int], None] = self._input_learning if learning else self._input_feed
        self.rule: Callable[[int], None] = self._pair_stdp if s.pair_stdp else \
            self._sl_stdp if s.sl_stdp else self._tinysnn

    def run(self) -> torch.Tensor:
        """All steps; the excitatory spike counts [B, N]."""
        learning, baseline = self.learning, self.s.baseline
        inputs, excitatory, inhibitory, rule = self.input, self._excitatory, self._inhibitory, self.rule
        for t in range(self.spikes.shape[0]):
            inputs(t)
            excitatory()
            if baseline:
                inhibitory()
            if learning:
                rule(t)
        self._finish()
        return self.total

    # ---- phases of one step ------------------------------------------------------
    def _input_learning(self, t: int) -> None:
        """Feed-forward current of the previous step's input spikes, then lateral inhibition."""
        if t > 0:
            torch.mv(self.net.w.t(), self.spikes[t - 1, 0], out=self.current[0])
        else:
            self.current.zero_()
        self._lateral()

    def _input_feed(self, t: int) -> None:
        """Feed-forward current precomputed for all steps, then lateral inhibition."""
        self.current.copy_(self.feed[t])
        self._lateral()

    def _lateral(self) -> None:
        """Inhibition from the last step: via Ai (baseline) or directly (tinySNN)."""
        net, current = self.net, self.current
        if self.s.baseline:
            torch.mul(self.spiked, net.exc_to_inh, out=self.current_i)
            current.add_(self.si.sum(1, keepdim=True) - self.si, alpha=-net.inh)
        else:
            current.add_(self.spiked.sum(1, keepdim=True) - self.spiked, alpha=-net.inh)

    def _excitatory(self) -> None:
        """Leak, threshold decay (learning), integrate, quantise, fire and reset."""
        net, g, v, refr, cross = self.net, self.g, self.v, self.refr, self.cross
        v.mul_(EXC.decay)
        if self.learning:
            net.vth.sub_(net.thr0).mul_(self.d_theta).add_(net.thr0)
            net.q(net.vth, g.v_th)
        torch.gt(refr, 0, out=self.blocked)
        self.current.masked_fill_(self.blocked, 0.0)
        v.add_(self.current)
        net.q(v, g.v_exc)
        if self.ranges is not None:
            self.ranges.see(v_exc=float(v.abs().max()))
        refr.sub_(1.0)
        torch.ge(v, net.vth, out=cross)
        refr.masked_fill_(cross, float(EXC.refrac))
        v.masked_fill_(cross, net.reset_exc)
        self.spiked.zero_()
        if bool(cross.any()):
            self._one_spike()
            self.total.add_(self.spiked)

    def _one_spike(self) -> None:
        """One spiking neuron per sample among those that crossed (BindsNET ``one_spike``);
        while learning, the adaptive threshold of every crosser rises by theta_plus."""
        net, cross, spiked = self.net, self.cross, self.spiked
        if self.learning:
            net.vth.add_(cross[0].to(net.dtype), alpha=self.s.theta_plus)
            net.q(net.vth, self.g.v_th)
            spiked[0, net.pick(cross[0].nonzero().flatten())] = 1.0
        else:
            score = torch.rand(cross.shape, generator=net.generator, device=net.device, dtype=net.dtype)
            score.masked_fill_(~cross, -1.0)
            spiked[self.rows, score.argmax(1)] = cross.any(1).to(net.dtype)

    def _inhibitory(self) -> None:
        """The baseline's inhibitory LIF population, driven one-to-one by Ae."""
        net, vi, refri, current_i, cross_i = self.net, self.vi, self.refri, self.current_i, self.cross_i
        vi.mul_(INH.decay)
        torch.gt(refri, 0, out=self.blocked)
        current_i.masked_fill_(self.blocked, 0.0)
        refri.sub_(1.0)
        vi.add_(current_i)
        net.q(vi, self.g.v_inh)
        if self.ranges is not None:
            self.ranges.see(v_inh=float(vi.abs().max()))
        torch.ge(vi, net.thr_inh, out=cross_i)
        refri.masked_fill_(cross_i, float(INH.refrac))
        vi.masked_fill_(cross_i, net.reset_inh)
        self.si.copy_(cross_i)
        if self.counts is not None:
            self.inh_total.add_(self.si.sum())

    def _post_trace(self) -> torch.Tensor:
        """The excitatory spikes of this step; x_post decays and is set to 1 where they fired."""
        post = self.spiked[0]
        self.x_post.mul_(self.d_trace).masked_fill_(post > 0, 1.0)
        return post

    def _pair_stdp(self, t: int) -> None:
        """Pair STDP on every step: depression by input spikes, then potentiation by output ones."""
        net, s = self.net, self.s
        post = self._post_trace()
        net.w.addr_(self.spikes[t, 0], self.x_post, alpha=-s.nu_pre)
        net.w.addr_(self.x_in[t], post, alpha=s.nu_post)
        net.w.clamp_(0.0, W_MAX)
        net.q(net.w, self.g.w)

    def _sl_stdp(self, t: int) -> None:
        """SL-STDP: the column of the neuron that fired this step, if one did (one spike per step)."""
        post = self.spiked[0]
        if bool(post.any()):
            self.net.sl_stdp_update(self.x_in[t], int(post.argmax()))
            if self.counts is not None:
                self.counts.add(updated_synapses=float(self.net.n_inputs))

    def _tinysnn(self, t: int) -> None:
        """tinySNN: count spikes, and apply Eq. 1-2 at each update instant ``t_u = m T_u``."""
        post = self._post_trace()
        self.spike_count.add_(post)
        self.fired |= post > 0
        if (t + 1) % self.s.update_interval == 0:
            if bool(self.fired.any()):
                self.net.tinysnn_update(self.x_in[t], self.fired, float(self.spike_count.max()))
                if self.counts is not None:
                    self.counts.add(updated_synapses=float(self.fired.sum()) * self.net.n_inputs)
            self.fired.zero_()

    def _finish(self) -> None:
        """Normalisation after a learning sample; the activity into `counts`."""
        net, s, counts = self.net, self.s, self.counts
        if self.learning:
            net.normalize()
            if self.ranges is not None:
                self.ranges.see(v_th=float(net.vth.max()))
        if counts is None:
            return
        inputs, exc = float(self.spikes.sum()), float(self.total.sum())
        counts.add(self.spikes.shape[1], input_events=inputs, exc_spikes=exc,
                   inh_spikes=float(self.inh_total) if s.baseline else 0.0)
        if self.learning and s.pair_stdp:  # depression per input spike, potentiation per excitatory spike
            counts.add(updated_synapses=inputs * self.n + exc * net.n_inputs)
