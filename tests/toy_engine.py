"""A toy engine for search tests: accuracy and costs known in advance, no training time.

``quality`` is the test accuracy the design reaches after its last epoch; its
validation accuracy rises linearly to it, epoch by epoch. Memory is ``size``
weights at ``weight_bits`` plus ``size`` neuron states, known before training.
"""

from __future__ import annotations

import pytest

from dse import engines
from dse.engines import Budget, DataShape, Engine, TrialOutcome
from dse.keys import Key
from hwmodels import LayerProfile, Profile

CALLS: list = []
"""Every design the toy engine trained, in order."""


def profile(design, shape: DataShape | None, accuracy: float | None = None) -> Profile:
    n = design.size
    return Profile(layers=(LayerProfile(
        name="fc", kind="dense", n_inputs=n, n_neurons=n, n_weights=n, n_nonzero=n,
        weight_bits=design.weight_bits, neuron_params={"v_mem": (n, 8)}, macs_per_step=n,
        fan_out=1.0, input_events=float(n) if accuracy is not None else 0.0),),
        timesteps=1, accuracy=accuracy, phase="inference")


def run(design, data, budget: Budget, report) -> TrialOutcome:
    CALLS.append(design)
    for epoch in range(budget.epochs):
        report(epoch, design.quality * (epoch + 1) / budget.epochs)
    return TrialOutcome(accuracy=design.quality, profile=profile(design, None, design.quality),
                        train_seconds=0.01 * budget.epochs, eval_seconds=0.0, val_accuracy=design.quality)


ENGINE = Engine(name="toy", help="accuracy and costs known in advance", keys={
    "quality": Key("quality", "float", 0.5, "the final accuracy", low=0.0, high=1.0),
    "size": Key("size", "int", 10, "weights and neurons", low=1, high=100_000),
}, shared=("weight_bits",), defaults={}, static_profile=profile, runner=f"{__name__}:run")


@pytest.fixture
def toy_engine(monkeypatch):
    """Register the toy engine as "toy" for one test; returns the list of trained designs."""
    monkeypatch.setitem(engines._ENGINES, "toy", __name__)
    CALLS.clear()
    return CALLS
