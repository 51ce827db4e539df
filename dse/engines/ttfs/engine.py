"""Training and evaluation of the TTFS engine (Contract 3; Park & Yoon, eq. 9).

Training (docs/engines.md sections 3-4; the seed's schedule scaled to small data):

- loss ``L = CE + [e >= e_k] (lambda_TR L_TR + lambda_TB L_TB)`` (eq. 9), with
  e_k = ``[train] kernel_epoch`` (default 20: docs/engines.md section 4's digits
  schedule; the seed starts at epoch 50 of 2000 on CIFAR-10);
- tau and t_d are frozen before e_k and then learn from CE + lambda_TR L_TR
  (L_TB's threshold is detached: it moves gamma and beta only);
- stochastic relaxation: per step and per population, ReLU with probability
  ``max(0, 1 - (e + 1)/e_target)`` (``relaxation`` = e_target, 0 = off);
- Adam (the seed's optimiser, ``[train] lr`` 1e-3 in the seed; or ``sgd``),
  L2 weight decay on the weights only (``[train] weight_decay``; the seed
  gives no value);
- gradual magnitude pruning as in the other engines.

After every epoch the frozen network (BN folded, weights quantised) is scored
in closed form on the validation split and reported. At the end the test split
runs through the frozen surrogate (:func:`.model.infer`) and through the
event-driven simulator (:func:`.simulator.simulate`); the Profile's accuracy
and spike counts are the simulator's, and ``extras`` carries the agreement of
the two, prediction by prediction and spike by spike.

Every trial keeps its network (:mod:`.stored`: the frozen network as simulated, and the
surrogate its variants are derived from), which ``dse evaluate`` runs again (:mod:`.rerun`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F

from hwmodels import Profile

from ...data import Dataset
from . import ENGINE
from .._base import Budget, DataShape, Design, Report, TrialOutcome, Variant
from ..activity import Activity
from ..optim import make_optimizer
from ..layer_bits import bits_per_layer, variant_design
from ..pruning import magnitude_mask
from ..runtime import (Trained, batch_indices, device_generator, resolve_device, seed_everything, tensors,
                       train_epochs, training_splits)
from .kernel import kernel_bn_loss, kernel_regularisation, relaxation_probability, relaxed_layers
from .keys import TRAIN_KEYS
from .model import Frozen, TTFSNet, infer
from .shapes import static_profile
from .simulator import simulate
from .stored import network_state

EVAL_BATCH = 1024


def kernel_epoch(budget: Budget) -> int:
    return int(budget.extra.get("kernel_epoch", TRAIN_KEYS["kernel_epoch"].default))


@torch.no_grad()
def surrogate_accuracy(net: Frozen, x: torch.Tensor, y: torch.Tensor) -> float:
    correct = 0
    for index in batch_indices(len(y), EVAL_BATCH, device=x.device):
        logits, _ = infer(net, x[index])
        correct += int((logits.argmax(1) == y[index]).sum())
    return correct / max(1, len(y))


def aid_losses(model: TTFSNet, design: Design) -> torch.Tensor:
    """``lambda_TR L_TR + lambda_TB L_TB`` (eq. 9's regularisers)."""
    loss = model.tau.new_zeros(())
    if design.kernel_reg > 0:
        loss = loss + design.kernel_reg * kernel_regularisation(model.tau, model.t_d, design.tau, design.t_d)
    if design.kernel_bn > 0:
        thresholds = model.pruning_thresholds()
        for norm, threshold in zip(model.norms, thresholds):
            loss = loss + design.kernel_bn * kernel_bn_loss(norm.weight, norm.bias, threshold)
    return loss


def fit(design: Design, data: Dataset, budget: Budget, report: Report) -> Trained:
    """Train the surrogate for the design; the model is left frozen (BN folded, quantised)."""
    device = resolve_device(budget.device)
    seed_everything(budget.seed)
    generator = torch.Generator().manual_seed(budget.seed)
    model = TTFSNet(design, DataShape(data.shape, data.n_classes)).to(device)
    x_train, y_train, x_val, y_val = training_splits(data, budget, device)
    steps_total = budget.epochs * math.ceil(len(y_train) / budget.batch_size)
    groups = model.param_groups(budget.weight_decay)
    optimizers = [make_optimizer(params, budget.optimizer, budget.lr, decay, steps_total) for params, decay in groups]
    kernel_params = groups[-1][0]
    start_kernel = kernel_epoch(budget)
    quant_gen = device_generator(device, budget.seed + 1)
    populations = len(model.plan)

    def train_epoch(epoch: int) -> torch.Tensor:
        p_relax = relaxation_probability(epoch, design.relaxation)
        aids = epoch >= start_kernel
        for p in kernel_params:  # the kernels learn only from e_k on
            p.requires_grad_(aids)
        total = torch.zeros((), device=device)
        for index in batch_indices(len(y_train), budget.batch_size, generator, device):
            relaxed = relaxed_layers(p_relax, populations, generator)
            loss = F.cross_entropy(model(x_train[index], relaxed, generator=quant_gen), y_train[index])
            if aids:
                loss = loss + aid_losses(model, design)
            for optimizer in optimizers:
                optimizer.zero_grad()
            loss.backward()
            for optimizer in optimizers:
                optimizer.step()
            total += loss.detach()
        return total

    def validate() -> float:
        return surrogate_accuracy(model.freeze(quant_gen), x_val, y_val)

    val_accuracy, train_seconds = train_epochs(model, design.pruning, budget.epochs, report, train_epoch, validate)
    model.freeze(device_generator(device, budget.seed + 2))
    return Trained(model, val_accuracy, train_seconds, device, generator)


@dataclass(frozen=True)
class Measurement:
    """The simulator's view of the test split, and its agreement with the surrogate."""

    profile: Profile
    surrogate_accuracy: float
    agreement: float
    """Fraction of samples on which simulator and surrogate predict the same class."""
    spike_agreement: float
    """Fraction of neurons (all populations, all samples) with the same spike time, or both silent."""


@torch.no_grad()
def measure(model: TTFSNet, design: Design, data: Dataset, x: torch.Tensor, y: torch.Tensor,
            net: Frozen | None = None) -> Measurement:
    """Simulate the frozen network (or `net`, a variant of it, `design` the variant's) on
    (x, y); count its events into a Profile."""
    net = net if net is not None else model.frozen
    assert net is not None, "freeze() first"
    counts = Activity.empty(len(net.plan))
    correct = surrogate_correct = same = 0
    neurons = same_spikes = 0
    for index in batch_indices(len(y), EVAL_BATCH, device=x.device):
        sim = simulate(net, x[index], counts)
        logits, times = infer(net, x[index])
        predicted = sim.potentials.argmax(1)
        correct += int((predicted == y[index]).sum())
        surrogate_correct += int((logits.argmax(1) == y[index]).sum())
        same += int((predicted == logits.argmax(1)).sum())
        for simulated, closed_form in zip(sim.times, times):
            neurons += simulated.numel()
            same_spikes += int((simulated == closed_form).sum())
    n = max(1, len(y))
    base = static_profile(design, DataShape(data.shape, data.n_classes))
    layers = counts.measured(base.layers[-len(net.plan):], model.nonzero_weights(net))
    if len(base.layers) > len(net.plan):  # the input population (spiking input) leads
        layers = (replace(base.layers[0], output_spikes=counts.input_spikes / n), *layers)
    profile = replace(base, layers=layers, accuracy=correct / n)
    return Measurement(profile, surrogate_correct / n, same / n, same_spikes / max(1, neurons))


def variant_net(model: TTFSNet, design: Design, variant: Design, generator: torch.Generator | None) -> Frozen:
    """The trained surrogate frozen as a post-training variant `variant` stores it.

    No retraining, and the module is left as it is. ``weight_bits`` / ``rounding``:
    the float weights (the master copy QAT trains too) folded with BN's running
    statistics and quantised once at the variant's bits and rounding, as
    :meth:`TTFSNet.freeze` does (``generator`` draws stochastic rounding).
    ``pruning`` above the design's: magnitude pruning of the trained weights per
    layer, ranking those the trained mask kept, as training prunes
    (:func:`dse.engines.pruning.magnitude_mask`), no fine-tuning; then quantised as
    the design was. The design's own settings give :meth:`TTFSNet.freeze` exactly.
    """
    if variant.pruning < design.pruning:
        raise ValueError(f"pruning variant {variant.pruning} below the trained rate {design.pruning}: "
                         f"pruned weights cannot be restored without retraining")
    masks = model.masks()
    if variant.pruning > design.pruning:
        masks = [magnitude_mask(w, variant.pruning, keep=mask) for w, mask in zip(model.matrices, masks)]
    return model.frozen_as(bits_per_layer(variant, len(model.plan)), variant.rounding, masks, generator)


def run(design: Design, data: Dataset, budget: Budget, report: Report) -> TrialOutcome:
    trained = fit(design, data, budget, report)
    started = time.perf_counter()
    x_test, y_test = tensors(data.x_test, data.y_test, trained.device)
    m = measure(trained.model, design, data, x_test, y_test)
    net = trained.model.frozen
    asked = [(v, variant_design(design, v)) for v in budget.variants if set(v) <= set(ENGINE.variant_keys)]
    # stochastic rounding seeded as the final freeze() is
    variants = tuple(Variant(v, measure(trained.model, d, data, x_test, y_test, variant_net(
        trained.model, design, d, device_generator(trained.device, budget.seed + 2))).profile) for v, d in asked)
    return TrialOutcome(
        accuracy=m.profile.accuracy,
        profile=m.profile,
        train_seconds=trained.train_seconds,
        eval_seconds=time.perf_counter() - started,
        val_accuracy=trained.val_accuracy,
        extras={
            "device": str(trained.device),
            "surrogate_accuracy": m.surrogate_accuracy,
            "agreement": m.agreement,
            "spike_agreement": m.spike_agreement,
            # the trained kernels of the spiking populations (the input's only when it spikes)
            "tau": [round(float(v), 4) for v in net.tau[net.analog_input:]],
            "t_d": [round(float(v), 4) for v in net.t_d[net.analog_input:]],
        },
        variants=variants,
        network=network_state(trained, design, budget, DataShape(data.shape, data.n_classes)),
    )
