"""The surrogate-gradient engine: neuron equations, gradients, learning, quantisation, profiles."""

import math

import pytest
import torch

import hwmodels
from dse.data import load_dataset
from dse.engines import Budget, DataShape, get
from dse.engines.activity import Activity
from dse.engines.quant import quantize_weight
from dse.engines.runtime import tensors
from dse.engines.surrogate.engine import fit, measure
from dse.engines.surrogate.neurons import NeuronConfig, lif_sequence, spike, surrogate_grad
from dse.design import make_design


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def quiet(step: int, accuracy: float) -> None:
    pass


# ---- surrogate gradients --------------------------------------------------------------

X = torch.linspace(-1.2, 1.2, 97, dtype=torch.float64)


@pytest.mark.parametrize("name, scale, primitive", [
    # each surrogate is the derivative of a smooth step; autograd of that step is the reference
    ("atan", 2.0, lambda x: torch.atan(math.pi * 2.0 / 2 * x) / math.pi + 0.5),
    ("fast-sigmoid", 25.0, lambda x: x / (1 + 25.0 * x.abs())),
    ("dspike", 3.0, lambda x: torch.tanh(3.0 * x) / (2 * math.tanh(1.5)) + 0.5),
])
def test_surrogate_gradient_matches_its_formula(name, scale, primitive) -> None:
    x = X.clone().requires_grad_(True)
    spike(x, name, scale).sum().backward()
    reference = X.clone().requires_grad_(True)
    primitive(reference).sum().backward()
    expected = reference.grad
    if name == "dspike":
        expected = expected * (X.abs() < 0.5)
    assert torch.allclose(x.grad, expected)
    assert torch.equal(spike(X, name, scale), (X >= 0).double())


def test_surrogate_values_by_hand() -> None:
    x = torch.tensor([0.0, 0.1])
    assert surrogate_grad(x, "atan", 2.0).tolist() == pytest.approx([1.0, 1 / (1 + (math.pi * 0.1) ** 2)])
    assert surrogate_grad(x, "fast-sigmoid", 25.0).tolist() == pytest.approx([1.0, 1 / 3.5**2])
    assert surrogate_grad(torch.tensor([0.0, 0.6]), "dspike", 3.0).tolist() == pytest.approx(
        [3 / (2 * math.tanh(1.5)), 0.0])


# ---- the LIF time loop --------------------------------------------------------------------

def cfg(**kw) -> NeuronConfig:
    args = dict(decay=0.5, threshold=1.0, hard_reset=True, surrogate="atan", scale=2.0)
    args.update(kw)
    return NeuronConfig(**args)


def test_lif_equations_by_hand() -> None:
    current = torch.tensor([[0.6]])  # constant input
    s = lif_sequence(current, 4, cfg())
    # u0 = 0.6; u1 = 0.5*0.6 + 0.6 = 0.9; u2 = 0.45 + 0.6 = 1.05 -> spike, reset to 0; u3 = 0.6
    assert s.flatten().tolist() == [0, 0, 1, 0]
    s = lif_sequence(current, 4, cfg(hard_reset=False))
    # soft: after u2 = 1.05 spikes, r2 = 0.05; u3 = 0.025 + 0.6 = 0.625
    assert s.flatten().tolist() == [0, 0, 1, 0]
    s_if = lif_sequence(torch.tensor([[0.4]]), 6, cfg(decay=1.0))
    # IF: 0.4, 0.8, 1.2 (spike, reset 0), 0.4, 0.8, 1.2 (spike)
    assert s_if.flatten().tolist() == [0, 0, 1, 0, 0, 1]


def reference_lif(current: torch.Tensor, steps: int, c: NeuronConfig) -> torch.Tensor:
    """The same dynamics unrolled with autograd (reset detached), the slow reference."""
    rest, out = torch.zeros_like(current[0]), []
    for t in range(steps):
        u = c.decay * rest + current[t]
        s = spike(u - c.threshold, c.surrogate, c.scale)
        out.append(s)
        rest = u * (1 - s.detach()) if c.hard_reset else u - c.threshold * s.detach()
    return torch.stack(out)


