"""Labelling neurons by their strongest class response and the labelled vote."""

import pytest
import torch

from dse.engines.stdp.readout import UNLABELLED, assign_labels, predict


def test_neurons_take_the_class_they_fire_most_for_per_sample_of_that_class() -> None:
    # 3 neurons, 2 classes; class 0 has two samples, class 1 one.
    counts = torch.tensor([[4.0, 0.0, 0.0],
                           [2.0, 1.0, 0.0],
                           [3.0, 5.0, 0.0]])
    labels = torch.tensor([0, 0, 1])
    # neuron 0: mean 3 for class 0, 3 for class 1 -> tie, first class; neuron 1: 0.5 vs 5 -> 1;
    # neuron 2 never fired -> unlabelled.
    assert assign_labels(counts, labels, 2).tolist() == [0, 1, UNLABELLED]


def test_the_vote_is_the_mean_count_of_each_class_s_neurons() -> None:
    assignment = torch.tensor([0, 0, 1, UNLABELLED])
    counts = torch.tensor([[1.0, 1.0, 3.0, 9.0],   # class 0: (1+1)/2 = 1, class 1: 3 -> 1
                           [4.0, 0.0, 1.0, 0.0],   # class 0: 2, class 1: 1 -> 0
                           [0.0, 0.0, 0.0, 5.0]])  # only the unlabelled neuron fired -> no vote
    assert predict(counts, assignment, 3).tolist() == [1, 0, UNLABELLED]


def test_a_class_without_neurons_never_wins_and_mismatched_rows_are_refused() -> None:
    assert predict(torch.tensor([[2.0, 1.0]]), torch.tensor([2, 2]), 3).tolist() == [2]
    with pytest.raises(ValueError, match="2 spike-count rows but 3 labels"):
        assign_labels(torch.zeros(2, 4), torch.tensor([0, 1, 2]), 3)
