"""Third-party cost models through the "dse.hwmodels" entry points, from a distribution the test registers."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import hwmodels
from hwmodels import _registry
from dse.cli import main

from .conftest import dense, profile_of

PLUGIN = '''
"""Toy cost models: what a third-party distribution ships."""
from hwmodels import CostModel, Option


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
'''


def distribution(root: Path, entry_points: str) -> Path:
    """A module and its *.dist-info, as `pip install` would leave them in site-packages."""
    root.mkdir()
    (root / "toy_hw_plugin.py").write_text(PLUGIN)
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


@pytest.mark.parametrize("entry_point, message", [
    ("broken = toy_hw_plugin:NotAModel", "entry point 'toy_hw_plugin:NotAModel' is not a cost model: it has no 'metrics'"),
    ("other = toy_hw_plugin:Picojoules", "entry point 'other' loads a model named 'toy'"),
])
def test_a_bad_plugin_is_refused_by_name(installed, entry_point: str, message: str) -> None:
    installed(f"[dse.hwmodels]\n{entry_point}\n")
    name = entry_point.split()[0]
    assert name in hwmodels.available()
    with pytest.raises(TypeError, match=message):
        hwmodels.get(name)


def test_a_plugin_cannot_shadow_a_built_in(installed) -> None:
    installed("[dse.hwmodels]\nmemory = toy_hw_plugin:Picojoules\n")
    assert hwmodels.available().count("memory") == 1
    assert hwmodels.get("memory").metrics == {"memory_bits": "bit", "memory_bytes": "B"}
