"""Event counts measured on the test split, and the Profile layers they make.

Both gradient engines count, per population, the events reaching it, the
spikes it emits and the synaptic operations those events cause; this is the
one place that turns those sums into measured :class:`hwmodels.LayerProfile`\\ s.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from hwmodels import LayerProfile


@dataclass
class Activity:
    """Per-population event counts summed over the samples seen (the readout last).

    ``synops`` counts, for every input event, the nonzero weights it reaches:
    the exact synaptic operations, pruning, padding and stride included.
    """

    input_events: list[float]
    output_spikes: list[float]
    synops: list[float]
    samples: int = 0
    input_spikes: float = 0.0
    """Spikes of an input population (TTFS with spike-coded pixels; 0 where the input is values)."""

    per_step: bool = False
    """Counts kept per timestep (1-D arrays, step t at index t), so that one run of T steps gives the counts
    of every shorter run (:meth:`prefix`): an input that is the same at every step, run deterministically,
    makes the first t steps of a longer run exactly the run of t steps."""

    @classmethod
    def empty(cls, n_layers: int, per_step: bool = False) -> "Activity":
        return cls([0.0] * n_layers, [0.0] * n_layers, [0.0] * n_layers, per_step=per_step)

    def add(self, field: str, layer: int, counts) -> None:
        """Add `counts` (a 1-D array: per timestep, or one total) to the layer's `field`."""
        values = getattr(self, field)
        values[layer] = values[layer] + (counts if self.per_step else float(counts.sum()))

    def prefix(self, steps: int) -> "Activity":
        """The totals of the first `steps` timesteps of a per-step activity."""
        def total(values: list) -> list[float]:
            return [float(v[:steps].sum()) if hasattr(v, "sum") else float(v) for v in values]

        return Activity(total(self.input_events), total(self.output_spikes), total(self.synops), self.samples,
                        self.input_spikes)

    def measured(self, static: tuple[LayerProfile, ...], nonzero: list[int]) -> tuple[LayerProfile, ...]:
        """The static layers with the trained network's nonzero weights and these counts per sample.

        ``fan_out`` becomes event-weighted: input_events x fan_out is the measured
        count of (event, nonzero synapse) pairs, the SynOps of a spiking input.
        A layer no event reached keeps the static average over the weights left.
        """
        n = max(1, self.samples)
        layers = []
        for i, (layer, kept) in enumerate(zip(static, nonzero)):
            if self.input_events[i]:
                fan_out = self.synops[i] / self.input_events[i]
            else:
                fan_out = layer.fan_out * kept / layer.n_nonzero if layer.n_nonzero else 0.0
            layers.append(replace(
                layer,
                n_nonzero=kept,
                fan_out=fan_out,
                input_events=self.input_events[i] / n,
                output_spikes=self.output_spikes[i] / n,
            ))
        return tuple(layers)
