"""Per-item parameters of a cell network: one operation per edge, bits per cell.

Contract 4: with ``ops`` in [space], "each edge of each cell becomes its own
parameter" (``op_c{cell}_n{node}_e{edge}``, choices = the spec's candidate
operations); with ``cell_bits = true``, each cell takes its own weight bits
(``weight_bits_c{cell}``, the distribution of the spec's ``weight_bits``):
LitE-SNN's mixed precision. A dense design has neither.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Mapping

from .shapes import CELL_OPS

if TYPE_CHECKING:
    from ...space import Design
    from ...spec import Param


def expand(design: "Design", pick: Callable[[str, "Param"], Any],
           params: Mapping[str, "Param"]) -> dict[str, Any]:
    if not design.cells:
        return {"ops": None, "cell_bits": None}
    edges = design.cells * design.nodes * 2
    if isinstance(design.ops, tuple):  # given per edge
        ops = design.ops
    else:
        ops = tuple(pick(f"op_c{k}_n{i}_e{e}", params["ops"])
                    for k in range(design.cells) for i in range(design.nodes) for e in (0, 1))
    if len(ops) != edges or any(op not in CELL_OPS for op in ops):
        raise ValueError(f"ops: expected {edges} operations among {', '.join(CELL_OPS)} "
                         f"({design.cells} cells x {design.nodes} nodes x 2 edges), got {list(ops)}")
    if isinstance(design.cell_bits, tuple):  # given per cell
        cell_bits = design.cell_bits
    elif pick("cell_bits", params["cell_bits"]):
        bits = params.get("weight_bits")
        cell_bits = tuple(pick(f"weight_bits_c{k}", bits) if bits is not None else design.weight_bits
                          for k in range(design.cells))
    else:
        cell_bits = None
    if cell_bits is not None and (len(cell_bits) != design.cells or not all(
            isinstance(b, int) and 1 <= b <= 32 for b in cell_bits)):
        raise ValueError(f"cell_bits: expected {design.cells} integers 1..32, got {list(cell_bits)}")
    return {"ops": ops, "cell_bits": cell_bits}
