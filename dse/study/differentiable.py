"""LitE-SNN's differentiable search as a study (``[study] search = "differentiable"``).

Written by hand: the glue between the spec's ``[space]`` and :mod:`dse.engines.surrogate.darts`.
The search runs once (``[study] supernet_epochs`` epochs, loss weights ``search_lambda`` and
``search_mu``), its decoded design is enqueued as the study's trial with the attribute
``dse_derived`` (the search's settings and seconds), and that trial trains it standalone like
any other. A continued study whose decoded design is stored searches nothing again.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .. import engines
from ..data import Dataset
from ..design import make_design
from ..engines import DataShape, Design
from ..errors import UserError
from ..spec import StudySpec
from ..store import Store
from ..store import names as n
from ..store.names import encode
from .oneshot import ENGINE, supernet_epochs
from .scoring import budget

if TYPE_CHECKING:
    import optuna

    from .objective import Objective

RATES = 5
"""Pruning rates searched over a continuous ``pruning`` range: this many, evenly spaced."""


def _values(spec: StudySpec, key: str) -> list[Any]:
    params = {p.name: p for p in spec.params_for(ENGINE)}
    if key not in params:
        return [engines.get(ENGINE).all_keys[key].default]
    param = params[key]
    if key == "pruning" and not param.discrete:
        return [param.low + i * (param.high - param.low) / (RATES - 1) for i in range(RATES)]
    if not param.discrete:
        raise UserError(f"{spec.path}: [space].{key}: a differentiable search needs discrete values, "
                        f"got a continuous range")
    return param.values()


def template(spec: StudySpec) -> Design:
    """The network searched: the space's largest cells, nodes and channels, its stem at io_bits."""
    cells = max(_values(spec, "cells"))
    if not cells:
        raise UserError(f"{spec.path}: [space].cells: a differentiable search needs a cell network (cells >= 1)")
    fixed = {p.name: p.values()[0] if p.discrete else p.low for p in spec.params_for(ENGINE)
             if p.name not in ("ops", "cell_bits", "weight_bits", "pruning", "timesteps")}
    io_bits = max(_values(spec, "io_bits")) or max(_values(spec, "weight_bits"))
    return make_design(ENGINE, {**fixed, "cells": cells, "nodes": max(_values(spec, "nodes")),
                                "channels": max(_values(spec, "channels")), "ops": _values(spec, "ops")[0],
                                "cell_bits": False, "weight_bits": io_bits, "timesteps": max(_values(spec, "timesteps"))})


def choices(spec: StudySpec):
    from ..engines.surrogate.darts import Choices

    return Choices(tuple(_values(spec, "ops")), tuple(_values(spec, "weight_bits")),
                   tuple(float(r) for r in _values(spec, "pruning")), tuple(_values(spec, "timesteps")))


def run_search(spec: StudySpec, data: Dataset, *, device: str = "cpu", progress=None, interrupt=None,
               seconds: float | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(decoded keys, what the search did) after the two-step search of the spec's space."""
    import torch

    from ..engines.surrogate.darts import MixedSNN, search
    from ..engines.surrogate.supernet import Supernet

    torch.manual_seed(spec.seed)
    base = template(spec)
    ops = [op for op in _values(spec, "ops") if op != "zero"]
    net = Supernet(DataShape(data.shape, data.n_classes),
                   [replace(base, ops=(op,) * (base.cells * base.nodes * 2)) for op in ops])
    mixed = MixedSNN(net, base, choices(spec))
    epochs = supernet_epochs(spec)
    if progress is not None:
        progress.start_phase("differentiable search", epochs)
    started = time.perf_counter()
    with interrupt.training() if interrupt is not None else nullcontext():
        iterations = search(mixed, data, budget(spec, device=device, seed=spec.seed), epochs, spec.search_lambda,
                            spec.search_mu, progress.epoch if progress is not None else None,
                            started + seconds if seconds is not None else None)
    derived = {"epochs": epochs, "iterations": iterations, "lambda": spec.search_lambda, "mu": spec.search_mu,
               "seconds": time.perf_counter() - started,
               "alpha": mixed.alpha.detach().softmax(1).tolist(), "tau": mixed.tau.detach().softmax(0).tolist()}
    return {**mixed.decode(), "cells": base.cells, "nodes": base.nodes, "channels": base.channels}, derived


def params(spec: StudySpec, decoded: dict[str, Any]) -> dict[str, Any]:
    """The Optuna parameters of the decoded design (what the study's trial suggests)."""
    out: dict[str, Any] = {}
    space = {p.name: p for p in spec.params_for(ENGINE)}
    cells, nodes = decoded["cells"], decoded["nodes"]
    for key in ("cells", "nodes", "channels", "pruning", "timesteps"):
        if key in space:
            out[key] = decoded[key]
    ops = iter(decoded["ops"])
    for k in range(cells):
        for i in range(nodes):
            for e in (0, 1):
                out[f"op_c{k}_n{i}_e{e}"] = next(ops)
    if "cell_bits" in space:
        out["cell_bits"] = True
        out.update({f"weight_bits_c{k}": b for k, b in enumerate(decoded["cell_bits"])})
    for key, param in space.items():  # every other searched key at its first value
        if key not in out and key not in ("ops", "weight_bits"):
            out[key] = encode(param.values()[0] if param.discrete else param.low)
    return out


def enqueue_decoded(spec: StudySpec, data: Dataset, store: Store, study: "optuna.Study",
                    objective: "Objective") -> int:
    """Search and enqueue the decoded design, unless a trial already holds it; returns trials to run."""
    if any(t.user_attrs.get(n.DERIVED_ATTR) for t in study.get_trials(deepcopy=False)
           if t.state.name in ("COMPLETE", "WAITING")):
        waiting = [t for t in study.get_trials(deepcopy=False) if t.state.name == "WAITING"]
        return len(waiting)
    decoded, derived = run_search(spec, data, device=objective.device, progress=objective.progress,
                                  interrupt=objective.interrupt)
    study.enqueue_trial(params(spec, decoded), user_attrs={n.DERIVED_ATTR: derived})
    return 1
