"""Magnitude pruning: per layer, the floor(p * numel) smallest |w| are removed.

The mask is applied in every forward pass, so pruned weights neither act nor
learn, and it only ever shrinks: :func:`update_mask` ranks the surviving weights
alone, so a weight once pruned stays pruned. The rate ramps up over the first
epochs (gradual pruning, Zhu & Gupta 2017), letting the network adapt.
"""

from __future__ import annotations

import math

import torch


def n_pruned(numel: int, rate: float) -> int:
    return math.floor(rate * numel)


def magnitude_mask(w: torch.Tensor, rate: float, keep: torch.Tensor | None = None) -> torch.Tensor:
    """1 for kept weights: all but the floor(rate * numel) smallest |w| (among `keep`)."""
    k = n_pruned(w.numel(), rate)
    score = w.detach().abs().flatten().clone()
    if keep is not None:
        score[~keep.flatten().bool()] = -1.0  # already pruned: always among the smallest
    mask = torch.ones_like(score)
    if k > 0:
        mask[torch.topk(score, k, largest=False, sorted=False).indices] = 0.0
    return mask.view_as(w)


def ramp(rate: float, epoch: int, epochs: int) -> float:
    """The pruning rate at the start of `epoch`: linear to `rate` over half the epochs."""
    ramp_epochs = max(1, math.ceil(epochs / 2))
    return rate * min(1.0, (epoch + 1) / ramp_epochs)


def update_mask(w: torch.Tensor, mask: torch.Tensor, rate: float) -> torch.Tensor:
    return magnitude_mask(w, rate, keep=mask)


class Prunable:
    """Masks for the weight matrices of an ``nn.Module`` (its ``matrices``): buffers ``mask{i}``.

    Call :meth:`register_masks` once the weights exist; :meth:`prune` ranks each
    matrix's surviving weights and drops the module's frozen weights (``frozen``).
    """

    matrices: list[torch.Tensor]
    frozen: object

    def register_masks(self) -> None:
        for i, w in enumerate(self.matrices):
            self.register_buffer(f"mask{i}", torch.ones_like(w))

    def masks(self) -> list[torch.Tensor]:
        return [getattr(self, f"mask{i}") for i in range(len(self.matrices))]

    def prune(self, rate: float) -> None:
        for w, mask in zip(self.matrices, self.masks()):
            mask.copy_(update_mask(w, mask, rate))
        self.frozen = None
