"""The GPU roofline against hand-computed values, its properties, and boards added without code."""

import math
from importlib import resources

import pytest

import hwmodels
from hwmodels.gpu_targets import ENV_VAR

from .conftest import dense, profile_of
from .test_hwmodels_values import CONV

NANO = dict(peak=236e9, bandwidth=25.6e9, power=10.0, launch=20e-6)
NANO_5W = dict(peak=164e9, bandwidth=25.6e9, power=5.0, launch=20e-6)
RTX = dict(peak=13.45e12, bandwidth=616e9, power=250.0, launch=5e-6)

# A 3x3 convolution, 16 -> 32 channels, 32x32 input, stride 2, padding 1:
# H_out = floor((32 + 2*1 - 3) / 2) + 1 = 16, so 32*16*16 = 8192 neurons, each summing
# 16*3*3 = 144 inputs: 8192 * 144 = 1,179,648 MACs per step. 8-bit weights, 16-bit membranes.
BIG_CONV = dict(name="big", kind="conv2d", n_inputs=16 * 32 * 32, n_neurons=32 * 16 * 16,
                n_weights=32 * 16 * 3 * 3, n_nonzero=2304, weight_bits=8, macs_per_step=8192 * 144,
                neuron_params={"v_mem": (8192, 16), "v_th": (1, 16)})


def seconds(flops: float, moved: float, board: dict) -> float:
    return max(flops / board["peak"], moved / board["bandwidth"]) + board["launch"]


def test_roofline_of_a_small_padded_strided_conv_is_memory_bound() -> None:
    # CONV (tests/test_hwmodels_values.py): 2 -> 4 channels, 8x8, stride 2, padding 1.
    flops = 2 * 1152
    moved = 72 * 4 / 8 + 4 * (128 + 64) + (64 * 8 + 1 * 8 + 1 * 8) / 8  # weights + activations + state
    assert moved == 36 + 768 + 66
    out = hwmodels.evaluate(profile_of(dense(**CONV), timesteps=5), "gpu")
    for key, board in (("jetson_nano", NANO), ("jetson_nano_5w", NANO_5W), ("rtx2080ti", RTX)):
        assert moved / board["bandwidth"] > flops / board["peak"]  # memory-bound everywhere
        assert out[f"latency_{key}_s"] == pytest.approx(5 * (moved / board["bandwidth"] + board["launch"]))


def test_roofline_of_a_big_conv_is_compute_bound_on_the_nano_and_memory_bound_on_the_rtx() -> None:
    flops = 2 * 1_179_648
    moved = 4608 * 8 / 8 + 4 * (16384 + 8192) + (8192 * 16 + 16) / 8
    assert moved == 4608 + 98304 + 16386
    nano_compute, nano_memory = flops / 236e9, moved / 25.6e9
    rtx_compute, rtx_memory = flops / 13.45e12, moved / 616e9
    assert nano_compute > nano_memory and rtx_memory > rtx_compute
    out = hwmodels.evaluate(profile_of(dense(**BIG_CONV), timesteps=4), "gpu")
    assert out["latency_jetson_nano_s"] == pytest.approx(4 * (nano_compute + 20e-6))
    assert out["latency_jetson_nano_5w_s"] == pytest.approx(4 * (flops / 164e9 + 20e-6))
    assert out["latency_rtx2080ti_s"] == pytest.approx(4 * (rtx_memory + 5e-6))
    assert out["energy_jetson_nano_j"] == pytest.approx(4 * (nano_compute + 20e-6) * 10.0)


