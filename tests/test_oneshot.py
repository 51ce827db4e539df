"""One-shot search (issue 17): the supernet shares its weights for real, its masks nest, inherited trials
are measured on their own spikes, and a continued study reuses the stored supernet."""

import random

import numpy as np
import pytest
import torch

from dse.data import load_dataset
from dse.engines import DataShape
from dse.engines.quant import quantize_weight
from dse.engines.surrogate.oneshot import run_inherited
from dse.engines.surrogate.supernet import Supernet, edge_keys, nested_mask
from dse.errors import SpecError
from dse.spec import parse_spec
from dse.store import Store
from dse.store import names as n
from dse.study import run_study
from dse.study.oneshot import ensure_supernet, prototypes, sampler, sha256, supernet_path
from dse.study.scoring import budget

CELLS = {"cells": {"choices": [1, 2]}, "nodes": {"choices": [2]}, "channels": {"choices": [4]},
         "ops": {"choices": ["conv3x3", "conv1x1", "skip"]}, "cell_bits": {"choices": [True]},
         "weight_bits": {"choices": [1, 2, 4, 8]}, "io_bits": {"choices": [8]},
         "pruning": {"low": 0.0, "high": 0.8}, "timesteps": {"low": 2, "high": 4}}
DENSE = {"hidden": {"choices": [[16], [32], [32, 16]]}, "weight_bits": {"choices": [2, 4, 32]},
         "pruning": {"low": 0.0, "high": 0.8}, "timesteps": {"low": 2, "high": 4}, "coding": {"choices": ["rate"]}}


def spec_of(space, **study):
    return parse_spec({
        "study": {"name": "oneshot", "engine": "surrogate", "n_trials": 2, "search": "supernet",
                  "supernet_epochs": 1, **study},
        "objectives": {"accuracy": "maximize", "memory_bits": "minimize"},
        "space": space,
        "train": {"epochs": 1, "batch_size": 32, "max_train_samples": 64},
        "hardware": {"models": ["memory", "synops"]},
    }, "oneshot.toml")


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def supernet(space, digits):
    torch.manual_seed(0)
    spec = spec_of(space)
    return spec, Supernet(DataShape(digits.shape, digits.n_classes), prototypes(spec))


@pytest.mark.parametrize("space", [CELLS, DENSE], ids=["cells", "dense"])
def test_a_subnetwork_gives_the_outputs_of_its_standalone_network(space, digits) -> None:
    spec, net = supernet(space, digits)
    x = torch.from_numpy(digits.x_train[:48])
    sample, rng = sampler(spec), random.Random(3)
    for _ in range(3):
        design = sample(rng)
        model = net.extract(design)
        model.train()  # batch norm on batch statistics, as in the supernet
        for train in (True, False):
            mine, theirs = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
            weights = model.train_weights(theirs) if train else model.freeze(theirs)
            standalone = model(x, design.timesteps, weights, model.neuron_config(training=train), theirs)
            assert torch.equal(net(design, x, train=train, generator=mine), standalone)
    # and the standalone network's weights are the shared tensor's slice, nothing else
    plan = net.plan(design)
    key, shape = edge_keys(plan)[0]
    assert torch.equal(model.weights[0], net.weights[key][tuple(slice(0, s) for s in shape)])


