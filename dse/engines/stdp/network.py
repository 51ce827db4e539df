"""Simulation of the Diehl & Cook network and of tinySNN (ENGINES.md section 1).

Both networks take Poisson input (a pixel of value x fires with probability
``input_rate * x * dt / 1000`` per 1 ms step, the Bernoulli form of BindsNET's
``poisson`` encoder) into N excitatory neurons with adaptive thresholds, as
BindsNET's ``DiehlAndCookNodes`` [C BN:bindsnet/network/nodes.py]. Each step:

.. math::

    v \\leftarrow a v + [r \\le 0]\\, I, \\quad r \\leftarrow r - 1, \\quad
    s = [v \\ge \\vartheta], \\quad v[s] = v_{reset},\\ r[s] = 5,\\
    \\theta[s] \\mathrel{+}= \\theta_+

with v and the threshold ``vartheta = thresh + theta`` stored relative to rest,
``a = exp(-1/100)``, theta decaying by ``exp(-1/1e7)`` per step while learning,
and only one spiking neuron kept per step (chosen uniformly, ``one_spike``).
The input of step t comes from the spikes of step t - 1 [C BN:network.py ``run``].

- Baseline (``diehl-cook``): inhibitory LIF population, Ae->Ai one-to-one 22.5,
  Ai->Ae all-but-self ``-inhibition``; pair STDP on every step
  [C BN:learning ``PostPre``]: ``W -= nu_pre * s_pre x_post^T`` then
  ``W += nu_post * x_pre s_post^T``, clamped to [0, 1], with traces set to 1 on a
  spike and decaying with tau 20.
- tinySNN (``tinysnn``, seed section 2): direct lateral inhibition, a spike
  subtracting ``w_inh`` from every other excitatory membrane on the next step
  [C BN:``DiehlAndCook2015v2``]; weights change only at ``t_u = m T_u`` (seed
  section 2.2) by Eq. 1-2 (forms *assumed* in ENGINES.md 1b):
  ``k = maxS_post / S_th``, ``dw_ij = k eta x_pre_i (w_max - w_ij)`` for the
  neurons j that fired in ``(t_u - T_u, t_u]``; no depression.
- After every training sample the input weights are normalised so each column
  sums to ``norm`` [C BN:topology ``normalize``]; state resets between samples,
  thresholds are kept.

Quantisation (tinySNN section 2.3, ENGINES.md 1c): weights on Q0.b (clamped to
``1 - 2^-b``), the membrane potentials and ``V_th`` on signed/unsigned Q(i.f)
with i from the range observed in an FP32 run, rounding truncate / nearest /
stochastic. Constants (22.5, the inhibition, reset potentials) are rounded to
nearest once on the grid that stores them. PTQ quantises W and V_th after
training and V_mem on every inference step; ITQ (``qat``) keeps no float copy:
W is re-quantised after every change, V_th after every decay and increment,
V_mem on every step.

Speed. Inference and labelling simulate a whole batch of samples per step on
preallocated tensors, with the feed-forward currents of all steps from one
matrix product. Training presents samples one by one, in order, because every
sample's weight and threshold changes shape the next sample's response
(BindsNET's batched learning sums the updates of a batch, a different rule).
:meth:`Network.learn` does this exactly but event-driven: between spikes the
network is linear, so a block of K quiet steps is solved in closed form
(``v_k = a^k v_0 + sum_u a^(k-u) I_u`` as one matrix product, thresholds
``thresh + theta d^k``, depression of quiet steps ``max(0, W - nu_pre A x_post^T)``,
exact because a decreasing sequence clamped at 0 is its clamped sum); only the
steps where a neuron fires are simulated one by one. Quantised neuron state is
not linear between spikes (it is rounded every step), so ITQ with quantised
V_mem/V_th, and the baseline's ITQ with quantised weights, use the step-by-step
:meth:`Network.simulate`, which is also the reference the tests hold the fast
path to.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import torch

from ..quant import Grid, fixed_point, quantize
from .params import EXC, EXC_TO_INH, INH, TAU_THETA, TAU_TRACE, W_INIT, W_MAX, Setup
from .shapes import Activity

BLOCK = 64
"""Most steps solved in closed form at once (a K x K decay matrix)."""


@dataclass
class Ranges:
    """Largest magnitudes seen in an FP32 run: they size the integer bits."""

    v_exc: float = 0.0
    v_th: float = 0.0
    v_inh: float = 0.0

    def see(self, v_exc: float = 0.0, v_th: float = 0.0, v_inh: float = 0.0) -> None:
        self.v_exc = max(self.v_exc, v_exc)
        self.v_th = max(self.v_th, v_th)
        self.v_inh = max(self.v_inh, v_inh)


@dataclass
class Counts:
    """Activity summed over presented samples; :meth:`activity` gives it per sample."""

    samples: int = 0
    sums: dict[str, float] = field(default_factory=lambda: {f.name: 0.0 for f in fields(Activity)})

    def add(self, samples: int = 0, **values: float) -> None:
        self.samples += samples
        for name, value in values.items():
            self.sums[name] += value

    def activity(self) -> Activity:
        return Activity(**{name: total / max(1, self.samples) for name, total in self.sums.items()})


@dataclass
class Grids:
    """Quantisation grids of one network (None: float32)."""

    w: Grid | None = None
    v_exc: Grid | None = None
    v_th: Grid | None = None
    v_inh: Grid | None = None


def weight_grid(bits: int) -> Grid | None:
    """Q0.b for the input weights in [0, 1], saturating at 1 - 2^-b (ENGINES.md 1c [P])."""
    if bits >= 32:
        return None
    return Grid(2.0 ** -bits, 0, 2**bits - 1)


def constant(value: float, bits: int) -> float:
    """A constant stored at `bits`: integer bits from its value, rounded to nearest."""
    if bits >= 32:
        return value
    grid = fixed_point(bits, abs(value), signed=value < 0)
    return float(quantize(torch.tensor(value, dtype=torch.float64), grid, "nearest"))


def on_grid(value: float, grid: Grid | None) -> float:
    """A constant held in a register of `grid` (reset potentials), rounded to nearest."""
    if grid is None:
        return value
    return float(quantize(torch.tensor(value, dtype=torch.float64), grid, "nearest"))


def input_traces(spikes: torch.Tensor, decay: float) -> torch.Tensor:
    """Traces ``x(t) = d^(t - last spike)`` (0 before the first), along dim 0."""
    steps = torch.arange(spikes.shape[0], device=spikes.device).view(-1, *([1] * (spikes.dim() - 1)))
    last = torch.where(spikes > 0, steps, torch.full_like(steps, -1)).cummax(0).values
    powers = torch.tensor(decay, dtype=torch.float64, device=spikes.device) ** (steps - last)
    return torch.where(last >= 0, powers, torch.zeros((), dtype=torch.float64, device=spikes.device)
                       ).to(spikes.dtype)


@dataclass
class Network:
    """The learnable state (input weights, thresholds) and constants of one design."""

    setup: Setup
    n_inputs: int
    device: torch.device
    generator: torch.Generator
    dtype: torch.dtype = torch.float32
    grids: Grids = field(default_factory=Grids)

    def __post_init__(self) -> None:
        n, dev = self.setup.n_neurons, self.device
        self.w = W_INIT * torch.rand(self.n_inputs, n, generator=self.generator, device=dev, dtype=self.dtype)
        self.vth = torch.full((n,), EXC.thresh - EXC.rest, device=dev, dtype=self.dtype)
        self.set_constants()

    # ---- constants and quantisation --------------------------------------------
    def set_constants(self) -> None:
        """Constants as stored at the design's precision (float32 before quantisation)."""
        s, g = self.setup, self.grids
        wb = s.weight_bits if g.w is not None else 32
        self.inh = constant(s.inhibition, wb)
        self.exc_to_inh = constant(EXC_TO_INH, wb)
        self.thr0 = on_grid(EXC.thresh - EXC.rest, g.v_th)
        self.reset_exc = on_grid(EXC.reset - EXC.rest, g.v_exc)
        self.reset_inh = on_grid(INH.reset - INH.rest, g.v_inh)
        nb = s.neuron_bits if g.v_inh is not None else 32
        self.thr_inh = constant(INH.thresh - INH.rest, nb)

    def make_grids(self, ranges: Ranges, weights: bool = True, neurons: bool = True) -> None:
        """Grids from the observed ranges: Q(i.f), i = max(0, floor(log2 max|x|) + 1)."""
        s = self.setup
        nb = s.neuron_bits
        self.grids = Grids(
            w=weight_grid(s.weight_bits) if weights else None,
            v_exc=fixed_point(nb, ranges.v_exc, signed=True) if neurons and s.quantized_neurons else None,
            v_th=fixed_point(nb, ranges.v_th, signed=False) if neurons and s.quantized_neurons else None,
            v_inh=fixed_point(nb, ranges.v_inh, signed=True)
            if neurons and s.quantized_neurons and s.baseline else None,
        )
        self.set_constants()

    def q(self, x: torch.Tensor, grid: Grid | None) -> torch.Tensor:
        """x quantised in place on `grid` with the design's rounding (no-op for float).

        The same values as :func:`dse.engines.quant.quantize` for these offset-free
        Q(i.f) grids, in four in-place operations (it runs on every step): scaling by
        the power-of-two step is exact, then truncate ``floor(y)``, nearest
        ``floor(y + 1/2)`` or stochastic ``floor(y + u)``, then saturate.
        """
        if grid is None:
            return x
        x.mul_(1.0 / grid.delta)
        if self.setup.rounding == "nearest":
            x.add_(0.5)
        elif self.setup.rounding == "stochastic":
            x.add_(torch.rand(x.shape, generator=self.generator, device=x.device, dtype=x.dtype))
        return x.floor_().clamp_(grid.kmin, grid.kmax).mul_(grid.delta)

    def quantize_params(self) -> None:
        """PTQ, and the start of ITQ: W and V_th onto their grids."""
        self.q(self.w, self.grids.w)
        self.q(self.vth, self.grids.v_th)

    @property
    def steps_exactly(self) -> bool:
        """Whether learning must step one by one (rounding every step is not linear)."""
        g = self.grids
        return g.v_exc is not None or g.v_th is not None or (self.setup.baseline and g.w is not None)

    # ---- input ------------------------------------------------------------------
    def encode(self, x: torch.Tensor, steps: int) -> torch.Tensor:
        """Poisson spikes [steps, *x.shape] (0/1) at ``input_rate * x`` Hz, dt = 1 ms."""
        p = (x * (self.setup.input_rate / 1000.0)).clamp(max=1.0)
        noise = torch.rand((steps, *x.shape), generator=self.generator, device=x.device, dtype=self.dtype)
        return (noise < p).to(self.dtype)

    def normalize(self) -> None:
        """Each neuron's input weights scaled to sum to ``norm`` [C BN:topology ``normalize``]."""
        total = self.w.sum(0)
        total.masked_fill_(total == 0, 1.0)
        self.w.mul_(self.setup.norm / total)
        self.q(self.w, self.grids.w)

    def tinysnn_update(self, x_pre: torch.Tensor, fired: torch.Tensor, max_count: float) -> None:
        """tinySNN Eq. 1-2: ``w += (maxS/S_th) eta x_pre (w_max - w)`` on columns that fired."""
        s = self.setup
        scale = (max_count / s.s_th) * s.eta
        self.w.addcmul_(torch.outer(x_pre, fired.to(self.dtype)), W_MAX - self.w, value=scale)
        self.w.clamp_(0.0, W_MAX)
        self.q(self.w, self.grids.w)

    def pick(self, crossers: torch.Tensor) -> int:
        """One of the neurons that crossed threshold, uniformly (BindsNET ``one_spike``)."""
        if crossers.numel() == 1:
            return int(crossers[0])
        return int(crossers[int(torch.randint(crossers.numel(), (1,), generator=self.generator,
                                                  device=self.device))])

    # ---- step by step: inference batches, quantised learning, the reference -------
    def simulate(self, spikes: torch.Tensor, learning: bool = False, counts: Counts | None = None,
                 ranges: Ranges | None = None) -> torch.Tensor:
        """Present spikes [T, B, N_in]; return excitatory spike counts [B, N].

        Learning needs B = 1 (samples in order). The step follows BindsNET's order:
        inputs from the previous step's spikes, excitatory update, inhibitory update,
        traces, the learning rule; then normalisation after the sample.
        """
        T, B, _ = spikes.shape
        s, g, dev, dt = self.setup, self.grids, self.device, self.dtype
        if learning and B != 1:
            raise ValueError("STDP learning presents one sample at a time (B = 1)")
        n = s.n_neurons
        v = torch.zeros(B, n, device=dev, dtype=dt)
        refr = torch.zeros(B, n, device=dev, dtype=dt)
        spiked = torch.zeros(B, n, device=dev, dtype=dt)
        total = torch.zeros(B, n, device=dev, dtype=dt)
        current = torch.empty(B, n, device=dev, dtype=dt)
        cross = torch.empty(B, n, device=dev, dtype=torch.bool)
        blocked = torch.empty(B, n, device=dev, dtype=torch.bool)
        a, d_theta = EXC.decay, math.exp(-1.0 / TAU_THETA)
        if s.baseline:
            vi = torch.zeros(B, n, device=dev, dtype=dt)
            refri = torch.zeros(B, n, device=dev, dtype=dt)
            si = torch.zeros(B, n, device=dev, dtype=dt)
            current_i = torch.empty(B, n, device=dev, dtype=dt)
            cross_i = torch.empty(B, n, device=dev, dtype=torch.bool)
            inh_total = torch.zeros((), device=dev, dtype=dt)  # summed on the device: no sync per step
        if learning:
            x_in = input_traces(spikes[:, 0], math.exp(-1.0 / TAU_TRACE))
            x_post = torch.zeros(n, device=dev, dtype=dt)
            fired = torch.zeros(n, device=dev, dtype=torch.bool)
            spike_count = torch.zeros(n, device=dev, dtype=dt)
        else:
            feed = torch.zeros(T, B, n, device=dev, dtype=dt)
            torch.matmul(spikes[:-1], self.w, out=feed[1:])
        rows = torch.arange(B, device=dev)
        for t in range(T):
            if learning:
                if t > 0:
                    torch.mv(self.w.t(), spikes[t - 1, 0], out=current[0])
                else:
                    current.zero_()
            else:
                current.copy_(feed[t])
            if s.baseline:
                torch.mul(spiked, self.exc_to_inh, out=current_i)
                current.add_(si.sum(1, keepdim=True) - si, alpha=-self.inh)
            else:
                current.add_(spiked.sum(1, keepdim=True) - spiked, alpha=-self.inh)
            # excitatory neurons
            v.mul_(a)
            if learning:
                self.vth.sub_(self.thr0).mul_(d_theta).add_(self.thr0)
                self.q(self.vth, g.v_th)
            torch.gt(refr, 0, out=blocked)
            current.masked_fill_(blocked, 0.0)
            v.add_(current)
            self.q(v, g.v_exc)
            if ranges is not None:
                ranges.see(v_exc=float(v.abs().max()))
            refr.sub_(1.0)
            torch.ge(v, self.vth, out=cross)
            refr.masked_fill_(cross, float(EXC.refrac))
            v.masked_fill_(cross, self.reset_exc)
            spiked.zero_()
            if bool(cross.any()):
                if learning:
                    self.vth.add_(cross[0].to(dt), alpha=s.theta_plus)
                    self.q(self.vth, g.v_th)
                    spiked[0, self.pick(cross[0].nonzero().flatten())] = 1.0
                else:
                    score = torch.rand(B, n, generator=self.generator, device=dev, dtype=dt)
                    score.masked_fill_(~cross, -1.0)
                    spiked[rows, score.argmax(1)] = cross.any(1).to(dt)
                total.add_(spiked)
            # inhibitory neurons (baseline)
            if s.baseline:
                vi.mul_(INH.decay)
                torch.gt(refri, 0, out=blocked)
                current_i.masked_fill_(blocked, 0.0)
                refri.sub_(1.0)
                vi.add_(current_i)
                self.q(vi, g.v_inh)
                if ranges is not None:
                    ranges.see(v_inh=float(vi.abs().max()))
                torch.ge(vi, self.thr_inh, out=cross_i)
                refri.masked_fill_(cross_i, float(INH.refrac))
                vi.masked_fill_(cross_i, self.reset_inh)
                si.copy_(cross_i)
                if counts is not None:
                    inh_total.add_(si.sum())
            # learning rule
            if learning:
                post = spiked[0]
                x_post.mul_(math.exp(-1.0 / TAU_TRACE)).masked_fill_(post > 0, 1.0)
                if s.baseline:
                    self.w.addr_(spikes[t, 0], x_post, alpha=-s.nu_pre)
                    self.w.addr_(x_in[t], post, alpha=s.nu_post)
                    self.w.clamp_(0.0, W_MAX)
                    self.q(self.w, g.w)
                else:
                    spike_count.add_(post)
                    fired |= post > 0
                    if (t + 1) % s.update_interval == 0:
                        if bool(fired.any()):
                            self.tinysnn_update(x_in[t], fired, float(spike_count.max()))
                            if counts is not None:
                                counts.add(updated_synapses=float(fired.sum()) * self.n_inputs)
                        fired.zero_()
        if learning:
            self.normalize()
            if ranges is not None:
                ranges.see(v_th=float(self.vth.max()))
        if counts is not None:
            counts.add(B, input_events=float(spikes.sum()), exc_spikes=float(total.sum()),
                       inh_spikes=float(inh_total) if s.baseline else 0.0)
            if learning and s.baseline:  # depression per input spike, potentiation per excitatory spike
                counts.add(updated_synapses=float(spikes.sum()) * n + float(total.sum()) * self.n_inputs)
        return total

    # ---- event-driven learning (float neuron state) ----------------------------
    def learn(self, spikes: torch.Tensor, counts: Counts | None = None, ranges: Ranges | None = None) -> None:
        """Present one training sample [T, N_in] with learning, exactly as :meth:`simulate`.

        Quiet stretches are solved in closed form (module docstring); the steps on
        which an excitatory neuron fires are simulated one by one. The inhibitory
        neurons of the baseline receive input only from their own excitatory partner,
        so each is advanced lazily, in plain Python, when that partner fires.
        """
        if self.steps_exactly:
            self.simulate(spikes.unsqueeze(1), learning=True, counts=counts, ranges=ranges)
            return
        _Presentation(self, spikes, counts, ranges).run()