def test_latency_sums_layers_and_timesteps_and_energy_is_latency_times_power() -> None:
    profile = profile_of(dense(**CONV), dense(**BIG_CONV), dense("fc", n_inputs=8192, n_neurons=10,
                         n_weights=81920, n_nonzero=40000, macs_per_step=81920), timesteps=3)
    out = hwmodels.evaluate(profile, "gpu")
    per_layer = hwmodels.breakdown(profile, "gpu")
    for key, board in (("jetson_nano", NANO), ("jetson_nano_5w", NANO_5W), ("rtx2080ti", RTX)):
        assert out[f"latency_{key}_s"] == pytest.approx(sum(v[f"latency_{key}_s"] for v in per_layer.values()))
        assert out[f"energy_{key}_j"] == pytest.approx(out[f"latency_{key}_s"] * board["power"])
        # fc: 81920 weights stored densely at 8 bits (pruning does not shrink a dense kernel)
        fc = seconds(2 * 81920, 81920 + 4 * (8192 + 10), board)
        assert per_layer["fc"][f"latency_{key}_s"] == pytest.approx(3 * fc)


def test_training_multiplies_flops_and_bytes_by_three_but_not_the_launch() -> None:
    layer = dense(**BIG_CONV)
    inference = hwmodels.evaluate(profile_of(layer, timesteps=2), "gpu")
    training = hwmodels.evaluate(profile_of(layer, timesteps=2, phase="training"), "gpu")
    flops, moved = 2 * 1_179_648, 4608 + 98304 + 16386
    for key, board in (("jetson_nano", NANO), ("rtx2080ti", RTX)):
        assert training[f"latency_{key}_s"] == pytest.approx(2 * seconds(3 * flops, 3 * moved, board))
        assert training[f"latency_{key}_s"] > inference[f"latency_{key}_s"]
        assert training[f"energy_{key}_j"] > inference[f"energy_{key}_j"]


def test_rtx_is_faster_than_the_nano_and_more_timesteps_never_cost_less() -> None:
    for layer in (dense(**CONV), dense(**BIG_CONV), dense()):
        runs = [hwmodels.evaluate(profile_of(layer, timesteps=t), "gpu") for t in (1, 2, 16)]
        for out in runs:
            assert out["latency_rtx2080ti_s"] < out["latency_jetson_nano_s"] <= out["latency_jetson_nano_5w_s"]
        for metric in runs[0]:
            assert runs[0][metric] < runs[1][metric] < runs[2][metric], metric


def test_gpu_metrics_need_no_measured_activity() -> None:
    quiet = profile_of(dense(**CONV), timesteps=4)
    busy = profile_of(dense(**{**CONV, "input_events": 900.0, "output_spikes": 300.0}), timesteps=4, accuracy=0.5)
    assert hwmodels.evaluate(quiet, "gpu") == hwmodels.evaluate(busy, "gpu")
    chosen = hwmodels.units("gpu", gpu_targets=["rtx2080ti"])
    assert set(chosen) == {"latency_rtx2080ti_s", "energy_rtx2080ti_j"}
    assert hwmodels.static_metrics("gpu", gpu_targets=["rtx2080ti"]) == set(chosen)
    assert hwmodels.static_metrics("gpu") == set(hwmodels.units("gpu"))


def test_gpu_targets_option_chooses_boards_and_names_the_valid_ones() -> None:
    profile = profile_of(dense())
    assert set(hwmodels.evaluate(profile, "gpu", gpu_targets=["jetson-nano-5w"])) == {
        "latency_jetson_nano_5w_s", "energy_jetson_nano_5w_j"}
    assert hwmodels.evaluate(profile, "gpu", gpu_targets="rtx2080ti") == \
        hwmodels.evaluate(profile, "gpu", gpu_targets=["rtx2080ti"])
    with pytest.raises(ValueError, match=r"option 'gpu_targets' of model 'gpu': unknown GPU target\(s\) 'tx2'; "
                                         r"valid: jetson-nano, jetson-nano-5w, rtx2080ti"):
        hwmodels.evaluate(profile, "gpu", gpu_targets=["jetson-nano", "tx2"])
    for bad in ([], [3], {"rtx2080ti": 1}):
        with pytest.raises(ValueError, match="expected a list of GPU target names"):
            hwmodels.evaluate(profile, "gpu", gpu_targets=bad)


