"""The TTFS engine end to end: shapes, profiles, learning, quantisation, pruning, specs."""

import math

import pytest
import torch

import hwmodels
from dse.data import load_dataset
from dse.engines import Budget, DataShape, get
from dse.engines.ttfs.engine import fit
from dse.engines.ttfs.shapes import plan
from dse.errors import SpecError
from dse.spec import parse_spec
from dse.design import make_design

DIGITS = DataShape((1, 8, 8), 10)


def quiet(step: int, accuracy: float) -> None:
    pass


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def shapes(profile):
    return [(l.name, l.kind, l.n_inputs, l.n_neurons, l.n_weights, l.weight_bits, l.neuron_params,
             l.macs_per_step, l.spiking_input) for l in profile.layers]


# ---- shapes and profiles --------------------------------------------------------------------

def test_reference_network_shapes_and_latency() -> None:
    design = make_design("ttfs", {})  # 64-256-256-10, T_w = 32
    profile = get("ttfs").static_profile(design, DIGITS)
    assert [l.name for l in profile.layers] == ["fc1", "fc2", "out"]
    assert [(l.n_inputs, l.n_neurons, l.n_weights) for l in profile.layers] == [
        (64, 256, 64 * 256), (256, 256, 256 * 256), (256, 10, 2560)]
    assert profile.timesteps == (3 + 1) * 32 == 128  # docs/engines.md: 4 x 32 for 64-256-256-10
    # docs/engines.md: analog pixels into layer 1 (dense MACs, added once); spikes from there on
    assert profile.coding == "ttfs" and [l.spiking_input for l in profile.layers] == [False, True, True]
    assert profile.layers[0].neuron_params == {"v_mem": (256, 32), "bias": (256, 32), "v_th": (1, 32)}
    assert profile.layers[0].macs_per_step * profile.timesteps == 64 * 256  # once per sample
    assert profile.layers[1].macs_per_step * profile.timesteps == 256 * 256 * 32  # every step of its window
    spiking = get("ttfs").static_profile(make_design("ttfs", {"input_coding": "ttfs"}), DIGITS)
    # spike-coded pixels: the input population leads, 64 neurons, no weights, no MACs
    pixels, *weight_layers = spiking.layers
    assert (pixels.name, pixels.n_neurons, pixels.n_weights, pixels.macs_per_step) == ("input", 64, 0, 0)
    assert pixels.neuron_params == {"v_mem": (64, 32), "v_th": (1, 32)}
    assert all(l.spiking_input for l in weight_layers) and spiking.timesteps == 128
    assert spiking.n_neurons == 64 + 256 + 256 + 10 == profile.n_neurons + 64
    assert weight_layers[0].neuron_params == {"v_mem": (256, 32), "bias": (256, 32), "kernel": (2, 32),
                                              "v_th": (1, 32)}


def test_vgg_style_conv_plan() -> None:
    design = make_design("ttfs", {"conv": (8, 8, 0, 16, 0), "hidden": (32,)})
    layers = plan(design, DIGITS)
    assert [(l.name, l.in_shape, l.out_shape, l.pool) for l in layers] == [
        ("conv1", (1, 8, 8), (8, 8, 8), False),
        ("conv2", (8, 8, 8), (8, 8, 8), True),
        ("conv3", (8, 4, 4), (16, 4, 4), True),
        ("fc1", (16 * 2 * 2,), (32,), False),
        ("out", (32,), (10,), False)]
    conv2 = get("ttfs").static_profile(design, DIGITS).layers[1]
    assert conv2.n_weights == 8 * 8 * 9
    # conv2 integrates in 1 of the 6 windows: 64 positions x 648 weights on each of its T_w steps
    assert conv2.macs_per_step == 8 * 8 * 9 * 64 // 6
    assert conv2.macs_per_step * get("ttfs").static_profile(design, DIGITS).timesteps == 8 * 8 * 9 * 64 * 32
    assert conv2.neuron_params["bias"] == (8, 32)  # one folded BN bias per channel


