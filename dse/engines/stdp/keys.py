"""Search keys and [train] keys of the STDP engine (Contract 4, tinySNN seed).

Search keys (``[space]``): ``network``, ``n_neurons``, ``inhibition``,
``update_interval``; the shared ``timesteps`` is the number of 1 ms steps each
sample is presented. [train] keys tune the learning of small data sets; their
defaults, and why, are in :data:`TRAIN_KEYS` and the README's STDP section.

Sources (docs/engines.md section 1): inhibition 17.5 is BindsNET's class default
(its MNIST example passes 120) and tinySNN's w_inh; the update interval T_u = 50,
Eq. 1's S_th = 10 and the form of Eq. 2 are *assumed* (the seed gives neither
values nor equations); nu = (1e-4, 1e-2), theta_plus = 0.05 and the 128 Hz
input are BindsNET's. ``norm`` and ``eta`` differ from the MNIST values [P]:
see the README for the measurements behind them. ``sl-stdp`` (docs/engines.md
section 1e) takes its network from tinySNN's description of Srinivasan et al. 2017
(the baseline's inhibitory population); its rule and ``x_offset`` are *assumed*.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from .._base import DesignError
from ..layer_bits import expand_layer_bits
from ...keys import Key

NETWORKS = ("diehl-cook", "tinysnn", "sl-stdp")

KEYS: dict[str, Key] = {k.name: k for k in (
    Key("network", "str", "tinysnn",
        "diehl-cook: Diehl & Cook 2015 baseline (inhibitory population, pair STDP every step); "
        "tinysnn: direct lateral inhibition, timestep-based updates with adaptive potentiation; "
        "sl-stdp: Srinivasan et al. 2017 as tinySNN compares it (the baseline's inhibitory population, "
        "weights updated only on a postsynaptic spike, soft-bounded; rule assumed, docs/engines.md 1e)",
        options=NETWORKS),
    Key("n_neurons", "int", 100, "excitatory neurons (the baseline has as many inhibitory ones)",
        low=1, high=100_000),
    Key("inhibition", "float", 17.5,
        "lateral inhibition strength in mV: Ai->Ae weight (diehl-cook) or w_inh (tinysnn)",
        low=0.0, high=1e4),
    Key("update_interval", "int", 50,
        "tinysnn: steps between weight updates T_u (Eq. 2); diehl-cook updates every step",
        low=1, high=100_000),
)}

TRAIN_KEYS: dict[str, Key] = {k.name: k for k in (
    # [P] defaults for small data sets; see README "STDP engine" for the reasoning.
    Key("input_rate", "float", 128.0, "Poisson rate in Hz of a pixel of value 1 (BindsNET intensity)",
        low=1e-3, high=1000.0),
    Key("norm", "float", 10.0,
        "sum of the input weights of each excitatory neuron after every sample (78.4 on MNIST)",
        low=1e-3, high=1e6),
    Key("theta_plus", "float", 0.05, "adaptive-threshold increment per spike in mV (BindsNET's)",
        low=0.0, high=100.0),
    Key("nu_pre", "float", 1e-4, "diehl-cook: depression rate on a presynaptic spike", low=0.0, high=1.0),
    Key("nu_post", "float", 1e-2, "diehl-cook, sl-stdp: learning rate on a postsynaptic spike",
        low=0.0, high=1.0),
    Key("x_offset", "float", 0.4, "sl-stdp: input trace above which a postsynaptic spike potentiates "
        "a synapse, below which it depresses it (assumed)", low=0.0, high=1.0),
    Key("eta", "float", 3e-2, "tinysnn: learning rate of Eq. 2 (1e-2 in docs/engines.md for MNIST)",
        low=0.0, high=1.0),
    Key("s_th", "float", 10.0, "tinysnn: spike-count normaliser S_th of Eq. 1", low=1e-6, high=1e6),
)}


def check(design) -> None:
    """A presentation needs two steps (inputs reach the neurons one step late); tinySNN
    updates its weights every ``update_interval`` steps of a presentation, so an
    interval longer than the presentation would never update them."""
    if design.timesteps < 2:
        raise DesignError(("timesteps",), f"timesteps = {design.timesteps}: a presentation needs at least "
                                          f"2 steps (inputs reach the neurons one step late)")
    if design.network == "tinysnn" and design.update_interval > design.timesteps:
        raise DesignError(("update_interval", "timesteps"),
                          f"update_interval = {design.update_interval} exceeds timesteps = {design.timesteps}: "
                          f"tinySNN would never update its weights; use update_interval <= timesteps")


WEIGHT_LAYERS = {"diehl-cook": ("x_ae", "inh", "inh_exc"), "tinysnn": ("x_ae", "lateral"),
                 "sl-stdp": ("x_ae", "inh", "inh_exc")}
"""The Profile layers holding weights, per network, in ``weight_bits_l{i}`` order: the
plastic input weights, then the stored inhibitory connections (constants at their precision)."""


def expand(design, pick: Callable[[str, Any], Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """``layer_bits = true``: one ``weight_bits_l{i}`` per layer of :data:`WEIGHT_LAYERS`."""
    return expand_layer_bits(design, len(WEIGHT_LAYERS[design.network]), pick, params)
