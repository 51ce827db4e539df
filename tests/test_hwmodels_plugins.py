"""Third-party cost models through the "dse.hwmodels" entry points, from a distribution the test registers."""

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

import hwmodels
from hwmodels import _registry
from dse.cli import main

from .conftest import dense, profile_of

PLUGIN = '''
"""Toy cost models: what a third-party distribution ships."""
from hwmodels import CostModel, Interval, ListOf, Option, String


class Picojoules:
    """Contract 2's minimal form: name, metrics, estimate(). No hwmodels base class."""

    name = "toy"
    metrics = {"toy_energy_j": "J"}

    def estimate(self, profile, **options):
        return {"toy_energy_j": 1e-12 * sum(layer.synops for layer in profile.layers)}


class PerLayer(CostModel):
    """A subclass of hwmodels.CostModel: an option, per-layer values, a static metric."""

    name = "toy_layers"
    metrics = {"toy_weights": "weight", "toy_cost_j": "J"}
    options = {"toy_pj": Option(2.0, float, "picojoules per synaptic operation")}
    additive = frozenset(metrics)
    static = frozenset({"toy_weights"})

    def layer_estimates(self, profile, toy_pj=2.0, **_):
        return {l.name: {"toy_weights": l.n_nonzero, "toy_cost_j": toy_pj * 1e-12 * l.synops}
                for l in profile.layers}


class NotAModel:
    name = "broken"


class Bounded(CostModel):
    """An option declared with the validation vocabulary hwmodels exports."""

    name = "toy_bounded"
    metrics = {"toy_bounded_j": "J"}
    options = {
        "toy_scale": Option(1.0, Interval(float, 0, None, closed="neither"), "scale"),
        "toy_cores": Option(None, ListOf(String(), min_len=1), "cores"),
    }

    def estimate(self, profile, toy_scale=1.0, toy_cores=None, **_):
        return {"toy_bounded_j": toy_scale * (len(toy_cores) if toy_cores else 1)}
'''

RAISES_ON_IMPORT = 'raise RuntimeError("needs a licence server")\n'


def distribution(root: Path, entry_points: str) -> Path:
    """A module and its *.dist-info, as `pip install` would leave them in site-packages."""
    root.mkdir()
    (root / "toy_hw_plugin.py").write_text(PLUGIN)
    (root / "toy_hw_raises.py").write_text(RAISES_ON_IMPORT)
    info = root / "toy_hw_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-hw-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))
    return root


@pytest.fixture
def installed(tmp_path: Path):
    """Put a distribution on sys.path for one test, then forget it again."""
    added = []

    def install(entry_points: str) -> Path:
        root = distribution(tmp_path / f"site{len(added)}", entry_points)
        sys.path.insert(0, str(root))
        added.append(str(root))
        _registry.refresh()
        return root

    yield install
    for root in added:
        sys.path.remove(root)
    sys.modules.pop("toy_hw_plugin", None)
    sys.modules.pop("toy_hw_raises", None)
    _registry.refresh()
    assert "toy" not in hwmodels.available()


GOOD = """
    [dse.hwmodels]
    toy = toy_hw_plugin:Picojoules
    toy_layers = toy_hw_plugin:PerLayer
"""


def profile():
    return profile_of(dense("a", n_nonzero=10, fan_out=3.0, input_events=4.0),
                      dense("b", n_nonzero=5, fan_out=2.0, input_events=1.0))


def test_a_registered_plugin_is_listed_evaluated_and_broken_down(installed) -> None:
    installed(GOOD)
    assert hwmodels.available()[-2:] == ["toy", "toy_layers"]  # after the built-ins
    out = hwmodels.evaluate(profile(), ["toy", "toy_layers"], toy_pj=3.0)
    assert out == {"toy_energy_j": pytest.approx((12 + 2) * 1e-12), "toy_weights": 15.0,
                   "toy_cost_j": pytest.approx(3.0 * (12 + 2) * 1e-12)}
    assert "toy_energy_j" in hwmodels.evaluate(profile())  # all models, plug-ins included
    assert hwmodels.units("toy") == {"toy_energy_j": ("toy", "J")}
    assert hwmodels.breakdown(profile(), "toy_layers")["b"] == {"toy_weights": 5.0,
                                                               "toy_cost_j": pytest.approx(4e-12)}
    assert hwmodels.breakdown(profile(), "toy") == {"a": {}, "b": {}}  # the minimal form has no layers
    assert hwmodels.static_metrics(["toy", "toy_layers"]) == {"toy_weights"}
    with pytest.raises(ValueError, match="option 'toy_pj' of model 'toy_layers'"):
        hwmodels.evaluate(profile(), "toy_layers", toy_pj="lots")


def test_dse_models_lists_the_plugin(installed, capsys) -> None:
    installed(GOOD)
    main(["models", "--format", "json"])  # returns on success; exits 1 or 2 otherwise
    rows = json.loads(capsys.readouterr().out)
    toy = [r for r in rows if r["model"].startswith("toy")]
    assert [(r["model"], r["metric"], r["unit"]) for r in toy] == [
        ("toy", "toy_energy_j", "J"), ("toy_layers", "toy_weights", "weight"), ("toy_layers", "toy_cost_j", "J")]
    assert "toy_pj=2.0: picojoules per synaptic operation" in toy[1]["options"]


