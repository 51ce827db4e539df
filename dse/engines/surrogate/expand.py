"""Per-item parameters of a cell network: one operation per edge, bits per cell.

Contract 4: with ``ops`` in [space], "each edge of each cell becomes its own
parameter" (``op_c{cell}_n{node}_e{edge}``, choices = the spec's candidate
operations); with ``cell_bits = true``, each cell takes its own weight bits
(``weight_bits_c{cell}``, the distribution of the spec's ``weight_bits``):
LitE-SNN's mixed precision. The stem and the readout then take ``io_bits``
(LitE-SNN keeps them at 4 bits) or, where it is 0, one more draw of
``weight_bits``; ``Design.weight_bits`` is always their precision. A design
without cell_bits draws ``weight_bits`` once for every layer. A dense design
with ``layer_bits = true`` takes its bits per layer (``weight_bits_l{i}``: each
hidden layer, then the readout; :mod:`dse.engines.layer_bits`); a cell network
keeps ``layer_bits`` as given, which :func:`check` refuses (it has cell_bits).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Mapping

from .._base import DesignError
from ..layer_bits import expand_layer_bits
from .shapes import CELL_OPS

if TYPE_CHECKING:
    from .._base import Design
    from ...param import Param


def expand(design: "Design", pick: Callable[[str, "Param"], Any],
           params: Mapping[str, "Param"]) -> dict[str, Any]:
    if not design.cells:
        return {"ops": None, "cell_bits": None, **expand_layer_bits(design, len(design.hidden) + 1, pick, params)}
    cell_bits = _cell_bits(design, pick, params)
    weight_bits = design.io_bits if cell_bits is not None and design.io_bits else \
        pick("weight_bits", params["weight_bits"])
    layer_bits = design.layer_bits if isinstance(design.layer_bits, tuple) else \
        pick("layer_bits", params["layer_bits"])
    return {"ops": _ops(design, pick, params), "cell_bits": cell_bits, "weight_bits": weight_bits,
            "layer_bits": layer_bits or None}


def check(design: "Design") -> None:
    """Per-layer bits are for dense stacks; a cell network has ``cell_bits`` (and ``io_bits``)."""
    if design.cells and design.layer_bits:
        raise DesignError(("layer_bits", "cells"), "layer_bits applies to a dense stack (cells = 0); "
                                                   "a cell network takes its bits per cell: use cell_bits")


def _ops(design: "Design", pick: Callable[[str, "Param"], Any], params: Mapping[str, "Param"]) -> tuple[str, ...]:
    """The operation of every edge: given per edge, or one parameter each."""
    edges = design.cells * design.nodes * 2
    if isinstance(design.ops, tuple):
        ops = design.ops
    else:
        ops = tuple(pick(f"op_c{k}_n{i}_e{e}", params["ops"])
                    for k in range(design.cells) for i in range(design.nodes) for e in (0, 1))
    if len(ops) != edges or any(op not in CELL_OPS for op in ops):
        raise ValueError(f"ops: expected {edges} operations among {', '.join(CELL_OPS)} "
                         f"({design.cells} cells x {design.nodes} nodes x 2 edges), got {list(ops)}")
    return ops


def _cell_bits(design: "Design", pick: Callable[[str, "Param"], Any],
               params: Mapping[str, "Param"]) -> tuple[int, ...] | None:
    """Weight bits of every cell (mixed precision), or None for one precision throughout."""
    if isinstance(design.cell_bits, tuple):  # given per cell
        cell_bits = design.cell_bits
    elif pick("cell_bits", params["cell_bits"]):
        cell_bits = tuple(pick(f"weight_bits_c{k}", params["weight_bits"]) for k in range(design.cells))
    else:
        return None
    if len(cell_bits) != design.cells or not all(isinstance(b, int) and 1 <= b <= 32 for b in cell_bits):
        raise ValueError(f"cell_bits: expected {design.cells} integers 1..32, got {list(cell_bits)}")
    return cell_bits
