"""Training and evaluation of the STDP engine (Contract 3).

A trial trains the design's network without labels for ``[train] epochs``
passes over the (shuffled) training split, one sample at a time; after each
pass it labels the neurons on the training split (learning off, thresholds
frozen) and reports the validation accuracy of the labelled vote. At the end
the labelled network is measured on the test split: accuracy, and the input
events and spikes of every layer for the inference Profile. The training
Profile counts the activity and the learning-rule work of every training
presentation (see :mod:`.shapes` for how each count is formed).

Quantisation (tinySNN section 2.3): ``ptq`` trains in FP32, then puts W and
V_th on their grids once and infers with V_mem rounded every step; ``qat``
(the seed's ITQ) trains on the grids. Integer bits come from the range observed
in an FP32 run of the same design and seed: for ``ptq`` that is its own
training; for ``qat`` with quantised neuron state a first FP32 training run is
made for this purpose only (its time counts in ``train_seconds``, its work not
in the training Profile).

Post-training variants (``Budget.variants``: ``weight_bits``, ``rounding``,
``timesteps``) are read off the trained network without more learning
(:func:`variant`); the engine has no pruning, so neither do its variants.

Every trial keeps its network (:mod:`.stored`: W and V_th as evaluated, the labels and the
generator's state once they were assigned, the learned float copy the variants start from),
so ``dse evaluate`` (:mod:`.rerun`) gives the stored test accuracy exactly.
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace

import torch

from hwmodels import Profile

from ...data import Dataset
from ...errors import UserError
from . import ENGINE
from .._base import Budget, DataShape, Design, Report, TrialOutcome, Variant
from ..runtime import device_generator, generator_copy, resolve_device, seed_everything, tensors, training_splits
from ..layer_bits import variant_design
from .network import Counts, Network, Ranges
from .params import Setup
from .readout import assign_labels, predict
from .keys import check
from .shapes import profile
from .stored import network_state

EVAL_ELEMENTS = 2**24
"""Spike-tensor elements simulated at once in inference (bounds memory)."""


def _check(setup: Setup, data: Dataset) -> None:
    if data.x_train.min() < 0 or data.x_train.max() > 1:
        raise UserError(f"data set {data.name!r}: the STDP engine rate-codes pixels in [0, 1], "
                        f"got values in [{data.x_train.min():g}, {data.x_train.max():g}]")
    check(setup.design)  # the engine's rules across keys, for callers that bypass the study


def spike_counts(net: Network, x: torch.Tensor, steps: int, counts: Counts | None = None) -> torch.Tensor:
    """Excitatory spike counts [samples, N] with learning off, simulated in batches."""
    batch = max(1, min(1024, EVAL_ELEMENTS // (steps * max(net.n_inputs, net.setup.n_neurons))))
    out = [net.simulate(net.encode(chunk, steps), counts=counts) for chunk in x.split(batch)]
    return torch.cat(out) if out else torch.zeros(0, net.setup.n_neurons, device=x.device)


@dataclass
class Splits:
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    n_classes: int

    @classmethod
    def of(cls, data: Dataset, budget: Budget, device: torch.device) -> "Splits":
        """The three splits on `device`, images flattened to [samples, pixels] (float32)."""
        x_train, y_train, x_val, y_val = training_splits(data, budget, device)
        x_test, y_test = tensors(data.x_test, data.y_test, device)

        def flat(x: torch.Tensor) -> torch.Tensor:
            return x.reshape(len(x), -1).float()

        return cls(flat(x_train), y_train, flat(x_val), y_val, flat(x_test), y_test, data.n_classes)


@dataclass
class Labels:
    """The neurons' classes (-1: unlabelled) and the generator's state once they were assigned:
    where the draws of the evaluation that follows start (:mod:`.stored` keeps both)."""

    assignment: torch.Tensor
    state: torch.Tensor


def vote_accuracy(net: Network, x: torch.Tensor, y: torch.Tensor, steps: int, assignment: torch.Tensor,
                  n_classes: int, counts: Counts | None = None) -> float:
    """Accuracy on (x, y) of the labelled vote of the network's spike counts."""
    prediction = predict(spike_counts(net, x, steps, counts), assignment, n_classes)
    return float((prediction == y).float().mean()) if len(y) else 0.0


def labelled_accuracy(net: Network, splits: Splits, x: torch.Tensor, y: torch.Tensor, steps: int,
                      counts: Counts | None = None) -> tuple[float, Labels]:
    """Label the neurons on the training split, then the accuracy of the vote on (x, y)."""
    assignment = assign_labels(spike_counts(net, splits.x_train, steps), splits.y_train, splits.n_classes)
    labels = Labels(assignment, net.generator.get_state())
    return vote_accuracy(net, x, y, steps, assignment, splits.n_classes, counts), labels


@dataclass
class Trained:
    net: Network
    splits: Splits
    train_seconds: float
    training: Counts
    fast: bool
    learned: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
    """W, V_th and the generator's state as learning left them, before any PTQ: what
    post-training variants start from (:func:`variant`)."""


def _train(net: Network, splits: Splits, epochs: int, seed: int, counts: Counts | None,
           ranges: Ranges | None, report: Report | None) -> None:
    """Present the training split `epochs` times, shuffled per pass, reporting each pass's validation accuracy."""
    order_gen = torch.Generator().manual_seed(seed)
    steps = net.setup.timesteps
    for epoch in range(epochs):
        for i in torch.randperm(len(splits.y_train), generator=order_gen).tolist():
            net.learn(net.encode(splits.x_train[i], steps), counts, ranges)
        if report is not None:
            report(epoch, labelled_accuracy(net, splits, splits.x_val, splits.y_val, steps)[0])


