"""The temporal kernel and the surrogate DNN's activation (Park & Yoon, eqs. 3-6, 9).

Kernel, eq. 3 (one trainable tau and t_d per population; T_w fixed):

.. math::

    \\epsilon(t) = e^{-(t - t_d)/\\tau}, \\qquad 0 \\le t < T_w

A population fires once, when its potential V reaches the dynamic threshold
``theta0 * eps(t)``, so the spike time is (eq. 4, first step with
``V >= theta0 eps(t)``)

.. math::

    t = \\lceil t_d - \\tau \\ln(V / \\theta_0) \\rceil, \\quad 0 \\text{ if negative},
    \\quad \\text{no spike if } t \\ge T_w \\text{ or } V \\le 0.

The surrogate DNN (eq. 5) encodes a pre-activation z into that integer time
and decodes it through the kernel:

.. math::

    t = Q(\\mathrm{ReLU}(t_d - \\tau \\ln(\\mathrm{ReLU}(z)/\\theta_0 + 10^{-30}))), \\qquad
    \\hat x = e^{(t_d - t)/\\tau} \\, [t < T_w] \\, [z > 0]

Q is round-to-nearest with a straight-through estimator in training and ceil
at inference, as in the seed's code (``fake_quant``, step 1). The decoded
value falls in one of three regions (:func:`regions`): clipped
(``z/theta0 >= x_M = eps(0) = e^{t_d/tau}``, t = 0), quantised
(``x_m <= z/theta0 < x_M``, levels ``e^{(t_d - n)/tau}``) and pruned (below
``x_m``: no spike).

*Project choice* (an earlier reading puts ``x_m = eps(T_w)``, levels n = 0..T_w):
a window of T_w steps holds T_w spike times n = 0..T_w-1 (the seed's "time
window 32 corresponds to 5-bit quantisation"), so ``x_m = eps(T_w - 1)`` and
consecutive layers' windows do not overlap in the simulator. In training
(nearest rounding) the pruning edge is ``eps(T_w - 1/2)``.

Constants: the seed's 1e-30 (:data:`LOG_EPS`, reference only); :data:`MIN_TAU`
is this project's floor (*assumed*: the seed leaves tau unconstrained).

Gradients, eq. 6, by autograd through encode and decode with the STE (the
reference, :func:`ttfs_reference`); :class:`TTFSActivation` computes the same
in one node. Totals per region (docs/engines.md section 3):

- quantised: ``dx/dz = x/z``, ``dx/dt_d = 0``, ``dx/dtau = x (t - t_f) / tau^2``
  (t_f the unrounded time: the rounding residual);
- clipped: ``dx/dz = 0``, ``dx/dt_d = x/tau``, ``dx/dtau = -x t_d / tau^2``;
- pruned: 0.

Also here: the stochastic relaxation probability (section 4), the kernel
regularisation TR and the kernel-aware batch-norm term TB (section 5, eq. 9).
"""

from __future__ import annotations

import math

import torch

LOG_EPS = 1e-30
"""The seed's small constant inside the logarithm of eq. 5 (the reference only)."""

MIN_TAU = 1e-2
"""tau is clamped at this floor in the forward pass (a kernel needs tau > 0)."""


def x_max(tau: torch.Tensor | float, t_d: torch.Tensor | float) -> torch.Tensor | float:
    """Largest representable value ``x_M = eps(0) = exp(t_d / tau)`` (clipping above)."""
    if isinstance(tau, torch.Tensor) or isinstance(t_d, torch.Tensor):
        return torch.exp(torch.as_tensor(t_d) / tau)
    return math.exp(t_d / tau)


def x_min(tau: torch.Tensor | float, t_d: torch.Tensor | float, window: int) -> torch.Tensor | float:
    """Smallest representable value ``x_m = eps(T_w - 1)`` (pruning below)."""
    if isinstance(tau, torch.Tensor) or isinstance(t_d, torch.Tensor):
        return torch.exp((torch.as_tensor(t_d) - (window - 1)) / tau)
    return math.exp((t_d - (window - 1)) / tau)


def unrounded_time(z: torch.Tensor, tau: torch.Tensor, t_d: torch.Tensor, theta0: float) -> torch.Tensor:
    """``t_f = t_d - tau ln(z/theta0)`` for z > 0; z <= 0 is floored at the smallest float.

    Neurons with z <= 0 never fire: callers mask them with :func:`positive`
    (the seed's 1e-30 inside the logarithm only keeps TensorFlow's gradient
    finite; :func:`ttfs_reference` keeps it).
    """
    return t_d - tau * torch.log(z.clamp(min=torch.finfo(z.dtype).tiny) / theta0)