@pytest.mark.parametrize("conv, message", [((0, 8), "must follow a convolution"),
                                           ((8, 0, 0), "must follow a convolution"),
                                           ((8, 0, 8, 0, 8, 0, 8, 0), "too small to pool")])
def test_impossible_conv_stacks_are_refused(conv, message) -> None:
    with pytest.raises(ValueError, match=message):
        plan(make_design("ttfs", {"conv": conv}), DIGITS)


@pytest.mark.parametrize("keys", [{"hidden": (20, 12), "weight_bits": 8, "pruning": 0.3},
                                  {"conv": (4, 0), "hidden": (16,), "weight_bits": 6}])
def test_static_profile_matches_the_trained_shapes(digits, keys) -> None:
    design = make_design("ttfs", keys)
    static = get("ttfs").static_profile(design, DIGITS)
    out = get("ttfs").run(design, digits, Budget(epochs=2, lr=1e-3, seed=0), quiet)
    assert shapes(static) == shapes(out.profile)
    assert static.timesteps == out.profile.timesteps
    # quantisation may round a few more weights to zero (6 bits: Q(i.f) has a zero level)
    for before, after in zip(static.layers, out.profile.layers):
        assert after.n_nonzero <= before.n_nonzero
        assert after.n_nonzero == before.n_nonzero or keys["weight_bits"] == 6


@pytest.mark.parametrize("input_coding", ["analog", "ttfs"])
def test_measured_counts_are_consistent(digits, input_coding) -> None:
    design = make_design("ttfs", {"hidden": (32,), "pruning": 0.5, "input_coding": input_coding})
    out = get("ttfs").run(design, digits, Budget(epochs=3, lr=1e-3, seed=0), quiet)
    *pixels, fc1, readout = out.profile.layers
    # every spike of fc1 reaches the readout; fc1's inputs are the input population's spikes, if any
    assert readout.input_events == pytest.approx(fc1.output_spikes)
    assert 0 < fc1.output_spikes <= 32
    metrics = hwmodels.evaluate(out.profile, "synops")
    if input_coding == "analog":  # W x once: dense MACs, no input events
        assert fc1.input_events == 0 and not fc1.spiking_input
        # once per sample, spread over the 96 steps in whole MACs per step (2048 / 96 rounded up)
        assert metrics["macs"] == 22 * 96 and 64 * 32 <= metrics["macs"] < 64 * 32 + 96
        assert metrics["synops"] == pytest.approx(readout.input_events * readout.fan_out)
        assert out.extras["agreement"] >= 0.99 and len(out.extras["tau"]) == 1  # fc1's spikes' kernel only
        return
    assert 0 < fc1.input_events <= 64
    assert readout.output_spikes == 0  # the readout integrates, never fires
    assert fc1.fan_out <= 32 and readout.fan_out <= 10
    # the input population's spikes, counted as it fires, are exactly those reaching fc1 (no pool
    # between), and they count as spikes: the seed's S, over its N = 64 + 32 + 10 neurons
    (pixels,) = pixels
    assert pixels.name == "input" and pixels.output_spikes == pytest.approx(fc1.input_events)
    spikes = pixels.output_spikes + fc1.output_spikes
    assert metrics["spikes_per_sample"] == pytest.approx(spikes)
    assert metrics["spike_sparsity"] == pytest.approx(spikes / (64 + 32 + 10))
    assert metrics["spike_rate"] == pytest.approx(spikes / ((64 + 32 + 10) * 3 * 32))
    assert metrics["synops"] == pytest.approx(fc1.input_events * fc1.fan_out + readout.input_events * readout.fan_out)
    assert metrics["macs"] == 0  # every layer receives spikes
    assert out.extras["agreement"] >= 0.99 and len(out.extras["tau"]) == 2


# ---- learning ------------------------------------------------------------------------------------

