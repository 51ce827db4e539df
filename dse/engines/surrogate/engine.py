"""Training and evaluation of the surrogate-gradient engine (Contract 3).

BPTT over T steps with a surrogate gradient, cross-entropy on the readout's
logits, Adam (or SGD with momentum and a cosine schedule). After each epoch the
validation accuracy goes to ``report`` (progress and pruner). At the end the
weights are frozen (quantised once) and evaluated on the test split, where
every layer's input events and output spikes are counted into the Profile;
``Budget.variants`` reads further design points off the same weights.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

import torch
import torch.nn.functional as F

from hwmodels import Profile

from ...data import Dataset
from .._base import Budget, DataShape, Design, Report, TrialOutcome, Variant
from ..activity import Activity
from ..optim import make_optimizer
from ..runtime import (Trained, batch_indices, device_generator, resolve_device, seed_everything, tensors,
                       train_epochs, training_splits)
from .model import PlannedSNN
from .shapes import plan, static_profile

EVAL_BATCH = 1024


@torch.no_grad()
def evaluate(model: PlannedSNN, x: torch.Tensor, y: torch.Tensor, steps: int,
             generator: torch.Generator | None, activity: Activity | None = None) -> float:
    """Accuracy of the frozen (quantised) network at `steps` timesteps."""
    params = model.frozen if model.frozen is not None else model.freeze(generator)
    cfg = model.neuron_config(training=False)
    correct = 0
    for index in batch_indices(len(y), EVAL_BATCH, device=x.device):
        logits = model(x[index], steps, params, cfg, generator, activity)
        correct += int((logits.argmax(1) == y[index]).sum())
    return correct / max(1, len(y))


def measure(model: PlannedSNN, design: Design, data: Dataset, x: torch.Tensor, y: torch.Tensor,
            steps: int, generator: torch.Generator | None) -> Profile:
    """Test accuracy and per-layer activity, as a Profile of the trained network."""
    activity = Activity.empty(len(model.plan.populations) + 1)
    accuracy = evaluate(model, x, y, steps, generator, activity)
    base = static_profile(replace(design, timesteps=steps), DataShape(data.shape, data.n_classes))
    return replace(base, layers=activity.measured(base.layers, model.nonzero_weights()), accuracy=accuracy)


def fit(design: Design, data: Dataset, budget: Budget, report: Report) -> Trained:
    """Train a network for the design; its weights are left frozen (quantised)."""
    device = resolve_device(budget.device)
    generator = seed_everything(budget.seed)
    model = PlannedSNN(design, plan(design, DataShape(data.shape, data.n_classes))).to(device)
    x_train, y_train, x_val, y_val = training_splits(data, budget, device)
    steps = design.timesteps
    optimizer = make_optimizer(model.parameters(), budget.optimizer, budget.lr, budget.weight_decay,
                               budget.epochs * math.ceil(len(y_train) / budget.batch_size))
    run_gen = device_generator(device, budget.seed + 1)

    def train_epoch(epoch: int) -> torch.Tensor:
        cfg = model.neuron_config(training=True)
        total = torch.zeros((), device=device)
        for index in batch_indices(len(y_train), budget.batch_size, generator, device):
            params = model.train_weights(run_gen)
            loss = F.cross_entropy(model(x_train[index], steps, params, cfg, run_gen), y_train[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.detach()
        return total

    def validate() -> float:
        model.freeze(run_gen)
        return evaluate(model, x_val, y_val, steps, run_gen)

    val_accuracy, train_seconds = train_epochs(model, design.pruning, budget.epochs, report, train_epoch, validate)
    model.freeze(device_generator(device, budget.seed + 2))
    return Trained(model, val_accuracy, train_seconds, device, run_gen)


def run(design: Design, data: Dataset, budget: Budget, report: Report) -> TrialOutcome:
    trained = fit(design, data, budget, report)
    started = time.perf_counter()
    x_test, y_test = tensors(data.x_test, data.y_test, trained.device)
    profile = measure(trained.model, design, data, x_test, y_test, design.timesteps, trained.generator)
    variants = tuple(
        Variant(v, measure(trained.model, design, data, x_test, y_test, v["timesteps"], trained.generator))
        for v in budget.variants if set(v) == {"timesteps"})
    return TrialOutcome(
        accuracy=profile.accuracy,
        profile=profile,
        train_seconds=trained.train_seconds,
        eval_seconds=time.perf_counter() - started,
        val_accuracy=trained.val_accuracy,
        extras={"device": str(trained.device)},
        variants=variants,
    )
