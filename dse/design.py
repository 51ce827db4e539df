"""From parameter values to a :class:`~dse.engines.Design`: defaults, checks, expansion.

Keys a spec does not search take the engine's default, so an engine reads
plain fields and never guesses. Keys the engine *expands* (e.g. ``ops``: one
operation per cell edge) are derived by its ``expand`` hook, which samples
each item through a ``pick(name, param)`` callback: Optuna's suggest while a
study runs, a fixed value or an extreme when the spec is checked.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Mapping

from . import engines
from .engines import Design
from .param import Param

Pick = Callable[[str, Param], Any]
"""``pick(name, param)``: a value for the parameter called `name`, drawn like `param`."""


def make_design(engine_name: str, params: Mapping[str, Any], pick: Pick | None = None,
                spec_params: Mapping[str, Param] | None = None) -> Design:
    """A Design from parameter values, checked against the key declarations.

    Missing keys take the engine's defaults. `pick` samples the items of
    expanded keys (default: the value of that key given in `params`, or its
    default, for every item); `spec_params` are the spec's parameters by key.
    """
    engine = engines.get(engine_name)
    keys = engine.all_keys
    unknown = [name for name in params if name not in keys]
    if unknown:
        raise ValueError(f"engine {engine_name!r} has no key {unknown[0]!r}")
    values = {name: keys[name].check(value) for name, value in params.items() if name not in engine.expanded}
    design = engine.design(**values)
    return design if engine.expand is None else _expand(engine, design, params, pick, spec_params)


def _expand(engine: engines.Engine, design: Design, params: Mapping[str, Any], pick: Pick | None,
            spec_params: Mapping[str, Param] | None) -> Design:
    """The design with its expanded keys derived by the engine's ``expand`` hook."""
    keys = engine.all_keys
    explicit = {k: tuple(params[k]) for k in engine.expanded if isinstance(params.get(k), (list, tuple))}
    design = replace(design, **explicit)  # per-item values given directly: expand checks them
    fixed = {k: keys[k].check(params[k]) if k in params else keys[k].default
             for k in engine.expanded if k not in explicit}
    pick = pick or (lambda name, param: fixed.get(param.name, getattr(design, param.name, None)))
    spec_params = dict(spec_params or {})
    for key in engine.expanded:  # a fixed value behaves as a one-element choice
        if key not in spec_params and key not in explicit:
            spec_params[key] = Param.one(key, keys[key].kind, fixed[key])
    return replace(design, **engine.expand(design, pick, spec_params))
