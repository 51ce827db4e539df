"""Search keys of the TTFS engine (Contract 4, Park & Yoon seed; docs/engines.md section 3).

Defaults follow the seed's initial values (``tau_0 = 10``, ``t_d0 = 0``,
``T_w = 32``, ``theta0 = 1``, so ``x_M = 1``) and docs/engines.md section 4's
digits network (64-256-256-10). The three training aids default to off (0);
a study turns them on.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from .._base import DesignError
from ..layer_bits import expand_layer_bits
from ...keys import Key

VGG16_CONV = (64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0)
"""VGG-16's 13 convolutions and 5 pools (Simonyan & Zisserman, configuration D), the TTFS seed's network."""
VGG16_HIDDEN = (512, 512)
"""Its two hidden dense layers as CIFAR networks size them (the seed's table: 280,586 neurons
= 3,072 input + 276,480 conv + 2 x 512 + 10, its spikes / sparsity ratio), so with the
readout 16 weight layers and 544 = 17 x 32 steps."""

KEYS: dict[str, Key] = {k.name: k for k in (
    Key("hidden", "ints", (256, 256), "widths of the dense hidden layers (after any conv stack); "
        '"vgg16" = [512, 512]', low=1, high=65536, min_len=0, presets=(("vgg16", VGG16_HIDDEN),)),
    Key("conv", "ints", (), "VGG-style 3x3 conv stack: channel widths, 0 = 2x2 max-pool "
        '(e.g. [16, 0, 32, 0]); empty = a dense network; "vgg16" = VGG-16\'s 13 convolutions and 5 pools',
        low=0, high=4096, min_len=0, presets=(("vgg16", VGG16_CONV),)),
    Key("input_coding", "str", "analog", "how pixels reach layer 1: analog (docs/engines.md: W x added to "
        "V once) or ttfs (each pixel a first-spike time through its own kernel, the paper's text)",
        options=("analog", "ttfs")),
    Key("window", "int", 32, "time window T_w: steps (spike-time levels) per layer", low=2, high=4096),
    Key("tau", "float", 10.0, "initial time constant tau_0 of every layer's temporal kernel",
        low=1e-2, high=1e4),
    Key("t_d", "float", 0.0, "initial time delay t_d0 of every layer's temporal kernel",
        low=-1e4, high=1e4),
    Key("theta0", "float", 1.0, "initial threshold: the dynamic threshold is theta0 * eps(t)",
        low=1e-6, high=1e6),
    Key("relaxation", "int", 0, "stochastic relaxation: target epoch e_target (0 = off)",
        low=0, high=1_000_000),
    Key("kernel_reg", "float", 0.0, "lambda_TR, weight of the L2 pull of tau, t_d to their "
        "initial values (0 = off)", low=0.0, high=1e6),
    Key("kernel_bn", "float", 0.0, "lambda_TB, weight of the kernel-aware batch-norm term "
        "(0 = off)", low=0.0, high=1e6),
)}

TRAIN_KEYS: dict[str, Key] = {k.name: k for k in (
    Key("kernel_epoch", "int", 20, "epoch (0-based) from which tau and t_d train and the TR/TB "
        "terms apply (the seed: 50 of 2000 on CIFAR-10; docs/engines.md section 4: 20 of ~200)",
        low=0, high=1_000_000),
)}


def check(design) -> None:
    """A 0 in ``conv`` is a 2x2 max-pool of the convolution before it: it needs one."""
    previous = None
    for i, width in enumerate(design.conv):
        if width == 0 and previous in (None, 0):
            raise DesignError(("conv",), f"conv {list(design.conv)}: a 0 (2x2 max-pool) must follow a "
                                         f"convolution (position {i})")
        previous = width


def weight_layers(design) -> int:
    """Weight layers: each convolution (a 0 in ``conv`` is a pool), each hidden layer, the readout."""
    return sum(1 for width in design.conv if width) + len(design.hidden) + 1


def expand(design, pick: Callable[[str, Any], Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """``layer_bits = true``: one ``weight_bits_l{i}`` per weight layer (:mod:`dse.engines.layer_bits`)."""
    return expand_layer_bits(design, weight_layers(design), pick, params)
