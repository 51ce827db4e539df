"""Simulation of the Diehl & Cook network and of tinySNN (docs/engines.md section 1).

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
  section 2.2) by Eq. 1-2 (forms *assumed* in docs/engines.md 1b):
  ``k = maxS_post / S_th``, ``dw_ij = k eta x_pre_i (w_max - w_ij)`` for the
  neurons j that fired in ``(t_u - T_u, t_u]``; no depression.
- SL-STDP (``sl-stdp``, Srinivasan et al. 2017 as tinySNN compares it; the rule is
  *assumed*, docs/engines.md 1e): the baseline's network (inhibitory population),
  but weights change only when an excitatory neuron fires, and only its column:
  ``dw_ij = nu_post (x_pre_i - x_offset) (w_max - w_ij)`` where the input trace is
  at least ``x_offset`` (potentiation, soft-bounded at w_max), else
  ``nu_post (x_pre_i - x_offset) w_ij`` (depression, soft-bounded at 0); no update
  on presynaptic spikes alone (:meth:`Network.sl_stdp_update`). It steps one by one.
- After every training sample the input weights are normalised so each column
  sums to ``norm`` [C BN:topology ``normalize``]; state resets between samples,
  thresholds are kept.

Quantisation (tinySNN section 2.3, docs/engines.md 1c): weights on Q0.b (clamped to
``1 - 2^-b``), the membrane potentials and ``V_th`` on signed/unsigned Q(i.f)
with i from the range observed in an FP32 run, rounding truncate / nearest /
stochastic. Constants (22.5, the inhibition, reset potentials) are rounded to
nearest once on the grid that stores them. PTQ quantises W and V_th after
training and V_mem on every inference step; ITQ (``qat``) keeps no float copy:
W is re-quantised after every change, V_th after every decay and increment,
V_mem on every step.

This module holds the state of one network: input weights, thresholds, the
constants at their precision and the quantisation grids. How a sample is
simulated lives beside it: :mod:`.stepping` steps one by one (inference batches,
quantised learning, the reference), :mod:`.presentation` presents one training
sample event-driven with the learning rules, and :mod:`.solver` solves its quiet
stretches in closed form.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields, replace

import torch

from ..quant import Grid, fixed_point, quantize
from .params import EXC, EXC_TO_INH, INH, W_INIT, W_MAX, Setup
from .presentation import Presentation
from .shapes import Activity
from .solver import EventSolver
from .stepping import Stepper


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
    weights: bool = False
    """Whether the weight side is quantised: W on ``w`` (None where its layer keeps 32
    bits) and the stored inhibitory constants at their layers' bits."""


def weight_grid(bits: int) -> Grid | None:
    """Q0.b for the input weights in [0, 1], saturating at 1 - 2^-b (docs/engines.md 1c [P])."""
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


