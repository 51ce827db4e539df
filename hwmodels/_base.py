"""The cost-model protocol: a name, metrics with units, options, and estimate().

A model that adds up over layers implements :meth:`CostModel.layer_estimates`;
its totals (and :func:`hwmodels.breakdown`) then come for free. Anything else
overrides :meth:`CostModel.estimate`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Mapping

from .profile import Profile


@dataclass(frozen=True)
class Option:
    """A model option: its default, a checker that returns the normalised value
    or raises ValueError, and one line of help for ``dse models``."""

    default: Any
    check: Callable[[Any], Any]
    help: str


def choice(*values: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in values:
            raise ValueError(f"expected one of {', '.join(map(repr, values))}, got {value!r}")
        return value

    return check


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {value!r}")
    return value


def positive(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"expected a number > 0, got {value!r}")
    return float(value)


def non_negative(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"expected a number >= 0, got {value!r}")
    return float(value)


class CostModel:
    """Base of every cost model. Subclasses set the class attributes."""

    name: ClassVar[str]
    metrics: ClassVar[dict[str, str]]  # metric -> unit
    options: ClassVar[dict[str, Option]] = {}
    additive: ClassVar[frozenset[str]] = frozenset()
    """Metrics that are the sum of their per-layer values."""
    static: ClassVar[frozenset[str]] = frozenset()
    """Metrics that need neither measured spikes nor accuracy, so a study can
    check constraints on them before training."""

    def is_static(self, metric: str) -> bool:
        return metric in self.static

    def is_additive(self, metric: str) -> bool:
        return metric in self.additive

    def metrics_for(self, **options: Any) -> dict[str, str]:
        """The metrics :meth:`estimate` returns under these (resolved) options."""
        return dict(self.metrics)

    def notes(self, **options: Any) -> dict[str, str]:
        """A line on what a metric assumes, where it needs one (shown by ``dse models``)."""
        return {}

    def layer_estimates(self, profile: Profile, **options: Any) -> dict[str, dict[str, float]]:
        """Per-layer values of the additive metrics (``{layer: {metric: value}}``)."""
        return {}

    def estimate(self, profile: Profile, **options: Any) -> dict[str, float]:
        """All metrics for the profile. The default sums :meth:`layer_estimates`."""
        totals = {metric: 0.0 for metric in self.metrics_for(**options) if self.is_additive(metric)}
        for values in self.layer_estimates(profile, **options).values():
            for metric, value in values.items():
                totals[metric] += value
        return totals

    def resolve(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """This model's options: defaults, overridden by `given`, each checked."""
        resolved = {}
        for key, option in self.options.items():
            value = given.get(key, option.default)
            try:
                resolved[key] = option.check(value)
            except ValueError as exc:
                raise ValueError(f"hwmodels: option {key!r} of model {self.name!r}: {exc}") from None
        return resolved
