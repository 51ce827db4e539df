"""Reading a spec file and checking every section, in order, before anything runs."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any, Mapping

from ..engines._base import GUARD_KEYS
from ._checker import Checker
from ._rules import check_grid, check_rules
from ._sections import constraints_section, hardware_section, objectives_section, train_section
from ._space import space_section
from ._stages import stages_section
from ._study import study_section
from ._variants import variants_section
from .model import SECTIONS, StudySpec

MAX_BYTES = 1_000_000
"""A spec is a page of TOML; anything larger is refused before parsing."""


def load_spec(path: str | Path, **overrides: Any) -> StudySpec:
    """Read and check a study spec. `overrides` (from the command line) win over the file."""
    shown = str(path)
    check = Checker(shown)
    try:
        size = Path(path).stat().st_size
        if size > MAX_BYTES:
            raise check.fail("", f"{size} bytes is too large for a study spec (at most {MAX_BYTES})")
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise check.fail("", "no such file") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise check.fail("", f"cannot read the file ({exc.__class__.__name__})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise check.fail("", f"not valid TOML: {exc}") from None
    return parse_spec(data, shown, **overrides)


def parse_spec(data: Mapping[str, Any], path: str = "<spec>", **overrides: Any) -> StudySpec:
    """Check a parsed TOML document (a dict of sections) into a StudySpec."""
    check = Checker(path)
    unknown = [k for k in data if k not in SECTIONS]
    if unknown:
        raise check.fail(f"[{unknown[0]}]", f"unknown section; valid sections: {', '.join(SECTIONS)}")
    study = check.table(data, "study")
    spec = study_section(check, study, overrides)
    train = train_section(check, check.table(data, "train"), spec.engines)
    guards = {key: train.pop(key) for key in GUARD_KEYS}  # limits, not training settings
    spec = replace(spec, space=space_section(check, check.table(data, "space"), spec.engines), train=train, **guards)
    spec = replace(spec, variants=variants_section(check, check.table(data, "variants"), spec.engines,
                                                   tuple(spec.train.get("eval_timesteps", ()))))
    models, options = hardware_section(check, check.table(data, "hardware"))
    spec = replace(spec, hardware_models=models, hardware_options=options)
    sampler_given = "sampler" in study or overrides.get("sampler") is not None
    spec = objectives_section(check, check.table(data, "objectives"), spec, sampler_given)
    spec = replace(spec, constraints=constraints_section(check, check.table(data, "constraints"), spec))
    spec = stages_section(check, study, spec, sampler_given)
    if spec.sampler == "grid":
        check_grid(check, spec)
    check_rules(check, spec)
    return spec