class _Presentation:
    """The state of one event-driven training presentation (see :meth:`Network.learn`)."""

    def __init__(self, net: Network, spikes: torch.Tensor, counts: Counts | None, ranges: Ranges | None) -> None:
        s = net.setup
        self.net, self.s, self.counts, self.ranges = net, s, counts, ranges
        T, n_in = spikes.shape
        dev, dt = net.device, net.dtype
        self.T, self.n = T, s.n_neurons
        self.padded = torch.cat([torch.zeros(1, n_in, device=dev, dtype=dt), spikes])  # row t: spikes of t - 1
        self.x_in = input_traces(spikes, math.exp(-1.0 / TAU_TRACE))
        cache = _tables(dev, dt)
        self.decay_v, self.kernel, self.decay_theta, self.decay_trace, self.k = cache
        n = self.n
        self.v = torch.zeros(n, device=dev, dtype=dt)
        self.refr = torch.zeros(n, device=dev, dtype=dt)
        self.x_post = torch.zeros(n, device=dev, dtype=dt)
        self.post_active = False  # any excitatory spike yet (x_post nonzero)
        self.refr_until = -1  # last step on which some neuron is still refractory
        self.pending: dict[int, list[tuple[int, float]]] = {}  # step -> [(spared neuron, strength)]
        self.acc: torch.Tensor | None = None  # A_1..A_k of the last block (baseline)
        self.thr0, self.feed, self.drive, self.vblock, self.thr, self.cross, self.active = _workspace(net)
        self.spike_count = [0] * n
        self.fired: set[int] = set()
        # inhibitory neuron j: (v - rest, refractory counter, step of that state)
        self.inh_state = {}
        self.exc_spikes = 0
        self.inh_spikes = 0
        self.updated = 0.0

    def run(self) -> None:
        net, s = self.net, self.s
        if s.baseline:  # pair STDP clamps W on every step, so after step 0 it is in [0, 1]
            net.w.clamp_(0.0, W_MAX)
        t = 0
        interval = s.update_interval if not s.baseline else self.T
        while t < self.T:
            boundary = min(self.T, (t // interval + 1) * interval)
            k = min(BLOCK, boundary - t)
            first = self._block(t, k)
            quiet = k if first is None else first
            if quiet:
                self._advance(t, quiet)
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

    def _block(self, t: int, k: int) -> int | None:
        """Membranes of steps t..t+k-1 if no neuron fires; the offset of the first
        step on which one crosses threshold, or None."""
        net, s = self.net, self.s
        feed = self.feed[:k]
        rows = self.padded[t:t + k]
        torch.mm(rows, net.w, out=feed)
        self.acc = None
        if s.baseline and self.post_active:
            self.acc = self._accumulated(t, k)
            if k > 1:
                self._depression_in_block(t, k, feed)
        for step, inputs in self.pending.items():
            if t <= step < t + k:
                for spared, strength in inputs:
                    row = feed[step - t]
                    row.sub_(strength)
                    row[spared] += strength
        drive = feed
        if self.refr_until >= t:
            torch.ge(self.k[:k, None], self.refr[None, :], out=self.active[:k])
            drive = torch.mul(feed, self.active[:k], out=self.drive[:k])
        vb = self.vblock[:k]
        torch.mm(self.kernel[:k, :k], drive, out=vb)
        vb.addr_(self.decay_v[:k], self.v)
        thr = torch.addr(self.thr0[:k], self.decay_theta[:k], net.vth - net.thr0, out=self.thr[:k])
        cross = torch.ge(vb, thr, out=self.cross[:k])
        hits = cross.any(1).nonzero()
        first = int(hits[0]) if hits.numel() else None
        if self.ranges is not None:
            upto = k if first is None else first + 1
            self.ranges.see(v_exc=float(vb[:upto].abs().max()))
        return first

    def _depression_in_block(self, t: int, k: int, feed: torch.Tensor) -> None:
        """Pair STDP's depression within quiet steps changes the weights each input
        spike sees: the input of step t+j uses ``max(0, W - nu_pre A_j x_post^T)`` with
        ``A_j = sum_{u<j} s_in(t+u) d^(u+1)`` (x_post decays by d per step)."""
        acc = self.acc  # rows: A_1 .. A_k
        pairs = self.padded[t + 1:t + k].nonzero()  # (j - 1, i) with s_in(t+j-1) = 1, j >= 1
        if pairs.numel() == 0:
            return
        j, i = pairs[:, 0], pairs[:, 1]
        amount = torch.outer(acc[j, i], self.x_post * self.s.nu_pre)
        feed.index_add_(0, j + 1, torch.minimum(self.net.w[i], amount), alpha=-1.0)

    def _accumulated(self, t: int, k: int) -> torch.Tensor:
        """``A_j`` for j = 1..k: input spikes of steps t..t+j-1 weighted by the decay
        of x_post since step t - 1."""
        return torch.cumsum(self.padded[t + 1:t + 1 + k] * self.decay_trace[:k, None], 0)

    def _advance(self, t: int, m: int) -> None:
        """Accept m quiet steps t..t+m-1 from the last block."""
        net, s = self.net, self.s
        self.v.copy_(self.vblock[m - 1])
        self.refr.sub_(m)
        _decay_threshold(net, float(self.decay_theta[m - 1]))
        if s.baseline and self.post_active:
            net.w.addr_(self.acc[m - 1], self.x_post, alpha=-s.nu_pre).clamp_(min=0.0)
        if self.post_active:
            self.x_post.mul_(float(self.decay_trace[m - 1]))
        for step in [p for p in self.pending if p < t + m]:
            del self.pending[step]

    def _spike_step(self, t: int, j: int) -> None:
        """Step t, on which some neuron crosses threshold (row j of the last block)."""
        net, s = self.net, self.s
        cross = self.cross[j]
        crossers = cross.nonzero().flatten()
        self.v.copy_(self.vblock[j]).masked_fill_(cross, net.reset_exc)
        self.refr.sub_(1.0).masked_fill_(cross, float(EXC.refrac))
        self.refr_until = t + EXC.refrac
        _decay_threshold(net, float(self.decay_theta[0]))
        net.vth.add_(cross, alpha=s.theta_plus)
        winner = net.pick(crossers)
        self.exc_spikes += 1
        self.pending.pop(t, None)
        decay = float(self.decay_trace[0])
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


_WORKSPACES: dict[tuple[str, torch.dtype, int, float], tuple[torch.Tensor, ...]] = {}


def _workspace(net: Network) -> tuple[torch.Tensor, ...]:
    """Block buffers [BLOCK, N], allocated once per device, dtype, width and threshold
    (one presentation runs at a time in a process; each overwrites them)."""
    n, dev, dt = net.setup.n_neurons, net.device, net.dtype
    key = (str(dev), dt, n, net.thr0)
    if key not in _WORKSPACES:
        floats = [torch.empty(BLOCK, n, device=dev, dtype=dt) for _ in range(4)]
        flags = [torch.empty(BLOCK, n, device=dev, dtype=torch.bool) for _ in range(2)]
        _WORKSPACES[key] = (torch.full((BLOCK, n), net.thr0, device=dev, dtype=dt), *floats, *flags)
    return _WORKSPACES[key]


def _decay_threshold(net: Network, factor: float) -> None:
    """``theta <- factor * theta`` with ``V_th = thresh + theta`` stored (float state)."""
    net.vth.mul_(factor).add_(net.thr0 * (1.0 - factor))


_TABLES: dict[tuple[str, torch.dtype], tuple[torch.Tensor, ...]] = {}


def _tables(device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, ...]:
    """Decay powers and the lower-triangular kernel ``L[k, u] = a^(k-u)`` (u <= k)."""
    key = (str(device), dtype)
    if key not in _TABLES:
        k = torch.arange(BLOCK, dtype=torch.float64)
        a = EXC.decay
        decay_v = a ** (k + 1)
        diff = k[:, None] - k[None, :]
        kernel = torch.where(diff >= 0, a ** diff.clamp(min=0), torch.zeros(()))
        decay_theta = math.exp(-1.0 / TAU_THETA) ** (k + 1)
        decay_trace = math.exp(-1.0 / TAU_TRACE) ** (k + 1)
        _TABLES[key] = tuple(x.to(device=device, dtype=dtype)
                             for x in (decay_v, kernel, decay_theta, decay_trace, k))
    return _TABLES[key]
