"""The ``[space]`` section: each entry a list of choices or a numeric range."""

from __future__ import annotations

from typing import Any

from hwmodels.validation import Boolean, Interval, show

from .. import engines
from ..keys import Key
from ..param import Param
from ._checker import Checker

RANGE_KEYS = ("low", "high", "log", "step")


def space_section(check: Checker, table: dict[str, Any], engine_names: tuple[str, ...]) -> tuple[Param, ...]:
    per_engine = {e: engines.get(e).all_keys for e in engine_names}
    valid = list(dict.fromkeys(k for keys in per_engine.values() for k in keys))
    params = []
    if len(engine_names) > 1:
        params.append(Param("engine", "str", choices=tuple(engine_names)))
    for name, entry in table.items():
        where = f"[space].{name}"
        owners = [keys[name] for keys in per_engine.values() if name in keys]
        if not owners:
            which = " or ".join(f'"{e}"' for e in engine_names)
            raise check.fail(where, f"engine {which} has no such key; valid keys: {', '.join(valid)}")
        param = parse_param(check, where, name, entry, owners[0])
        for other in owners[1:]:  # a key shared by several engines must suit each of them
            parse_param(check, where, name, entry, other)
        params.append(param)
    return tuple(params)


def parse_param(check: Checker, where: str, name: str, entry: Any, key: Key) -> Param:
    if not isinstance(entry, dict):
        raise check.fail(where, "expected a table: { choices = [...] } or { low = ..., high = ... }")
    if "choices" in entry:
        return _choices(check, where, name, entry, key)
    return _range(check, where, name, entry, key)


def _choices(check: Checker, where: str, name: str, entry: dict[str, Any], key: Key) -> Param:
    check.only(entry, where, ("choices",))
    choices = entry["choices"]
    if not isinstance(choices, list) or not choices:
        raise check.fail(where, f"choices must be a non-empty list, got {show(choices)}")
    values = tuple(check.value(key, c, where) for c in choices)
    if len(set(values)) != len(values):
        raise check.fail(where, "choices must not repeat a value")
    return Param(name, key.kind, choices=values)


def _range(check: Checker, where: str, name: str, entry: dict[str, Any], key: Key) -> Param:
    check.only(entry, where, RANGE_KEYS)
    if not key.numeric:
        raise check.fail(where, f"a range needs a numeric key; give choices: {key.expected()}")
    if "low" not in entry or "high" not in entry:
        raise check.fail(where, "a range needs both low and high (or give choices = [...])")
    low = check.value(key, entry["low"], f"{where}.low")
    high = check.value(key, entry["high"], f"{where}.high")
    if low > high:
        raise check.fail(where, f"low ({low:g}) must not exceed high ({high:g})")
    log = check.value(Boolean(), entry.get("log", False), f"{where}.log")
    if log and low <= 0:
        raise check.fail(f"{where}.low", f"a log range needs low > 0, got {low:g}")
    step = entry.get("step")
    if step is not None:
        _check_step(check, f"{where}.step", step, key, log)
    return Param(name, key.kind, low=low, high=high, log=log, step=step)


def _check_step(check: Checker, where: str, step: Any, key: Key, log: bool) -> None:
    check.value(Interval(int if key.kind == "int" else float, 0, None, closed="neither"), step, where)
    if log:
        raise check.fail(where, "step and log cannot be combined")
