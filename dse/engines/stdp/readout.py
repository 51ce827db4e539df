"""Labelling and prediction of an unsupervised STDP network (Diehl & Cook 2015).

As BindsNET's ``assign_labels`` and ``all_activity`` [C BN:bindsnet/evaluation/
evaluation.py], docs/engines.md 1a: with ``S[n]`` the spike count of neuron n over a
presentation,

- ``rates[n, c]`` = mean of S[n] over the labelling samples of class c,
  ``prop = rates / sum_c rates``, and neuron n is labelled ``argmax_c prop[n, c]``;
  a neuron that never fired stays unlabelled (-1) and never votes;
- a sample's score for class c is the mean spike count of the neurons labelled
  c, and the prediction is the class of the highest score. A sample that makes
  no labelled neuron fire gets no prediction (-1), which counts as wrong.
"""

from __future__ import annotations

import torch

UNLABELLED = -1


def assign_labels(counts: torch.Tensor, labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Each neuron's class: the one it fires most for, per sample of that class."""
    if counts.shape[0] != labels.shape[0]:
        raise ValueError(f"{counts.shape[0]} spike-count rows but {labels.shape[0]} labels")
    per_class = torch.zeros(n_classes, counts.shape[1], dtype=counts.dtype, device=counts.device)
    per_class.index_add_(0, labels, counts)
    seen = torch.bincount(labels, minlength=n_classes).to(counts.dtype).clamp(min=1)
    rates = (per_class / seen[:, None]).t()  # [neurons, classes]
    total = rates.sum(1)
    assignment = rates.argmax(1)  # argmax of rates / total is the same
    assignment[total <= 0] = UNLABELLED
    return assignment


def predict(counts: torch.Tensor, assignment: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Labelled vote: the class whose neurons fire most on average (-1: no vote)."""
    labelled = assignment >= 0
    onehot = torch.zeros(counts.shape[1], n_classes, dtype=counts.dtype, device=counts.device)
    onehot[labelled.nonzero().flatten(), assignment[labelled]] = 1.0
    members = onehot.sum(0)
    score = (counts @ onehot) / members.clamp(min=1)
    prediction = score.argmax(1)
    prediction[score.max(1).values <= 0] = UNLABELLED
    return prediction
