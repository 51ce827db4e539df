"""Adam and SGD with momentum (cosine learning rate), a few tensor ops per parameter.

Written here instead of using ``torch.optim`` because creating a torch.optim
optimizer imports ``torch._dynamo`` on first use, about 1.5 s per process on
this 2-core machine, while a whole 15-epoch digits trial trains in ~0.2 s:
every fresh trial process would pay that import many times over. The update
rules are exactly torch.optim's defaults (tests compare them step by step):

- Adam (Kingma & Ba 2015): ``g += wd*p``; ``m = b1 m + (1-b1) g``;
  ``v = b2 v + (1-b2) g^2``; ``p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)``,
  t counted per parameter over the steps in which it had a gradient (a parameter
  frozen for a while, like TTFS's kernels before e_k, starts its bias correction
  when it starts learning).
- SGD: ``g += wd*p``; ``b = mu b + g`` (b = g at the first step); ``p -= lr b``,
  with lr following a cosine from its initial value to 0 over ``total_steps``.
"""

from __future__ import annotations

import math
from typing import Iterable

import torch


class Adam:
    def __init__(self, params: Iterable[torch.Tensor], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        self.params = [p for p in params if p.requires_grad]
        self.lr, self.eps, self.weight_decay = lr, eps, weight_decay
        self.beta1, self.beta2 = betas
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.t = [0] * len(self.params)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        for i, (p, m, v) in enumerate(zip(self.params, self.m, self.v)):
            if p.grad is None:
                continue
            self.t[i] += 1
            bias2_sqrt = math.sqrt(1 - self.beta2**self.t[i])
            step_size = self.lr / (1 - self.beta1**self.t[i])
            g = p.grad if not self.weight_decay else p.grad.add(p, alpha=self.weight_decay)
            m.lerp_(g, 1 - self.beta1)
            v.mul_(self.beta2).addcmul_(g, g, value=1 - self.beta2)
            p.addcdiv_(m, v.sqrt().div_(bias2_sqrt).add_(self.eps), value=-step_size)


class CosineSGD:
    def __init__(self, params: Iterable[torch.Tensor], lr: float, total_steps: int, momentum: float = 0.9,
                 weight_decay: float = 0.0) -> None:
        self.params = [p for p in params if p.requires_grad]
        self.base_lr, self.total = lr, max(1, total_steps)
        self.momentum, self.weight_decay = momentum, weight_decay
        self.buffers: list[torch.Tensor | None] = [None] * len(self.params)
        self.t = 0

    @property
    def lr(self) -> float:
        return 0.5 * self.base_lr * (1 + math.cos(math.pi * min(self.t, self.total) / self.total))

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        lr = self.lr
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = p.grad if not self.weight_decay else p.grad.add(p, alpha=self.weight_decay)
            buf = self.buffers[i]
            if buf is None:
                buf = self.buffers[i] = g.clone()
            else:
                buf.mul_(self.momentum).add_(g)
            p.add_(buf, alpha=-lr)
        self.t += 1


def make_optimizer(params: Iterable[torch.Tensor], name: str, lr: float, weight_decay: float,
                   total_steps: int) -> Adam | CosineSGD:
    if name == "sgd":
        return CosineSGD(params, lr, total_steps, weight_decay=weight_decay)
    return Adam(params, lr, weight_decay=weight_decay)
