"""What every torch engine does the same way: seeding, devices, batches, divergence."""

from __future__ import annotations

import random

import numpy as np
import torch

from ..errors import TrialDiverged, UserError


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


def batch_indices(n: int, batch_size: int, generator: torch.Generator | None = None,
                  device: torch.device | str = "cpu") -> list[torch.Tensor]:
    """Index batches over n samples, shuffled when a generator is given."""
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    return list(order.to(device).split(batch_size))


def check_finite(loss: torch.Tensor, epoch: int) -> None:
    if not torch.isfinite(loss):
        raise TrialDiverged(f"loss became {loss.item()} in epoch {epoch + 1}")
