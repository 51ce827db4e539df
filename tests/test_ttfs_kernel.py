"""The TTFS temporal kernel: encode/decode (eq. 5) at the region boundaries, its gradients
(eq. 6), stochastic relaxation, kernel regularisation (TR) and kernel-aware batch norm (TB)."""

import math

import numpy as np
import pytest
import torch

from dse.data import load_dataset
from dse.engines import DataShape
from dse.engines.ttfs.engine import aid_losses
from dse.engines.ttfs.kernel import (decode, kernel_bn_loss, kernel_regularisation, regions,
                                     relaxation_probability, relaxed_layers, spike_time, ttfs,
                                     ttfs_reference, x_max, x_min)
from dse.engines.ttfs.model import TTFSNet
from dse.design import make_design

F64 = torch.float64
TAU, TD, WINDOW = torch.tensor(10.0, dtype=F64), torch.tensor(0.0, dtype=F64), 32


def encode_decode(z, tau=TAU, t_d=TD, theta0=1.0, rounding="ceil"):
    z = torch.tensor(z, dtype=F64)
    t = spike_time(z, tau, t_d, theta0, WINDOW, rounding)
    return t.tolist(), decode(t, tau, t_d, WINDOW).tolist()


# ---- encode / decode by hand (tau_0 = 10, t_d0 = 0, T_w = 32: x_M = 1, x_m = e^-3.1) ----------

def test_region_bounds_of_the_seed_kernel() -> None:
    assert x_max(10.0, 0.0) == 1.0
    assert x_min(10.0, 0.0, 32) == pytest.approx(math.exp(-3.1))  # eps(T_w - 1): 32 levels, 5 bits
    assert x_max(10.0, 10 * math.log(2)) == pytest.approx(2.0)  # the seed's "x_M = 2" ablation


def test_clipped_region_fires_at_t0_and_decodes_to_x_max() -> None:
    times, values = encode_decode([1.5, 1.0, 1 - 1e-9])
    # z >= x_M: t = 0, x = x_M; just below x_M, ceil moves the spike to t = 1: x = e^-0.1
    assert times == [0, 0, 1]
    assert values == pytest.approx([1.0, 1.0, math.exp(-0.1)])
    assert encode_decode([1 - 1e-9], rounding="nearest") == ([0], [1.0])  # nearest rounds back to 0


def test_quantised_region_rounds_the_spike_time() -> None:
    # z = e^-1.24: t_f = 12.4 -> ceil 13 (inference), nearest 12 (training)
    assert encode_decode([math.exp(-1.24)]) == ([13], pytest.approx([math.exp(-1.3)]))
    assert encode_decode([math.exp(-1.24)], rounding="nearest") == ([12], pytest.approx([math.exp(-1.2)]))


def test_pruned_boundary_is_x_min() -> None:
    x_m = math.exp(-3.1)
    times, values = encode_decode([x_m * (1 + 1e-9), x_m * (1 - 1e-9), 0.0, -0.5])
    assert times == [31, 32, 32, 32]  # 32 = T_w: no spike
    assert values == pytest.approx([x_m, 0.0, 0.0, 0.0])
    # training rounds to nearest: the pruning edge is eps(T_w - 1/2) = e^-3.15
    times, values = encode_decode([x_m * (1 - 1e-9), math.exp(-3.15) * (1 + 1e-9), math.exp(-3.15) * (1 - 1e-9)],
                                  rounding="nearest")
    assert times == [31, 31, 32] and values == pytest.approx([x_m, x_m, 0.0])


def test_delay_and_initial_threshold_shift_the_kernel() -> None:
    t_d = torch.tensor(10 * math.log(2), dtype=F64)  # x_M = 2
    times, values = encode_decode([2.5, 1.5], t_d=t_d)
    # 1.5: t_f = 10 ln(2/1.5) = 2.877 -> 3, x = 2 e^-0.3
    assert times == [0, 3] and values == pytest.approx([2.0, 2 * math.exp(-0.3)])
    # theta0 = 0.5 halves the threshold: z = 0.25 reads as 0.5, t_f = 6.93 -> 7
    assert encode_decode([0.25], theta0=0.5) == ([7], pytest.approx([math.exp(-0.7)]))


def test_region_masks_at_the_boundaries() -> None:
    x_m = math.exp(-3.1)
    z = torch.tensor([2.0, 1.0, 0.5, x_m, x_m * 0.999, -1.0], dtype=F64)
    r = regions(z, 10.0, 0.0, 1.0, WINDOW)
    assert r["clipped"].tolist() == [True, True, False, False, False, False]
    assert r["quantised"].tolist() == [False, False, True, True, False, False]
    assert r["pruned"].tolist() == [False, False, False, False, True, True]


# ---- gradients (eq. 6) ---------------------------------------------------------------------

