"""Spiking neurons over a whole time window, with surrogate gradients.

LIF dynamics (LitE-SNN's code, generalised; IF is decay = 1):

.. math::

    u_t = \\beta\\, r_{t-1} + I_t, \\qquad s_t = H(u_t - \\theta), \\qquad
    r_t = \\begin{cases} u_t (1 - s_t) & \\text{hard reset} \\\\
                        u_t - \\theta s_t & \\text{soft reset} \\end{cases}

with r_{-1} = 0. Where neuron state is quantised, u_t is rounded onto its
fixed-point grid after each integrate/decay step (straight-through in the
backward pass). The reset is detached from the graph, as SpikingJelly's
``detach_reset`` and most surrogate-gradient work do, so BPTT is

.. math::

    \\frac{\\partial L}{\\partial u_t} = \\frac{\\partial L}{\\partial s_t}\\,
        \\sigma'(u_t - \\theta) + \\beta\\, m_t \\frac{\\partial L}{\\partial u_{t+1}},
    \\qquad m_t = 1 - s_t \\text{ (hard) or } 1 \\text{ (soft)}.

:class:`LIFSequence` runs the whole window in one autograd node: forward and
backward are each one loop over T on whole [B, N] tensors, instead of an
autograd graph of 5 T nodes. Surrogates (x = u - theta):

- atan (snnTorch ``ATan``): ``(alpha/2) / (1 + (pi alpha x / 2)^2)``, alpha = 2;
- fast-sigmoid (Zenke & Ganguli 2018, snnTorch): ``1 / (1 + k|x|)^2``, k = 25;
- dspike (Li et al., NeurIPS 2021, LitE-SNN's b = 3):
  ``b (1 - tanh^2(b x)) / (2 tanh(b/2))`` for |x| < 1/2, else 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..quant import Grid, quantize

DEFAULT_SCALE = {"atan": 2.0, "fast-sigmoid": 25.0, "dspike": 3.0}


def surrogate_grad(x: torch.Tensor, name: str, scale: float) -> torch.Tensor:
    """d spike / d u at x = u - theta."""
    if name == "atan":
        return (scale / 2) / (1 + (math.pi * scale / 2 * x) ** 2)
    if name == "fast-sigmoid":
        return 1.0 / (1 + scale * x.abs()) ** 2
    if name == "dspike":
        inside = (x.abs() < 0.5).to(x.dtype)
        return inside * scale * (1 - torch.tanh(scale * x) ** 2) / (2 * math.tanh(scale / 2))
    raise ValueError(f"unknown surrogate {name!r}; expected one of {', '.join(DEFAULT_SCALE)}")


class SpikeFn(torch.autograd.Function):
    """Heaviside forward (x >= 0), surrogate derivative backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, name: str, scale: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.name, ctx.scale = name, scale
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (x,) = ctx.saved_tensors
        return grad * surrogate_grad(x, ctx.name, ctx.scale), None, None


def spike(x: torch.Tensor, name: str = "atan", scale: float | None = None) -> torch.Tensor:
    return SpikeFn.apply(x, name, DEFAULT_SCALE[name] if scale is None else scale)


@dataclass(frozen=True)
class NeuronConfig:
    decay: float  # beta; 1.0 for IF
    threshold: float
    hard_reset: bool
    surrogate: str
    scale: float
    state_grid: Grid | None = None  # fixed-point grid of u, None = float
    rounding: str = "nearest"


def _quantize_state(u: torch.Tensor, cfg: NeuronConfig, noise: torch.Tensor | None) -> torch.Tensor:
    return quantize(u, cfg.state_grid, cfg.rounding, noise=noise) if cfg.state_grid is not None else u


class LIFSequence(torch.autograd.Function):
    """Spikes [T, B, N] of a LIF/IF population driven by currents over T steps.

    ``current`` is [T, B, ...], or with ``constant`` [B, ...]: an input that is
    the same at every step (direct coding), never materialised T times.
    ``noise`` holds the uniform draws of stochastic rounding, [T, B, ...], or None.
    """

    @staticmethod
    def forward(ctx, current: torch.Tensor, steps: int, cfg: NeuronConfig,
                noise: torch.Tensor | None, constant: bool) -> torch.Tensor:
        shape = current.shape if constant else current.shape[1:]
        spikes = current.new_empty((steps, *shape))
        membrane = current.new_empty((steps, *shape))
        rest = current.new_zeros(shape)
        for t in range(steps):
            u = torch.add(current if constant else current[t], rest, alpha=cfg.decay)
            u = _quantize_state(u, cfg, None if noise is None else noise[t])
            s = (u >= cfg.threshold).to(u.dtype)
            spikes[t] = s
            membrane[t] = u
            rest = u * (1 - s) if cfg.hard_reset else u - cfg.threshold * s
        ctx.save_for_backward(membrane)
        ctx.cfg, ctx.constant = cfg, constant
        return spikes

    @staticmethod
    def backward(ctx, grad_spikes: torch.Tensor):
        (membrane,) = ctx.saved_tensors
        cfg: NeuronConfig = ctx.cfg
        steps = membrane.shape[0]
        grad_current = torch.empty_like(membrane)
        carry = torch.zeros_like(membrane[0])
        for t in range(steps - 1, -1, -1):
            x = membrane[t] - cfg.threshold
            if cfg.hard_reset:  # r_t = u_t (1 - s_t): the future reaches u_t only without a spike
                carry = carry * (x < 0).to(carry.dtype)
            g = grad_spikes[t] * surrogate_grad(x, cfg.surrogate, cfg.scale) + carry
            grad_current[t] = g
            carry = cfg.decay * g
        if ctx.constant:
            grad_current = grad_current.sum(0)
        return grad_current, None, None, None, None


def lif_sequence(current: torch.Tensor, steps: int, cfg: NeuronConfig,
                 noise: torch.Tensor | None = None, constant: bool | None = None) -> torch.Tensor:
    """Spikes [T, B, ...]; `constant` (default: a 2-D [B, N] current) marks an
    input that is the same at every step."""
    return LIFSequence.apply(current, steps, cfg, noise, current.dim() == 2 if constant is None else constant)
