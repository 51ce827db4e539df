"""Cost models against values computed by hand from docs/cost-models.md and the papers' tables."""

import math

import pytest

import hwmodels

from .conftest import dense, profile_of

# A 3x3 convolution, 2 -> 4 channels, 8x8 input, stride 2, padding 1:
# H_out = floor((8 + 2*1 - 3) / 2) + 1 = 4, so 4*4*4 = 64 output neurons.
# Each output neuron sums C_in*K*K = 18 inputs: 64 * 18 = 1152 synapses per step.
CONV = dict(name="conv", kind="conv2d", n_inputs=2 * 8 * 8, n_neurons=4 * 4 * 4,
            n_weights=4 * 2 * 3 * 3, n_nonzero=54, weight_bits=4,
            macs_per_step=64 * 18, fan_out=(64 * 18) * (54 / 72) / 128,
            input_events=40.0, output_spikes=25.0,
            neuron_params={"v_mem": (64, 8), "v_th": (1, 8), "decay": (1, 8)})


def test_memory_of_dense_and_conv_layers_in_every_format() -> None:
    fc = dense(n_inputs=10, n_neurons=5, n_weights=50, n_nonzero=20, weight_bits=8,
               neuron_params={"v_mem": (5, 16), "v_th": (5, 16)})
    conv = dense(**CONV)
    profile = profile_of(fc, conv)
    neurons = 5 * 16 + 5 * 16 + (64 * 8 + 8 + 8)
    expect = {
        "ideal": 20 * 8 + 54 * 4 + neurons,
        "dense": 50 * 8 + 72 * 4 + neurons,
        "bitmask": (20 * 8 + 50) + (54 * 4 + 72) + neurons,
        # column index of ceil(log2(n_inputs)) bits per stored weight, 32-bit row pointer per neuron
        "csr": (20 * (8 + 4) + 32 * 5) + (54 * (4 + 7) + 32 * 64) + neurons,
    }
    for fmt, bits in expect.items():
        out = hwmodels.evaluate(profile, "memory", sparse_format=fmt)
        assert out == {"memory_bits": bits, "memory_bytes": bits / 8}, fmt


def test_synops_bit_synops_and_macs() -> None:
    stem = dense("stem", n_inputs=64, n_neurons=32, n_weights=2048, n_nonzero=2048, weight_bits=32,
                 macs_per_step=2048, fan_out=32.0, input_events=300.0, output_spikes=120.0,
                 spiking_input=False)
    conv = dense(**CONV)
    out = hwmodels.evaluate(profile_of(stem, conv, timesteps=5), "synops")
    conv_synops = 40.0 * (1152 * 0.75 / 128)  # = 40 * 6.75 = 270
    assert out["synops"] == pytest.approx(conv_synops) == pytest.approx(270.0)
    assert out["bit_synops"] == pytest.approx(4 * 270.0)
    assert out["macs"] == 2048 * 5  # analog input: MACs, no SynOps
    assert out["spikes_per_sample"] == 120 + 25
    assert out["spike_rate"] == pytest.approx(145 / ((32 + 64) * 5))


def test_lateral_layers_add_synops_but_not_neurons() -> None:
    exc = dense("exc", n_inputs=64, n_neurons=100, output_spikes=50.0)
    lateral = dense("inh", kind="lateral", n_inputs=100, n_neurons=100, n_weights=1, n_nonzero=1,
                    fan_out=99.0, input_events=50.0, output_spikes=50.0)
    out = hwmodels.evaluate(profile_of(exc, lateral, timesteps=10), "synops")
    assert out["spikes_per_sample"] == 50.0
    assert out["spike_rate"] == pytest.approx(50 / (100 * 10))
    assert out["synops"] == pytest.approx(50 * 99)


def test_litesnn_table5_ann_large() -> None:
    # 970.12 M additions and multiplications at 0.9 + 3.7 pJ -> 4.46 mJ
    ann = dense("ann", n_weights=1, n_nonzero=1, macs_per_step=970_120_000, spiking_input=False)
    out = hwmodels.evaluate(profile_of(ann), "energy45nm")
    assert out["adds"] == out["mults"] == 970.12e6
    assert out["energy_45nm_j"] * 1e3 == pytest.approx(4.46, abs=0.01)


def test_litesnn_table5_litesnn_large() -> None:
    # 705.01 M additions (11.94 M of them in MACs) and 11.94 M multiplications -> 0.68 mJ
    stem = dense("stem", n_weights=1, n_nonzero=1, macs_per_step=11_940_000, spiking_input=False)
    body = dense("body", fan_out=1.0, input_events=705_010_000 - 11_940_000)
    out = hwmodels.evaluate(profile_of(stem, body), "energy45nm")
    assert out["adds"] == pytest.approx(705.01e6)
    assert out["mults"] == pytest.approx(11.94e6)
    assert out["energy_45nm_j"] * 1e3 == pytest.approx(0.68, abs=0.01)
    assert out["energy_45nm_j"] == pytest.approx(705.01e6 * 0.9e-12 + 11.94e6 * 3.7e-12)


