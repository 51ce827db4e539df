"""GPU boards for the ``gpu`` cost model: the packaged table plus the user's.

The built-in boards live in ``gpu_targets.toml`` beside this module. A user adds
a board, or changes a built-in one, without code: a TOML file of tables of the
same shape, named in the environment variable ``HWMODELS_GPU_TARGETS`` (several
files separated by ``os.pathsep``, later files winning). A new board gives all
four numbers; a built-in one named again changes only the fields given::

    # my_boards.toml
    [jetson-orin-nano]
    peak_flop_per_s = 1.28e12
    bandwidth_byte_per_s = 68e9
    power_w = 15.0
    launch_s = 10e-6

Every problem is a ValueError naming the file, the table, the field and what
would be valid.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, fields
from functools import cached_property, lru_cache
from importlib import resources
from typing import Any

from .validation import Constraint, Interval, Invalid, String

ENV_VAR = "HWMODELS_GPU_TARGETS"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True)
class GpuTarget:
    """One board: roofline ceilings, board power and per-kernel overhead."""

    name: str
    peak_flop_per_s: float
    bandwidth_byte_per_s: float
    power_w: float
    launch_s: float
    description: str = ""

    @cached_property
    def key(self) -> str:
        """The name as it appears in metric names ('-' -> '_')."""
        return self.name.replace("-", "_")

    @cached_property
    def latency_metric(self) -> str:
        return f"latency_{self.key}_s"

    @cached_property
    def energy_metric(self) -> str:
        return f"energy_{self.key}_j"


FIELDS: dict[str, Constraint] = {
    "peak_flop_per_s": Interval(float, 0, None, closed="neither"),
    "bandwidth_byte_per_s": Interval(float, 0, None, closed="neither"),
    "power_w": Interval(float, 0, None, closed="neither"),
    "launch_s": Interval(float, 0, None),
    "description": String(),
}
"""Each field of a board table and what it accepts; all but the description are required of a new board."""
NUMBERS = tuple(key for key in FIELDS if key != "description")


def _board(name: str, entry: Any, old: GpuTarget | None, where: str) -> GpuTarget:
    """One table checked field by field, over the board it changes (if any)."""
    if not NAME_RE.match(name):
        raise Invalid("lower-case letters, digits, '-' or '_'", name, where,
                      message="a target name needs lower-case letters, digits, '-' or '_'")
    if not isinstance(entry, dict):
        raise Invalid(f"a table with {', '.join(NUMBERS)}", entry, where)
    unknown = sorted(set(entry) - set(FIELDS))
    if unknown:
        raise Invalid(f"fields among {', '.join(FIELDS)}", unknown, where,
                      message=f"unknown field(s) {', '.join(unknown)}; valid: {', '.join(FIELDS)}")
    values = {f.name: getattr(old, f.name) for f in fields(GpuTarget)} if old else {}
    missing = [key for key in NUMBERS if key not in entry and key not in values]
    if missing:
        raise Invalid(", ".join(missing), None, where, message=f"a new target needs {', '.join(missing)}")
    for key, value in entry.items():
        try:
            values[key] = FIELDS[key].check(value)
        except Invalid as exc:
            raise exc.at(f"{where}.{key}") from None
    return GpuTarget(**{**values, "name": name})


def _merge(boards: dict[str, GpuTarget], table: dict[str, Any], origin: str) -> None:
    """Check the tables of one file and merge them over `boards` (in place)."""
    for name, entry in table.items():
        boards[name] = _board(name, entry, boards.get(name), f"{origin}: [{name}]")
    keys: dict[str, str] = {}
    for name, board in boards.items():
        if board.key in keys:
            raise Invalid("distinct metric names", name, origin,
                          message=f"targets {keys[board.key]!r} and {name!r} would share the metric names "
                                  f"{board.latency_metric}, {board.energy_metric}; rename one")
        keys[board.key] = name


def _read(path: str) -> dict[str, Any]:
    where = f"{ENV_VAR}={path}"
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ValueError(f"{where}: cannot read the GPU target file: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{where}: not valid TOML: {exc}") from None


@lru_cache(maxsize=1)
def builtin() -> dict[str, GpuTarget]:
    """The packaged boards alone."""
    text = resources.files(__package__).joinpath("gpu_targets.toml").read_text(encoding="utf-8")
    boards: dict[str, GpuTarget] = {}
    _merge(boards, tomllib.loads(text), "hwmodels/gpu_targets.toml")
    return boards


@lru_cache(maxsize=8)
def _load(spec: str, stamps: tuple[int, ...]) -> dict[str, GpuTarget]:
    boards = dict(builtin())
    for path in filter(None, spec.split(os.pathsep)):
        _merge(boards, _read(path), f"{ENV_VAR}={path}")
    return boards


def _stamp(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1  # reported by _read, with the reason


def targets() -> dict[str, GpuTarget]:
    """Every board: built-ins, then the files named in ``$HWMODELS_GPU_TARGETS``.

    Re-read when the variable or a file's modification time changes.
    """
    spec = os.environ.get(ENV_VAR, "")
    if not spec:
        return builtin()
    return _load(spec, tuple(_stamp(p) for p in filter(None, spec.split(os.pathsep))))