def test_bit_width_branches_quantise_one_float_tensor(digits) -> None:
    spec, net = supernet(CELLS, digits)
    base = dict(cells=1, nodes=2, channels=4, ops=("conv3x3",) * 4, pruning=0.0, timesteps=2, weight_bits=8)
    low, high = (spec_design(spec, cell_bits=(b,), **base) for b in (2, 8))
    (key, _), = [k for k in edge_keys(net.plan(low)) if k[0] == "c0_n0__stem__conv3x3"]
    shared = net.weights[key]
    w_low = net.matrices(net.plan(low))[0][1]
    w_high = net.matrices(net.plan(high))[0][1]
    # the same storage: one float tensor, two views
    assert w_low.data_ptr() == w_high.data_ptr() == shared.data_ptr()
    q_low = net.sub_weights(low, net.plan(low), train=False).edges[1]
    q_high = net.sub_weights(high, net.plan(high), train=False).edges[1]
    assert torch.equal(q_low, quantize_weight(shared.detach(), 2, "nearest"))
    assert torch.equal(q_high, quantize_weight(shared.detach(), 8, "nearest"))
    assert len(q_low.unique()) <= 4 < len(q_high.unique())
    with torch.no_grad():  # training one branch moves the other: the tensor is shared
        shared.mul_(2.0)
    assert torch.equal(net.sub_weights(high, net.plan(high), train=False).edges[1],
                       quantize_weight(shared.detach(), 8, "nearest"))
    assert not torch.equal(net.sub_weights(high, net.plan(high), train=False).edges[1], q_high)


def spec_design(spec, **values):
    from dse.design import make_design

    return make_design("surrogate", values)


def test_masks_nest_by_pruning_rate() -> None:
    w = torch.randn(40, 30)
    w[0, :10] = 0.5  # ties are broken by position, the same way at every rate
    masks = [nested_mask(w, rate) for rate in (0.0, 0.2, 0.5, 0.8, 0.95)]
    for rate, mask in zip((0.0, 0.2, 0.5, 0.8, 0.95), masks):
        assert int(mask.sum()) == 1200 - int(rate * 1200)
    for looser, tighter in zip(masks, masks[1:]):
        assert bool((tighter <= looser).all())  # a higher rate's kept weights are a subset
    kept = w.abs()[masks[3].bool()]
    assert float(kept.min()) >= float(w.abs()[~masks[3].bool()].max())  # the largest magnitudes stay


def test_extracted_masks_nest_across_designs(digits) -> None:
    spec, net = supernet(DENSE, digits)
    a, b = (spec_design(spec, hidden=(32, 16), pruning=p, timesteps=2) for p in (0.3, 0.7))
    for low, high in zip(net.extract(a).masks(), net.extract(b).masks()):
        assert bool((high <= low).all()) and high.sum() < low.sum()


def test_inherited_trials_store_their_own_profile_and_lineage(tmp_path, digits) -> None:
    spec = spec_of(CELLS, n_trials=2)
    url = f"sqlite:///{tmp_path / 'o.db'}"
    result = run_study(spec, storage=url, show_progress=False)
    assert result.counts.get("trained") == 2
    path = supernet_path(url, spec.name)
    assert path == tmp_path / "o.db.supernets" / "oneshot.pt" and path.exists()
    store = Store(url)
    stored_net = ensure_supernet(spec, digits, url)  # loads, trains nothing
    study = store.optuna.get_all_studies()
    frozen = [t for t in _trials(store, spec.name) if t.user_attrs.get(n.STATUS_ATTR) == "trained"]
    profiles = store.profiles(spec.name)
    spikes = set()
    for t in frozen:
        lineage = t.user_attrs[n.INHERITED_ATTR]
        assert lineage["supernet"] == "oneshot.pt" and lineage["sha256"] == sha256(path)
        assert lineage["epochs"] == 1 and lineage["recalibrated"] is True
        from dse.design import make_design

        design = make_design("surrogate", {k: tuple(v) if isinstance(v, list) else v
                                           for k, v in t.user_attrs[n.DESIGN_ATTR].items() if k != "engine"})
        again = run_inherited(stored_net.net, design, digits, budget(spec, seed=_seed(spec, t.number)),
                              lambda step, acc: None)
        profile = profiles[(t.number, n.TRAINED)]
        assert profile == again.profile  # the stored counts are this design's own spikes and accuracy
        assert all(layer.output_spikes > 0 for layer in profile.layers[:-1])
        spikes.add(profile.layers[0].output_spikes)
    assert len(spikes) == len(frozen)  # each design measured on its own network
    assert study[0].user_attrs[n.SUPERNET_ATTR]["sha256"] == sha256(path)


def _trials(store, name):
    return store.optuna.get_all_trials(store.study_id(name))