def test_integer_arithmetic_scales_with_each_layers_bits() -> None:
    a8 = dense("a8", weight_bits=8, fan_out=2.0, input_events=10.0)  # 20 adds
    a16 = dense("a16", weight_bits=16, fan_out=1.0, input_events=30.0)  # 30 adds
    m4 = dense("m4", weight_bits=4, macs_per_step=5, spiking_input=False)  # 5 MACs
    out = hwmodels.evaluate(profile_of(a8, a16, m4), "energy45nm", arithmetic="int")
    add16 = 0.03 + (16 - 8) * (0.1 - 0.03) / 24  # interpolated: Horowitz has no 16-bit integer add
    add4 = 0.03 - 4 * (0.1 - 0.03) / 24
    expect_pj = 20 * 0.03 + 30 * add16 + 5 * add4 + 5 * 0.2 * (4 / 8) ** 2
    assert out["energy_45nm_j"] == pytest.approx(expect_pj * 1e-12)
    out32 = hwmodels.evaluate(profile_of(dense(weight_bits=32, fan_out=1.0, input_events=1.0)),
                              "energy45nm", arithmetic="int")
    assert out32["energy_45nm_j"] == pytest.approx(0.1e-12)


def test_neuron_updates_cost_an_add_and_for_leaky_neurons_a_mult() -> None:
    lif = dense("lif", n_neurons=10, neuron_params={"v_mem": (10, 16), "decay": (1, 16)})
    if_ = dense("if", n_neurons=7, neuron_params={"v_mem": (7, 16)})
    out = hwmodels.evaluate(profile_of(lif, if_, timesteps=4), "energy45nm", include_neuron_updates=True)
    assert out["adds"] == 10 * 4 + 7 * 4
    assert out["mults"] == 10 * 4
    assert out["energy_45nm_j"] == pytest.approx((68 * 0.9 + 40 * 3.7) * 1e-12)


def test_weight_fetch_reads_64_bit_words_from_the_smallest_sram() -> None:
    # 100 nonzero 8-bit weights = 100 B -> 8 KB SRAM at 10 pJ per 64-bit word
    layer = dense(n_weights=100, n_nonzero=100, weight_bits=8, fan_out=4.0, input_events=16.0)
    out = hwmodels.evaluate(profile_of(layer), "energy45nm", include_weight_fetch=True)
    synops = 64
    assert out["energy_45nm_j"] == pytest.approx((synops * 0.9 + synops * 8 / 64 * 10) * 1e-12)


def test_breakdown_adds_up_to_the_totals() -> None:
    profile = profile_of(dense("a", fan_out=2.0, input_events=5.0, output_spikes=3.0),
                         dense(**CONV), timesteps=3)
    totals = hwmodels.evaluate(profile)
    per_layer = hwmodels.breakdown(profile)
    assert set(per_layer) == {"a", "conv"}
    for metric in ("memory_bits", "synops", "bit_synops", "macs", "energy_45nm_j", "adds", "mults"):
        assert sum(v[metric] for v in per_layer.values()) == pytest.approx(totals[metric])
    assert "spike_rate" not in per_layer["a"]  # a ratio does not add up over layers


def test_pruning_never_raises_memory_and_more_timesteps_never_cost_less() -> None:
    def profile(nonzero: int, steps: int):
        return profile_of(dense(n_weights=100, n_nonzero=nonzero, macs_per_step=100, spiking_input=False,
                                neuron_params={"v_mem": (3, 8)}), timesteps=steps)

    for fmt in ("ideal", "dense", "bitmask", "csr"):
        mems = [hwmodels.evaluate(profile(n, 1), "memory", sparse_format=fmt)["memory_bits"]
                for n in (100, 60, 10, 0)]
        assert mems == sorted(mems, reverse=True), fmt
    energies = [hwmodels.evaluate(profile(50, t), "energy45nm")["energy_45nm_j"] for t in (1, 2, 8)]
    assert energies == sorted(energies) and energies[0] < energies[-1]


def test_unknown_options_models_and_values_name_the_valid_ones() -> None:
    profile = profile_of(dense())
    with pytest.raises(ValueError, match="unknown option.*'colour'.*valid:.*sparse_format"):
        hwmodels.evaluate(profile, colour="red")
    with pytest.raises(ValueError, match="unknown model.*'abacus'.*available: memory"):
        hwmodels.evaluate(profile, ["abacus"])
    with pytest.raises(ValueError, match='sparse_format.*expected one of "ideal", "dense", "bitmask", "csr", got "zip"$'):
        hwmodels.evaluate(profile, "memory", sparse_format="zip")
    # A model ignores the options of the others.
    assert hwmodels.evaluate(profile, "memory", arithmetic="int") == hwmodels.evaluate(profile, "memory")


def test_hwmodels_never_imports_torch() -> None:
    import subprocess
    import sys

    code = ("import sys, hwmodels, hwmodels.memory, hwmodels.synops, hwmodels.energy45nm; "
            "[hwmodels.get(m) for m in hwmodels.available()]; "
            "sys.exit(1 if 'torch' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
    assert math.isfinite(1.0)


def test_reward_is_accuracy_minus_mu_times_memory_over_its_32_bit_self() -> None:
    layer = dense(n_weights=100, n_nonzero=80, weight_bits=8, neuron_params={"v_mem": (10, 16), "v_th": (10, 16)})
    profile = profile_of(layer, accuracy=0.9)
    mem_q = 80 * 8 + 10 * 16 + 10 * 16
    mem_32 = 80 * 32 + 10 * 32 + 10 * 32
    out = hwmodels.evaluate(profile, "reward", mu=0.3)
    assert out["memory_ratio"] == pytest.approx(mem_q / mem_32)
    assert out["reward"] == pytest.approx(0.9 - 0.3 * mem_q / mem_32)
    assert hwmodels.evaluate(profile.with_bits(32), "reward", mu=0.3)["reward"] == pytest.approx(0.9 - 0.3)
    assert math.isnan(hwmodels.evaluate(profile_of(layer), "reward")["reward"])  # no accuracy, no reward
    with pytest.raises(ValueError, match="option 'mu' of model 'reward': expected numbers >= 0"):
        hwmodels.evaluate(profile, "reward", mu=-1)
