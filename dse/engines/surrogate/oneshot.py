"""Training a :class:`~.supernet.Supernet` once, and evaluating designs with its weights.

Written by hand (the loop is snn-dse's own BPTT step, run on a sampled path).

Sampling: *uniform*, one sub-network per step (single-path one-shot, Guo et al.
2020), not the sandwich rule. The sandwich rule (BigNAS, Yu et al. 2020) trains
the largest and smallest network of every step because, in a space of nested
widths, the largest one bounds all others and teaches them; here most searched
keys have no such order (an edge's conv3x3, conv1x1 and skip are different
operations, not nested ones), so a "largest" and "smallest" design would train
two fixed paths on every step while the others starve, and four forward passes
per step would cost four times the steps at the same budget. Uniform sampling
gives every operation, bit width, pruning rate and timestep count the same share
of updates, which is what ranking the designs fairly (Kendall's tau) needs.

Timesteps are those of the design drawn for the batch. The learning rate follows a cosine
to 0 over the whole training (:func:`anneal`; the time budget's end where one is set). Each epoch ends with the
mean accuracy of two fixed probe designs on 256 validation samples, for the progress display.
"""

from __future__ import annotations

import math
import random
import time
from typing import Callable

import torch
import torch.nn.functional as F

from ...data import Dataset
from .._base import Budget, Design, Report, TrialOutcome
from ..optim import Adam, CosineSGD, make_optimizer
from ..runtime import (Trained, batch_indices, check_finite, device_generator, resolve_device, seed_everything,
                       training_splits)
from .engine import evaluate, outcome
from .supernet import Supernet, recalibrate

Sample = Callable[[random.Random], Design]
"""Draws one design of the space (:func:`dse.study.oneshot.sampler`)."""
PROBES = 2
PROBE_SAMPLES = 256
RECALIBRATION_SAMPLES = 256


def train_supernet(net: Supernet, sample: Sample, data: Dataset, budget: Budget, epochs: int, *,
                   start_epoch: int = 0, report: Report | None = None,
                   save: Callable[[int, int], None] | None = None, deadline: float | None = None) -> int:
    """Train `net` from epoch `start_epoch` to `epochs`, one sampled design per batch; `save(epoch, steps)` after
    each epoch (a checkpoint), `report(epoch, probe accuracy)` for the progress. Stops early at
    `deadline` (``time.perf_counter()``). Returns the training steps taken."""
    device = resolve_device(budget.device)
    net.to(device)
    generator = seed_everything(budget.seed + start_epoch)
    x_train, y_train, x_val, y_val = training_splits(data, budget, device)
    batches = math.ceil(len(y_train) / budget.batch_size)
    optimizer = make_optimizer(net.parameters(), budget.optimizer, budget.lr, budget.weight_decay, epochs * batches)
    run_gen = device_generator(device, budget.seed + 1 + start_epoch)
    probes = [sample(random.Random(budget.seed * 7919 + i)) for i in range(PROBES)]
    steps, began = 0, time.perf_counter()
    for epoch in range(start_epoch, epochs):
        rng = random.Random(budget.seed * 1_000_003 + epoch)  # resuming at an epoch draws its designs again
        net.train()
        total = torch.zeros((), device=device)
        for index in batch_indices(len(y_train), budget.batch_size, generator, device):
            done = (start_epoch * batches + steps) / (epochs * batches)
            if deadline is not None:
                done = max(done, (time.perf_counter() - began) / max(1e-9, deadline - began))
            anneal(optimizer, budget.lr, done)
            design = sample(rng)
            loss = F.cross_entropy(net(design, x_train[index], train=True, generator=run_gen), y_train[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.detach()
            steps += 1
            if deadline is not None and time.perf_counter() > deadline:
                break
        check_finite(total, epoch)
        if save is not None:
            save(epoch + 1, steps)
        if report is not None:
            report(epoch, probe_accuracy(net, probes, x_val[:PROBE_SAMPLES], y_val[:PROBE_SAMPLES], run_gen))
        if deadline is not None and time.perf_counter() > deadline:
            break
    return steps


def anneal(optimizer: Adam | CosineSGD, lr: float, done: float) -> None:
    """The learning rate at the part `done` of the supernet's training: a cosine from `lr` to 0, reaching
    0 at the last epoch or at the deadline, whichever comes first (shared weights settle before they are
    inherited; a resumed training goes on along the same curve)."""
    done = min(1.0, done)
    if isinstance(optimizer, CosineSGD):
        optimizer.t = max(optimizer.t, round(done * optimizer.total))
    else:
        optimizer.lr = 0.5 * lr * (1 + math.cos(math.pi * done))


@torch.no_grad()
def probe_accuracy(net: Supernet, designs: list[Design], x: torch.Tensor, y: torch.Tensor,
                   generator: torch.Generator | None) -> float:
    """Mean accuracy of `designs` inside the supernet (quantised weights, batch-statistics norms)."""
    net.eval()
    scores = [float((net(d, x, train=False, generator=generator).argmax(1) == y).float().mean()) for d in designs]
    return sum(scores) / max(1, len(scores))


def run_inherited(net: Supernet, design: Design, data: Dataset, budget: Budget, report: Report,
                  finetune_steps: int = 0) -> TrialOutcome:
    """A trial without training: the design's network with the supernet's weights (plus `finetune_steps`
    steps of its own training where asked), batch norm recalibrated on training samples, then measured
    on the test split exactly as a trained network is (:func:`.engine.outcome`: its own spikes)."""
    device = resolve_device(budget.device)
    generator = seed_everything(budget.seed)
    started = time.perf_counter()
    model = net.extract(design).to(device)
    x_train, y_train, x_val, y_val = training_splits(data, budget, device)
    run_gen = device_generator(device, budget.seed + 1)
    if finetune_steps:
        _finetune(model, design, x_train, y_train, budget, finetune_steps, generator, run_gen)
    recalibrate(model, x_train[:RECALIBRATION_SAMPLES], design.timesteps, run_gen)
    model.eval()
    model.freeze(run_gen)
    val_accuracy = evaluate(model, x_val, y_val, design.timesteps, run_gen)
    report(0, val_accuracy)
    model.freeze(device_generator(device, budget.seed + 2))
    trained = Trained(model, val_accuracy, time.perf_counter() - started, device, run_gen)
    return outcome(trained, design, data, budget)


def _finetune(model, design: Design, x: torch.Tensor, y: torch.Tensor, budget: Budget, steps: int,
              generator: torch.Generator, run_gen: torch.Generator) -> None:
    """A few steps of the design's own training (its masks kept) from the inherited weights."""
    optimizer = make_optimizer(model.parameters(), budget.optimizer, budget.lr, budget.weight_decay, steps)
    cfg = model.neuron_config(training=True)
    model.train()
    done = 0
    while done < steps:
        for index in batch_indices(len(y), budget.batch_size, generator, x.device):
            loss = F.cross_entropy(model(x[index], design.timesteps, model.train_weights(run_gen), cfg, run_gen),
                                   y[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            done += 1
            if done >= steps:
                break
    model.frozen = None