def test_the_packaged_boards_are_reference_md_s() -> None:
    assert resources.files("hwmodels").joinpath("gpu_targets.toml").is_file()  # shipped as package data
    boards = hwmodels.get("gpu").metrics
    assert list(boards) == ["latency_jetson_nano_s", "energy_jetson_nano_j", "latency_jetson_nano_5w_s",
                            "energy_jetson_nano_5w_j", "latency_rtx2080ti_s", "energy_rtx2080ti_j"]
    from hwmodels.gpu_targets import targets

    table = {name: (b.peak_flop_per_s, b.bandwidth_byte_per_s, b.power_w, b.launch_s)
             for name, b in targets().items()}
    assert table == {
        "jetson-nano": (236e9, 25.6e9, 10.0, 20e-6),     # 2 x 128 cores x 921.6 MHz
        "jetson-nano-5w": (164e9, 25.6e9, 5.0, 20e-6),   # 2 x 128 cores x 640 MHz
        "rtx2080ti": (13.45e12, 616e9, 250.0, 5e-6),     # 2 x 4352 cores x 1545 MHz
    }
    assert math.isclose(2 * 128 * 921.6e6, 236e9, rel_tol=1e-3)
    assert math.isclose(2 * 4352 * 1545e6, 13.45e12, rel_tol=1e-3)


# ---- boards added without code ---------------------------------------------------

def boards_file(tmp_path, monkeypatch, text: str, name: str = "boards.toml"):
    path = tmp_path / name
    path.write_text(text)
    monkeypatch.setenv(ENV_VAR, str(path))
    return path


def test_a_user_board_and_an_override_come_from_the_file_in_the_environment(tmp_path, monkeypatch) -> None:
    boards_file(tmp_path, monkeypatch, """
        [orin-nano]
        description = "Jetson Orin Nano 8 GB"
        peak_flop_per_s = 1.28e12
        bandwidth_byte_per_s = 68e9
        power_w = 15
        launch_s = 10e-6

        [rtx2080ti]
        power_w = 200.0
    """)
    profile = profile_of(dense(**BIG_CONV), timesteps=2)
    out = hwmodels.evaluate(profile, "gpu")
    flops, moved = 2 * 1_179_648, 4608 + 98304 + 16386
    orin = seconds(flops, moved, dict(peak=1.28e12, bandwidth=68e9, launch=10e-6))
    assert out["latency_orin_nano_s"] == pytest.approx(2 * orin)
    assert out["energy_orin_nano_j"] == pytest.approx(2 * orin * 15)
    assert out["energy_rtx2080ti_j"] == pytest.approx(out["latency_rtx2080ti_s"] * 200.0)
    assert out["latency_rtx2080ti_s"] == pytest.approx(2 * seconds(flops, moved, RTX))  # the rest kept
    assert hwmodels.static_metrics("gpu") == set(out)
    assert set(hwmodels.evaluate(profile, "gpu", gpu_targets=["orin-nano"])) == {
        "latency_orin_nano_s", "energy_orin_nano_j"}
    monkeypatch.delenv(ENV_VAR)
    assert "latency_orin_nano_s" not in hwmodels.evaluate(profile, "gpu")


def test_an_edited_board_file_is_read_again(tmp_path, monkeypatch) -> None:
    path = boards_file(tmp_path, monkeypatch, "[rtx2080ti]\npower_w = 100.0\n")
    profile = profile_of(dense())
    first = hwmodels.evaluate(profile, "gpu", gpu_targets=["rtx2080ti"])
    path.write_text("[rtx2080ti]\npower_w = 300.0\n")
    import os

    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    second = hwmodels.evaluate(profile, "gpu", gpu_targets=["rtx2080ti"])
    assert second["energy_rtx2080ti_j"] == pytest.approx(3 * first["energy_rtx2080ti_j"])


