"""The engines' optimizers take exactly torch.optim's steps."""

import pytest
import torch

from dse.engines.optim import Adam, CosineSGD


def _twins(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    a = [torch.randn(5, 3, generator=g, requires_grad=True), torch.randn(4, generator=g, requires_grad=True)]
    b = [p.detach().clone().requires_grad_(True) for p in a]
    return a, b


def _grads(params, step: int) -> None:
    g = torch.Generator().manual_seed(100 + step)
    for p in params:
        p.grad = torch.randn(p.shape, generator=g)


@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_adam_matches_torch_optim(weight_decay) -> None:
    mine, ref = _twins()
    ours = Adam(mine, lr=3e-3, weight_decay=weight_decay)
    theirs = torch.optim.Adam(ref, lr=3e-3, weight_decay=weight_decay)
    for step in range(20):
        _grads(mine, step)
        _grads(ref, step)
        ours.step()
        theirs.step()
    for a, b in zip(mine, ref):
        assert torch.allclose(a, b, atol=1e-6, rtol=1e-5)


def test_sgd_with_cosine_schedule_matches_torch_optim() -> None:
    mine, ref = _twins(1)
    ours = CosineSGD(mine, lr=0.05, total_steps=10, weight_decay=3e-4)
    theirs = torch.optim.SGD(ref, lr=0.05, momentum=0.9, weight_decay=3e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(theirs, 10)
    for step in range(10):
        _grads(mine, step)
        _grads(ref, step)
        ours.step()
        theirs.step()
        schedule.step()
    for a, b in zip(mine, ref):
        assert torch.allclose(a, b, atol=1e-6, rtol=1e-5)
    assert ours.lr == pytest.approx(0.0)


def test_adam_counts_steps_per_parameter_like_torch_optim() -> None:
    """A parameter without a gradient for a while (TTFS's kernels before e_k) starts its bias correction late."""
    mine, ref = _twins(2)
    ours, theirs = Adam(mine, lr=0.1), torch.optim.Adam(ref, lr=0.1)
    for step in range(30):
        _grads(mine, step)
        _grads(ref, step)
        if step < 20:  # the second parameter is frozen for the first 20 steps
            mine[1].grad = ref[1].grad = None
        ours.step()
        theirs.step()
    for a, b in zip(mine, ref):
        assert torch.allclose(a, b, atol=1e-6, rtol=1e-5)
