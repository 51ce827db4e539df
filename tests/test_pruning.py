"""Magnitude pruning masks."""

import torch

from dse.engines.pruning import magnitude_mask, ramp, update_mask


def test_mask_removes_the_floor_p_n_smallest_magnitudes() -> None:
    w = torch.tensor([[0.5, -0.1, 0.3], [-0.9, 0.05, -0.2]])
    mask = magnitude_mask(w, 0.5)  # floor(0.5 * 6) = 3 removed: 0.05, -0.1, -0.2
    assert mask.tolist() == [[1, 0, 1], [1, 0, 0]]
    assert magnitude_mask(w, 0.4).sum() == 6 - 2  # floor(2.4) = 2
    assert magnitude_mask(w, 0.0).sum() == 6


def test_pruned_weights_stay_pruned_when_the_rate_grows() -> None:
    w = torch.tensor([1.0, 2.0, 3.0, 4.0])
    mask = magnitude_mask(w, 0.25)  # drops 1.0
    grown = torch.tensor([9.0, 2.0, 3.0, 4.0])  # the pruned weight would now be the largest
    mask = update_mask(grown, mask, 0.5)
    assert mask.tolist() == [0, 0, 1, 1]


def test_rate_ramps_to_its_target_over_half_the_epochs() -> None:
    assert [round(ramp(0.8, e, 10), 2) for e in range(10)] == [0.16, 0.32, 0.48, 0.64, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8]
    assert ramp(0.5, 0, 1) == 0.5
