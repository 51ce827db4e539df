"""GPU latency and energy from a per-layer roofline (docs/cost-models.md, "GPU timing and energy").

tinySNN measures processing time x power on GPUs (Jetson Nano, RTX 2080 Ti);
this model predicts both from the profile's shapes, so a study can bound GPU
latency before it trains anything. A GPU steps an SNN densely: every layer is
one kernel per timestep, at batch size 1 (the profile's per-sample view).
Per layer l and timestep, on a board with FP32 peak P, bandwidth B and kernel
launch overhead t_0:

.. math::

    t_l = \\max\\left(\\frac{F_l}{P}, \\frac{M_l}{B}\\right) + t_0, \\qquad
    F_l = 2\\,\\mathrm{macs\\_per\\_step}_l, \\qquad
    M_l = \\frac{N^w_l b^w_l}{8} + 4\\,(n^{in}_l + n^{out}_l) + \\sum_k \\frac{N^n_k b^n_k}{8}

(FLOPs count a multiply and an add per MAC; bytes are the weights at their
storage precision, zeros included since a dense kernel reads them, 4-byte
input and output activations, and the neuron state). A training-phase
profile multiplies F and M by 3 (forward, backward, weight update), as
docs/cost-models.md says; the launch overhead is not multiplied. Then

.. math::

    \\mathrm{latency} = T \\sum_l t_l, \\qquad \\mathrm{energy} = \\mathrm{latency} \\times P_{board}

Board figures are in ``gpu_targets.toml`` (peak = 2 x cores x clock; the
launch overheads are assumed). Users add boards without code: see
:mod:`hwmodels.gpu_targets`. Option ``gpu_targets``: the boards to report
(default every known one); each gives ``latency_<board>_s`` and
``energy_<board>_j``. Every metric depends on shapes only, so all are static.
"""

from __future__ import annotations

from typing import Any

from ._base import CostModel, Option
from .gpu_targets import ENV_VAR, GpuTarget, builtin, targets
from .memory import layer_bits
from .profile import LayerProfile, Profile
from .validation import Constraint, Invalid, ListOf, String

ACTIVATION_BYTES = 4
TRAINING_FACTOR = 3


class TargetNames(Constraint):
    """None (every known board), a name, or a non-empty list of known names;
    normalised to a tuple without repeats (or None)."""

    def describe(self) -> str:
        return "a list of GPU target names"

    def check(self, value: Any) -> tuple[str, ...] | None:
        if value is None:
            return None
        try:
            names = NAMES.check([value] if isinstance(value, str) else value)
        except Invalid:
            raise self.fail(value) from None
        known = targets()
        unknown = [n for n in names if n not in known]
        if unknown:
            raise Invalid(f"GPU target names among {', '.join(known)}", value,
                          message=f"unknown GPU target(s) {', '.join(map(repr, unknown))}; valid: {', '.join(known)} "
                                  f"(add a board in a TOML file named by ${ENV_VAR})")
        return tuple(dict.fromkeys(names))


NAMES = ListOf(String(), min_len=1)


def chosen(gpu_targets: tuple[str, ...] | None) -> list[GpuTarget]:
    known = targets()
    return list(known.values()) if gpu_targets is None else [known[n] for n in gpu_targets]


def flops_and_bytes(layer: LayerProfile, phase: str) -> tuple[float, float]:
    """FLOPs and bytes of one layer's kernel for one timestep."""
    flops = 2.0 * layer.macs_per_step
    moved = layer_bits(layer, "dense") / 8 \
        + ACTIVATION_BYTES * (layer.n_inputs + layer.n_neurons)
    factor = TRAINING_FACTOR if phase == "training" else 1
    return flops * factor, moved * factor


def step_seconds(flops: float, moved: float, board: GpuTarget) -> float:
    """Roofline time of one kernel: compute- or memory-bound, plus the launch."""
    return max(flops / board.peak_flop_per_s, moved / board.bandwidth_byte_per_s) + board.launch_s


def _metrics(boards: list[GpuTarget]) -> dict[str, str]:
    out = {}
    for board in boards:
        out[board.latency_metric] = "s"
        out[board.energy_metric] = "J"
    return out


class GpuModel(CostModel):
    name = "gpu"
    metrics = _metrics(list(builtin().values()))
    """The metrics of the built-in boards; :meth:`metrics_for` gives the chosen ones."""
    options = {
        "gpu_targets": Option(None, TargetNames(),
                              f"boards to report (null = all: {', '.join(builtin())} "
                              f"and any in ${ENV_VAR})"),
    }

    def metrics_for(self, gpu_targets: tuple[str, ...] | None = None, **_: object) -> dict[str, str]:
        return _metrics(chosen(gpu_targets))

    def notes(self, gpu_targets: tuple[str, ...] | None = None, **_: object) -> dict[str, str]:
        return {metric: board.description for board in chosen(gpu_targets) if board.description
                for metric in (board.latency_metric, board.energy_metric)}

    def is_static(self, metric: str) -> bool:
        """Every latency and energy depends on shapes alone."""
        return metric in _metrics(list(targets().values()))

    def is_additive(self, metric: str) -> bool:
        """Latency and energy are sums over layers."""
        return self.is_static(metric)

    def layer_estimates(self, profile: Profile, gpu_targets: tuple[str, ...] | None = None, **_: object):
        boards = chosen(gpu_targets)
        steps = profile.timesteps
        out = {}
        for layer in profile.layers:
            flops, moved = flops_and_bytes(layer, profile.phase)
            values = {}
            for board in boards:
                seconds = steps * step_seconds(flops, moved, board)
                values[board.latency_metric] = seconds
                values[board.energy_metric] = seconds * board.power_w
            out[layer.name] = values
        return out