@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("theta0", [1.0, 0.7])
def test_fused_activation_equals_autograd_through_the_seeds_formula(training, theta0) -> None:
    g = torch.Generator().manual_seed(3)
    z = torch.randn(3000, generator=g, dtype=F64) * 0.8 + 0.3  # all three regions and negatives
    weights = torch.randn(3000, generator=g, dtype=F64)
    results = []
    for fn in (ttfs, ttfs_reference):
        zz = z.clone().requires_grad_(True)
        tau = torch.tensor(9.0, dtype=F64, requires_grad=True)
        t_d = torch.tensor(0.4, dtype=F64, requires_grad=True)
        out = fn(zz, tau, t_d, theta0, WINDOW, training)
        (out * weights).sum().backward()
        results.append((out.detach(), zz.grad, tau.grad, t_d.grad))
    (a, ga, ta, da), (b, gb, tb, db) = results
    assert torch.equal(a, b)
    assert torch.allclose(ga, gb) and torch.allclose(ta, tb) and torch.allclose(da, db)
    assert ta != 0 and da != 0


def grads(z: float, t_d: float = 0.0):
    zz = torch.tensor([z], dtype=F64, requires_grad=True)
    tau = torch.tensor(10.0, dtype=F64, requires_grad=True)
    td = torch.tensor(t_d, dtype=F64, requires_grad=True)
    x = ttfs(zz, tau, td, 1.0, WINDOW, True)
    x.sum().backward()
    return float(x.detach()), float(zz.grad), float(tau.grad), float(td.grad)


def test_gradient_totals_per_region_by_hand() -> None:
    # quantised, z = e^-1.24: t_f = 12.4, t = 12, x = e^-1.2;
    # dx/dz = x/z, dx/dtau = x (t - t_f)/tau^2 (the rounding residual), dx/dt_d = 0
    x, dz, dtau, dtd = grads(math.exp(-1.24))
    assert x == pytest.approx(math.exp(-1.2))
    assert dz == pytest.approx(math.exp(-1.2) / math.exp(-1.24))
    assert dtau == pytest.approx(math.exp(-1.2) * (12 - 12.4) / 100)
    assert dtd == 0.0
    # clipped, t_d = 0.5, z = 3 > x_M = e^0.05: t = 0, x = x_M; dx/dz = 0, dx/dt_d = x/tau, dx/dtau = -x t_d/tau^2
    x, dz, dtau, dtd = grads(3.0, t_d=0.5)
    assert x == pytest.approx(math.exp(0.05)) and dz == 0.0
    assert dtd == pytest.approx(math.exp(0.05) / 10)
    assert dtau == pytest.approx(-math.exp(0.05) * 0.5 / 100)
    # pruned: nothing flows
    assert grads(0.01)[1:] == (0.0, 0.0, 0.0)
    assert grads(-1.0)[1:] == (0.0, 0.0, 0.0)


def test_gradients_reach_every_kernel_of_a_network() -> None:
    digits = load_dataset("digits")
    design = make_design("ttfs", {"hidden": (32, 16), "input_coding": "ttfs"})  # the input's kernel too
    model = TTFSNet(design, DataShape(digits.shape, 10))
    x = torch.from_numpy(digits.x_train[:64])
    torch.nn.functional.cross_entropy(model(x), torch.from_numpy(digits.y_train[:64])).backward()
    assert model.tau.grad.shape == (3,) and model.t_d.grad.shape == (3,)
    assert torch.all(model.tau.grad != 0) and torch.all(torch.isfinite(model.tau.grad))
    assert torch.all(model.t_d.grad != 0) and torch.all(torch.isfinite(model.t_d.grad))


# ---- stochastic relaxation ---------------------------------------------------------------

def test_relaxation_probability_falls_linearly_to_zero_at_the_target_epoch() -> None:
    # p = max(0, 1 - (e + 1)/e_target), e 0-based
    assert [relaxation_probability(e, 20) for e in (0, 4, 9, 18, 19, 30)] == pytest.approx(
        [19 / 20, 15 / 20, 10 / 20, 1 / 20, 0.0, 0.0])
    assert [relaxation_probability(e, 0) for e in (0, 5)] == [0.0, 0.0]  # off


def test_relaxation_is_drawn_per_layer() -> None:
    g = torch.Generator().manual_seed(0)
    draws = np.array([relaxed_layers(0.3, 4, g) for _ in range(4000)])
    assert draws.mean(0) == pytest.approx([0.3] * 4, abs=0.03)
    # independent per layer: two layers disagree with probability 2 p (1 - p) = 0.42
    assert (draws[:, 0] != draws[:, 1]).mean() == pytest.approx(0.42, abs=0.03)
    assert relaxed_layers(0.0, 3, g) == [False] * 3 and relaxed_layers(1.0, 3, g) == [True] * 3