@pytest.mark.parametrize("text, message", [
    ("[tx2]\npeak_flop_per_s = 1e12\npower_w = 10\nlaunch_s = 0\n", r"\[tx2\]: a new target needs bandwidth_byte_per_s"),
    ("[rtx2080ti]\npower = 10\n", r"\[rtx2080ti\]: unknown field\(s\) power; valid: peak_flop_per_s, "
                                  r"bandwidth_byte_per_s, power_w, launch_s, description"),
    ("[rtx2080ti]\npower_w = -5\n", r"\[rtx2080ti\]\.power_w: expected numbers > 0, got -5$"),
    ("[rtx2080ti]\npower_w = nan\n", r"\[rtx2080ti\]\.power_w: expected numbers > 0, got nan$"),
    ("[rtx2080ti]\nbandwidth_byte_per_s = inf\n",
     r"\[rtx2080ti\]\.bandwidth_byte_per_s: expected numbers > 0, got inf$"),
    ("[rtx2080ti]\nlaunch_s = \"fast\"\n", r"\[rtx2080ti\]\.launch_s: expected numbers >= 0, got \"fast\"$"),
    ("[rtx2080ti]\ndescription = 3\n", r"\[rtx2080ti\]\.description: expected a string, got 3$"),
    ("rtx2080ti = 3\n", r"\[rtx2080ti\]: expected a table"),
    ("[\"RTX 3090\"]\npower_w = 1\n", r"\[RTX 3090\]: a target name needs lower-case letters"),
    ("[jetson_nano]\npeak_flop_per_s = 1e9\nbandwidth_byte_per_s = 1e9\npower_w = 1\nlaunch_s = 0\n",
     r"targets 'jetson-nano' and 'jetson_nano' would share the metric names latency_jetson_nano_s"),
    ("[rtx2080ti\n", "not valid TOML"),
])
def test_a_bad_board_file_is_refused_naming_file_table_and_field(tmp_path, monkeypatch, text, message) -> None:
    path = boards_file(tmp_path, monkeypatch, text)
    with pytest.raises(ValueError, match=message) as info:
        hwmodels.evaluate(profile_of(dense()), "gpu")
    assert f"{ENV_VAR}={path}" in str(info.value)


def test_a_missing_board_file_is_refused_by_the_gpu_model_alone(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "absent.toml"))
    with pytest.raises(ValueError, match="absent.toml: cannot read the GPU target file: No such file"):
        hwmodels.units("gpu")
    assert hwmodels.evaluate(profile_of(dense()), "memory")["memory_bits"] == 12 * 8
    assert hwmodels.get("gpu").metrics["latency_rtx2080ti_s"] == "s"  # the packaged boards need no file


# ---- in a study spec ---------------------------------------------------------------

def gpu_spec(hardware: dict, constraints: dict | None = None) -> dict:
    return {"study": {"name": "s", "engine": "surrogate"},
            "objectives": {"accuracy": "maximize", "latency_jetson_nano_s": "minimize"},
            "constraints": constraints or {},
            "space": {"hidden": {"choices": [[16], [128]]}, "timesteps": {"choices": [2, 16]}},
            "hardware": {"models": ["memory", "gpu"], **hardware}}


def test_a_spec_checks_its_gpu_targets_and_gpu_latency_constraints_before_training() -> None:
    from dse.errors import SpecError
    from dse.spec import parse_spec
    from dse.study import check_feasible

    with pytest.raises(SpecError, match=r"x.toml: \[hardware\].gpu_targets: option 'gpu_targets' of model 'gpu': "
                                        r"unknown GPU target\(s\) 'tx2'; valid: jetson-nano"):
        parse_spec(gpu_spec({"gpu_targets": ["tx2"]}), "x.toml")
    spec = parse_spec(gpu_spec({"gpu_targets": ["jetson-nano"]}, {"latency_jetson_nano_s": {"max": 1e-3}}))
    assert [c.metric for c in spec.static_constraints()] == ["latency_jetson_nano_s"]
    # No design can step a network in a nanosecond: refused before anything runs.
    with pytest.raises(SpecError, match=r"\[constraints\].latency_jetson_nano_s: impossible: no design in \[space\]"):
        check_feasible(parse_spec(gpu_spec({}, {"latency_jetson_nano_s": {"max": 1e-9}}), "x.toml"))