def _seed(spec, number):
    from dse.study.scoring import trial_seed

    return trial_seed(spec, number)


def test_a_continued_study_reuses_the_stored_supernet(tmp_path, digits) -> None:
    url = f"sqlite:///{tmp_path / 'o.db'}"
    spec = spec_of(DENSE, n_trials=1)
    run_study(spec, storage=url, show_progress=False)
    path = supernet_path(url, spec.name)
    before = (sha256(path), path.stat().st_mtime_ns)
    more = spec_of(DENSE, n_trials=3)
    result = run_study(more, storage=url, show_progress=False)
    assert result.counts.get("trained") == 3
    assert (sha256(path), path.stat().st_mtime_ns) == before  # not retrained, not rewritten
    store = Store(url)
    shas = {t.user_attrs[n.INHERITED_ATTR]["sha256"] for t in _trials(store, spec.name)}
    assert shas == {before[0]}


class StopAfterFirstEpoch:
    """Progress that presses Ctrl-C once the first epoch's checkpoint is written."""

    def __init__(self) -> None:
        self.epochs: list[int] = []

    def start_phase(self, label, epochs, done=0) -> None:
        self.started = (label, epochs, done)

    def epoch(self, step, accuracy) -> None:
        self.epochs.append(step)
        if len(self.epochs) == 1:
            raise KeyboardInterrupt


def test_an_interrupted_supernet_training_resumes_from_its_checkpoint(tmp_path, digits) -> None:
    url = f"sqlite:///{tmp_path / 'o.db'}"
    spec = spec_of(DENSE, supernet_epochs=2)
    stop = StopAfterFirstEpoch()
    with pytest.raises(KeyboardInterrupt):
        ensure_supernet(spec, digits, url, progress=stop)
    saved = torch.load(supernet_path(url, spec.name), weights_only=True)
    assert saved["epoch"] == 1 and not saved["done"]
    resumed = StopAfterFirstEpoch()
    resumed.epochs = [0]  # no second interruption
    stored = ensure_supernet(spec, digits, url, progress=resumed)
    assert resumed.started == ("supernet", 2, 1) and resumed.epochs == [0, 1]  # only epoch 2 trained
    assert stored.epochs == 2 and stored.steps == 2 * saved["steps"]


def test_a_supernet_search_needs_the_surrogate_engine() -> None:
    with pytest.raises(SpecError, match=r"\[study\].search: a supernet search needs engine"):
        parse_spec({"study": {"name": "x", "engine": "stdp", "search": "supernet"},
                    "objectives": {"accuracy": "maximize"}}, "x.toml")


