"""Score a stored profile from the command line, without torch or the explorer.

    python -m hwmodels PROFILE.json [--models memory gpu] [--gpu-targets rtx2080ti]
                       [--option sparse_format=csr] [--json]

PROFILE.json holds one ``Profile.to_dict()``. Prints every metric of the chosen
models (all when --models is not given) with its value, unit and model. Bad
input (a missing file, invalid JSON, an inconsistent profile, an unknown model,
option or GPU target) prints one line and exits 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any, NoReturn

from . import Profile, available, evaluate, parse_options, units

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"error: {message} (see python -m hwmodels --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m hwmodels", description=__doc__.split("\n\n")[0])
    parser.add_argument("profile", metavar="PROFILE.json", help="a hwmodels.Profile as JSON (Profile.to_dict())")
    parser.add_argument("--models", nargs="+", metavar="MODEL",
                        help="cost models to run, space- or comma-separated (default: all)")
    parser.add_argument("--gpu-targets", nargs="+", metavar="TARGET",
                        help="GPU boards of the gpu model, space- or comma-separated (default: all)")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help="another cost-model option, value in JSON or a bare string (repeatable)")
    parser.add_argument("--json", action="store_true",
                        help="print {metric: {value, unit, model}} as JSON instead of a table")
    return parser


def _names(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def _options(args: argparse.Namespace) -> dict[str, Any]:
    options = parse_options(args.option)
    if args.gpu_targets is not None:
        options["gpu_targets"] = _names(args.gpu_targets)
    return options


def _load(path: str) -> Profile:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object (Profile.to_dict()), got {type(data).__name__}")
    try:
        return Profile.from_dict(data)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from None


def _format(value: float) -> str:
    return f"{value:.6g}"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        options = _options(args)
        profile = _load(args.profile)
        models = _names(args.models)
        if models == []:
            raise ValueError(f"--models: name at least one model; available: {', '.join(available())}")
        metrics = evaluate(profile, models, **options)
        meta = units(models, **options)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.json:
        print(json.dumps({m: {"value": v if math.isfinite(v) else None, "unit": meta[m][1], "model": meta[m][0]}
                          for m, v in metrics.items()}, indent=2))
        return 0
    rows = [(m, _format(v), meta[m][1], meta[m][0]) for m, v in metrics.items()]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for metric, value, unit, model in rows:
        print(f"{metric:<{widths[0]}}  {value:>{widths[1]}}  {unit:<{widths[2]}}  {model}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