def test_learns_digits_with_relaxation_and_kernel_regularisation(digits) -> None:
    design = make_design("ttfs", {"relaxation": 5, "kernel_reg": 1e-5})  # 64-256-256-10
    out = get("ttfs").run(design, digits, Budget(epochs=15, lr=1e-3, seed=0, extra={"kernel_epoch": 5}), quiet)
    assert out.accuracy >= 0.95
    assert out.extras["agreement"] >= 0.99
    assert out.profile.accuracy == out.accuracy and 0.9 <= out.val_accuracy <= 1.0
    # the kernels of both hidden populations trained from epoch 5 on
    assert len(out.extras["tau"]) == 2 and all(tau != 10.0 for tau in out.extras["tau"])


def test_kernels_stay_put_before_the_kernel_epoch(digits) -> None:
    design = make_design("ttfs", {"hidden": (16,), "kernel_reg": 1e-3})
    out = get("ttfs").run(design, digits, Budget(epochs=2, lr=1e-3, seed=0, extra={"kernel_epoch": 2}), quiet)
    assert out.extras["tau"] == [10.0] and out.extras["t_d"] == [0.0]


@pytest.mark.parametrize("quantization", ["qat", "ptq"])
def test_four_bit_weights_stay_on_their_grid(digits, quantization) -> None:
    design = make_design("ttfs", {"hidden": (64,), "weight_bits": 4, "quantization": quantization,
                                  "pruning": 0.25})
    trained = fit(design, digits, Budget(epochs=8, lr=1e-3, seed=0), quiet)
    for w, mask in zip(trained.model.frozen.weights, trained.model.masks()):
        assert w[mask != 0].unique().numel() <= 2**4
        assert torch.count_nonzero(w) == torch.count_nonzero(mask) == w.numel() - math.floor(0.25 * w.numel())
    if quantization == "qat":
        assert trained.val_accuracy >= 0.85


def test_same_seed_same_result(digits) -> None:
    design = make_design("ttfs", {"hidden": (16,), "relaxation": 3, "weight_bits": 4, "rounding": "stochastic",
                                  "quantization": "qat"})
    a = get("ttfs").run(design, digits, Budget(epochs=2, lr=1e-3, seed=5), quiet)
    b = get("ttfs").run(design, digits, Budget(epochs=2, lr=1e-3, seed=5), quiet)
    assert a.accuracy == b.accuracy and a.profile.to_dict() == b.profile.to_dict()


# ---- specs ---------------------------------------------------------------------------------------

def spec(**space):
    return {
        "study": {"name": "t", "engine": ["surrogate", "ttfs"], "n_trials": 2, "sampler": "random"},
        "objectives": {"accuracy": "maximize", "spikes_per_sample": "minimize"},
        "space": {"hidden": {"choices": [[256, 256]]}, **space},
        "train": {"epochs": 1, "kernel_epoch": 0},
        "hardware": {"models": ["synops"]},
    }


def test_a_study_over_surrogate_and_ttfs_scopes_each_key() -> None:
    parsed = parse_spec(spec(coding={"choices": ["direct", "rate"]}, window={"choices": [16, 32]},
                             kernel_bn={"choices": [0.0, 1e-4]}), "c.toml")
    assert [p.name for p in parsed.params_for("ttfs")] == ["hidden", "window", "kernel_bn"]
    assert [p.name for p in parsed.params_for("surrogate")] == ["hidden", "coding"]
    assert parsed.train["kernel_epoch"] == 0


def test_ttfs_keys_are_checked() -> None:
    with pytest.raises(SpecError, match=r"\[space\].relaxation: expected integers 0..1000000"):
        parse_spec(spec(relaxation={"choices": [-1]}), "c.toml")
    data = spec(timesteps={"choices": [4]})
    data["study"]["engine"] = "ttfs"
    with pytest.raises(SpecError, match=r'\[space\].timesteps: engine "ttfs" has no such key'):
        parse_spec(data, "c.toml")
