"""TTFS accounting against the seed (Park & Yoon): the input population's spikes, spike rate and
sparsity, VGG-16's shapes, and the CIFAR-100 reference of the relative energies."""

from dataclasses import replace

import pytest

import hwmodels
from dse.design import make_design
from dse.engines import DataShape, get
from dse.engines.ttfs.keys import VGG16_CONV
from dse.engines.ttfs.shapes import latency, plan
from dse.errors import SpecError
from dse.spec import parse_spec

DIGITS = DataShape((1, 8, 8), 10)
CIFAR10 = DataShape((3, 32, 32), 10)
CIFAR100 = DataShape((3, 32, 32), 100)


def vgg16(data: DataShape, coding: str = "ttfs"):
    return get("ttfs").static_profile(make_design("ttfs", {"conv": "vgg16", "hidden": "vgg16",
                                                           "input_coding": coding}), data)


def spiking(profile, spikes: float):
    """The profile with `spikes` per sample, spread over its populations by neuron count."""
    n = profile.n_neurons
    return replace(profile, layers=tuple(replace(l, output_spikes=spikes * l.n_neurons / n) for l in profile.layers))


# ---- VGG-16 ---------------------------------------------------------------------------------------

def test_vgg16_layer_shapes_are_the_papers_network() -> None:
    layers = plan(make_design("ttfs", {"conv": "vgg16", "hidden": "vgg16"}), CIFAR10)
    convs = [l for l in layers if l.kind == "conv2d"]
    # configuration D: 2x64, 2x128, 3x256, 3x512, 3x512, a 2x2 pool after each block
    assert [l.out_shape[0] for l in convs] == [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
    assert [l.name for l in convs if l.pool] == ["conv2", "conv4", "conv7", "conv10", "conv13"]
    assert [l.out_shape[1] for l in convs] == [32, 32, 16, 16, 8, 8, 8, 4, 4, 4, 2, 2, 2]
    assert [(l.name, l.n_inputs, l.n_neurons) for l in layers[13:]] == [
        ("fc1", 512, 512), ("fc2", 512, 512), ("out", 512, 10)]
    assert sum(l.n_weights for l in convs) == 14_710_464  # VGG-16's conv weights (14,714,688 with biases)
    # 16 weight layers: the seed's 544 = 16 x 32 + 32 steps
    assert len(layers) == 16 and latency(make_design("ttfs", {"conv": "vgg16", "hidden": "vgg16"}), CIFAR10) == 544
    assert VGG16_CONV.count(0) == 5


def test_vgg16_neurons_and_the_tables_spike_rate_and_sparsity() -> None:
    # N = 3,072 input + 276,480 conv + 2 x 512 + 10 = 280,586; the table's rate row, 2.612e6 spikes,
    # has sparsity 930.91 %, so N = 2.612e6 / 9.3091 = 280,586 (the readout and the input included)
    profile = vgg16(CIFAR10)
    assert profile.n_neurons == 280_586 and profile.timesteps == 544
    for spikes, sparsity, rate in [(2.612e6, 930.91, None), (0.067e6, 23.88, 0.04), (0.049e6, 17.46, 0.03)]:
        out = hwmodels.evaluate(spiking(profile, spikes), "synops")
        assert round(100 * out["spike_sparsity"], 2) == sparsity
        assert out["spike_rate"] == pytest.approx(spikes / (280_586 * 544))
        if rate is not None:
            assert round(100 * out["spike_rate"], 2) == rate
    # CIFAR-100: a 100-way readout, N = 280,676; "this work" 0.078e6 spikes, 27.80 %
    out = hwmodels.evaluate(spiking(vgg16(CIFAR100), 0.078e6), "synops")
    assert out["spike_sparsity"] == pytest.approx(0.2780, abs=1e-4)


def test_presets_are_checked_like_lists() -> None:
    data = {"study": {"name": "t", "engine": "ttfs", "n_trials": 1}, "objectives": {"accuracy": "maximize"},
            "space": {"conv": {"choices": ["vgg16", [8, 0]]}}}
    parsed = parse_spec(data, "v.toml")
    assert parsed.space[0].choices == (VGG16_CONV, (8, 0))
    data["space"]["conv"] = {"choices": ["vgg19"]}
    with pytest.raises(SpecError, match=r'v.toml: \[space\].conv: expected lists of integers 0..4096 or one of '
                                        r'"vgg16", got "vgg19"'):
        parse_spec(data, "v.toml")


# ---- the input population ---------------------------------------------------------------------------

def test_spiking_input_costs_more_than_analog_input_for_the_same_network() -> None:
    # 64-256-256-10 on digits, the same hidden activity (15.1 spikes of fc1 and fc2); spike-coded
    # pixels add the input population's 32.6 spikes (the 32.6 events reaching fc1)
    analog = get("ttfs").static_profile(make_design("ttfs", {}), DIGITS)
    coded = get("ttfs").static_profile(make_design("ttfs", {"input_coding": "ttfs"}), DIGITS)

    def active(profile, input_spikes):
        layers = []
        for l in profile.layers:
            spikes = {"input": input_spikes, "fc1": 10.0, "fc2": 5.1}.get(l.name, 0.0)
            events = {"fc1": input_spikes, "fc2": 10.0, "out": 5.1}.get(l.name, 0.0)
            layers.append(replace(l, output_spikes=spikes, input_events=events, fan_out=float(l.n_neurons)
                                  if l.n_weights else 0.0))
        return replace(profile, layers=tuple(layers))

    a = hwmodels.evaluate(active(analog, 0.0), ["synops", "neuromorphic"])
    s = hwmodels.evaluate(active(coded, 32.6), ["synops", "neuromorphic"])
    assert a["spikes_per_sample"] == pytest.approx(15.1) and s["spikes_per_sample"] == pytest.approx(47.7)
    assert a["spike_sparsity"] == pytest.approx(15.1 / 522) and s["spike_sparsity"] == pytest.approx(47.7 / 586)
    # E = a_dyn S / S_ref + a_sta T / T_ref: same T (128), 32.6 more spikes
    s_ref = hwmodels.neuromorphic.S_REF
    assert s["energy_truenorth"] - a["energy_truenorth"] == pytest.approx(0.40 * 32.6 / s_ref)
    assert s["energy_spinnaker"] - a["energy_spinnaker"] == pytest.approx(0.64 * 32.6 / s_ref)
    # per-event chips update the 64 input neurons every step (idle: they receive no synaptic event)
    assert s["synops"] == pytest.approx(32.6 * 256 + 10.0 * 256 + 5.1 * 10)
    assert a["macs"] == -(-64 * 256 // 128) * 128 and s["macs"] == 0
    assert hwmodels.breakdown(active(coded, 32.6), "neuromorphic")["input"]["energy_loihi_j"] == \
        pytest.approx(64 * 128 * 52e-12)


def test_cifar100_reference_preset() -> None:
    out = hwmodels.evaluate(spiking(vgg16(CIFAR100), 0.170e6), "neuromorphic", s_ref="cifar100", t_ref=512)
    assert out["energy_truenorth"] == pytest.approx(0.40 + 0.60 * 544 / 512)
    assert hwmodels.get("neuromorphic").resolve({"s_ref": "cifar10"})["s_ref"] == hwmodels.neuromorphic.S_REF
    with pytest.raises(ValueError, match=r"option 's_ref' of model 'neuromorphic': expected numbers > 0 or one "
                                         r"of 'cifar10', 'cifar100', got \"cifar1000\""):
        hwmodels.evaluate(vgg16(CIFAR10), "neuromorphic", s_ref="cifar1000")