def positive(z: torch.Tensor) -> torch.Tensor:
    """1.0 where z > 0, else 0.0 (float arithmetic: faster than a boolean mask on CPU)."""
    return torch.sign(torch.relu(z))


def kernel_table(tau: torch.Tensor, t_d: torch.Tensor, window: int) -> torch.Tensor:
    """The kernel as a lookup table: ``eps(n) = exp(-(n - t_d)/tau)`` for n = 0..T_w-1, then 0
    (index T_w: no spike). Decoding, the dynamic threshold ``theta0 eps(n)`` and the
    simulator's integration all read this one table, so equal inputs give equal bits."""
    n = torch.arange(window + 1, dtype=t_d.dtype, device=t_d.device)
    table = torch.exp(-(n - t_d) / tau.clamp(min=MIN_TAU))
    table[window] = 0.0
    return table


def spike_time(z: torch.Tensor, tau: torch.Tensor, t_d: torch.Tensor, theta0: float, window: int,
               rounding: str = "ceil") -> torch.Tensor:
    """Integer spike times of eq. 4 (no grad): 0..T_w-1, or T_w for "no spike".

    ``ceil``: the first n with ``z >= theta0 eps(n)`` (eq. 2's firing condition).
    The logarithm gives the candidate ``ceil(t_f)``; one comparison on each side
    with the threshold table settles values that sit on a level, where ``ln`` and
    ``exp`` round differently (a pixel of exactly 1.0 against ``t_d = 1e-17``).
    ``nearest``: ``floor(t_f + 1/2)``, the training encoder.
    """
    t_f = unrounded_time(z, tau.clamp(min=MIN_TAU), t_d, theta0).clamp_(0.0, float(window))
    if rounding != "ceil":
        t = torch.floor(t_f + 0.5)
    else:
        threshold = theta0 * kernel_table(tau, t_d, window)[:window]
        t = torch.ceil(t_f)
        before = threshold[(t - 1).clamp(min=0).long()]
        t = t - ((t >= 1) & (z >= before)).to(t.dtype)
        at = threshold[t.clamp(max=window - 1).long()]
        t = t + ((t < window) & (z < at)).to(t.dtype)
    return window - (window - t) * positive(z)


def decode(t: torch.Tensor, tau: torch.Tensor, t_d: torch.Tensor, window: int) -> torch.Tensor:
    """``eps(t) = exp((t_d - t)/tau)`` for spike times t < T_w, 0 for t = T_w (no spike)."""
    return kernel_table(tau, t_d, window)[t.long()]


def ttfs_reference(z: torch.Tensor, tau: torch.Tensor, t_d: torch.Tensor, theta0: float, window: int,
                   training: bool = True) -> torch.Tensor:
    """Eq. 5 as the seed writes it, differentiated by autograd (the slow reference)."""
    tau = tau.clamp(min=MIN_TAU)
    t_f = torch.relu(t_d - tau * torch.log(torch.relu(z) / theta0 + LOG_EPS))
    rounded = torch.floor(t_f + 0.5) if training else torch.ceil(t_f)
    t = t_f + (rounded - t_f).detach()  # straight-through
    keep = ((rounded < window) & (z > 0)).to(z.dtype)
    return torch.exp((t_d - t) / tau) * keep


class TTFSActivation(torch.autograd.Function):
    """Eq. 5 forward and its eq. 6 gradients in one autograd node.

    ``tau`` and ``t_d`` are 0-d tensors; their gradients are sums over z.
    Equal to autograd through :func:`ttfs_reference` (tested). Written with
    float arithmetic only (masks as 0/1 floats: ``sign`` of the clamped time
    marks the quantised region, ``clamp(T_w - t, 0, 1)`` the kept one), which
    on CPU is several times faster than boolean masks and ``where``.
    """

    @staticmethod
    def forward(ctx, z: torch.Tensor, tau: torch.Tensor, t_d: torch.Tensor, theta0: float, window: int,
                training: bool) -> torch.Tensor:
        tau_c = tau.clamp(min=MIN_TAU)
        t_pos = unrounded_time(z, tau_c, t_d, theta0).clamp_(0.0, float(window))
        t = torch.ceil(t_pos) if not training else t_pos.add(0.5).floor_()
        keep = (window - t).clamp_(0.0, 1.0).mul_(positive(z))
        x = torch.exp((t_d - t) / tau_c).mul_(keep)
        ctx.save_for_backward(z, x, t, t_pos, tau, t_d)
        return x

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        z, x, t, t_pos, tau, t_d = ctx.saved_tensors
        tau_c = tau.clamp(min=MIN_TAU)
        gx = grad * x  # zero where pruned
        gq = gx * torch.sign(t_pos)  # the quantised region (t_f > 0); the rest of gx is clipped
        grad_z = grad_tau = grad_td = None
        if ctx.needs_input_grad[0]:
            grad_z = gq / z.clamp(min=torch.finfo(z.dtype).tiny)  # dx/dz = x/z
        if ctx.needs_input_grad[1] or ctx.needs_input_grad[2]:
            clipped = gx.sum() - gq.sum()
            # quantised: dx/dtau = x (t - t_f)/tau^2; clipped: -x t_d/tau^2 (t_pos = 0 there)
            residual = torch.dot(gx.flatten(), (t - t_pos).flatten())
            grad_tau = (residual - t_d * clipped) / tau_c**2 * (tau >= MIN_TAU)
            grad_td = clipped / tau_c  # clipped: dx/dt_d = x/tau
        return grad_z, grad_tau, grad_td, None, None, None


