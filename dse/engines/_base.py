"""What every engine shares: its declaration, its design, the trial's budget and outcome.

An engine declares each of its keys once (:class:`dse.keys.Key`: kind, range,
default, help); its :class:`Design` class is derived from that declaration, so
a key the spec accepts is a field the engine reads, and nothing else is. Rules
that involve several keys live in the engine's ``check(design)`` hook, which
the spec runs over the whole space at load time and the study runs again
before a trial trains.

This module never imports torch: the spec loader, the feasibility pre-check and
``dse models`` read an engine's keys and shapes without a deep-learning stack.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Mapping

from hwmodels import Profile

from ..keys import SHARED_KEYS, Key

if TYPE_CHECKING:
    from ..data import Dataset

Report = Callable[[int, float], None]
"""``report(step, accuracy)``: intermediate validation accuracy; raises the
pruner's signal (optuna.TrialPruned) when the trial should stop."""


def half_the_ram() -> int:
    """The default of ``[train] max_param_bytes``: half this machine's physical memory (8 GiB where unknown)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows)
        return 8 * 2**30


TRAIN_KEYS: dict[str, Key] = {k.name: k for k in (
    Key("epochs", "int", 10, "training epochs per trial", low=1, high=100_000),
    Key("batch_size", "int", 128, "samples per training step", low=1, high=1_000_000),
    Key("lr", "float", 5e-3, "learning rate", low=1e-12, high=100.0),
    Key("optimizer", "str", "adam", "adam or sgd (momentum 0.9, cosine schedule)", options=("adam", "sgd")),
    Key("weight_decay", "float", 0.0, "L2 weight decay", low=0.0, high=1.0),
    Key("eval_timesteps", "ints", (), "also evaluate the trained weights at these T "
        "(the older spelling of [variants] timesteps)", low=1, high=100_000, min_len=0),
    Key("max_train_samples", "int", 0, "use at most this many training samples (0 = all)",
        low=0, high=10**9),
    Key("max_param_bytes", "int", half_the_ram(), "refuse a space whose largest design holds more bytes of "
        "parameters (float32 while training) before any trains; default: half this machine's RAM",
        low=1, high=2**63 - 1),
)}
GUARD_KEYS = ("max_param_bytes",)
"""[train] keys that bound what may run, not how a design trains: the spec keeps them out of its
``train`` table (so out of design fingerprints and the stored spec) as fields of their own."""


@dataclass(frozen=True)
class Budget:
    """How to train one trial: the spec's [train] table plus run-time choices."""

    epochs: int = TRAIN_KEYS["epochs"].default
    batch_size: int = TRAIN_KEYS["batch_size"].default
    lr: float = TRAIN_KEYS["lr"].default
    optimizer: str = TRAIN_KEYS["optimizer"].default
    weight_decay: float = TRAIN_KEYS["weight_decay"].default
    variants: tuple[Mapping[str, Any], ...] = ()
    """Post-training variants to evaluate, each the keys it changes, e.g. ``{"timesteps": 4}``,
    ``{"weight_bits": 4, "rounding": "nearest"}`` or ``{"pruning": 0.7}`` (only keys of the
    engine's :attr:`Engine.variant_keys`)."""
    max_train_samples: int | None = None
    device: str = "cpu"
    seed: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Engine-specific [train] keys (declared by the engine)."""


@dataclass(frozen=True)
class TrialOutcome:
    """What an engine returns: test accuracy and the measured Profile.

    ``variants`` holds the further design points read off the same trained
    network (one per entry of ``Budget.variants`` the engine could evaluate),
    each with its own measured profile and accuracy.
    """

    accuracy: float
    profile: Profile
    train_seconds: float
    eval_seconds: float
    val_accuracy: float | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    variants: tuple["Variant", ...] = ()
    training_profile: Profile | None = None
    """The training phase (phase="training"), for engines that learn on the
    device (STDP): its cost metrics are reported as training_<metric>."""
    network: Mapping[str, Any] | None = None
    """The trained network as the evaluation ran it, for inference again without retraining:
    ``{"format": int, "engine": str, "meta": {JSON}, "arrays": {name: numpy array}}`` (quantised
    weights and masks, neuron parameters and thresholds, the evaluation's random state); None
    for an engine that does not keep it. Stored as the trial's Optuna artifact (:mod:`dse.deploy.weights`)."""


VARIANT_KEYS = ("weight_bits", "rounding", "pruning", "timesteps")
"""Keys a trained network can change without retraining: post-training quantisation of its
float weights (bits, rounding), magnitude pruning at a higher rate, fewer or more timesteps."""


def variant_name(params: Mapping[str, Any]) -> str:
    """A variant's name from the keys it changes: ``T=4``, ``w=4``, ``w=4 r=stochastic``, ``p=0.7``."""
    short = {"timesteps": "T", "weight_bits": "w", "rounding": "r", "pruning": "p"}
    parts = [f"{short[k]}={params[k]:g}" if isinstance(params[k], float) else f"{short[k]}={params[k]}"
             for k in VARIANT_KEYS if k in params]
    return " ".join(parts)


@dataclass(frozen=True)
class Variant:
    """A design point read off a trained network without retraining."""

    params: Mapping[str, Any]
    """The keys in which it differs from the trained design, e.g. ``{"weight_bits": 4}``."""
    profile: Profile
    """Measured on the test split with the changed network: its own spikes and accuracy."""

    @property
    def name(self) -> str:
        return variant_name(self.params)


@dataclass(frozen=True)
class DataShape:
    """What shapes need to know of a data set."""

    shape: tuple[int, int, int]  # channels, height, width
    n_classes: int


@dataclass(frozen=True)
class Design:
    """One design point of one engine: a frozen record with a field per declared key.

    Each engine's subclass is made from its declaration (:attr:`Engine.design_type`);
    ``engine`` names it. Two designs are equal when their engine and every
    field (defaults included) are equal.
    """

    engine: ClassVar[str] = ""

    def params(self) -> dict[str, Any]:
        """The values the engine trains with (fields not None), by key."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if getattr(self, f.name) is not None}

    def __reduce__(self) -> tuple:
        # the class is made at run time: pickle it as (engine, fields), e.g. for a cluster worker
        return _rebuild, (self.engine, {f.name: getattr(self, f.name) for f in dataclasses.fields(self)})


def _rebuild(engine: str, values: dict[str, Any]) -> Design:
    from . import get

    return get(engine).design(**values)


class DesignError(ValueError):
    """A design whose keys contradict each other (an engine's ``check`` hook).

    ``keys`` names the search keys involved, so the spec can point at them.
    """

    def __init__(self, keys: tuple[str, ...], message: str) -> None:
        self.keys = tuple(keys)
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class Engine:
    """An engine: its search keys and defaults, its Design class, shape-only profiles, and run()."""

    name: str
    help: str
    keys: Mapping[str, Key]
    """The engine's own search keys (Contract 4 table)."""
    shared: tuple[str, ...]
    """The shared keys it understands."""
    defaults: Mapping[str, Any]
    """Its defaults for shared keys, where they differ from dse.keys."""
    static_profile: Callable[["Design", DataShape], Profile]
    """The design's Profile before training: shapes exact, activity zero."""
    runner: str
    """"module:function" of run(design, data, budget, report) -> TrialOutcome."""
    train_keys: Mapping[str, Key] = field(default_factory=dict)
    """Engine-specific keys of the spec's [train] table."""
    training_profile: bool = False
    """Whether run() also returns a training-phase Profile."""
    expanded: tuple[str, ...] = ()
    """Keys not sampled as one parameter but by ``expand`` into several."""
    expand: Callable[..., Mapping[str, Any]] | None = None
    """``expand(design, pick, params)``: Design fields derived from per-item
    parameters, e.g. one operation per cell edge. ``pick(name, param)`` samples a
    parameter called `name` with the distribution of the spec's `param`;
    ``params`` are the spec's parameters of this engine by key."""
    check: Callable[["Design"], None] | None = None
    """``check(design)`` raises :class:`DesignError` for keys that contradict each
    other (e.g. an update interval longer than the presentation)."""
    variant_keys: tuple[str, ...] = ()
    """Which of :data:`VARIANT_KEYS` the engine can evaluate on a trained network."""
    design_type: type = field(init=False, repr=False, compare=False)
    """The engine's :class:`Design` subclass, one field per key of :attr:`all_keys`."""

    def __post_init__(self) -> None:
        clash = set(self.keys) & set(SHARED_KEYS)
        if clash:
            raise ValueError(f"engine {self.name!r} redeclares shared key(s) {sorted(clash)}")
        fields = [(name, Any, field(default=key.default)) for name, key in self.all_keys.items()]
        design_type = dataclasses.make_dataclass(
            f"{self.name.capitalize()}Design", fields, bases=(Design,), frozen=True,
            namespace={"engine": self.name, "__module__": __name__,
                       "__doc__": f"A design of the {self.name!r} engine: {self.help}."})
        object.__setattr__(self, "design_type", design_type)

    @property
    def all_keys(self) -> dict[str, Key]:
        """Every search key the engine understands, shared ones with the engine's defaults."""
        keys = {name: dataclasses.replace(SHARED_KEYS[name], default=self.defaults.get(name, SHARED_KEYS[name].default))
                for name in self.shared}
        keys.update(self.keys)
        return keys

    def design(self, **values: Any) -> "Design":
        """A Design of this engine; missing keys take their defaults (values are not checked here)."""
        return self.design_type(**values)

    def validate(self, design: "Design") -> None:
        """Run the engine's rules across keys (:class:`DesignError`)."""
        if self.check is not None:
            self.check(design)

    def run_function(self) -> Callable[["Design", "Dataset", Budget, Report], TrialOutcome]:
        """The engine's run function, its module (and torch with it) imported."""
        module, _, function = self.runner.partition(":")
        return getattr(importlib.import_module(module), function)

    def run(self, design: "Design", data: "Dataset", budget: Budget, report: Report) -> TrialOutcome:
        return self.run_function()(design, data, budget, report)
