"""`dse select`: one design per mu by the tinySNN reward (Eq. 3), smaller as mu grows (Fig. 9)."""

import json
import sys
import types

import pytest

from dse import engines
from dse.cli import main
from dse.engines import Budget, DataShape, Engine, TrialOutcome
from dse.errors import UserError
from dse.query import query
from dse.select import select
from dse.spec import parse_spec
from dse.study import run_study
from hwmodels import LayerProfile, Profile

ACCURACY = {4: 0.60, 8: 0.88, 32: 0.90}


def bits_profile(design, shape: DataShape, phase: str = "inference", accuracy=None) -> Profile:
    """100 weights and 10 neuron states, all at weight_bits: memory / memory at 32 bits = b / 32."""
    b = design.weight_bits
    return Profile(layers=(LayerProfile(
        name="fc", kind="dense", n_inputs=10, n_neurons=10, n_weights=100, n_nonzero=100, weight_bits=b,
        neuron_params={"v_mem": (10, b)}, macs_per_step=100, fan_out=10.0, input_events=5.0),),
        timesteps=4, accuracy=accuracy, phase=phase)


def bits_run(design, data, budget: Budget, report) -> TrialOutcome:
    accuracy = ACCURACY[design.weight_bits]
    profile = bits_profile(design, None, accuracy=accuracy)
    return TrialOutcome(accuracy=accuracy, profile=profile, train_seconds=0.0, eval_seconds=0.0,
                        training_profile=bits_profile(design, None, "training"))


@pytest.fixture(scope="module")
def bits_study(tmp_path_factory):
    """One study of the bits engine, run once and only read by this module's tests."""
    module = types.ModuleType("bits_engine_for_tests")
    module.run = bits_run
    module.ENGINE = Engine(name="bits", help="accuracy and memory known per weight_bits", keys={},
                           shared=("weight_bits",), defaults={}, static_profile=bits_profile,
                           runner="bits_engine_for_tests:run", training_profile=True)
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setitem(sys.modules, "bits_engine_for_tests", module)
        monkeypatch.setitem(engines._ENGINES, "bits", "bits_engine_for_tests")
        spec = parse_spec({
            "study": {"name": "bits", "engine": "bits", "n_trials": 3, "sampler": "grid"},
            "objectives": {"accuracy": "maximize", "memory_bits": "minimize"},
            "space": {"weight_bits": {"choices": [4, 8, 32]}},
            "hardware": {"models": ["memory", "reward", "energy45nm"], "arithmetic": "int"},
        }, "bits.toml")
        url = f"sqlite:///{tmp_path_factory.mktemp('bits') / 'bits.db'}"
        run_study(spec, storage=url, show_progress=False)
        yield url


def test_each_mu_picks_the_design_of_highest_reward(bits_study) -> None:
    frame = select("bits", bits_study, [0.0, 0.1, 4.0])
    # R = A - mu * b/32. mu = 0: 0.90 (32 bits). mu = 0.1: 0.90 - 0.1 = 0.80,
    # 0.88 - 0.1/4 = 0.855, 0.60 - 0.1/8 = 0.5875 -> 8 bits. mu = 4: -3.1, -0.12, 0.1 -> 4 bits.
    assert frame["weight_bits"].tolist() == [32, 8, 4]
    assert frame["reward"].tolist() == pytest.approx([0.90, 0.88 - 0.1 / 4, 0.60 - 4 / 8])
    assert frame["accuracy"].tolist() == pytest.approx([0.90, 0.88, 0.60])
    assert frame["memory_bits"].tolist() == [110 * 32, 110 * 8, 110 * 4]
    assert frame["memory_ratio"].tolist() == [1.0, 0.25, 0.125]
    assert list(frame.columns[:6]) == ["mu", "trial", "reward", "accuracy", "memory_bits", "memory_ratio"]
    assert frame["memory_bits"].is_monotonic_decreasing  # smaller models as mu grows


def test_energy_and_memory_bounds_pick_another_design_where_they_must(bits_study) -> None:
    # 50 synops each; int adds at b bits (energy45nm): 4 bits 0.01833 pJ, 8 bits 0.03 pJ, 32 bits 0.1 pJ,
    # so energy_45nm_j = 0.917 pJ, 1.5 pJ, 5 pJ; memory_bits 440, 880, 3520.
    free = select("bits", bits_study, [0.0, 4.0])
    assert free["weight_bits"].tolist() == [32, 4]
    bound = select("bits", bits_study, [0.0, 4.0], energy="energy_45nm_j", max_energy=2e-12)
    assert bound["weight_bits"].tolist() == [8, 4]  # mu = 0 must give up the 5 pJ design; mu = 4 need not
    assert bound["energy_45nm_j"].tolist() == pytest.approx([1.5e-12, 50 * (0.03 - 0.07 * 4 / 24) * 1e-12])
    assert select("bits", bits_study, [0.0], energy="energy_45nm_j",
                  max_energy=1e-12)["weight_bits"].tolist() == [4]
    assert select("bits", bits_study, [0.0], max_memory=880)["weight_bits"].tolist() == [8]
    assert select("bits", bits_study, [0.0], energy="training_energy_45nm_j",
                  max_energy=2e-12)["weight_bits"].tolist() == [8]  # the training phase's energy
    assert select("bits", bits_study, [0.0], max_memory=100).empty  # nothing meets 100 bits


