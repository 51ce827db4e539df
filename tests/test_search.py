"""Search economy: exact budgets, no design trained twice, samplers that learn from rejections,
post-training variants with lineage, and early stopping of multi-objective trials."""

from __future__ import annotations

import math

import pytest

from dse.query import query
from dse.spec import parse_spec
from dse.store import Store
from dse.study import run_study
from dse.study.dedupe import fingerprint
from dse.design import make_design
from dse.engines import DataShape
from tests.toy_engine import toy_engine  # noqa: F401: the fixture

DIGITS = DataShape((1, 8, 8), 10)


def toy_spec(name: str, n_trials: int, sampler: str | None = "nsga2", seed: int = 0, **sections) -> object:
    study = {"name": name, "engine": "toy", "n_trials": n_trials, "seed": seed}
    if sampler:
        study["sampler"] = sampler
    data = {"study": study,
            "objectives": {"accuracy": "maximize", "memory_bits": "minimize"},
            "space": {"quality": {"low": 0.0, "high": 1.0}, "size": {"low": 1, "high": 1000},
                      "weight_bits": {"choices": [2, 4, 8, 16, 32]}},
            "train": {"epochs": 4}, "hardware": {"models": ["memory"]}}
    for section, values in sections.items():
        data[section] = {**data.get(section, {}), **values}
    return parse_spec(data, f"{name}.toml")


def test_equal_designs_share_one_fingerprint_after_the_engines_rounding() -> None:
    a = make_design("surrogate", {"hidden": [64], "pruning": 0.3})
    b = make_design("surrogate", {"hidden": [64], "pruning": 0.3000001})  # prunes the same weights
    c = make_design("surrogate", {"hidden": [64], "pruning": 0.35})
    spec = parse_spec({"study": {"name": "f", "engine": "surrogate"}, "objectives": {"accuracy": "maximize"}})
    assert fingerprint(spec, a, DIGITS) == fingerprint(spec, b, DIGITS) != fingerprint(spec, c, DIGITS)
    other_train = parse_spec({"study": {"name": "f", "engine": "surrogate"}, "objectives": {"accuracy": "maximize"},
                              "train": {"epochs": 3}})
    assert fingerprint(other_train, a, DIGITS) != fingerprint(spec, a, DIGITS)


def test_a_study_never_trains_the_same_design_twice(workdir, toy_engine) -> None:
    spec = toy_spec("dup", 4, sampler="random", space={"quality": {"choices": [0.5, 0.9]},
                                                       "size": {"choices": [10, 20]}, "weight_bits": {"choices": [8]}})
    result = run_study(spec, storage="sqlite:///d.db", show_progress=False)
    assert result.counts["trained"] == 4 and result.counts["reused"] > 0  # all four designs, once each
    assert len(toy_engine) == 4 and len(set(toy_engine)) == 4
    frame = query("dup", "sqlite:///d.db").set_index("trial")
    trained = frame[frame.status == "trained"]
    for number, row in frame[frame.status == "reused"].iterrows():
        owner = trained.loc[int(row["parent"])]  # linked to the trial that trained it
        assert (row["quality"], row["size"]) == (owner["quality"], owner["size"])
        assert row["accuracy"] == owner["accuracy"]
    frozen = {t.number: t for t in result.study.trials}
    for number in frame[frame.status == "reused"].index:  # the sampler sees its values, too
        assert frozen[number].values == frozen[frozen[number].user_attrs["reused_from"]].values


def test_rejected_reused_and_failed_trials_do_not_use_the_budget(workdir, toy_engine) -> None:
    spec = toy_spec("budget", 12, constraints={"memory_bits": {"max": 8000}})
    result = run_study(spec, storage="sqlite:///b.db", show_progress=False)
    counts = result.counts
    assert counts["trained"] == 12 == len(toy_engine) and counts["rejected"] > 0
    assert all(8 * d.size + d.size * d.weight_bits <= 8000 for d in toy_engine)  # no rejected design trained


@pytest.mark.parametrize("sampler", ["nsga2", "tpe"])
def test_the_sampler_learns_to_avoid_rejected_designs(workdir, toy_engine, sampler) -> None:
    """Half the space breaks the memory bound; a sampler told of rejections proposes fewer of them later."""
    spec = toy_spec(f"learn-{sampler}", 40, sampler=sampler, constraints={"memory_bits": {"max": 8000}})
    run_study(spec, storage="sqlite:///l.db", show_progress=False)
    statuses = [t.status for t in Store("sqlite:///l.db").trials(spec.name)]
    half = len(statuses) // 2
    first, second = statuses[:half].count("rejected"), statuses[half:].count("rejected")
    assert first >= 4 and second <= first / 2, (first, second)