def fit(design: Design, data: Dataset, budget: Budget, report: Report) -> Trained:
    """Train a network for the design; it is left on its grids (quantised) where the design says so."""
    setup = Setup.of(design, budget.extra)
    _check(setup, data)
    device = resolve_device(budget.device)
    seed_everything(budget.seed)
    splits = Splits.of(data, budget, device)
    n_in = splits.x_train.shape[1]

    def fresh() -> Network:
        return Network(setup, n_in, device, device_generator(device, budget.seed))

    started = time.perf_counter()
    quantized = setup.quantized_weights or setup.quantized_neurons
    net = fresh()
    if setup.quantization == "qat" and quantized:
        ranges = Ranges()
        if setup.quantized_neurons:  # the FP32 run whose ranges size the integer bits
            _train(fresh(), splits, budget.epochs, budget.seed, None, ranges, None)
        net.make_grids(ranges, neurons=setup.quantized_neurons)
        net.quantize_params()
    ranges = Ranges()
    counts = Counts()
    fast = not net.steps_exactly
    _train(net, splits, budget.epochs, budget.seed, counts, ranges, report)
    learned = (net.w.clone(), net.vth.clone(), net.generator.get_state())
    if setup.quantization == "ptq" and quantized:
        net.make_grids(ranges)
        net.quantize_params()
    return Trained(net, splits, time.perf_counter() - started, counts, fast, learned)


def measure(trained: Trained, design: Design, data: Dataset, steps: int,
            net: Network | None = None) -> tuple[Profile, float, Labels]:
    """Inference Profile on the test split at `steps` steps, the validation accuracy and
    the neurons' labels, of the trained network or of `net` (a variant of it)."""
    net, splits = net if net is not None else trained.net, trained.splits
    counts = Counts()
    accuracy, labels = labelled_accuracy(net, splits, splits.x_test, splits.y_test, steps, counts)
    val = predict(spike_counts(net, splits.x_val, steps), labels.assignment, splits.n_classes)
    val_accuracy = float((val == splits.y_val).float().mean()) if len(splits.y_val) else math.nan
    shape = DataShape(data.shape, data.n_classes)
    inference = profile(replace(design, timesteps=steps), shape, "inference", counts.activity(),
                        accuracy)
    return inference, val_accuracy, labels


def variant(trained: Trained, design: Design, eval_state: torch.Tensor) -> Network:
    """The trained network as a post-training variant `design` stores it (no more learning).

    ``weight_bits`` / ``rounding``: PTQ of the learned FP32 weights and thresholds
    where training kept them (``quantization = "ptq"``, or 32-bit weights); a design
    trained with ITQ (``qat``) kept no float copy, so its stored weights are
    re-quantised from their grid onto the variant's (:meth:`Network.requantized`).
    The rounding also rounds V_mem on every inference step where the state is
    quantised, as a design with that rounding infers. ``timesteps``: the same network,
    presented for the variant's T steps.

    Labels are re-derived: :func:`measure` assigns them on the training split with
    the variant's own spike counts, as tinySNN assigns labels after learning on the
    network it deploys; labels kept from the parent would vote with neurons whose
    preferences the changed weights or presentation length may have moved.

    The stochastic rounding replays the parent's PTQ draws (the generator state
    learning left), and inference the parent's input spikes (`eval_state`), so the
    design's own settings give the parent's network and profile exactly.
    """
    w, vth, quant_state = trained.learned
    generator = generator_copy(trained.net.generator)
    generator.set_state(quant_state)
    net = trained.net.requantized(Setup(design, trained.net.setup.train), w, vth,
                                  design.quantization == "ptq", generator)
    generator.set_state(eval_state)
    return net


@contextmanager
def single_thread(device: str):
    """One intra-op CPU thread while simulating: every tensor here holds a few thousand
    elements, where waking threads costs more than it saves (20x slower on a loaded
    2-core machine, measured)."""
    threads = torch.get_num_threads()
    if not device.startswith("cuda"):
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def run(design: Design, data: Dataset, budget: Budget, report: Report) -> TrialOutcome:
    with single_thread(budget.device):
        return _run(design, data, budget, report)


def _run(design: Design, data: Dataset, budget: Budget, report: Report) -> TrialOutcome:
    trained = fit(design, data, budget, report)
    started = time.perf_counter()
    eval_state = trained.net.generator.get_state()
    inference, val_accuracy, labels = measure(trained, design, data, design.timesteps)
    asked = [(v, variant_design(design, v)) for v in budget.variants if set(v) <= set(ENGINE.variant_keys)]
    measured = [(v, *measure(trained, d, data, d.timesteps, variant(trained, d, eval_state)))
                for v, d in asked if d.timesteps >= 2]  # a presentation needs 2 steps (keys.check)
    variants = tuple(Variant(v, p) for v, p, _, _ in measured)
    shape = DataShape(data.shape, data.n_classes)
    network = network_state(trained, design, budget, shape, labels, [(v, lab) for v, _, _, lab in measured])
    training = profile(design, shape, "training", trained.training.activity())
    return TrialOutcome(
        accuracy=inference.accuracy,
        profile=inference,
        train_seconds=trained.train_seconds,
        eval_seconds=time.perf_counter() - started,
        val_accuracy=val_accuracy,
        extras={"device": str(trained.net.device), "event_driven": trained.fast,
                "labelled_neurons": float((labels.assignment >= 0).float().mean())},
        variants=variants,
        training_profile=training,
        network=network,
    )