def test_an_unknown_energy_metric_is_refused_naming_the_valid_ones(bits_study, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["select", "bits", "--storage", bits_study, "--mu", "0", "--energy", "joules", "--max-energy", "1"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--energy joules: not an energy metric stored for study 'bits'; valid: energy_45nm_j, " \
           "training_energy_45nm_j" in err
    with pytest.raises(UserError, match="--max-energy: name the energy metric"):
        select("bits", bits_study, [0.0], max_energy=1.0)
    main(["select", "bits", "--storage", bits_study, "--mu", "0", "--energy", "energy_45nm_j",
          "--max-energy", "2e-12", "--format", "json"])
    assert [r["weight_bits"] for r in json.loads(capsys.readouterr().out)] == [8]


def test_select_command_sweeps_mu_lists_and_repeats(bits_study, capsys) -> None:
    main(["select", "bits", "--storage", bits_study, "--mu", "0,0.1", "--mu", "4", "--format", "json"])
    rows = json.loads(capsys.readouterr().out)
    assert [(r["mu"], r["weight_bits"]) for r in rows] == [(0.0, 32), (0.1, 8), (4.0, 4)]


@pytest.mark.parametrize("args, message", [
    (["--mu", "lots"], "--mu lots: expected a number >= 0"),
    (["--mu", "-1"], "--mu -1.0: expected numbers >= 0, got -1.0"),
])
def test_bad_mu_is_refused_with_exit_2(bits_study, capsys, args, message) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["select", "bits", "--storage", bits_study, *args])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_an_unknown_study_is_refused(bits_study) -> None:
    with pytest.raises(UserError, match="no study named 'nope'"):
        select("nope", bits_study, [0.5])


def test_a_real_stdp_study_stores_both_phases_and_selects_smaller_networks(tmp_path) -> None:
    spec = parse_spec({
        "study": {"name": "tiny-stdp", "engine": "stdp", "n_trials": 4, "sampler": "grid"},
        "objectives": {"accuracy": "maximize", "memory_bits": "minimize",
                       "training_energy_jetson_nano_j": "minimize"},
        "space": {"network": {"choices": ["diehl-cook", "tinysnn"]}, "n_neurons": {"choices": [8]},
                  "weight_bits": {"choices": [4, 32]}, "timesteps": {"choices": [30]},
                  "update_interval": {"choices": [10]}},
        "train": {"epochs": 1, "max_train_samples": 30},
        "hardware": {"models": ["memory", "gpu", "reward"], "gpu_targets": ["jetson-nano"]},
    }, "tiny.toml")
    url = f"sqlite:///{tmp_path / 'stdp.db'}"
    result = run_study(spec, storage=url, show_progress=False)
    assert sum(t.state.name == "COMPLETE" for t in result.study.trials) == 4
    frame = query("tiny-stdp", url)
    assert frame["training_energy_jetson_nano_j"].notna().all()
    base32 = frame[(frame.network == "diehl-cook") & (frame.weight_bits == 32)].iloc[0]
    tiny4 = frame[(frame.network == "tinysnn") & (frame.weight_bits == 4)].iloc[0]
    assert base32.memory_bits > tiny4.memory_bits
    assert base32.energy_jetson_nano_j > tiny4.energy_jetson_nano_j
    assert base32.training_energy_jetson_nano_j > tiny4.training_energy_jetson_nano_j
    chosen = select("tiny-stdp", url, [0.0, 10.0])
    assert chosen["memory_bits"].iloc[1] <= chosen["memory_bits"].iloc[0]
    assert chosen["weight_bits"].iloc[1] == 4 and chosen["network"].iloc[1] == "tinysnn"


def test_pruning_the_candidates_to_their_front_changes_no_choice(workdir, tiny_spec, monkeypatch) -> None:
    import dse.select as sel
    from dse.spec import load_spec
    from dse.study import run_study

    url = f"sqlite:///{workdir / 'prune.db'}"
    spec = load_spec(tiny_spec(n_trials=4))
    run_study(spec, storage=url, show_progress=False)
    mus = [0.0, 0.01, 0.1, 0.3, 1.0, 3.0, 10.0]
    full = sel.select(spec.name, url, mus, variants=True)
    monkeypatch.setattr(sel, "PRUNE_FROM", 0)
    pruned = sel.select(spec.name, url, mus, variants=True)
    assert full.equals(pruned)