def test_a_study_that_cannot_fill_its_budget_stops(workdir, toy_engine) -> None:
    spec = toy_spec("few", 5, sampler="random", space={"quality": {"choices": [0.5]}, "size": {"choices": [10, 20]},
                                                     "weight_bits": {"choices": [8]}})
    result = run_study(spec, storage="sqlite:///f.db", show_progress=False)
    assert result.gave_up and result.counts["trained"] == 2
    assert sum(result.counts.values()) == 20 * 5  # 20 proposals per asked-for design


def test_variants_are_design_points_with_lineage_and_their_own_measurements(workdir) -> None:
    spec = parse_spec({
        "study": {"name": "variants", "engine": "surrogate", "n_trials": 1},
        "objectives": {"accuracy": "maximize", "memory_bits": "minimize"},
        "space": {"hidden": {"choices": [[64]]}, "timesteps": {"choices": [4]}},
        "variants": {"weight_bits": [2], "pruning": [0.9]},
        "train": {"epochs": 4, "eval_timesteps": [1]},  # the older spelling of [variants] timesteps
        "hardware": {"models": ["memory", "synops"]}}, "v.toml")
    url = f"sqlite:///{workdir / 'v.db'}"
    run_study(spec, storage=url, show_progress=False)
    frame = query(spec.name, url, variants=True).set_index(["trial", "variant"])
    parent = frame.loc[(0, "")]
    two_bit, pruned = frame.loc[(0, "w=2")], frame.loc[(0, "p=0.9")]
    assert frame.loc[(0, "T=1"), "parent"] == "0"
    for variant, changed in ((two_bit, {"weight_bits": 2, "quantization": "ptq"}), (pruned, {"pruning": 0.9})):
        assert variant["status"] == "variant" and variant["parent"] == "0"
        assert all(variant[k] == v for k, v in changed.items())
        assert variant["memory_bits"] < parent["memory_bits"]
        assert not math.isnan(variant["accuracy"]) and variant["spikes_per_sample"] != parent["spikes_per_sample"]
    assert two_bit["accuracy"] < parent["accuracy"]  # 2-bit PTQ of a float network loses accuracy


def test_the_pareto_pruner_stops_a_trial_that_cannot_reach_the_front(workdir, toy_engine) -> None:
    """Known answer. Trained: quality 0.9 at sizes 10, 20, 30 (val accuracy 0.225 after epoch 1 of 4, so
    every completed trial gained 0.675 from there). A quality-0.2 design of size 500 shows 0.05 after epoch 1:
    at best 0.05 + 0.675 + margin 0.05 = 0.775 < 0.9 at more memory: dominated, stopped. A quality-0.95
    design of size 500 shows 0.2375: at best 0.9625 > 0.9: it could reach the front, it goes on."""
    from dse.study.pareto_pruner import ParetoPruner

    url = "sqlite:///p.db"
    first = toy_spec("prune", 3, sampler="grid", study={"pruner": "pareto", "prune_margin": 0.05},
                     space={"quality": {"choices": [0.9]}, "size": {"choices": [10, 20, 30]},
                            "weight_bits": {"choices": [8]}})
    assert run_study(first, storage=url, show_progress=False).counts["trained"] == 3
    pruner = ParetoPruner(first, Store(url))
    pruner.start(make_design("toy", {"quality": 0.2, "size": 500, "weight_bits": 8}), DIGITS)
    assert pruner.bound(0, 0.05) == pytest.approx(0.775)
    reason = pruner.verdict(0, 0.05)
    assert reason.startswith("pareto pruner at epoch 1: validation accuracy 0.050, optimistic test accuracy "
                             "0.775 (margin 0.05)") and "dominated on every objective pair" in reason
    pruner.start(make_design("toy", {"quality": 0.95, "size": 500, "weight_bits": 8}), DIGITS)
    assert pruner.verdict(0, 0.2375) is None


def test_a_pareto_pruned_study_stops_only_hopeless_designs(workdir, toy_engine) -> None:
    spec = toy_spec("pruned", 8, sampler="random", study={"pruner": "pareto"},
                    space={"quality": {"choices": [0.9, 0.2]}, "size": {"choices": [10, 20, 30, 40, 500, 600]},
                           "weight_bits": {"choices": [8]}})
    result = run_study(spec, storage="sqlite:///q.db", show_progress=False)
    trials = Store("sqlite:///q.db").trials("pruned")
    pruned = [t for t in trials if t.status == "pruned"]
    assert pruned and all(t.params["quality"] == 0.2 and "dominated" in t.note for t in pruned)
    assert all(t.status != "pruned" for t in trials if t.params["quality"] == 0.9)
    assert result.counts["trained"] == 8


