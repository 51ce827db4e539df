"""Where a spec check failed: the file, the key path, what was expected."""

from __future__ import annotations

from typing import Any, Mapping

from hwmodels.validation import Constraint, Invalid, show

from ..errors import SpecError
from ..keys import Key


class Checker:
    """Carries the file name so each check can say where it failed."""

    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, key: str, message: str) -> SpecError:
        return SpecError(self.path, key, message)

    def table(self, data: Mapping[str, Any], section: str) -> dict[str, Any]:
        value = data.get(section, {})
        if not isinstance(value, dict):
            raise self.fail(f"[{section}]", f"expected a table, got {show(value)}")
        return value

    def only(self, table: Mapping[str, Any], where: str, valid: Mapping[str, Any] | tuple) -> None:
        unknown = [k for k in table if k not in valid]
        if unknown:
            raise self.fail(f"{where}.{unknown[0]}" if where else unknown[0],
                            f"unknown key; valid keys: {', '.join(valid)}")

    def value(self, key: Key | Constraint, value: Any, where: str) -> Any:
        """The value checked by a key or constraint, or a SpecError at `where`."""
        try:
            return key.check(value)
        except Invalid as exc:
            raise self.fail(where, exc.message) from None
