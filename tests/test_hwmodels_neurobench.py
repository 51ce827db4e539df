"""NeuroBench-compatible metrics against values computed by hand from NeuroBench's definitions."""

import pytest

import hwmodels

from .conftest import dense, profile_of
from .test_hwmodels_values import CONV

T = 5


def network():
    # stem: analog input, half its weights pruned, LIF; conv: CONV (stride 2, padding 1), LIF;
    # fc: an IF population (no decay); inh: lateral connections inside conv's population.
    stem = dense("stem", n_inputs=64, n_neurons=32, n_weights=2048, n_nonzero=1024, weight_bits=8,
                 macs_per_step=2048, output_spikes=40.0, spiking_input=False,
                 neuron_params={"v_mem": (32, 16), "decay": (1, 16)})
    fc = dense("fc", n_inputs=64, n_neurons=10, n_weights=640, n_nonzero=640, weight_bits=8, macs_per_step=640,
               fan_out=10.0, input_events=3.0, output_spikes=4.0, neuron_params={"v_mem": (10, 16)})
    inh = dense("inh", kind="lateral", n_inputs=64, n_neurons=64, n_weights=4032, n_nonzero=4032, weight_bits=1,
                macs_per_step=4032, fan_out=63.0, input_events=25.0)
    return profile_of(stem, dense(**CONV), fc, inh, timesteps=T)


def test_every_metric_by_hand() -> None:
    out = hwmodels.evaluate(network(), "neurobench")
    assert out["footprint_bytes"] == (2048 * 8 + 32 * 16 + 16) / 8 + (72 * 4 + 64 * 8 + 8 + 8) / 8 \
        + (640 * 8 + 10 * 16) / 8 + 4032 * 1 / 8  # zeros included
    assert out["connection_sparsity"] == pytest.approx(1 - (1024 + 54 + 640 + 4032) / (2048 + 72 + 640 + 4032))
    assert out["activation_sparsity"] == pytest.approx(1 - (40 + 25 + 4) / ((32 + 64 + 10) * T))
    assert out["dense_synops"] == (2048 + 1152 + 640 + 4032) * T
    assert out["effective_acs"] == pytest.approx(40 * 6.75 + 3 * 10 + 25 * 63)  # spiking input: the SynOps
    assert out["effective_macs"] == 2048 * T * (1024 / 2048)  # analog input: pruned weights skipped
    # leaky populations: every neuron every step; IF: at most one change per synaptic event
    assert out["membrane_updates"] == 32 * T + 64 * T + min(10 * T, 3 * 10)


def test_a_readout_that_only_integrates_is_no_activation_and_measured_analog_inputs_count_exactly() -> None:
    # NeuroBench hooks spiking layers only: a silent population without a threshold (a non-spiking
    # readout) is no activation; a silent one with a threshold is (all zeros).
    hidden = dense("fc1", n_inputs=64, n_neurons=32, n_weights=2048, n_nonzero=1024, weight_bits=8,
                   macs_per_step=2048, output_spikes=40.0, spiking_input=False, input_events=150.0, fan_out=9.5,
                   neuron_params={"v_mem": (32, 16), "v_th": (32, 16)})
    readout = dense("out", n_inputs=32, n_neurons=10, n_weights=320, n_nonzero=320, weight_bits=8,
                    macs_per_step=320, input_events=40.0, fan_out=10.0, neuron_params={"v_mem": (10, 16)})
    out = hwmodels.evaluate(profile_of(hidden, readout, timesteps=T), "neurobench")
    assert out["activation_sparsity"] == pytest.approx(1 - 40 / (32 * T))
    assert out["effective_macs"] == 150.0 * 9.5  # the measured nonzero inputs, not all 64 x T of them
    silent = dense("out", n_inputs=32, n_neurons=10, n_weights=320, n_nonzero=320, weight_bits=8,
                   macs_per_step=320, neuron_params={"v_mem": (10, 16), "v_th": (10, 16)})
    out = hwmodels.evaluate(profile_of(hidden, silent, timesteps=T), "neurobench")
    assert out["activation_sparsity"] == pytest.approx(1 - 40 / ((32 + 10) * T))


def test_breakdown_per_layer() -> None:
    per_layer = hwmodels.breakdown(network(), "neurobench")
    assert per_layer["conv"] == {"footprint_bytes": (72 * 4 + 64 * 8 + 8 + 8) / 8, "dense_synops": 1152 * T,
                                 "effective_acs": pytest.approx(270.0), "effective_macs": 0.0,
                                 "membrane_updates": 64 * T}
    assert per_layer["inh"]["membrane_updates"] == 0  # a lateral layer declares no neurons
    assert "connection_sparsity" not in per_layer["conv"]  # ratios do not add up over layers


def in_bounds_taps(size: int, kernel: int, stride: int, padding: int) -> int:
    """Kernel taps that land inside the input along one axis, over all output positions."""
    out = (size + 2 * padding - kernel) // stride + 1
    return sum(1 for o in range(out) for k in range(kernel) if 0 <= o * stride - padding + k < size)


def test_dense_synops_of_a_padded_conv_is_an_upper_bound_of_neurobench_s_count() -> None:
    # NeuroBench runs an all-ones copy of the layer on an all-ones input: padding adds nothing.
    # CONV: 2 -> 4 channels, 3x3, 8x8 input, stride 2, padding 1: along an axis output rows
    # 0..3 see input rows -1..1, 1..3, 3..5, 5..7, i.e. 2 + 3 + 3 + 3 = 11 of 12 taps.
    assert in_bounds_taps(8, 3, 2, 1) == 2 + 3 + 3 + 3
    neurobench_dense = 4 * 2 * in_bounds_taps(8, 3, 2, 1) ** 2
    assert neurobench_dense == 968
    ours = hwmodels.evaluate(profile_of(dense(**CONV)), "neurobench")["dense_synops"]
    assert ours == 1152 > neurobench_dense
    # Without padding (9x9 input, stride 2: 4x4 outputs) every tap is inside and the counts agree.
    unpadded = dense(**{**CONV, "n_inputs": 2 * 9 * 9})
    assert hwmodels.evaluate(profile_of(unpadded), "neurobench")["dense_synops"] \
        == 4 * 2 * in_bounds_taps(9, 3, 2, 0) ** 2 == 4 * 2 * (4 * 3) ** 2


def test_pruning_raises_connection_sparsity_keeps_the_footprint_and_cuts_effective_macs() -> None:
    def at(nonzero: int) -> dict[str, float]:
        layer = dense(n_weights=100, n_nonzero=nonzero, macs_per_step=100, spiking_input=False)
        return hwmodels.evaluate(profile_of(layer, timesteps=3), "neurobench")

    runs = [at(n) for n in (100, 60, 10, 0)]
    assert [r["connection_sparsity"] for r in runs] == pytest.approx([0.0, 0.4, 0.9, 1.0])
    assert len({r["footprint_bytes"] for r in runs}) == 1  # NeuroBench's footprint stores the zeros
    assert [r["effective_macs"] for r in runs] == [300, 180, 30, 0]
    assert all(r["dense_synops"] == 300 for r in runs)


def test_a_network_without_weights_or_neurons_is_not_a_division_by_zero() -> None:
    empty = profile_of(dense(n_inputs=0, n_neurons=0, n_weights=0, n_nonzero=0, macs_per_step=0))
    out = hwmodels.evaluate(empty, "neurobench")
    assert out["connection_sparsity"] == 0.0 and out["activation_sparsity"] == 0.0
