"""What every torch engine does the same way: seeding, devices, splits, batches, the epoch loop."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from ..errors import TrialDiverged, UserError
from .pruning import ramp


@dataclass
class Trained:
    """What an engine's fit() hands to its evaluation: the network and how training went."""

    model: torch.nn.Module
    val_accuracy: float
    train_seconds: float
    device: torch.device
    generator: torch.Generator


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, numpy and torch from the trial's seed; return a torch generator."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def resolve_device(name: str) -> torch.device:
    """"cpu", "cuda", "cuda:N" or "auto" (CUDA when available)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"--device {name}: CUDA is not available on this machine; use cpu or auto")
    return device


def device_generator(device: torch.device, seed: int) -> torch.Generator:
    """A seeded generator living on `device` (random draws made there)."""
    return torch.Generator(device=device).manual_seed(seed)


def generator_copy(generator: torch.Generator) -> torch.Generator:
    """A new generator at `generator`'s state, which stays where it is: evaluations of
    variants of one trained network each draw the same noise (common random numbers),
    so they differ only by what the variant changes."""
    copy = torch.Generator(device=generator.device)
    copy.set_state(generator.get_state())
    return copy


def batch_indices(n: int, batch_size: int, generator: torch.Generator | None = None,
                  device: torch.device | str = "cpu") -> list[torch.Tensor]:
    """Index batches over n samples, shuffled when a generator is given."""
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    return list(order.to(device).split(batch_size))


def tensors(x: np.ndarray, y: np.ndarray, device: torch.device | str) -> tuple[torch.Tensor, torch.Tensor]:
    """One split's images and labels as tensors on `device`."""
    return torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)


def training_splits(data, budget, device: torch.device | str) -> tuple[torch.Tensor, ...]:
    """``x_train, y_train, x_val, y_val`` on `device`; train cut to ``budget.max_train_samples``."""
    x_train, y_train = tensors(data.x_train, data.y_train, device)
    if budget.max_train_samples:
        x_train, y_train = x_train[: budget.max_train_samples], y_train[: budget.max_train_samples]
    return (x_train, y_train, *tensors(data.x_val, data.y_val, device))


def check_finite(loss: torch.Tensor, epoch: int) -> None:
    if not torch.isfinite(loss):
        raise TrialDiverged(f"loss became {loss.item()} in epoch {epoch + 1}")


def train_epochs(model, pruning: float, epochs: int, report: Callable[[int, float], None],
                 train_epoch: Callable[[int], torch.Tensor], validate: Callable[[], float]) -> tuple[float, float]:
    """The epoch loop of the gradient engines; returns (last validation accuracy, seconds).

    Per epoch: prune `model` to the ramped rate (when `pruning` > 0), train it
    (`train_epoch` returns the epoch's summed loss, which must stay finite),
    then score it in eval mode (`validate`) and hand the score to `report`.
    """
    started = time.perf_counter()
    val_accuracy = 0.0
    for epoch in range(epochs):
        if pruning > 0:
            with torch.no_grad():
                model.prune(ramp(pruning, epoch, epochs))
        model.train()
        check_finite(train_epoch(epoch), epoch)
        model.eval()
        val_accuracy = validate()
        report(epoch, val_accuracy)
    return val_accuracy, time.perf_counter() - started
