"""What every ``dse`` command shares: the group, ``--storage``, ``--format`` and writing rows."""

from __future__ import annotations

import re
from functools import wraps
from typing import Any, Callable

import click

from ..errors import UserError
from ..store.names import DEFAULT_URL

storage_option = click.option(
    "--storage", default=DEFAULT_URL, show_default=True, metavar="URL",
    help="SQLAlchemy URL of the trial database, e.g. postgresql+psycopg://user:pw@host/db.")


def output_options(command: Callable) -> Callable:
    """--format table|csv|json for every command that prints rows."""

    @click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
                  show_default=True, help="Output format on stdout.")
    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return command(*args, **kwargs)

    return wrapper


def emit(frame, fmt: str, path: str | None = None) -> None:
    """Rows to stdout (or `path`); JSON keeps every float exact (:mod:`dse.output`)."""
    from ..output import write

    write(frame, fmt, path, echo=click.echo)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks of errors.")
@click.version_option(package_name="snn-dse", prog_name="dse")
def cli(debug: bool) -> None:
    """snn-dse: hardware-cost-aware design-space exploration for spiking neural networks."""



def check_device(device: str) -> None:
    """--device: cpu, cuda, cuda:N or auto, and a CUDA device this machine has (torch imported only then)."""
    if not re.fullmatch(r"cpu|auto|cuda(:\d+)?", device):
        raise UserError(f"--device {device}: expected cpu, cuda, cuda:N (N = 0, 1, ...) or auto")
    if not device.startswith("cuda"):
        return
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if int(device.partition(":")[2] or 0) >= count:
        have = ", ".join(f"cuda:{i}" for i in range(count))
        raise UserError(f"--device {device}: no CUDA device: " + (f"this machine has {count} ({have}); use cpu, "
                        f"auto or one of those" if count else "torch finds none on this machine; use cpu or auto"))
