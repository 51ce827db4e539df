"""Training and evaluation of the surrogate-gradient engine (Contract 3).

BPTT over T steps with a surrogate gradient, cross-entropy on the readout's
logits, Adam (or SGD with momentum and a cosine schedule). After each epoch the
validation accuracy goes to ``report`` (progress and pruner). At the end the
weights are frozen (quantised once) and evaluated on the test split, where
every layer's input events and output spikes are counted into the Profile;
``Budget.variants`` reads further design points off the same weights
(:func:`variant_weights`: post-training quantisation, magnitude pruning,
timesteps), each measured the same way.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

import torch
import torch.nn.functional as F

from hwmodels import Profile

from ...data import Dataset
from . import ENGINE
from .._base import Budget, DataShape, Design, Report, TrialOutcome, Variant
from ..activity import Activity
from ..optim import make_optimizer
from ..pruning import magnitude_mask
from ..runtime import (Trained, batch_indices, device_generator, generator_copy, resolve_device, seed_everything,
                       tensors, train_epochs, training_splits)
from .model import PlannedSNN, Weights
from .neurons import NeuronConfig
from .shapes import plan, static_profile
from .stored import network_state

EVAL_BATCH = 1024


@torch.no_grad()
def evaluate(model: PlannedSNN, x: torch.Tensor, y: torch.Tensor, steps: int,
             generator: torch.Generator | None, activity: Activity | None = None,
             weights: Weights | None = None, cfg: NeuronConfig | None = None) -> float:
    """Accuracy at `steps` timesteps of the frozen (quantised) network, or of `weights` with `cfg`."""
    params = weights if weights is not None else model.frozen if model.frozen is not None else model.freeze(generator)
    cfg = cfg if cfg is not None else model.neuron_config(training=False)
    correct = 0
    for index in batch_indices(len(y), EVAL_BATCH, device=x.device):
        logits = model(x[index], steps, params, cfg, generator, activity)
        correct += int((logits.argmax(1) == y[index]).sum())
    return correct / max(1, len(y))


@torch.no_grad()
def accuracies(model: PlannedSNN, x: torch.Tensor, y: torch.Tensor, prefixes: tuple[int, ...],
               generator: torch.Generator | None, activity: Activity, weights: Weights,
               cfg: NeuronConfig) -> list[float]:
    """Accuracy after each of `prefixes` timesteps, all read off one run of the longest (see :func:`measure_steps`)."""
    correct = [0] * len(prefixes)
    for index in batch_indices(len(y), EVAL_BATCH, device=x.device):
        for k, logits in enumerate(model(x[index], max(prefixes), weights, cfg, generator, activity, prefixes)):
            correct[k] += int((logits.argmax(1) == y[index]).sum())
    return [c / max(1, len(y)) for c in correct]


def steps_agree(design: Design, cfg: NeuronConfig) -> bool:
    """Whether the first t steps of a longer run are exactly a run of t steps: the input the same at
    every step (direct coding) and nothing drawn per step (no stochastic rounding of the membrane)."""
    return design.coding == "direct" and not (cfg.state_grid is not None and cfg.rounding == "stochastic")


def measure_steps(model: PlannedSNN, design: Design, data: Dataset, x: torch.Tensor, y: torch.Tensor,
                  steps: list[int], generator: torch.Generator | None, weights: Weights,
                  cfg: NeuronConfig) -> list[Profile]:
    """:func:`measure` at each of `steps` timesteps from one run of the longest, where :func:`steps_agree`:
    the accuracies are those of separate runs exactly, the counts too (kept per step, summed per prefix)."""
    activity = Activity.empty(len(model.plan.populations) + 1, per_step=True)
    scores = accuracies(model, x, y, tuple(steps), generator, activity, weights, cfg)
    nonzero = model.nonzero_weights(weights)
    shape = DataShape(data.shape, data.n_classes)
    profiles = []
    for t, accuracy in zip(steps, scores):
        base = static_profile(replace(design, timesteps=t), shape)
        profiles.append(replace(base, layers=activity.prefix(t).measured(base.layers, nonzero), accuracy=accuracy))
    return profiles


def measure(model: PlannedSNN, design: Design, data: Dataset, x: torch.Tensor, y: torch.Tensor,
            steps: int, generator: torch.Generator | None, weights: Weights | None = None,
            cfg: NeuronConfig | None = None) -> Profile:
    """Test accuracy and per-layer activity, as a Profile of the trained network (or of a
    variant of it: `design` the variant's, `weights` and `cfg` from :func:`variant_weights`)."""
    activity = Activity.empty(len(model.plan.populations) + 1)
    accuracy = evaluate(model, x, y, steps, generator, activity, weights, cfg)
    base = static_profile(replace(design, timesteps=steps), DataShape(data.shape, data.n_classes))
    return replace(base, layers=activity.measured(base.layers, model.nonzero_weights(weights)), accuracy=accuracy)


def variant_design(design: Design, params: dict) -> Design:
    """The design a variant describes: the trained design with the variant's keys.

    A ``weight_bits`` variant sets one precision for every layer (stem, cells and
    readout alike), so it clears a mixed-precision design's ``cell_bits`` and ``layer_bits``.
    """
    changed = dict(params)
    if "weight_bits" in changed:
        changed["cell_bits"] = changed["layer_bits"] = None
    return replace(design, **changed)


def variant_weights(model: PlannedSNN, design: Design, variant: Design, shape: DataShape,
                    generator: torch.Generator | None) -> tuple[Weights, NeuronConfig]:
    """The weights and neuron settings a variant of the trained network evaluates with.

    No retraining, and the module is left as it is (its master weights, masks and
    frozen weights): every variant starts from the same trained network.

    - ``weight_bits`` / ``rounding``: post-training quantisation of the float
      (master) weights with :func:`dse.engines.quant.quantize_weight` at the
      variant's bits for every layer and its rounding (``generator`` draws the
      stochastic rounding), the trained masks kept. Where the membrane is quantised
      (``neuron_bits`` < 32) its per-step rounding follows the variant's too, as a
      design with that rounding infers.
    - ``pruning`` above the design's: magnitude pruning of the master weights,
      per layer, as training prunes (:func:`dse.engines.pruning.magnitude_mask`
      ranks the weights the trained mask kept), no fine-tuning; then quantised as
      the design was.
    - ``timesteps``: nothing changes here; the caller runs the variant's T.

    With the design's own settings this is exactly :meth:`PlannedSNN.freeze`.
    """
    if variant.pruning < design.pruning:
        raise ValueError(f"pruning variant {variant.pruning} below the trained rate {design.pruning}: "
                         f"pruned weights cannot be restored without retraining")
    masks = model.masks() if design.pruning > 0 else None
    if variant.pruning > design.pruning:
        with torch.no_grad():
            masks = [magnitude_mask(w, variant.pruning, keep=mask) for w, mask in zip(model.matrices, model.masks())]
    variant_plan = plan(variant, shape)
    bits = [variant_plan.populations[p].bits for p, _ in model.edges] + [variant_plan.readout_bits]
    weights = model.quantized(bits, variant.rounding, masks, generator)
    cfg = model.neuron_config(training=False)
    if cfg.state_grid is not None:
        cfg = replace(cfg, rounding=variant.rounding)
    return weights, cfg


def fit(design: Design, data: Dataset, budget: Budget, report: Report) -> Trained:
    """Train a network for the design; its weights are left frozen (quantised)."""
    device = resolve_device(budget.device)
    generator = seed_everything(budget.seed)
    model = PlannedSNN(design, plan(design, DataShape(data.shape, data.n_classes))).to(device)
    x_train, y_train, x_val, y_val = training_splits(data, budget, device)
    steps = design.timesteps
    optimizer = make_optimizer(model.parameters(), budget.optimizer, budget.lr, budget.weight_decay,
                               budget.epochs * math.ceil(len(y_train) / budget.batch_size))
    run_gen = device_generator(device, budget.seed + 1)

    def train_epoch(epoch: int) -> torch.Tensor:
        cfg = model.neuron_config(training=True)
        total = torch.zeros((), device=device)
        for index in batch_indices(len(y_train), budget.batch_size, generator, device):
            params = model.train_weights(run_gen)
            loss = F.cross_entropy(model(x_train[index], steps, params, cfg, run_gen), y_train[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.detach()
        return total

    def validate() -> float:
        model.freeze(run_gen)
        return evaluate(model, x_val, y_val, steps, run_gen)

    val_accuracy, train_seconds = train_epochs(model, design.pruning, budget.epochs, report, train_epoch, validate)
    model.freeze(device_generator(device, budget.seed + 2))
    return Trained(model, val_accuracy, train_seconds, device, run_gen)


def run(design: Design, data: Dataset, budget: Budget, report: Report) -> TrialOutcome:
    return outcome(fit(design, data, budget, report), design, data, budget)


def outcome(trained: Trained, design: Design, data: Dataset, budget: Budget) -> TrialOutcome:
    """The test-split evaluation of a trained (or inherited: :mod:`.oneshot`) network and its variants."""
    started = time.perf_counter()
    x_test, y_test = tensors(data.x_test, data.y_test, trained.device)
    shape = DataShape(data.shape, data.n_classes)

    def weights_of(variant: Design) -> tuple[Weights, NeuronConfig]:
        # stochastic weight rounding is seeded as the final freeze() is
        return variant_weights(trained.model, design, variant, shape, device_generator(trained.device, budget.seed + 2))

    def measured(variant: Design, weights: tuple[Weights, NeuronConfig] | None = None) -> Profile:
        # every evaluation draws the same input spikes (rate coding) and state-rounding noise
        return measure(trained.model, variant, data, x_test, y_test, variant.timesteps,
                       generator_copy(trained.generator), *(weights or weights_of(variant)))

    asked = [(v, variant_design(design, v)) for v in budget.variants if set(v) <= set(ENGINE.variant_keys)]
    own, cfg = weights_of(design)
    steps = [design.timesteps, *(d.timesteps for v, d in asked if set(v) == {"timesteps"})]
    together = {}  # the design at its own and at the variants' timesteps, from one run where they agree
    if len(steps) > 1 and steps_agree(design, cfg):
        profiles = measure_steps(trained.model, design, data, x_test, y_test, steps, generator_copy(trained.generator),
                                 own, cfg)
        together = dict(zip(steps, profiles))
    profile = together.get(design.timesteps) or measured(design, (own, cfg))
    variants = tuple(Variant(v, together[d.timesteps] if set(v) == {"timesteps"} and together else measured(d))
                     for v, d in asked)
    return TrialOutcome(
        accuracy=profile.accuracy,
        profile=profile,
        train_seconds=trained.train_seconds,
        eval_seconds=time.perf_counter() - started,
        val_accuracy=trained.val_accuracy,
        extras={"device": str(trained.device)},
        variants=variants,
        network=network_state(trained, design, budget, shape, trained.generator),
    )
