"""Fixed-point quantisation with truncation, nearest and stochastic rounding.

A value x is stored as an integer code k on a grid of step Delta, optionally
offset by half a step (mid-rise levels), and saturated:

.. math::

    q(x) = \\Delta \\, (\\mathrm{clamp}(R(x/\\Delta - o), k_{min}, k_{max}) + o)

with R one of (Hopkins et al. 2020, as cited by tinySNN):

- truncation ``floor(y)`` (drop the low bits, two's complement),
- round to nearest ``floor(y + 1/2)``,
- stochastic ``floor(y + u)``, u ~ U[0, 1) fresh per element, so
  P(round up) = frac(y) and E[q] = x inside the range.

Two grids are used:

- tinySNN's ``Q(i.f)`` fixed point (o = 0, Delta = 2^-f): ``bits = sign + i + f``
  with the integer bits i sized from the observed range,
  ``i = max(0, floor(log2(max|x|)) + 1)``.
- LitE-SNN's CompConv quantiser for 1 to 4 bits (o = 1/2, mid-rise, so no level
  is zero): ``Delta_b = g_b std(W)``, g = {1: 1.596, 2: 0.996, 3: 0.586, 4: 0.336},
  levels ``+-(2^(b-1) - 1/2) Delta_b`` at the extremes.

In training, :func:`fake_quant` passes gradients straight through inside the
range and blocks them outside it (clipped straight-through estimator).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

FLOAT_BITS = 32
LITESNN_GAIN = {1: 1.596, 2: 0.996, 3: 0.586, 4: 0.336}


@dataclass(frozen=True)
class Grid:
    """A quantisation grid: step, half-step offset, integer code range."""

    delta: float
    kmin: int
    kmax: int
    offset: float = 0.0

    @property
    def low(self) -> float:
        return self.delta * (self.kmin + self.offset)

    @property
    def high(self) -> float:
        return self.delta * (self.kmax + self.offset)


def integer_bits(max_abs: float) -> int:
    """tinySNN: integer bits that hold the observed range, ``max(0, floor(log2 m) + 1)``."""
    if max_abs <= 0 or not math.isfinite(max_abs):
        return 0
    return max(0, math.floor(math.log2(max_abs)) + 1)


def fixed_point(bits: int, max_abs: float, signed: bool = True) -> Grid:
    """Q(i.f): i from the range, f = bits - sign - i (negative f: steps above 1)."""
    frac = bits - int(signed) - integer_bits(max_abs)
    delta = 2.0 ** -frac
    if signed:
        return Grid(delta, -(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    return Grid(delta, 0, 2**bits - 1)


def litesnn_grid(bits: int, std: float) -> Grid:
    """LitE-SNN CompConv grid for 1..4 bits: mid-rise levels scaled by std(W)."""
    delta = LITESNN_GAIN[bits] * max(std, 1e-12)
    return Grid(delta, -(2 ** (bits - 1)), 2 ** (bits - 1) - 1, offset=0.5)


def weight_grid(w: torch.Tensor, bits: int) -> Grid | None:
    """The grid for a weight tensor at `bits` (None: float32, unquantised).

    1-4 bits use LitE-SNN's quantiser (its search range); more bits use
    tinySNN's power-of-two fixed point sized from max|w|.
    """
    if bits >= FLOAT_BITS:
        return None
    w = w.detach()
    if bits in LITESNN_GAIN:
        return litesnn_grid(bits, float(w.float().std()) if w.numel() > 1 else float(w.abs().max()))
    return fixed_point(bits, float(w.abs().max()) if w.numel() else 0.0)


def bias_grid(bias: torch.Tensor, bits: int) -> Grid | None:
    """The fixed-point grid of a bias vector at `bits`, sized from max|b| (None: float32)."""
    return None if bits >= FLOAT_BITS else fixed_point(bits, float(bias.detach().abs().max()))


def round_codes(y: torch.Tensor, rounding: str, generator: torch.Generator | None = None,
                noise: torch.Tensor | None = None) -> torch.Tensor:
    """R(y): integer codes by truncation, nearest or stochastic rounding."""
    if rounding == "truncate":
        return torch.floor(y)
    if rounding == "nearest":
        return torch.floor(y + 0.5)
    if rounding == "stochastic":
        if noise is None:
            noise = torch.rand(y.shape, generator=generator, device=y.device, dtype=y.dtype)
        return torch.floor(y + noise)
    raise ValueError(f"unknown rounding {rounding!r}; expected truncate, nearest or stochastic")


def quantize(x: torch.Tensor, grid: Grid, rounding: str,
             generator: torch.Generator | None = None, noise: torch.Tensor | None = None) -> torch.Tensor:
    """q(x) on the grid, saturated at its ends."""
    codes = round_codes(x / grid.delta - grid.offset, rounding, generator, noise)
    return (codes.clamp(grid.kmin, grid.kmax) + grid.offset) * grid.delta


def fake_quant(x: torch.Tensor, grid: Grid | None, rounding: str,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """q(x) forward; gradient 1 inside [low, high], 0 outside (clipped STE)."""
    if grid is None:
        return x
    clipped = x.clamp(grid.low, grid.high)
    return clipped + (quantize(clipped, grid, rounding, generator) - clipped).detach()


def quantize_weight(w: torch.Tensor, bits: int, rounding: str,
                    generator: torch.Generator | None = None, train: bool = False) -> torch.Tensor:
    """A weight tensor at `bits`: fake-quantised (train) or quantised (eval, no grad)."""
    grid = weight_grid(w, bits)
    if grid is None:
        return w
    if train:
        return fake_quant(w, grid, rounding, generator)
    return quantize(w.detach(), grid, rounding, generator)