@pytest.mark.parametrize("hard_reset", [True, False])
@pytest.mark.parametrize("surrogate", ["atan", "fast-sigmoid", "dspike"])
def test_fused_lif_gradient_equals_unrolled_autograd(hard_reset, surrogate) -> None:
    g = torch.Generator().manual_seed(1)
    current = (torch.rand(6, 5, 7, generator=g, dtype=torch.float64) * 1.2).requires_grad_(True)
    weights = torch.randn(6, 5, 7, generator=g, dtype=torch.float64)
    c = cfg(surrogate=surrogate, hard_reset=hard_reset, scale={"atan": 2.0, "fast-sigmoid": 25.0,
                                                                "dspike": 3.0}[surrogate])
    fused = lif_sequence(current, 6, c)
    (fused * weights).sum().backward()
    grad_fused = current.grad.clone()
    current.grad = None
    ref = reference_lif(current, 6, c)
    (ref * weights).sum().backward()
    assert torch.equal(fused, ref)
    assert torch.allclose(grad_fused, current.grad)


def test_constant_input_gradient_sums_over_time() -> None:
    g = torch.Generator().manual_seed(2)
    base = torch.rand(5, 7, generator=g, dtype=torch.float64)
    const = base.clone().requires_grad_(True)
    lif_sequence(const, 4, cfg()).sum().backward()
    full = base.expand(4, 5, 7).clone().requires_grad_(True)
    lif_sequence(full, 4, cfg()).sum().backward()
    assert torch.allclose(const.grad, full.grad.sum(0))


# ---- training -----------------------------------------------------------------------------

def test_learns_digits_at_32_bits_T8_hidden_128_within_15_epochs(digits) -> None:
    design = make_design("surrogate", {"hidden": (128,), "timesteps": 8})
    out = get("surrogate").run(design, digits, Budget(epochs=15, seed=0), quiet)
    assert out.accuracy >= 0.93
    assert out.profile.accuracy == out.accuracy and 0.0 < out.val_accuracy <= 1.0


@pytest.mark.parametrize("rounding", ["truncate", "nearest", "stochastic"])
def test_qat_at_4_bits_learns_digits_with_each_rounding(digits, rounding) -> None:
    design = make_design("surrogate", {"hidden": (128,), "timesteps": 8, "weight_bits": 4,
                                       "neuron_bits": 8, "rounding": rounding, "quantization": "qat"})
    out = get("surrogate").run(design, digits, Budget(epochs=15, seed=0), quiet)
    assert out.accuracy >= 0.90, rounding
    assert all(layer.weight_bits == 4 for layer in out.profile.layers)
    assert out.profile.layers[0].neuron_params["v_mem"] == (128, 8)


def test_ptq_equals_quantising_the_trained_float_weights(digits) -> None:
    design = make_design("surrogate", {"hidden": (32,), "timesteps": 4, "weight_bits": 6,
                                       "rounding": "nearest", "quantization": "ptq", "pruning": 0.3})
    trained = fit(design, digits, Budget(epochs=3, seed=0), quiet)
    model = trained.model
    for weight, mask, frozen in zip(model.matrices, model.masks(), model.frozen.matrices):
        expected = quantize_weight(weight.detach(), 6, "nearest") * mask
        assert torch.equal(frozen, expected)
        assert frozen.unique().numel() <= 2**6


@pytest.mark.parametrize("bits", [2, 32])  # 2 bits: LitE-SNN's grid has no zero level
def test_pruning_is_kept_exactly_and_reflected_in_the_profile(digits, bits) -> None:
    design = make_design("surrogate", {"hidden": (40,), "timesteps": 4, "pruning": 0.75, "weight_bits": bits})
    out = get("surrogate").run(design, digits, Budget(epochs=4, seed=0), quiet)
    fc1, readout = out.profile.layers
    assert fc1.n_weights == 64 * 40 and fc1.n_nonzero == 64 * 40 - math.floor(0.75 * 64 * 40)
    assert readout.n_nonzero == 40 * 10 - math.floor(0.75 * 400)
    static = get("surrogate").static_profile(design, DataShape(digits.shape, 10))
    assert hwmodels.evaluate(static, "memory") == hwmodels.evaluate(out.profile, "memory")


