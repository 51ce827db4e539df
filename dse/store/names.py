"""Every name snn-dse persists, in one place.

A database outlives the code that wrote it: the names below are a contract
with every database ever written (and with optuna-dashboard, SQL users and
scripts). Change one only with a schema migration (:mod:`dse.store.schema`).
"""

from __future__ import annotations

DEFAULT_URL = "sqlite:///dse.db"
"""Where studies are stored unless ``--storage`` says otherwise."""

# ---- snn-dse's own tables (schema version in SCHEMA_TABLE) ----------------------
SCHEMA_TABLE = "dse_schema"
PROFILES_TABLE = "dse_trial_profiles"
METRICS_TABLE = "dse_trial_metrics"
VARIANTS_TABLE = "dse_trial_variants"
"""One row per design point a trial produced: its lineage and evaluation settings."""
DESIGNS_TABLE = "dse_designs"
"""One row per distinct design a study trains (its fingerprint) and the trial that trains it."""
LOCKS_TABLE = "dse_study_locks"
"""One row per study; updating it serialises the workers' claims of training slots."""
WORKERS_TABLE = "dse_workers"
"""One row per worker that joined a study: its index (its sampler's seed), host and process."""

# ---- Optuna study user attributes ----------------------------------------------------
SPEC_ATTR = "dse_spec"
"""The study's stored spec (:class:`dse.store.records.StoredSpec`, JSON)."""

RESCORES_ATTR = "dse_rescores"
"""One entry per ``dse rescore``: when, the models with their versions, the options, which
metrics each model produced and which objectives Optuna's values were updated for."""

SUPERNET_ATTR = "dse_supernet"
"""A one-shot study's supernet: its file, SHA-256, epochs trained and training steps (issue 17)."""

# ---- Optuna trial user attributes -----------------------------------------------------
DESIGN_ATTR = "design"
"""The resolved design a trial trained: every key, defaults included, and the engine."""
FAIL_ATTR = "fail_reason"
REJECTED_ATTR = "infeasible"
"""Why a design was rejected before training (a static constraint it breaks)."""
PRUNED_ATTR = "pruned_reason"
"""Why a trial was stopped early (the pruner's numbers)."""
EXTRA_PREFIX = "extra_"
"""Engine extras of a trial (``extra_<name>``)."""
STATUS_ATTR = "dse_status"
"""What became of the trial: one of :data:`STATUSES`."""
REUSED_ATTR = "reused_from"
"""The number of the trial whose training a duplicate design was served from."""
UNMEASURED_ATTR = "unmeasured"
"""Objectives whose value Optuna holds for a rejected design only so its sampler learns
(never measured; never shown or exported as measured)."""
RETRY_ATTR = "retry_of"
"""The trial a retried trial replaces (the first attempt's number)."""
WORKER_ATTR = "worker"
"""``host:pid`` of the process that ran the trial."""
CURVE_ATTR = "dse_curve"
"""Validation accuracy after each epoch of a trained design (the pareto pruner's evidence)."""
STAGE_ATTR = "dse_stage"
"""A sequential study's stage the trial belongs to (0, 1, ...)."""
FIXED_ATTR = "dse_fixed"
"""A sequential study's values of the keys the trial's stage did not search, by parameter name."""
INHERITED_ATTR = "dse_inherited"
"""A trial evaluated with its supernet's weights instead of training: the supernet (file, SHA-256,
epochs), the fine-tuning steps and whether batch norm was recalibrated."""
RETRAIN_OF_ATTR = "dse_retrain_of"
"""A design trained from scratch by ``dse retrain``: the number of its inherited twin."""
DERIVED_ATTR = "dse_derived"
"""A design decoded by the differentiable search (``search = "differentiable"``): its architecture
weights' training (epochs, loss weights lambda and mu)."""
METRICS_ATTR = "dse_metrics"
"""Every finite metric of the trained design, in one attribute (for Optuna's own tools)."""
WEIGHTS_ATTR = "dse_weights"
"""The Optuna artifact id of a trained trial's stored network (:mod:`dse.deploy.weights`); its
variants are stored as their recipe (``dse_trial_variants.params``) applied to it."""

TRAINED_STATUS, REJECTED, REUSED, VARIANT, PRUNED, FAILED, RUNNING = \
    "trained", "rejected", "reused", "variant", "pruned", "failed", "running"
STATUSES = (TRAINED_STATUS, REJECTED, REUSED, VARIANT, PRUNED, FAILED, RUNNING)
"""A design point's status in ``dse query``: trained, rejected before training, reused (a
duplicate served from the store), variant (read off a trained network), pruned (stopped
early), failed, running."""

# ---- design points ---------------------------------------------------------------------
TRAINED = ""
"""The variant name of the design a trial trained."""
TRAINING = "training"
"""The variant holding an engine's training-phase profile (STDP learns on the chip)."""
TRAINING_PREFIX = "training_"
"""Cost metrics of a training-phase profile are named ``training_<metric>``."""


ENGINE_METRICS = {
    "accuracy": "1",
    "val_accuracy": "1",
    "train_seconds": "s",
    "eval_seconds": "s",
}
"""Metrics every engine reports beside the cost models' (metric -> unit)."""
ENGINE_SOURCE = "engine"
"""The ``model`` column of a metric an engine measured."""


# ---- parameter values -------------------------------------------------------------------------
def encode(value):
    """A choice as Optuna stores it: lists become JSON strings (``[64, 32]`` -> ``"[64, 32]"``)."""
    import json

    return json.dumps(list(value)) if isinstance(value, (list, tuple)) else value


def decode(value):
    """The inverse of :func:`encode`: JSON list strings become tuples."""
    import json

    if isinstance(value, str) and value.startswith("["):
        return tuple(json.loads(value))
    return value