def test_retrain_trains_the_inherited_front_as_trials_linked_to_their_twins(tmp_path, digits, capsys, monkeypatch) -> None:

    from dse.cli import main
    from dse.report.data import build
    from dse.report.tables import twins
    from dse.study.retrain import front, retrain, retrained, spread_front

    url = f"sqlite:///{tmp_path / 'o.db'}"
    spec = spec_of(DENSE, n_trials=4)
    run_study(spec, storage=url, show_progress=False)
    store = Store(url)
    linked = retrain(spec, storage=url, top=2, show_progress=False)
    assert len(linked) == 2
    records = {t.number: t for t in store.trials(spec.name)}
    for twin, number in linked.items():
        again = records[number]
        assert again.retrain_of == twin and again.inherited is None and again.status == "trained"
        assert again.design == records[twin].design  # the same design, trained from scratch
        assert again.number > 3  # after the study's trials, outside its n_trials
    assert retrain(spec, storage=url, top=2, show_progress=False) == linked  # none twice
    assert retrain(spec, storage=url, numbers=list(linked), show_progress=False) == linked
    labels = twins(build(store, spec.name, importances=False))
    twin, number = next(iter(linked.items()))
    accuracy = {p.trial: p.metrics["accuracy"] for p in store.points(spec.name, variants=False)}
    assert labels[str(number)] == f"retrain of #{twin}: predicted {accuracy[twin]:.4g}"
    assert labels[str(twin)] == f"inherited; retrained #{number}: {accuracy[number]:.4g}"
    with pytest.raises(SystemExit) as exit_info:
        main(["retrain", spec.name, "--storage", url])
    assert exit_info.value.code == 2  # --pareto is required
    monkeypatch.setattr("dse.spec.load_spec", lambda path, name=None: spec)  # the spec was never a file
    # two twins already: it trains nothing, and lists them
    main(["retrain", spec.name, "--storage", url, "--pareto", "--top", "2", "--quiet", "--format", "csv"])
    shown = capsys.readouterr().out.splitlines()
    assert shown[0] == "inherited_trial,retrained_trial,predicted_accuracy,real_accuracy"
    assert sorted(int(line.split(",")[0]) for line in shown[1:]) == sorted(linked)
    assert len(store.trials(spec.name)) == 6
    with pytest.raises(SystemExit) as exit_info:
        main(["retrain", spec.name, "--storage", url, "--pareto", "--top", "2", "--spread", "2"])
    assert exit_info.value.code == 2  # one way of choosing
    spread = spread_front(spec, store, 2)
    assert len(spread) == 2 and set(spread) <= set(front(spec, store))
    main(["retrain", spec.name, "--storage", url, "--pareto", "--spread", "2", "--quiet", "--format", "csv"])
    out, err = capsys.readouterr()
    assert sorted(int(line.split(",")[0]) for line in out.splitlines()[1:]) == sorted(spread)
    assert set(spread) <= set(retrained(store, spec))
    assert len(store.trials(spec.name)) == 6 + len(set(spread) - set(linked))  # only those not yet retrained


def test_the_differentiable_search_decodes_a_design_of_the_space_and_trains_it(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'd.db'}"
    spec = spec_of(CELLS, n_trials=1, search="differentiable", search_lambda=1e-6)
    result = run_study(spec, storage=url, show_progress=False)
    assert result.counts.get("trained") == 1
    store = Store(url)
    trial, = _trials(store, spec.name)
    design = trial.user_attrs[n.DESIGN_ATTR]
    space = {p.name: p for p in spec.space}
    assert design["cells"] == 2 and design["nodes"] == 2 and design["channels"] == 4  # the largest network
    assert len(design["ops"]) == 8 and set(design["ops"]) <= set(space["ops"].choices)
    assert len(design["cell_bits"]) == 2 and set(design["cell_bits"]) <= {1, 2, 4, 8}
    assert design["io_bits"] == 8 and design["weight_bits"] == 8
    assert min(abs(design["pruning"] - rate) for rate in (0.0, 0.2, 0.4, 0.6, 0.8)) < 1e-9  # the searched grid
    assert 2 <= design["timesteps"] <= 4
    derived = trial.user_attrs[n.DERIVED_ATTR]
    assert derived["lambda"] == 1e-6 and derived["epochs"] == 1 and derived["iterations"] == 1
    assert len(derived["alpha"]) == 8 and abs(sum(derived["tau"]) - 1) < 1e-6
    assert n.INHERITED_ATTR not in trial.user_attrs  # trained standalone
    assert run_study(spec, storage=url, show_progress=False).ran == 0  # a continued study searches nothing


def test_a_designs_parameters_as_features() -> None:
    from dse.study.retrain_pick import features

    got = features([{"a": 1, "b": "x", "c": True}, {"a": 3, "b": "y", "c": False}, {"b": "x", "c": True}])
    # a: scaled over those that have it, then a column marking who lacks it; b and c: one-hot by value
    assert got.tolist() == [[0, 0, 1, 0, 0, 1], [1, 0, 0, 1, 1, 0], [0, 1, 1, 0, 0, 1]]  # c: False, True