def test_measured_synops_equal_a_hand_count_on_a_fixed_input(digits) -> None:
    design = make_design("surrogate", {"hidden": (24,), "timesteps": 5, "pruning": 0.5, "coding": "rate"})
    trained = fit(design, digits, Budget(epochs=2, seed=0), quiet)
    model, (x, y) = trained.model, tensors(digits.x_test[:50], digits.y_test[:50], trained.device)
    profile = measure(model, design, digits, x, y, 5, torch.Generator().manual_seed(7))
    # the same forward pass again, counting by hand: every input spike times its column's nonzeros
    inputs = torch.bernoulli(x.expand(5, *x.shape), generator=torch.Generator().manual_seed(7)).reshape(5, 50, -1)
    w1 = model.frozen.edges[0]
    hand_in = sum(float(inputs[t, b] @ (w1 != 0).sum(0).float()) for t in range(5) for b in range(50)) / 50
    activity = Activity.empty(2)
    model(x, 5, model.frozen, model.neuron_config(False), torch.Generator().manual_seed(7), activity)
    fc1, out = profile.layers
    assert fc1.input_events * fc1.fan_out == pytest.approx(hand_in)
    assert hwmodels.evaluate(profile, "synops")["synops"] == pytest.approx(
        (activity.synops[0] + activity.synops[1]) / 50)
    assert out.input_events == pytest.approx(fc1.output_spikes)


def test_direct_coding_first_layer_costs_macs_not_synops(digits) -> None:
    design = make_design("surrogate", {"hidden": (16,), "timesteps": 3})
    out = get("surrogate").run(design, digits, Budget(epochs=1, seed=0), quiet)
    fc1 = out.profile.layers[0]
    assert not fc1.spiking_input and fc1.macs_per_step == 64 * 16
    metrics = hwmodels.evaluate(out.profile, "synops")
    assert metrics["macs"] == 64 * 16 * 3


def test_timestep_variants_reuse_the_trained_weights(digits) -> None:
    design = make_design("surrogate", {"hidden": (32,), "timesteps": 6})
    asked = tuple({"timesteps": t} for t in (2, 4, 9))
    out = get("surrogate").run(design, digits, Budget(epochs=3, seed=0, variants=asked), quiet)
    variants = {v.name: v.profile for v in out.variants}
    assert sorted(variants) == ["T=2", "T=4", "T=9"]
    assert variants["T=9"].timesteps == 9
    t2 = variants["T=2"]
    assert t2.timesteps == 2 and t2.accuracy is not None
    assert [l.n_nonzero for l in t2.layers] == [l.n_nonzero for l in out.profile.layers]
    assert t2.layers[0].output_spikes < out.profile.layers[0].output_spikes


def test_static_profile_matches_the_trained_shapes(digits) -> None:
    design = make_design("surrogate", {"hidden": (20, 12), "timesteps": 3, "weight_bits": 8, "neuron_bits": 16})
    static = get("surrogate").static_profile(design, DataShape(digits.shape, 10))
    out = get("surrogate").run(design, digits, Budget(epochs=1, seed=0), quiet)
    strip = lambda p: [(l.name, l.n_inputs, l.n_neurons, l.n_weights, l.weight_bits, l.neuron_params)  # noqa: E731
                       for l in p.layers]
    assert strip(static) == strip(out.profile)


def test_same_seed_same_result(digits) -> None:
    design = make_design("surrogate", {"hidden": (16,), "timesteps": 3, "rounding": "stochastic",
                                       "weight_bits": 4, "coding": "rate"})
    a = get("surrogate").run(design, digits, Budget(epochs=2, seed=5), quiet)
    b = get("surrogate").run(design, digits, Budget(epochs=2, seed=5), quiet)
    assert a.accuracy == b.accuracy and a.profile.to_dict() == b.profile.to_dict()