def test_dse_models_names_a_broken_plugin(installed, capsys) -> None:
    installed(f"[dse.hwmodels]\n{BROKEN[0][0]}\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hwmodels.PluginWarning)
        main(["models", "--format", "json"])
    rows = json.loads(capsys.readouterr().out)
    assert {r["model"] for r in rows} == set(_registry.BUILTINS) | {"raises"}
    assert [r["note"] for r in rows if r["model"] == "raises"] == [f"broken plug-in, skipped: {BROKEN[0][1]}"]


def test_python_m_hwmodels_runs_the_plugin(installed, tmp_path: Path) -> None:
    root = installed(GOOD)
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(profile().to_dict()))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run([sys.executable, "-m", "hwmodels", str(path), "--models", "toy,memory"],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert [line.split()[:3] for line in result.stdout.splitlines()] == [
        ["toy_energy_j", f"{(12 + 2) * 1e-12:.6g}", "J"],
        ["memory_bits", str((10 + 5) * 8), "bit"],
        ["memory_bytes", str((10 + 5) * 8 // 8), "B"]]


BROKEN = [
    ("raises = toy_hw_raises:Model",
     "importing 'toy_hw_raises:Model' failed: RuntimeError: needs a licence server"),
    ("absent = toy_hw_absent:Model",
     "importing 'toy_hw_absent:Model' failed: ModuleNotFoundError: No module named 'toy_hw_absent'"),
    ("broken = toy_hw_plugin:NotAModel", "'toy_hw_plugin:NotAModel' is not a cost model: it has no 'metrics'"),
    ("other = toy_hw_plugin:Picojoules", "'toy_hw_plugin:Picojoules' loads a model named 'toy', not 'other'"),
]


@pytest.mark.parametrize("entry_point, reason", BROKEN)
def test_a_broken_plugin_is_skipped_with_one_warning_and_refused_by_name(installed, entry_point: str,
                                                                        reason: str) -> None:
    installed(f"[dse.hwmodels]\n{entry_point}\ntoy = toy_hw_plugin:Picojoules\n")
    name = entry_point.split()[0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = hwmodels.evaluate(profile())  # every model: the built-ins and the good plug-in still run
        assert hwmodels.evaluate(profile(), "memory") == {"memory_bits": 15 * 8, "memory_bytes": 15.0}
        assert hwmodels.available()[-1] == "toy" and name not in hwmodels.available()
    assert out["memory_bits"] == 15 * 8 and out["toy_energy_j"] == pytest.approx(14e-12)
    assert [(w.category, str(w.message)) for w in caught] == [
        (hwmodels.PluginWarning, f"hwmodels: skipping the cost-model plug-in {name!r} "
                                 f"({entry_point.split(' = ')[1]}): {reason}")]
    assert issubclass(hwmodels.PluginWarning, UserWarning)
    assert hwmodels.broken() == {name: reason}
    expected = f"model {name!r} is a broken plug-in, skipped: {reason}"
    with pytest.raises(ValueError) as by_get:
        hwmodels.get(name)
    with pytest.raises(ValueError) as by_evaluate:
        hwmodels.evaluate(profile(), ["memory", name])
    assert str(by_get.value) == str(by_evaluate.value) == expected


def test_several_broken_plugins_warn_once_each(installed) -> None:
    installed("[dse.hwmodels]\n" + "\n".join(entry for entry, _ in BROKEN) + "\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            assert hwmodels.evaluate(profile(), "synops")["synops"] == 14.0
    assert len(caught) == len(BROKEN) and {w.category for w in caught} == {hwmodels.PluginWarning}
    assert hwmodels.broken() == {entry.split()[0]: reason for entry, reason in BROKEN}
    assert hwmodels.available() == list(_registry.BUILTINS)


def test_no_plugin_no_warning_nothing_broken() -> None:
    _registry.refresh()
    with warnings.catch_warnings():
        warnings.simplefilter("error", hwmodels.PluginWarning)
        assert hwmodels.broken() == {}


def test_a_plugin_declares_options_with_the_exported_vocabulary(installed) -> None:
    installed("[dse.hwmodels]\ntoy_bounded = toy_hw_plugin:Bounded\n")
    assert hwmodels.evaluate(profile(), "toy_bounded", toy_scale=2, toy_cores=["a", "b"]) == {"toy_bounded_j": 4.0}
    for value, got in ((0, "0"), (float("nan"), "nan"), (float("inf"), "inf"), ("big", '"big"')):
        with pytest.raises(hwmodels.Invalid) as info:
            hwmodels.evaluate(profile(), "toy_bounded", toy_scale=value)
        where = "option 'toy_scale' of model 'toy_bounded'"
        assert str(info.value) == f"{where}: expected numbers > 0, got {got}"
        assert (info.value.expected, info.value.where) == ("numbers > 0", where)
        assert info.value.got is value
    with pytest.raises(ValueError,
                       match=r"option 'toy_cores' of model 'toy_bounded': expected lists of a string, got \[\]"):
        hwmodels.evaluate(profile(), "toy_bounded", toy_cores=[])


def test_a_plugin_cannot_shadow_a_built_in(installed) -> None:
    installed("[dse.hwmodels]\nmemory = toy_hw_plugin:Picojoules\n")
    assert hwmodels.available().count("memory") == 1
    assert hwmodels.get("memory").metrics == {"memory_bits": "bit", "memory_bytes": "B"}
