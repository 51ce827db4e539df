"""How well ``dse retrain --top`` picks, measured without luck: many inherited designs trained alone.

Reads a database written by ``benchmarks/oneshot.py --storage DIR``. Trains from scratch (the
spec's [train] budget, seed 10,000 + the trial's number) the inherited designs of the first
``--layers`` non-dominated layers of the one-shot study plus ``--random`` others, caching each
result in ``DIR/standalone.jsonl`` (a rerun trains only what is missing). Then, for ``--pools``
random pools of ``--share`` of those designs, it picks ``--designs`` designs one at a time, each
pick seeing only the retrained values of the designs picked before, and prints the mean
hypervolume of the picks' retrained values over that of the per-trial study's designs
(reference: accuracy 0, 1.1 x the worst cost of any point), for three ways of picking:

- ``picks_hv_ratio_expected``: :func:`dse.study.retrain_pick.pick` (what ``--top`` does);
- ``picks_hv_ratio_at_their_word``: inherited values taken as they are, each pick the design
  adding most to the hypervolume of the inherited values picked before (no twin learned from);
- ``picks_hv_ratio_known``: each pick the design adding most to the retrained values picked
  before, its retrained values known (the best any way of picking could do greedily).

JSON lines; the last is ``picks_hv_ratio_expected``.
"""

from __future__ import annotations

import argparse
import json
import math
import random
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from dse.pareto import hypervolume, nondominated
from dse.spec import load_spec
from dse.store import Store
from dse.study.retrain_pick import features, pick, summary

import search_common

ROOT = Path(__file__).resolve().parents[1]


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("storage", help="folder of a benchmarks/oneshot.py database")
    parser.add_argument("--spec", default=str(ROOT / "studies" / "litesnn_digits.toml"))
    parser.add_argument("--layers", type=int, default=4, help="non-dominated layers of inherited designs trained")
    parser.add_argument("--random", type=int, default=60, help="further inherited designs trained, drawn at random")
    parser.add_argument("--pools", type=int, default=8)
    parser.add_argument("--share", type=float, default=0.75, help="part of the trained designs in each pool")
    parser.add_argument("--designs", type=int, default=20, help="picks per pool")
    parser.add_argument("--workers", type=int, default=2, help="processes training designs (one torch thread each)")
    return parser.parse_args()


def emit(name: str, value: float) -> None:
    print(json.dumps({"name": name, "value": round(float(value), 4)}), flush=True)


def chosen(values: np.ndarray, directions: list[str], layers: int, extra: int) -> list[int]:
    """Rows of the first `layers` non-dominated layers, then `extra` of the others at random."""
    left, rows = list(range(len(values))), []
    for _ in range(layers):
        first = set(np.flatnonzero(nondominated(values[left], directions)).tolist())
        rows += [left[i] for i in first]
        left = [r for i, r in enumerate(left) if i not in first]
    return sorted(rows + random.Random(0).sample(left, min(extra, len(left))))


def train_alone(job: tuple[str, dict, int]) -> tuple[int, list[float]]:
    import torch

    from dse.data import load_dataset
    from dse.engines import get
    from dse.engines.surrogate import engine
    from dse.study.scoring import budget, score

    torch.set_num_threads(1)
    spec_path, design, number = job
    spec = load_spec(spec_path)
    data = load_dataset(spec.dataset)
    built = get("surrogate").design(**{k: tuple(v) if isinstance(v, list) else v for k, v in design.items()
                                       if k != "engine"})
    plan = budget(spec, seed=10_000 + number)
    outcome = engine.outcome(engine.fit(built, data, plan, lambda epoch, accuracy: None), built, data, plan)
    metrics = score(spec, outcome.profile, {})
    return number, [metrics[m] for m in spec.metric_names]


def standalone(args: argparse.Namespace, trials: dict, numbers: list[int]) -> dict[int, np.ndarray]:
    cache = Path(args.storage) / "standalone.jsonl"
    known = {}
    if cache.exists():
        for line in cache.read_text().splitlines():
            row = json.loads(line)
            known[row["trial"]] = np.array(row["values"])
    todo = [(args.spec, dict(trials[t].design), t) for t in numbers if t not in known]
    with cache.open("a") as out, ProcessPoolExecutor(args.workers) as pool:
        for done, (number, values) in enumerate(pool.map(train_alone, todo), 1):
            out.write(json.dumps({"trial": number, "values": values}) + "\n")
            out.flush()
            known[number] = np.array(values)
            if done % 50 == 0:
                print(f"trained {done}/{len(todo)}", flush=True)
    return {t: known[t] for t in numbers}


def simulate(pool: list[int], inherited: dict, real: dict, x: dict, directions: list[str], reference: list[float],
             how: str, designs: int) -> float:
    picked: list[int] = []
    for _ in range(designs):
        left = [t for t in pool if t not in picked]
        if how == "expected":
            rows = features([x[t] for t in left] + [x[t] for t in picked])
            twins = np.array([inherited[t] for t in picked]).reshape(-1, len(directions))
            retrained = np.array([real[t] for t in picked]).reshape(-1, len(directions))
            best = pick(np.array([inherited[t] for t in left]), rows[:len(left)], twins, retrained,
                        rows[len(left):], directions)
        else:
            seen = inherited if how == "at_their_word" else real
            best = int(np.argmax([hypervolume(np.array([seen[u] for u in [*picked, t]]), directions, reference)
                                  for t in left]))
        picked.append(left[best])
    return hypervolume(np.array([real[t] for t in picked]), directions, reference)


def main() -> None:
    args = arguments()
    base = load_spec(args.spec)
    store = Store(f"sqlite:///{Path(args.storage) / 'oneshot.db'}")
    names, directions = base.metric_names, base.directions
    trials = {t.number: t for t in store.trials("oneshot-b")}
    points = {p.trial: np.array([p.metrics[m] for m in names]) for p in store.points("oneshot-b", variants=False)
              if p.status == "trained" and trials[p.trial].inherited
              and all(math.isfinite(p.metrics.get(m, math.nan)) for m in names)}
    numbers = sorted(points)
    values = np.array([points[t] for t in numbers])
    picked = [numbers[i] for i in chosen(values, directions, args.layers, args.random)]
    real = standalone(args, trials, picked)
    per_trial = np.array([[p.metrics[m] for m in names] for p in store.points("oneshot-a", variants=False)
                          if p.status == "trained"])
    everything = np.vstack([per_trial, values, *real.values()])
    reference = search_common.reference(everything, directions)
    hv_per_trial = hypervolume(per_trial, directions, reference)
    x = {t: summary(trials[t].design) for t in picked}
    pools = [sorted(random.Random(k).sample(picked, int(args.share * len(picked)))) for k in range(args.pools)]
    emit("designs_trained_alone", len(picked))
    emit("hv_per_trial", hv_per_trial)
    for how in ("known", "at_their_word", "expected"):
        ratios = [simulate(p, points, real, x, directions, reference, how, args.designs) / hv_per_trial for p in pools]
        emit(f"picks_hv_ratio_{how}_min", min(ratios))
        emit(f"picks_hv_ratio_{how}", float(np.mean(ratios)))


if __name__ == "__main__":
    main()