def test_a_sequential_study_runs_its_stages_in_order_with_earlier_stages_fixed(workdir, toy_engine) -> None:
    spec = toy_spec("seq", 6, sampler=None, study={"mode": "sequential", "stages": [["quality"], ["size"], ["weight_bits"]]},
                    space={"quality": {"choices": [0.2, 0.5, 0.9]}, "size": {"choices": [10, 100, 1000]},
                           "weight_bits": {"choices": [2, 8, 32]}})
    assert spec.sampler == "tpe" and spec.stage_trials == (2, 2, 2)
    result = run_study(spec, storage="sqlite:///s.db", show_progress=False)
    assert result.counts["trained"] == 6
    trials = [t for t in Store("sqlite:///s.db").trials("seq") if t.status == "trained"]
    assert [t.stage for t in trials] == [0, 0, 1, 1, 2, 2]  # in order, each its budget
    assert all(set(t.params) == {k} for t, k in zip(trials, ["quality"] * 2 + ["size"] * 2 + ["weight_bits"] * 2))
    first = trials[:2]
    # stage 0 fixes the later keys to neutral values: the defaults (size 10, 32-bit weights) the space allows
    assert all(t.fixed == {"size": 10, "weight_bits": 32} for t in first)
    # stage 1 takes stage 0's best quality (the knee: the most accurate at equal memory), stage 2 both
    best = max(first, key=lambda t: t.params["quality"])
    assert all(t.fixed["quality"] == best.params["quality"] for t in trials[2:])
    for t in trials[4:]:
        assert t.fixed["size"] in {s.params["size"] for s in trials[2:4]}
    assert [d.quality for d in toy_engine[2:]] == [best.params["quality"]] * 4


def test_a_sequential_study_refuses_what_it_cannot_run() -> None:
    from dse.errors import SpecError

    with pytest.raises(SpecError, match=r'\[study\].sampler: a sequential study searches other keys in each stage, '
                                        r'which needs "tpe" or "random", got "nsga2"'):
        parse_spec({"study": {"name": "s", "engine": "surrogate", "mode": "sequential", "sampler": "nsga2"},
                    "objectives": {"accuracy": "maximize"}, "space": {"hidden": {"choices": [[8], [16]]}}}, "s.toml")
    with pytest.raises(SpecError, match=r'\[study\].stages: every searched key belongs to exactly one stage: '
                                        r'"timesteps" is in no stage'):
        parse_spec({"study": {"name": "s", "engine": "surrogate", "mode": "sequential", "stages": [["hidden"]]},
                    "objectives": {"accuracy": "maximize"},
                    "space": {"hidden": {"choices": [[8], [16]]}, "timesteps": {"choices": [2, 4]}}}, "s.toml")


def test_a_stage_with_fewer_designs_than_its_share_passes_the_rest_on(workdir, toy_engine) -> None:
    from dse.study.stages import budgets

    spec = toy_spec("small-stage", 9, sampler=None, study={"mode": "sequential", "stages": [["size"], ["quality"]]},
                    space={"quality": {"low": 0.0, "high": 1.0}, "size": {"choices": [10, 20]},
                           "weight_bits": {"choices": [8]}})
    assert spec.stage_trials == (5, 4) and budgets(spec) == [2, 7]  # two sizes only: the rest goes on
    result = run_study(spec, storage="sqlite:///s.db", show_progress=False)
    assert result.counts["trained"] == 9 and not result.gave_up


def test_a_grid_covers_every_point_once_across_resumes(workdir, toy_engine) -> None:
    space = {"quality": {"choices": [0.2, 0.5, 0.9]}, "size": {"choices": [10, 20]}, "weight_bits": {"choices": [8]}}
    for n in (2, 4, 6):  # three runs of the same study, each continuing it
        run_study(toy_spec("grid", n, sampler="grid", space=space), storage="sqlite:///g.db", show_progress=False)
    trained = [(d.quality, d.size) for d in toy_engine]
    assert sorted(trained) == sorted((q, s) for q in (0.2, 0.5, 0.9) for s in (10, 20))  # each point once
    result = run_study(toy_spec("grid", 7, sampler="grid", space=space), storage="sqlite:///g.db", show_progress=False)
    assert result.counts["trained"] == 6 and len(toy_engine) == 6  # exhausted: no point trained again
