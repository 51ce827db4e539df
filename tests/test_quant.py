"""Fixed-point quantisation: each rounding mode against hand-computed values."""

import pytest
import torch

from dse.engines.quant import (Grid, fake_quant, fixed_point, integer_bits, litesnn_grid, quantize,
                               quantize_weight, round_codes)

# 4-bit signed Q(1.2): step 0.25, codes -8..7, range [-2, 1.75]
Q12 = Grid(delta=0.25, kmin=-8, kmax=7)


@pytest.mark.parametrize("x, truncate, nearest", [
    (0.30, 0.25, 0.25),
    (0.40, 0.25, 0.50),
    (0.125, 0.0, 0.25),     # a tie rounds up
    (-0.30, -0.50, -0.25),  # truncation drops low bits: towards -inf in two's complement
    (1.74, 1.50, 1.75),
    (5.00, 1.75, 1.75),     # saturates
    (-5.0, -2.00, -2.00),
])
def test_truncate_and_nearest(x, truncate, nearest) -> None:
    value = torch.tensor([x])
    assert quantize(value, Q12, "truncate").item() == truncate
    assert quantize(value, Q12, "nearest").item() == nearest


def test_stochastic_rounding_picks_the_two_neighbours_and_is_unbiased() -> None:
    generator = torch.Generator().manual_seed(0)
    x = torch.full((200_000,), 0.30)  # 1.2 steps: up to 0.5 with p = 0.2, down to 0.25 with 0.8
    q = quantize(x, Q12, "stochastic", generator)
    assert set(q.unique().tolist()) == {0.25, 0.5}
    assert (q == 0.5).float().mean().item() == pytest.approx(0.2, abs=0.005)
    assert q.mean().item() == pytest.approx(0.30, abs=0.002)  # E[q] = x
    y = torch.rand(10_000, generator=generator) * 3 - 1.5
    mean_error = (quantize(y.repeat(20), Q12, "stochastic", generator) - y.repeat(20)).mean().item()
    assert abs(mean_error) < 0.003


def test_stochastic_rounding_is_seeded() -> None:
    x = torch.linspace(-1, 1, 1000)
    a = quantize(x, Q12, "stochastic", torch.Generator().manual_seed(3))
    b = quantize(x, Q12, "stochastic", torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_round_codes_rejects_unknown_modes() -> None:
    with pytest.raises(ValueError, match="truncate, nearest or stochastic"):
        round_codes(torch.zeros(1), "banker")


@pytest.mark.parametrize("max_abs, bits", [(0.9, 0), (1.0, 1), (1.99, 1), (3.5, 2), (4.0, 3), (0.0, 0)])
def test_integer_bits_from_the_observed_range(max_abs, bits) -> None:
    assert integer_bits(max_abs) == bits


def test_fixed_point_format() -> None:
    grid = fixed_point(8, 0.9)  # sign + 0 integer bits + 7 fraction bits
    assert (grid.delta, grid.kmin, grid.kmax) == (2**-7, -128, 127)
    grid = fixed_point(8, 3.0, signed=False)  # 2 integer bits, 6 fraction bits
    assert (grid.delta, grid.kmin, grid.kmax) == (2**-6, 0, 255)


def test_litesnn_grid_has_no_zero_level() -> None:
    grid = litesnn_grid(2, std=1.0)  # Delta = 0.996: levels +-0.498, +-1.494
    q = quantize(torch.tensor([-3.0, -0.6, -0.1, 0.1, 0.7, 3.0]), grid, "nearest")
    assert q.tolist() == pytest.approx([-1.494, -0.498, -0.498, 0.498, 0.498, 1.494])
    one_bit = quantize(torch.tensor([-0.2, 0.3]), litesnn_grid(1, 1.0), "nearest")
    assert one_bit.tolist() == pytest.approx([-0.798, 0.798])


def test_weights_at_32_bits_are_untouched_and_at_b_bits_take_at_most_2_pow_b_values() -> None:
    w = torch.randn(64, 64, generator=torch.Generator().manual_seed(0))
    assert quantize_weight(w, 32, "nearest") is w
    for bits in (1, 2, 4, 5, 8):
        assert quantize_weight(w, bits, "nearest").unique().numel() <= 2**bits


def test_fake_quant_passes_gradients_straight_through_inside_the_range_only() -> None:
    x = torch.tensor([0.3, 1.0, 3.0, -4.0], requires_grad=True)
    y = fake_quant(x, Q12, "nearest")
    assert y.tolist() == [0.25, 1.0, 1.75, -2.0]
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 0.0, 0.0]