def test_a_design_is_summarised_by_its_precision_and_its_shares_of_operations() -> None:
    from dse.study.retrain_pick import summary

    got = summary({"engine": "surrogate", "cells": 2, "cell_bits": [1, 4], "weight_bits": 8, "pruning": 0.25,
                   "ops": ["skip", "conv3x3", "skip", "conv1x1"], "hidden": [128, 32], "coding": "direct",
                   "layer_bits": None})
    assert got == {"cells": 2.0, "cell_bits.min": 0.0, "cell_bits.mean": 1.0, "weight_bits": 3.0, "pruning": 0.25,
                   "ops='conv1x1'": 0.25, "ops='conv3x3'": 0.25, "ops='skip'": 0.5, "hidden.min": 32.0,
                   "hidden.mean": 80.0, "coding": "direct", "layer_bits": None}


def test_the_gap_model_corrects_accuracy_by_difference_and_costs_by_ratio() -> None:
    from dse.study.retrain_pick import COST_SIGMA, PRIOR_TWINS, RIDGE, SIGMA, model

    directions = ["maximize", "minimize"]
    candidates, x = np.array([[0.8, 100.0], [0.5, 10.0]]), np.array([[0.0], [1.0]])
    none = np.zeros((0, 2))
    predicted, spread = model(candidates, x, none, none, np.zeros((0, 1)), directions)
    assert predicted == pytest.approx(candidates)  # no twin: as inherited, the prior spread at leverage 1
    assert spread == pytest.approx(np.sqrt(2) * np.array([[SIGMA, COST_SIGMA * 100], [SIGMA, COST_SIGMA * 10]]))
    # one twin at x = 1: accuracy 0.2 lower, a cost 10 % higher, everywhere (nothing to tell designs apart by)
    predicted, spread = model(candidates, x, np.array([[0.7, 50.0]]), np.array([[0.5, 55.0]]), np.array([[1.0]]),
                              directions)
    assert predicted == pytest.approx(np.array([[0.6, 110.0], [0.3, 11.0]]))
    # the spread: the prior alone (no residual), sqrt(1 + leverage), leverage 1/1 + (x - 1)^2 / ridge;
    # a cost's spread is relative (log scale), so in its own units times the predicted cost
    variance = PRIOR_TWINS * np.array([SIGMA, COST_SIGMA]) ** 2 / (PRIOR_TWINS + 1)
    far, near = np.sqrt((2 + 1 / RIDGE) * variance), np.sqrt(2 * variance)
    assert spread == pytest.approx(np.array([far, near]) * [[1, 110.0], [1, 11.0]])
    # two twins, feature 0 and 1, accuracy gaps 0 and -0.2: centred, x = -+0.5, gap = +-0.1, so
    # beta = (0.5 x -0.1 x 2) / (0.5 x 0.5 x 2 + ridge) and the gap at x is -0.1 + (x - 0.5) beta
    twins, reals = np.array([[0.9, 50.0], [0.9, 50.0]]), np.array([[0.9, 50.0], [0.7, 50.0]])
    beta = -0.1 / (0.5 + RIDGE)
    predicted, _ = model(candidates, x, twins, reals, np.array([[0.0], [1.0]]), directions)
    assert predicted[:, 0] == pytest.approx([0.8 - 0.1 - 0.5 * beta, 0.5 - 0.1 + 0.5 * beta])
    assert predicted[:, 1] == pytest.approx([100.0, 10.0])


def test_designs_spread_over_a_front_by_scaled_and_logged_objectives() -> None:
    """Accuracy (max) scaled: -0.9 .. -0.5 -> 0, .125, .25, .5, 1; memory (a cost) by log, scaled:
    1, .85, .5, .35, 0. First the most accurate (row 0), then the farthest from it (row 4: sqrt 2), then
    the farthest from both: row 3 (0.61 from row 4) before row 2 (0.56 from row 0). On a linear
    memory scale row 2 would come third (0.76 against row 3's 0.50): costs are spread by ratio."""
    from dse.pareto import spread

    values = np.array([[0.9, 1000.0], [0.85, 500.0], [0.8, 100.0], [0.7, 50.0], [0.5, 10.0]])
    assert spread(values, ["maximize", "minimize"], 3) == [0, 4, 3]
    assert spread(values, ["maximize", "maximize"], 3) == [0, 4, 2]  # memory maximised: not a cost, linear
    assert spread(values, ["maximize", "minimize"], 5) == [0, 1, 2, 3, 4] == spread(values, ["maximize", "minimize"], 9)
    assert spread(np.zeros((0, 2)), ["maximize", "minimize"], 3) == []


