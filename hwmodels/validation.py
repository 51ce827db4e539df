"""Declared constraints on values, one message shape, structured errors.

The one validation vocabulary of snn-dse: cost-model options, GPU target files,
profiles (here) and the explorer's search keys and spec tables (``dse``) all
declare what they accept with these constraints, in the style of
scikit-learn's ``Interval`` / ``StrOptions``. A constraint's :meth:`check`
returns the value normalised or raises :class:`Invalid`, which carries what
was expected, what was found and where; callers add the place with
:meth:`Invalid.at` and format it, never cut strings apart::

    >>> Interval(int, 1, 32).check(64)
    Traceback (most recent call last):
    hwmodels.validation.Invalid: expected integers 1..32, got 64

Plug-in cost models use them for their own options (``hwmodels.Option``).
NaN and infinity never pass a numeric constraint.
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass
from typing import Any, Iterable


class Invalid(ValueError):
    """A value that breaks a constraint.

    ``expected`` says what would be valid ("integers 1..32"), ``got`` is the
    value found, ``where`` the place (a key path, a file and key) or "".
    ``str()`` gives ``"<where>: expected <expected>, got <got>"``.
    """

    def __init__(self, expected: str, got: Any = None, where: str = "", *, message: str | None = None) -> None:
        self.expected = expected
        self.got = got
        self.where = where
        self.message = message if message is not None else f"expected {expected}, got {show(got)}"
        super().__init__(f"{where}: {self.message}" if where else self.message)

    def at(self, where: str) -> "Invalid":
        """The same error at a place; an inner place is appended (``where.inner``)."""
        place = f"{where}.{self.where}" if self.where and where else (where or self.where)
        return Invalid(self.expected, self.got, place, message=self.message)


def show(value: Any) -> str:
    """A value as a spec writer wrote it: strings quoted, true/false, [lists]."""
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {show(v)}" for k, v in value.items()) + "}"
    return repr(value)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """An int or float that is finite (NaN and infinity are not numbers here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class Constraint(abc.ABC):
    """What a value must be. Subclasses implement :meth:`check` and :meth:`describe`."""

    @abc.abstractmethod
    def check(self, value: Any) -> Any:
        """The value normalised, or :class:`Invalid`."""

    @abc.abstractmethod
    def describe(self) -> str:
        """What would be valid, as a noun phrase: "integers 1..32"."""

    def fail(self, value: Any) -> Invalid:
        return Invalid(self.describe(), value)


@dataclass(frozen=True)
class Interval(Constraint):
    """Numbers (``float``) or integers (``int``) between bounds.

    ``closed`` is "both", "left", "right" or "neither" (which bounds belong to
    the interval); a bound of None is unbounded on that side.
    """

    type: type
    low: float | None = None
    high: float | None = None
    closed: str = "both"

    def _num(self, value: float) -> str:
        return str(int(value)) if self.type is int else f"{value:g}"

    def describe(self, noun: str | None = None) -> str:
        noun = noun or ("integers" if self.type is int else "numbers")
        low, high = self.low, self.high
        left_open, right_open = self.closed in ("right", "neither"), self.closed in ("left", "neither")
        if low is not None and high is not None:
            if not left_open and not right_open:
                return f"{noun} {self._num(low)}..{self._num(high)}"
            return f"{noun} in {'(' if left_open else '['}{self._num(low)}, {self._num(high)}{')' if right_open else ']'}"
        if low is not None:
            return f"{noun} {'>' if left_open else '>='} {self._num(low)}"
        if high is not None:
            return f"{noun} {'<' if right_open else '<='} {self._num(high)}"
        return noun

    def contains(self, value: float) -> bool:
        if self.low is not None and (value <= self.low if self.closed in ("right", "neither") else value < self.low):
            return False
        if self.high is not None and (value >= self.high if self.closed in ("left", "neither") else value > self.high):
            return False
        return True

    def check(self, value: Any) -> Any:
        ok = is_int(value) if self.type is int else is_number(value)
        if not ok or not self.contains(value):
            raise self.fail(value)
        return int(value) if self.type is int else float(value)


@dataclass(frozen=True)
class StrOptions(Constraint):
    """One string among ``options``."""

    options: tuple[str, ...]

    def __init__(self, options: Iterable[str]) -> None:
        object.__setattr__(self, "options", tuple(options))

    def describe(self) -> str:
        return "one of " + ", ".join(f'"{o}"' for o in self.options)

    def check(self, value: Any) -> str:
        if not isinstance(value, str) or value not in self.options:
            raise self.fail(value)
        return value


@dataclass(frozen=True)
class Boolean(Constraint):
    def describe(self) -> str:
        return "true or false"

    def check(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise self.fail(value)
        return value


@dataclass(frozen=True)
class String(Constraint):
    """Any string up to ``max_len`` characters."""

    max_len: int = 10_000

    def describe(self) -> str:
        return "a string"

    def check(self, value: Any) -> str:
        if not isinstance(value, str) or len(value) > self.max_len:
            raise self.fail(value)
        return value


@dataclass(frozen=True)
class ListOf(Constraint):
    """A list (or tuple) of values each meeting ``item``, of length ``min_len``..``max_len``;
    returned as a tuple of the normalised items."""

    item: Constraint
    min_len: int = 0
    max_len: int | None = None

    def describe(self) -> str:
        return f"lists of {self.item.describe()}"

    def check(self, value: Any) -> tuple:
        if not isinstance(value, (list, tuple)) or len(value) < self.min_len \
                or (self.max_len is not None and len(value) > self.max_len):
            raise self.fail(value)
        try:
            return tuple(self.item.check(v) for v in value)
        except Invalid:
            raise self.fail(value) from None

