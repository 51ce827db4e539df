"""Training and evaluation of the surrogate-gradient engine (Contract 3).

BPTT over T steps with a surrogate gradient, cross-entropy on the readout's
logits, Adam (or SGD with momentum and a cosine schedule). After each epoch the
validation accuracy goes to ``report`` (progress and pruner). At the end the
weights are frozen (quantised once) and evaluated on the test split, where
every layer's input events and output spikes are counted into the Profile;
``[train] eval_timesteps`` evaluates the same weights at fewer steps.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F

from hwmodels import Profile

from ...data import Dataset
from ...space import Design
from .._base import Budget, DataShape, Report, TrialOutcome
from ..optim import make_optimizer
from ..pruning import ramp
from ..runtime import batch_indices, check_finite, resolve_device, seed_everything
from .model import Activity, PlannedSNN
from .shapes import plan, static_profile

EVAL_BATCH = 1024


def _tensors(x, y, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)


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
    layers = []
    for i, (layer, nonzero) in enumerate(zip(base.layers, model.nonzero_weights())):
        events = activity.input_events[i] / activity.samples
        synops = activity.synops[i] / activity.samples
        layers.append(replace(
            layer,
            n_nonzero=nonzero,
            # event-weighted fan-out: input_events * fan_out is the measured count of
            # (event, nonzero synapse) pairs, i.e. the SynOps of a spiking input
            fan_out=synops / events if events > 0 else layer.fan_out,
            input_events=events,
            output_spikes=activity.output_spikes[i] / activity.samples,
        ))
    return replace(base, layers=tuple(layers), accuracy=accuracy)


@dataclass
class Trained:
    model: PlannedSNN
    val_accuracy: float
    train_seconds: float
    device: torch.device
    generator: torch.Generator


def fit(design: Design, data: Dataset, budget: Budget, report: Report) -> Trained:
    """Train a network for the design; its weights are left frozen (quantised)."""
    device = resolve_device(budget.device)
    generator = seed_everything(budget.seed)
    model = PlannedSNN(design, plan(design, DataShape(data.shape, data.n_classes))).to(device)
    x_train, y_train = _tensors(data.x_train, data.y_train, device)
    if budget.max_train_samples:
        x_train, y_train = x_train[: budget.max_train_samples], y_train[: budget.max_train_samples]
    x_val, y_val = _tensors(data.x_val, data.y_val, device)
    steps = design.timesteps
    batches_per_epoch = math.ceil(len(y_train) / budget.batch_size)
    optimizer = make_optimizer(model.parameters(), budget.optimizer, budget.lr, budget.weight_decay,
                               budget.epochs * batches_per_epoch)
    run_gen = torch.Generator(device=device).manual_seed(budget.seed + 1)

    started = time.perf_counter()
    val_accuracy = 0.0
    for epoch in range(budget.epochs):
        if design.pruning > 0:
            with torch.no_grad():
                model.prune(ramp(design.pruning, epoch, budget.epochs))
        model.train()
        cfg = model.neuron_config(training=True)
        total = torch.zeros((), device=device)
        for index in batch_indices(len(y_train), budget.batch_size, generator, device):
            params = model.train_weights(run_gen)
            logits = model(x_train[index], steps, params, cfg, run_gen)
            loss = F.cross_entropy(logits, y_train[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.detach()
        check_finite(total, epoch)
        model.eval()
        model.freeze(run_gen)
        val_accuracy = evaluate(model, x_val, y_val, steps, run_gen)
        report(epoch, val_accuracy)
    train_seconds = time.perf_counter() - started
    model.freeze(torch.Generator(device=device).manual_seed(budget.seed + 2))
    return Trained(model, val_accuracy, train_seconds, device, run_gen)


def run(design: Design, data: Dataset, budget: Budget, report: Report) -> TrialOutcome:
    trained = fit(design, data, budget, report)
    started = time.perf_counter()
    x_test, y_test = _tensors(data.x_test, data.y_test, trained.device)
    profile = measure(trained.model, design, data, x_test, y_test, design.timesteps, trained.generator)
    variants = {
        f"T={t}": measure(trained.model, design, data, x_test, y_test, t, trained.generator)
        for t in sorted(set(budget.eval_timesteps)) if t < design.timesteps
    }
    return TrialOutcome(
        accuracy=profile.accuracy,
        profile=profile,
        train_seconds=trained.train_seconds,
        eval_seconds=time.perf_counter() - started,
        val_accuracy=trained.val_accuracy,
        extras={"device": str(trained.device)},
        variants=variants,
    )