def test_retrain_reports_how_faithfully_the_inherited_accuracies_rank(capsys) -> None:
    """Pairs of 4: one discordant (the 2nd and 3rd swap), so tau = (5 - 1) / 6; gaps .05, .1, -.05, .1."""
    import pandas as pd

    from dse.cli.retrain import _ranking

    _ranking(pd.DataFrame({"predicted_accuracy": [0.5, 0.6, 0.7, 0.8], "real_accuracy": [0.55, 0.7, 0.65, 0.9]}))
    assert capsys.readouterr().err.strip() == ("Kendall's tau, predicted against real accuracy over 4 designs: "
                                               "0.667; mean gap (real - predicted): +0.0500")
    _ranking(pd.DataFrame({"predicted_accuracy": [0.5, 0.6], "real_accuracy": [0.55, 0.7]}))
    assert capsys.readouterr().err == ""  # two designs rank nothing worth a figure


def test_retrain_picks_the_design_adding_most_to_the_retrained_front() -> None:
    """Accuracy up, memory down. Alone, C = (0.8, 50) adds most (reference (0.57, 109): A and B add 2.97,
    C 13.57). Its twin comes back at 0.62: taken at their word, A = (0.9, 100) would add most
    ((0.9 - 0.62) x 9 = 2.52 against B's 1.2); corrected by C's gap (-0.18), A = (0.72, 100) adds 0.9
    and B = (0.42, 10) adds (0.42 - 0.382) x 40 = 1.52: B."""
    from dse.study.retrain_pick import pick

    directions = ["maximize", "minimize"]
    a, b, c = [0.9, 100.0], [0.6, 10.0], [0.8, 50.0]
    none, x3, x1 = np.zeros((0, 2)), np.zeros((3, 1)), np.zeros((1, 1))
    assert pick(np.array([a, b, c]), x3, none, none, np.zeros((0, 1)), directions) == 2
    assert pick(np.array([a, b]), x3[:2], np.array([c]), np.array([[0.62, 50.0]]), x1, directions) == 1


def test_a_design_the_model_is_unsure_of_is_worth_more_than_its_predicted_values() -> None:
    """Two designs predicted alike, both dominated by the twin at their predicted values (so neither adds
    anything taken at its word); the one unlike every twin (feature 1, the twins' 0) has the wider spread,
    so more of its draws land beyond the twin: it is picked, whichever comes first."""
    from dse.study.retrain_pick import model, pick

    directions = ["maximize", "minimize"]
    twin = np.array([[0.9, 50.0]])
    candidates = np.array([[0.85, 55.0], [0.85, 55.0]])
    for x, unlike in ((np.array([[0.0], [1.0]]), 1), (np.array([[1.0], [0.0]]), 0)):
        _, spread = model(candidates, x, twin, twin, np.zeros((1, 1)), directions)
        assert spread[unlike, 0] > spread[1 - unlike, 0]
        assert pick(candidates, x, twin, twin, np.zeros((1, 1)), directions) == unlike


def test_the_supernet_learning_rate_falls_along_a_cosine_to_zero() -> None:
    from dse.engines.optim import Adam, CosineSGD
    from dse.engines.surrogate.oneshot import anneal

    adam, sgd = Adam([torch.zeros(1, requires_grad=True)], 0.01), CosineSGD([torch.zeros(1, requires_grad=True)], 0.01, 100)
    for done, lr in [(0.0, 0.01), (0.5, 0.005), (1.0, 0.0), (1.7, 0.0)]:  # past the end (a late deadline): 0
        anneal(adam, 0.01, done)
        anneal(sgd, 0.01, done)
        assert adam.lr == pytest.approx(lr, abs=1e-12) and sgd.lr == pytest.approx(lr, abs=1e-12)