def ttfs(z: torch.Tensor, tau: torch.Tensor, t_d: torch.Tensor, theta0: float, window: int,
         training: bool = True) -> torch.Tensor:
    """The surrogate DNN's activation, eq. 5 (round + STE in training, ceil otherwise)."""
    return TTFSActivation.apply(z, tau, t_d, theta0, window, training)


def regions(z: torch.Tensor, tau: float, t_d: float, theta0: float, window: int) -> dict[str, torch.Tensor]:
    """Masks of the clipped, quantised and pruned regions at inference (ceil)."""
    u = z / theta0
    clipped = u >= x_max(tau, t_d)
    pruned = u < x_min(tau, t_d, window)
    return {"clipped": clipped, "quantised": ~clipped & ~pruned, "pruned": pruned}


# ---- training aids ---------------------------------------------------------------------

def relaxation_probability(epoch: int, target: int) -> float:
    """Stochastic relaxation (section 4): the chance a layer takes ReLU this step.

    The seed draws u ~ U(0, 1) per layer and training step and takes the TTFS
    path if ``u < (e + 1)/e_target``, so ``p_relax = max(0, 1 - (e + 1)/e_target)``
    with e the 0-based epoch; falling linearly to 0 at epoch e_target - 1.
    ``target = 0``: off.
    """
    if target <= 0:
        return 0.0
    return max(0.0, 1.0 - (epoch + 1) / target)


def relaxed_layers(p_relax: float, populations: int, generator: torch.Generator | None = None) -> list[bool]:
    """One training step's draw: for each population, whether it takes ReLU.

    One u ~ U(0, 1) per population ("layer-wise stochastic"), shared by the
    batch; ReLU where ``u < p_relax`` (the seed's TTFS path where
    ``u < (e + 1)/e_target`` has the same probability).
    """
    if p_relax <= 0:
        return [False] * populations
    return (torch.rand(populations, generator=generator) < p_relax).tolist()


def kernel_regularisation(tau: torch.Tensor, t_d: torch.Tensor, tau0: float, t_d0: float) -> torch.Tensor:
    """TR, the seed's 'L2-I' term: ``L_TR = sum_l (tau_l - tau_0)^2 + (t_d,l - t_d0)^2``."""
    return ((tau - tau0) ** 2).sum() + ((t_d - t_d0) ** 2).sum()


def pruned_probability(gamma: torch.Tensor, beta: torch.Tensor, threshold: torch.Tensor | float) -> torch.Tensor:
    """P(z < threshold) per channel for ``z = gamma z_n + beta``, z_n ~ N(0, 1).

    The probability mass of a batch-normalised channel below the pruning
    threshold: ``Phi((threshold - beta) / |gamma|)``.
    """
    scale = torch.sqrt(gamma**2 + 1e-12)
    return torch.special.ndtr((threshold - beta) / scale)


def kernel_bn_loss(gamma: torch.Tensor, beta: torch.Tensor, threshold: torch.Tensor | float) -> torch.Tensor:
    """TB (section 5): ``L_TB = -sum_c P(z_c < theta0 x_m)``, pushing mass into the pruned region.

    The seed (eqs. 7-8, Appendix eq. 14) integrates a second-order Taylor
    approximation of the channel's PDF; the polynomial in its code
    (``loss_enc_spike_bn_new_new``) is not a probability (at gamma = 1, beta = 0,
    x_m = 0.041 it gives -0.041 where P = 0.516), so this engine integrates the
    Gaussian exactly (docs/engines.md section 3, kernel-aware batch norm; ``torch.special.ndtr``). The
    threshold is detached: the gradient reaches gamma and beta only, as in the
    seed's ``train_one_epoch_ttfs``.
    """
    if isinstance(threshold, torch.Tensor):
        threshold = threshold.detach()
    return -pruned_probability(gamma, beta, threshold).sum()
