"""The ``[variants]`` section: design points read off every trained network without retraining.

``weight_bits`` and ``rounding`` quantise the trained float weights after
training (every combination of the two lists), ``pruning`` prunes them by
magnitude at a higher rate, ``timesteps`` evaluates them at another T. Each
value is checked by the key's own declaration; ``[train] eval_timesteps``,
the older spelling, adds to ``timesteps``.
"""

from __future__ import annotations

from typing import Any

from hwmodels.validation import show

from .. import engines
from ..engines import VARIANT_KEYS
from ._checker import Checker


def variants_section(check: Checker, table: dict[str, Any], engine_names: tuple[str, ...],
                     eval_timesteps: tuple[int, ...]) -> dict[str, tuple[Any, ...]]:
    check.only(table, "[variants]", VARIANT_KEYS)
    table = dict(table)
    if eval_timesteps:
        table["timesteps"] = [*table.get("timesteps", []), *eval_timesteps]
    out = {}
    for name, values in table.items():
        where = f"[variants].{name}"
        able = [e for e in engine_names if name in engines.get(e).variant_keys]
        if not able:
            which = " or ".join(f'"{e}"' for e in engine_names)
            raise check.fail(where, f"engine {which} cannot evaluate {name} variants of a trained network")
        if not isinstance(values, list) or not values:
            raise check.fail(where, f"expected a non-empty list of values, got {show(values)}")
        key = engines.get(able[0]).all_keys[name]
        out[name] = tuple(dict.fromkeys(check.value(key, v, where) for v in values))
    return out
