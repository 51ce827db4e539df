"""``dse export --format nir --unit-r``: the same network for NIR clients that take a LIF's R as 1.

NIR's LIF is ``tau dv/dt = (v_leak - v) + R I``. The engine's discrete LIF, ``v <- beta v + I``,
is exported exactly as ``tau = dt / (1 - beta)`` with ``R = tau / dt`` (:mod:`.nir`); snnTorch's
importer honours R. Norse 1.1's ``from_nir`` does not: it warns that R should be 1 and integrates
``(1 - beta) I``, so about one prediction in seven changes on digits. For such a client the
factor moves into the weights: every Affine, Linear or Conv2d node that feeds only LIF nodes of
one R is scaled by it (weights and bias) and R becomes 1, the same dynamical system in NIR's own
semantics. The weights then leave the quantisation grid (scaled by R), so the graph's metadata
says ``unit_r = 1`` and keeps ``weight_bits``.

Written here because neither nir nor nirtorch rescales a graph.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import UserError

SCALABLE = ("Affine", "Linear", "Conv2d")


def unit_r(graph: Any) -> Any:
    """`graph` with every LIF's R folded into the weights that feed it (in place); returned."""
    lifs = {name: _r(name, node) for name, node in graph.nodes.items() if type(node).__name__ == "LIF"}
    for source, r in _factors(graph, lifs).items():
        node = graph.nodes[source]
        node.weight = (np.asarray(node.weight) * r).astype(np.asarray(node.weight).dtype)
        if getattr(node, "bias", None) is not None:
            node.bias = (np.asarray(node.bias) * r).astype(np.asarray(node.bias).dtype)
    for name in lifs:
        graph.nodes[name].r = np.ones_like(np.asarray(graph.nodes[name].r))
    graph.metadata = {**(graph.metadata or {}), "unit_r": 1}
    return graph


def _factors(graph: Any, lifs: dict[str, float]) -> dict[str, float]:
    """``{node: R}`` for each node feeding LIF nodes whose R is not 1; refused where it cannot be scaled."""
    factor: dict[str, float] = {}
    for name, r in lifs.items():
        for source in (s for s, d in graph.edges if d == name and r != 1.0):
            node = graph.nodes[source]
            targets = [d for s, d in graph.edges if s == source]
            if type(node).__name__ not in SCALABLE or any(lifs.get(t) != r for t in targets):
                raise UserError(f"--unit-r: node {source!r} feeds LIF {name!r} (R = {r:g}) but is no Affine, "
                                f"Linear or Conv2d feeding only LIF nodes of that R; export without --unit-r")
            factor[source] = r
    return factor


def _r(name: str, node: Any) -> float:
    values = np.unique(np.asarray(node.r))
    if values.size != 1:
        raise UserError(f"--unit-r: LIF node {name!r} has an R that varies by neuron; export without --unit-r")
    return float(values[0])