def test_a_relaxed_layer_is_relu() -> None:
    design = make_design("ttfs", {"hidden": (8,), "input_coding": "ttfs"})
    model = TTFSNet(design, DataShape((1, 2, 2), 3)).eval()
    x = torch.rand(5, 1, 2, 2)
    with torch.no_grad():
        z = model.norms[0](model.layers[0](ttfs(x.flatten(1), model.tau[0], model.t_d[0], 1.0, 32)))
        expected = model.layers[1](torch.relu(z))
        assert torch.allclose(model(x, relaxed=[False, True]), expected)
        assert not torch.allclose(model(x, relaxed=[False, False]), expected)


# ---- kernel regularisation (TR) -------------------------------------------------------------

def test_kernel_regularisation_and_its_gradient() -> None:
    tau = torch.tensor([10.0, 12.0, 7.5], requires_grad=True)
    t_d = torch.tensor([0.0, 1.0, -2.0], requires_grad=True)
    loss = kernel_regularisation(tau, t_d, 10.0, 0.0)
    assert float(loss.detach()) == pytest.approx(0 + 4 + 6.25 + 0 + 1 + 4)
    loss.backward()
    assert tau.grad.tolist() == pytest.approx([0.0, 4.0, -5.0])  # 2 (tau - tau_0)
    assert t_d.grad.tolist() == pytest.approx([0.0, 2.0, -4.0])  # 2 (t_d - t_d0)


def test_engine_regulariser_weights_tr_and_keeps_tb_off_the_kernels() -> None:
    design = make_design("ttfs", {"hidden": (8,), "tau": 10.0, "t_d": 0.0, "kernel_reg": 1e-2, "kernel_bn": 1e-3})
    model = TTFSNet(design, DataShape((1, 2, 2), 3))
    with torch.no_grad():
        model.tau.copy_(torch.tensor([11.0, 9.0]))
        model.t_d.copy_(torch.tensor([0.5, -1.0]))
    aid_losses(model, design).backward()
    # only TR reaches tau and t_d: lambda_TR 2 (p - p_0)
    assert model.tau.grad.tolist() == pytest.approx([2e-2 * 1.0, 2e-2 * -1.0])
    assert model.t_d.grad.tolist() == pytest.approx([2e-2 * 0.5, 2e-2 * -1.0])
    assert model.norms[0].weight.grad is not None and model.norms[0].bias.grad.abs().sum() > 0


# ---- kernel-aware batch norm (TB) -----------------------------------------------------------

def gaussian_mass_below(threshold: float, mean: float, std: float) -> float:
    """P(z < threshold), z ~ N(mean, std^2), by the trapezoid rule over [mean - 12 std, threshold]."""
    z = np.linspace(mean - 12 * std, threshold, 400_001)
    pdf = np.exp(-0.5 * ((z - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))
    return float(np.sum((pdf[1:] + pdf[:-1]) * np.diff(z)) / 2)


@pytest.mark.parametrize("gamma, beta, threshold", [
    (1.0, 0.0, math.exp(-3.2)), (0.5, 0.3, 0.045), (-0.8, 0.1, 0.045), (2.0, -1.0, 0.2), (0.1, 0.5, 0.045)])
def test_batch_norm_term_is_the_gaussian_mass_of_the_pruned_region(gamma, beta, threshold) -> None:
    g = torch.tensor([gamma], dtype=F64, requires_grad=True)
    b = torch.tensor([beta], dtype=F64, requires_grad=True)
    loss = kernel_bn_loss(g, b, threshold)
    assert float(loss.detach()) == pytest.approx(-gaussian_mass_below(threshold, beta, abs(gamma)), abs=1e-8)
    loss.backward()
    h = 1e-5  # central differences of the integral
    d_beta = -(gaussian_mass_below(threshold, beta + h, abs(gamma))
               - gaussian_mass_below(threshold, beta - h, abs(gamma))) / (2 * h)
    d_gamma = -(gaussian_mass_below(threshold, beta, abs(gamma + h))
                - gaussian_mass_below(threshold, beta, abs(gamma - h))) / (2 * h)
    assert float(b.grad) == pytest.approx(d_beta, rel=1e-4)
    assert float(g.grad) == pytest.approx(d_gamma, rel=1e-4, abs=1e-9)


def test_batch_norm_term_sums_channels_and_detaches_the_threshold() -> None:
    gamma, beta = torch.tensor([1.0, 0.5]), torch.tensor([0.0, 1.0])
    threshold = torch.tensor(0.05, requires_grad=True)
    loss = kernel_bn_loss(gamma, beta, threshold)
    expected = -(gaussian_mass_below(0.05, 0.0, 1.0) + gaussian_mass_below(0.05, 1.0, 0.5))
    assert float(loss) == pytest.approx(expected, abs=1e-6)
    assert not loss.requires_grad  # gamma, beta constant here; the threshold never carries a gradient
