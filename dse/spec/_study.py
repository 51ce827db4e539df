"""The ``[study]`` section, and command-line overrides checked by the same declarations."""

from __future__ import annotations

from typing import Any, Mapping

from hwmodels.validation import String, show

from .. import engines
from ..data import DATASETS
from ..keys import Key
from ._checker import Checker
from .model import MAX_NAME, MODES, SEARCHES, NAME_RE, PRUNERS, RESERVED_NAMES, SAMPLERS, StudySpec

KEYS: dict[str, Key] = {k.name: k for k in (
    Key("dataset", "str", "digits", "the data set", options=tuple(DATASETS)),
    Key("n_trials", "int", 30, "trained designs to complete", low=1, high=10**7),
    Key("sampler", "str", "nsga2", "Optuna sampler", options=SAMPLERS),
    Key("seed", "int", 0, "seed of the sampler and of every trial", low=0, high=2**31 - 1),
    Key("pruner", "str", "none", "early stopping of hopeless trials", options=PRUNERS),
    Key("prune_margin", "float", 0.02, "pareto pruner: margin added to the optimistic accuracy",
        low=0.0, high=1.0),
    Key("retries", "int", 1, "attempts more for a trial whose worker was lost or interrupted",
        low=0, high=10),
    Key("mode", "str", "joint", "joint: every key at once; sequential: stages of keys in turn (LitE-SNN "
        "Table 4's A + P + Q + T)", options=MODES),
    Key("keep_weights", "str", "all", "which trained networks are kept as Optuna artifacts: all, the Pareto "
        "front's (the others deleted when a run ends) or none", options=("all", "pareto", "none")),
    Key("search", "str", "trials", "trials: train every design; supernet: train one weight-sharing supernet, "
        "trials inherit its weights; differentiable: LitE-SNN's gradient search", options=SEARCHES),
    Key("supernet_epochs", "int", 0, "epochs of the supernet's training (0 = 4 x [train] epochs)",
        low=0, high=100_000),
    Key("finetune_steps", "int", 0, "training steps of an inherited design before its evaluation",
        low=0, high=10**6),
    Key("search_lambda", "float", 5e-10, "differentiable search: weight of the model size (bits) in the loss",
        low=0.0, high=1e6),
    Key("search_mu", "float", 5e-14, "differentiable search: weight of the bit-SynOps in the loss",
        low=0.0, high=1e6),
)}
"""Keys of [study] besides name, engine and description (also the CLI overrides)."""
VALID = ("name", "engine", *KEYS, "stages", "stage_trials", "description", "artifacts")


def study_section(check: Checker, study: dict[str, Any], overrides: Mapping[str, Any]) -> StudySpec:
    """The [study] table with the command line's overrides (``--n-trials`` ...) applied and checked."""
    check.only(study, "[study]", VALID)
    for required in ("name", "engine"):
        if required not in study:
            raise check.fail(f"[study].{required}", "missing; it is required")
    overrides = dict(overrides)
    new_name = overrides.pop("name", None)
    name = _name(check, study["name"]) if new_name is None else _name(check, new_name, "--new-name")
    chosen = _engines(check, study["engine"])
    values = {k: check.value(key, study[k], f"[study].{k}") for k, key in KEYS.items() if k in study}
    for k, value in overrides.items():
        if k not in KEYS:
            raise ValueError(f"no [study] key {k!r} to override; valid: {', '.join(KEYS)}")
        if value is not None:
            values[k] = check.value(KEYS[k], value, f"--{k.replace('_', '-')}")
    description = check.value(String(), study.get("description", ""), "[study].description")
    if values.get("search", "trials") != "trials":
        if chosen != ("surrogate",):
            raise check.fail("[study].search", f"a {values['search']} search needs engine = \"surrogate\", "
                                               f"got {show(study['engine'])}")
        if values.get("mode", "joint") != "joint":
            raise check.fail("[study].search", f"a {values['search']} search needs mode = \"joint\"")
    artifacts = check.value(String(), study.get("artifacts", ""), "[study].artifacts")
    return StudySpec(path=check.path, name=name, engines=chosen, description=description, artifacts=artifacts,
                     **values)


def _name(check: Checker, name: Any, where: str = "[study].name") -> str:
    """A name every database takes as a key and every file system as a file name (its report)."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise check.fail(where, f"expected letters, digits, '-', '_' or '.', starting with a letter "
                                         f"or digit, got {show(name)}")
    if len(name) > MAX_NAME:
        raise check.fail(where, f"expected at most {MAX_NAME} characters, got {len(name)}")
    if name.split(".")[0].upper() in RESERVED_NAMES:
        raise check.fail(where, f"{show(name)} is a device name Windows reserves (CON, PRN, AUX, NUL, "
                                         f"COM1-9, LPT1-9), so no report file can take it; choose another")
    return name


def _engines(check: Checker, engine: Any) -> tuple[str, ...]:
    chosen = engine if isinstance(engine, list) and engine else [engine]
    for engine_name in chosen:
        if engine_name not in engines.names():
            quoted = ", ".join(f'"{e}"' for e in engines.names())
            raise check.fail("[study].engine", f"expected one of {quoted} (or a list of them), got {show(engine)}")
    if len(set(chosen)) != len(chosen):
        raise check.fail("[study].engine", f"an engine is listed twice: {show(engine)}")
    return tuple(chosen)
