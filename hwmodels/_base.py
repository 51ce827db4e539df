"""The cost-model protocol: a name, metrics with units, options, and estimate().

A model that adds up over layers implements :meth:`CostModel.layer_estimates`;
its totals (and :func:`hwmodels.breakdown`) then come for free. Anything else
overrides :meth:`CostModel.estimate`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Mapping

from .profile import Profile
from .validation import Constraint, Interval, Invalid, show


class Legacy(Constraint):
    """A plain callable used as an option's check (the form before :mod:`hwmodels.validation`):
    its ValueError or TypeError becomes :class:`Invalid`."""

    def __init__(self, func: Callable[[Any], Any]) -> None:
        self.func = func

    def describe(self) -> str:
        return f"a value {getattr(self.func, '__name__', 'the check')} accepts"

    def check(self, value: Any) -> Any:
        try:
            return self.func(value)
        except Invalid:
            raise
        except (ValueError, TypeError) as exc:
            raise Invalid(self.describe(), value, message=f"expected {self.describe()}, got {show(value)} "
                                                          f"({exc})") from None


@dataclass(frozen=True, init=False)
class Option:
    """A model option: its default, the :class:`~hwmodels.Constraint` its value meets
    (``Interval``, ``StrOptions``, ``Boolean``, ``String``, ``ListOf`` or your own) and
    one line of help for ``dse models``.

    ``Option(default, constraint, help)``; a plain callable that returns the
    normalised value or raises ValueError is still accepted in the constraint's place.
    """

    default: Any
    constraint: Constraint
    help: str

    def __init__(self, default: Any, constraint: Constraint | Callable[[Any], Any] | None = None,
                 help: str = "", *, check: Callable[[Any], Any] | None = None) -> None:
        constraint = constraint if constraint is not None else check
        if constraint is None:
            raise TypeError("hwmodels.Option needs a constraint, e.g. Option(1.0, Interval(float, 0, None), '...')")
        if not isinstance(constraint, Constraint):
            constraint = Legacy(constraint)
        object.__setattr__(self, "default", default)
        object.__setattr__(self, "constraint", constraint)
        object.__setattr__(self, "help", help)

    def check(self, value: Any) -> Any:
        """The value normalised, or :class:`Invalid`."""
        return self.constraint.check(value)


POSITIVE = Interval(float, 0, None, closed="neither")
NON_NEGATIVE = Interval(float, 0, None)


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
            try:
                resolved[key] = option.check(given.get(key, option.default))
            except Invalid as exc:
                raise exc.at(f"option {key!r} of model {self.name!r}") from None
        return resolved
