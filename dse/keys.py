"""Search-space keys: what each one accepts, its default, one line of help.

A :class:`Key` checks one value and returns it normalised, or raises
``ValueError`` with the message ``expected <what>, got <value>`` that the spec
loader prefixes with the file and key path. The shared keys of Contract 4 live
here; each engine declares its own beside them (``dse/engines/<name>/keys.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ROUNDINGS = ("truncate", "nearest", "stochastic")
QUANTIZATIONS = ("ptq", "qat")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class Key:
    """One search-space key.

    kind: "int", "float", "str", "bool" or "ints" (a list of integers).
    low/high bound numbers (and each element of "ints"); `open_high` makes the
    upper bound exclusive. options lists the valid strings.
    """

    name: str
    kind: str
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    open_high: bool = False
    options: tuple[str, ...] = ()
    min_len: int = 1

    @property
    def numeric(self) -> bool:
        return self.kind in ("int", "float")

    def expected(self) -> str:
        if self.kind == "str":
            return "one of " + ", ".join(f'"{o}"' for o in self.options)
        if self.kind == "bool":
            return "true or false"
        noun = {"int": "integers", "float": "numbers", "ints": "lists of integers"}[self.kind]
        return f"{noun} {self._range()}".rstrip()

    def _num(self, value: float) -> str:
        return str(int(value)) if self.kind in ("int", "ints") else f"{value:g}"

    def _range(self) -> str:
        low, high = self.low, self.high
        if low is not None and high is not None:
            return (f"in [{self._num(low)}, {self._num(high)})" if self.open_high
                    else f"{self._num(low)}..{self._num(high)}")
        if low is not None:
            return f">= {self._num(low)}"
        if high is not None:
            return f"<= {self._num(high)}"
        return ""

    def _in_range(self, value: float) -> bool:
        if self.low is not None and value < self.low:
            return False
        if self.high is not None and (value >= self.high if self.open_high else value > self.high):
            return False
        return True

    def check(self, value: Any) -> Any:
        """The value normalised (lists become tuples, ints floats where needed)."""
        ok = False
        if self.kind == "int":
            ok = _is_int(value) and self._in_range(value)
        elif self.kind == "float":
            ok = _is_number(value) and self._in_range(value)
            value = float(value) if ok else value
        elif self.kind == "str":
            ok = isinstance(value, str) and value in self.options
        elif self.kind == "bool":
            ok = isinstance(value, bool)
        elif self.kind == "ints":
            ok = isinstance(value, (list, tuple)) and len(value) >= self.min_len and all(
                _is_int(v) and self._in_range(v) for v in value)
            value = tuple(value) if ok else value
        if not ok:
            raise ValueError(f"expected {self.expected()}, got {_show(value)}")
        return value


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return repr(value)


SHARED_KEYS: dict[str, Key] = {k.name: k for k in (
    Key("weight_bits", "int", 32, "bits of each weight (32 = float32)", low=1, high=32),
    Key("neuron_bits", "int", 32, "bits of membrane potential and threshold (32 = float32)", low=1, high=32),
    Key("rounding", "str", "nearest", "rounding of quantised values", options=ROUNDINGS),
    Key("quantization", "str", "qat", "ptq: quantise after training; qat: in training (tinySNN's ITQ)",
        options=QUANTIZATIONS),
    Key("pruning", "float", 0.0, "fraction of each layer's weights pruned by magnitude",
        low=0.0, high=1.0, open_high=True),
    Key("timesteps", "int", 8, "simulation timesteps per sample", low=1, high=100_000),
)}
