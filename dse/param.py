"""One searched parameter of a study: a list of choices, or a numeric range."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Param:
    """A ``[space]`` entry: ``choices``, or ``low``/``high`` with ``log`` or ``step``.

    ``kind`` is the key's kind (:class:`dse.keys.Key`), which says how Optuna samples it.
    """

    name: str
    kind: str
    choices: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None

    @property
    def discrete(self) -> bool:
        return self.choices is not None or self.kind == "int" or self.step is not None

    def values(self) -> list[Any]:
        """Every value (discrete parameters only)."""
        if self.choices is not None:
            return list(self.choices)
        step = self.step or 1
        n = int(math.floor((self.high - self.low) / step + 1e-9)) + 1
        values = [self.low + i * step for i in range(n)]
        return [int(v) for v in values] if self.kind == "int" else values

    def size(self) -> float:
        """How many values (infinite for a continuous range)."""
        if not self.discrete:
            return math.inf
        if self.choices is not None:
            return len(self.choices)
        return math.floor((self.high - self.low) / (self.step or 1) + 1e-9) + 1

    def extremes(self) -> list[Any]:
        """Every choice, or both ends of a range."""
        if self.choices is not None:
            return list(self.choices)
        lo, hi = (self.low, self.high) if self.kind == "float" else (int(self.low), int(self.high))
        return [lo] if lo == hi else [lo, hi]

    def fixed(self) -> bool:
        return self.choices is not None and len(self.choices) == 1

    @classmethod
    def one(cls, name: str, kind: str, value: Any) -> "Param":
        """A parameter fixed to one value (a one-element choice)."""
        return cls(name, kind, choices=(value,))


def neutral(param: Param, default: Any) -> Any:
    """A value of `param` that keeps a key out of the way while others are searched: the key's
    default where `param` allows it, else the allowed value nearest to it (the first choice
    where nothing is nearer)."""
    if param.choices is not None:
        if default in param.choices:
            return default
        numeric = [c for c in param.choices if isinstance(c, (int, float)) and not isinstance(c, bool)]
        if numeric and isinstance(default, (int, float)) and not isinstance(default, bool):
            return min(numeric, key=lambda c: abs(c - default))
        return param.choices[0]
    if isinstance(default, (int, float)) and not isinstance(default, bool):
        value = min(max(default, param.low), param.high)
        return int(value) if param.kind == "int" else float(value)
    return param.low
