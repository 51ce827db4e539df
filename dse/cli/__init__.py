"""The ``dse`` command line (Contract 6): one module per group of commands, registered here.

Data goes to stdout, progress and messages to stderr. Exit codes: 0 success,
2 bad input (one line naming the file/option, what was wrong and what would be
valid), 1 failure; ``--debug`` shows the traceback, 130 after Ctrl-C.
"""

from __future__ import annotations

import sys

import click

from ..errors import UserError
from . import evaluate, export, models, read, retrain, run  # noqa: F401: each registers its commands on the group
from ._common import cli

__all__ = ["cli", "main"]


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        cli.main(args=args, prog_name="dse", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("interrupted", err=True)
        sys.exit(130)
    except UserError as exc:
        if debug:
            raise
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001: the one place that turns failures into exit 1
        if debug:
            raise
        click.echo(f"error: {exc.__class__.__name__}: {exc} (run with --debug for the traceback)", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
