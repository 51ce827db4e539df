"""Rules across keys, checked over the whole space before anything runs.

Each engine's ``check(design)`` hook (:class:`dse.engines.DesignError`) runs on
every discrete combination of the ``[space]`` (or, when there are more than
:data:`LIMIT`, on the corners: every choice and both ends of every range),
so a space that holds a design the engine cannot train is refused at load time,
naming the keys involved, instead of failing trial after trial.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Iterator

from .. import engines
from ..design import make_design
from ..engines import Design, DesignError
from ..param import Param
from ._checker import Checker
from .model import StudySpec

LIMIT = 4096
"""Designs checked per engine at most."""


def designs(spec: StudySpec, *, corners: bool = False, limit: int = LIMIT) -> Iterator[Design]:
    """Designs of the space, per engine, up to `limit` each: every combination of the
    parameters' values where the space is discrete and small enough (unless
    `corners`), else the extremes (each end of every range, every choice). The
    items of an expanded key (e.g. the operation of every cell edge) take the
    same value together."""
    for engine_name in spec.engines:
        yield from _engine_designs(engine_name, spec.params_for(engine_name), corners, limit)


def _engine_designs(engine_name: str, params: tuple[Param, ...], corners: bool, limit: int,
                    seen: set[tuple[str, str]] | None = None) -> Iterator[Design]:
    expanded = engines.get(engine_name).expanded
    ordinary = [p for p in params if p.name not in expanded]
    families = [p for p in params if p.name in expanded]  # all their items alike
    small = not corners and math.prod(p.size() for p in params) <= limit
    values = _every_value if small else Param.extremes
    combos = itertools.product(itertools.product(*map(values, ordinary)), itertools.product(*map(values, families)))
    by_name = {p.name: p for p in params}
    for plain, family in itertools.islice(combos, limit):
        chosen = {p.name: v for p, v in zip(families, family)}

        def pick(name: str, param: Param) -> object:
            if seen is not None and name != param.name:
                seen.add((param.name, name))  # a per-item parameter, e.g. op_c0_n0_e0 of ops
            return chosen.get(param.name, param.extremes()[0])

        yield make_design(engine_name, dict(zip((p.name for p in ordinary), plain)), pick, by_name)


def _every_value(param: Param) -> list:
    return param.values() if param.discrete else param.extremes()


def check_rules(check: Checker, spec: StudySpec) -> None:
    """Refuse a space holding a design its engine's rules reject."""
    for design in designs(spec):
        try:
            engines.get(design.engine).validate(design)
        except DesignError as exc:
            searched = {p.name for p in spec.space}
            where = ", ".join(f"[space].{k}" for k in exc.keys)
            shown = ", ".join(f"{k} = {_plain(getattr(design, k))}"
                              + ("" if k in searched else " (default)") for k in exc.keys)
            raise check.fail(where, f"{exc.message} (the space holds {shown})") from None


def check_grid(check: Checker, spec: StudySpec) -> None:
    if len(spec.engines) > 1:
        raise check.fail("[study].sampler", "the grid sampler needs a single engine (the space differs "
                                            "between engines); use nsga2, tpe or random")
    for param in spec.space:
        if not param.discrete:
            raise check.fail(f"[space].{param.name}",
                             "the grid sampler needs choices, or an integer range, or a step")
    items: set[tuple[str, str]] = set()
    for _ in _engine_designs(spec.engines[0], spec.params_for(spec.engines[0]), True, LIMIT, items):
        pass
    if items:
        key, example = sorted(items)[0]
        raise check.fail(f"[space].{key}", f"the grid sampler cannot search {key}: it becomes one parameter per "
                                           f"item (e.g. {example}), how many depends on other keys; use nsga2, "
                                           f"tpe or random")


def _plain(value: Any) -> str:
    return str(list(value)) if isinstance(value, tuple) else str(value)
