"""Seconds per trial of a supernet study as it grows (issue 17): the one-shot economy needs them flat.

Trains the LitE-SNN digits space's supernet for ``--supernet-seconds``, then runs ``--trials``
inherited trials in one study and prints, for each block of ``--block`` trials (by number,
reused ones included), the mean seconds per trial from Optuna's start times: one JSON line
each, then ``{"name": "growth", "value": R}``, the last block's rate over the first full one's.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import replace
from pathlib import Path

import torch

from dse.data import load_dataset
from dse.spec import load_spec
from dse.store import Store
from dse.study import quiet_optuna, run_study
from dse.study.oneshot import ensure_supernet

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default=str(ROOT / "studies" / "litesnn_digits.toml"))
    parser.add_argument("--trials", type=int, default=2500, help="inherited designs to evaluate")
    parser.add_argument("--block", type=int, default=100)
    parser.add_argument("--supernet-seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    quiet_optuna()
    base = load_spec(args.spec)
    url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='oneshot-scale-')) / 'scale.db'}"
    spec = replace(base, name="scale", n_trials=args.trials, search="supernet", supernet_epochs=100_000)
    ensure_supernet(spec, load_dataset(base.dataset), url, seconds=args.supernet_seconds)
    run_study(spec, storage=url, show_progress=False)
    starts = [t.datetime_start for t in Store(url).load_study(spec.name).get_trials(deepcopy=False)]
    rates = [(starts[k + args.block] - starts[k]).total_seconds() / args.block
             for k in range(0, len(starts) - args.block, args.block)]
    for k, rate in enumerate(rates):
        print(json.dumps({"name": "seconds_per_trial", "from_trial": k * args.block, "value": round(rate, 4)}))
    print(json.dumps({"name": "growth", "value": round(rates[-1] / rates[0], 3) if rates else None}))


if __name__ == "__main__":
    main()
