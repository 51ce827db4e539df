"""Rows out: a table, CSV, JSON or Parquet, on stdout or into a file.

JSON is lossless: every float is written by Python's ``repr`` (``6.26e-10`` stays
``6.26e-10``; pandas' ``to_json`` rounds to 10 significant digits), and a missing
or non-finite value is ``null``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from .errors import UserError

FORMATS = ("table", "csv", "json", "parquet")


def plain(value: Any) -> Any:
    """A cell as a JSON value: Python numbers, lists and text; None for NaN, infinities and NA."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (list, tuple, dict)):
        value = value.item()  # numpy scalars
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (bool, int, str)):
        return value
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def to_json(frame) -> str:
    """A JSON array, one record a line; written by the C encoder (``indent`` would select the
    pure-Python one, eight times slower), floats by ``repr``."""
    columns = [str(c) for c in frame.columns]
    cells = [_plain_column(frame.iloc[:, i]) for i in range(len(columns))]
    dumps = json.JSONEncoder(allow_nan=False, separators=(", ", ": ")).encode
    lines = (dumps(dict(zip(columns, row))) for row in zip(*cells))
    return "[\n" + ",\n".join(lines) + "\n]" if len(frame) else "[]"


def _plain_column(column) -> list:
    """:func:`plain` over a column, at list speed where the column holds floats, integers or booleans."""
    kind = column.dtype.kind
    if kind in "iub":
        return column.tolist()
    if kind == "f":
        return [v if math.isfinite(v) else None for v in column.tolist()]
    return [plain(v) for v in column.tolist()]


def render(frame, fmt: str) -> str:
    import pandas as pd

    if fmt == "csv":
        return frame.to_csv(index=False)
    if fmt == "json":
        return to_json(frame) + "\n"
    if not len(frame):
        return "(no rows)\n"
    if len(frame) > 200:  # pandas' formatter takes about a second per 5,000 rows of 45 columns
        return fast_table(frame)
    with pd.option_context("display.max_columns", None, "display.width", 250, "display.max_colwidth", 40):
        return frame.to_string(index=False) + "\n"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "NaN" if value != value else format(value, ".6g")
    text = "NaN" if value is None else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def fast_table(frame) -> str:
    """Right-aligned columns, floats to 6 significant digits, cells cut at 40 characters."""
    columns = [[str(frame.columns[i])] + _table_column(frame.iloc[:, i]) for i in range(frame.shape[1])]
    widths = [max(map(len, col)) for col in columns]
    lines = (" ".join(col[i].rjust(w) for col, w in zip(columns, widths)) for i in range(len(frame) + 1))
    return "\n".join(lines) + "\n"


def _table_column(column) -> list[str]:
    kind = column.dtype.kind
    if kind in "iub":
        return [str(v) for v in column.tolist()]
    if kind == "f":
        return ["NaN" if v != v else format(v, ".6g") for v in column.tolist()]
    return [_cell(plain_cell(v)) for v in column.tolist()]


def plain_cell(value: Any) -> Any:
    return value.item() if hasattr(value, "item") and not isinstance(value, (list, tuple, dict, str)) else value


def check(fmt: str, path: str | None) -> None:
    """Before anything is read: Parquet is binary and goes into a file only."""
    if fmt not in FORMATS:
        raise UserError(f"--format {fmt}: expected one of {', '.join(FORMATS)}")
    if fmt == "parquet" and not path:
        raise UserError("--format parquet: binary output needs a file: add -o FILE.parquet")


def write(frame, fmt: str, path: str | None = None, echo=None) -> None:
    """Write the rows to `path`, or to stdout through `echo` (``click.echo``)."""
    check(fmt, path)
    if fmt == "parquet":
        _parquet(frame, path)
        return
    text = render(frame, fmt)
    if path:
        Path(path).write_text(text)
    else:
        echo(text, nl=False)


def _parquet(frame, path: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise UserError(f"--format parquet: a column mixes types Parquet cannot hold ({exc}); "
                        f"pick columns with --columns or use --format json") from None
    pq.write_table(table, path)