@dataclass
class Network:
    """The learnable state (input weights, thresholds) and constants of one design."""

    setup: Setup
    n_inputs: int
    device: torch.device
    generator: torch.Generator
    dtype: torch.dtype = torch.float32
    grids: Grids = field(default_factory=Grids)
    _solver: EventSolver | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        n, dev = self.setup.n_neurons, self.device
        self.w = W_INIT * torch.rand(self.n_inputs, n, generator=self.generator, device=dev, dtype=self.dtype)
        self.vth = torch.full((n,), EXC.thresh - EXC.rest, device=dev, dtype=self.dtype)
        self.set_constants()

    # ---- constants and quantisation --------------------------------------------
    def set_constants(self) -> None:
        """Constants as stored at the design's precision (float32 before quantisation)."""
        s, g = self.setup, self.grids

        def bits(layer: str) -> int:
            return s.layer_bits_of(layer) if g.weights else 32

        self.inh = constant(s.inhibition, bits("inh_exc" if s.baseline else "lateral"))
        self.exc_to_inh = constant(EXC_TO_INH, bits("inh") if s.baseline else 32)
        self.thr0 = on_grid(EXC.thresh - EXC.rest, g.v_th)
        self.reset_exc = on_grid(EXC.reset - EXC.rest, g.v_exc)
        self.reset_inh = on_grid(INH.reset - INH.rest, g.v_inh)
        self.thr_inh = constant(INH.thresh - INH.rest, s.state_bits[1] if g.v_th is not None else 32)

    def make_grids(self, ranges: Ranges, weights: bool = True, neurons: bool = True) -> None:
        """Grids from the observed ranges: Q(i.f), i = max(0, floor(log2 max|x|) + 1)."""
        s = self.setup
        vmem, vth = s.state_bits
        self.grids = Grids(
            w=weight_grid(s.layer_bits_of("x_ae")) if weights else None,
            v_exc=fixed_point(vmem, ranges.v_exc, signed=True) if neurons and vmem < 32 else None,
            v_th=fixed_point(vth, ranges.v_th, signed=False) if neurons and vth < 32 else None,
            v_inh=fixed_point(vmem, ranges.v_inh, signed=True) if neurons and vmem < 32 and s.baseline else None,
            weights=weights,
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

    def requantized(self, setup: Setup, w: torch.Tensor, vth: torch.Tensor, from_float: bool,
                    generator: torch.Generator) -> "Network":
        """A copy of this trained network as `setup` (a post-training variant) stores it.

        This network is left untouched. The weights go onto the Q0.b grid of the
        variant's ``weight_bits`` with its rounding (``generator`` draws stochastic
        rounding, then the copy's inference input); the neuron grids stay
        (``neuron_bits`` is not a variant key) and the constants are rounded again at
        the variant's precision. `w`, `vth` are what training left:

        - ``from_float`` (``ptq``): the FP32 weights and thresholds from before the
          parent's PTQ, quantised as :meth:`quantize_params` did for the parent (the
          same function, so the design's own settings give the parent back exactly);
        - otherwise (ITQ, no float copy: the stored values; float where the design's
          weights were 32-bit): W is re-quantised from its grid onto the new one where
          the grid changes (more bits hold the old values exactly), V_th stays on its
          grid. Rounding an on-grid value again gives it back, so a rounding-only
          variant of an ITQ design changes the per-step rounding of V_mem only.
        """
        net = copy.copy(self)
        net.setup, net.generator, net._solver = setup, generator, None
        net.grids = replace(self.grids, w=weight_grid(setup.layer_bits_of("x_ae")))
        net.set_constants()
        net.w, net.vth = w.clone(), vth.clone()
        if from_float:
            net.quantize_params()
        elif net.grids.w != self.grids.w:
            net.q(net.w, net.grids.w)
        return net

    @property
    def steps_exactly(self) -> bool:
        """Whether learning must step one by one (rounding every step is not linear)."""
        g = self.grids
        s = self.setup
        return g.v_exc is not None or g.v_th is not None or (s.pair_stdp and g.w is not None) or s.sl_stdp

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

    def sl_stdp_update(self, x_pre: torch.Tensor, post: int) -> None:
        """SL-STDP on the column of the neuron `post` that fired: potentiation of the synapses
        whose input trace is at least ``x_offset``, depression of the others, each soft-bounded."""
        s, column = self.setup, self.w[:, post]
        delta = x_pre - s.x_offset
        room = torch.where(delta >= 0, W_MAX - column, column)
        column.add_(delta * room, alpha=s.nu_post).clamp_(0.0, W_MAX)
        self.q(column, self.grids.w)

    def pick(self, crossers: torch.Tensor) -> int:
        """One of the neurons that crossed threshold, uniformly (BindsNET ``one_spike``)."""
        if crossers.numel() == 1:
            return int(crossers[0])
        return int(crossers[int(torch.randint(crossers.numel(), (1,), generator=self.generator,
                                                  device=self.device))])

    def decay_threshold(self, factor: float) -> None:
        """``theta <- factor * theta`` with ``V_th = thresh + theta`` stored (float state)."""
        self.vth.mul_(factor).add_(self.thr0 * (1.0 - factor))

    # ---- presenting samples -------------------------------------------------------
    def simulate(self, spikes: torch.Tensor, learning: bool = False, counts: Counts | None = None,
                 ranges: Ranges | None = None) -> torch.Tensor:
        """Present spikes [T, B, N_in] step by step; return excitatory spike counts [B, N].

        Learning needs B = 1 (samples in order). The step follows BindsNET's order:
        inputs from the previous step's spikes, excitatory update, inhibitory update,
        traces, the learning rule; then normalisation after the sample (:mod:`.stepping`).
        """
        return Stepper(self, spikes, learning, counts, ranges).run()

    @property
    def solver(self) -> EventSolver:
        """The event-driven solver of this network (its tables and buffers), made on first use."""
        if self._solver is None:
            self._solver = EventSolver(self)
        return self._solver

    def learn(self, spikes: torch.Tensor, counts: Counts | None = None, ranges: Ranges | None = None) -> None:
        """Present one training sample [T, N_in] with learning, exactly as :meth:`simulate`.

        Quiet stretches are solved in closed form (:mod:`.solver`); the steps on
        which an excitatory neuron fires are simulated one by one (:mod:`.presentation`).
        Quantised neuron state, the baseline's ITQ with quantised weights and SL-STDP
        (whose event-driven path is not written) step one by one (:attr:`steps_exactly`).
        """
        if self.steps_exactly:
            self.simulate(spikes.unsqueeze(1), learning=True, counts=counts, ranges=ranges)
            return
        Presentation(self, spikes, counts, ranges).run()
