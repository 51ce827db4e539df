"""Non-dominated sorting: which points no other point dominates.

Written here because Optuna exposes only the full-dimensional front of
completed trials publicly (``study.best_trials``), while a report needs the
front of every pair of objectives and of every design point (variants
included). Two objectives take one sort, O(n log n); more are compared in
blocks of rows, so memory stays O(block x n) however many points there are.
Beside it: the hypervolume of a front, and K points spread evenly over one (``spread``, what
``dse retrain --spread`` trains).
"""

from __future__ import annotations

import numpy as np

BLOCK = 256
"""Rows compared against all others at once (for three or more objectives)."""


def signs(directions: list[str]) -> np.ndarray:
    """-1 for an objective maximised, 1 for one minimised: values times these are all minimised."""
    return np.array([-1.0 if d == "maximize" else 1.0 for d in directions])


def nondominated(values: np.ndarray, directions: list[str]) -> np.ndarray:
    """Boolean mask of the rows no other row dominates (equal rows are all kept)."""
    values = np.asarray(values, dtype=float).reshape(len(values), len(directions))
    if len(values) == 0:
        return np.zeros(0, dtype=bool)
    v = values * signs(directions)  # everything minimised
    if v.shape[1] == 1:
        return v[:, 0] == v[:, 0].min()
    if v.shape[1] == 2:
        return _front_2d(v[:, 0], v[:, 1])
    return _front_blocks(v)


def _front_2d(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Sort by x then y; within equal x only the smallest y survives, and only where no
    smaller x reached a y as small."""
    order = np.lexsort((y, x))
    xs, ys = x[order], y[order]
    starts = np.r_[True, xs[1:] != xs[:-1]]
    group = np.cumsum(starts) - 1
    group_min = ys[starts]  # the first of each x-group has its smallest y
    before = np.r_[np.inf, np.minimum.accumulate(group_min)[:-1]]  # best y of strictly smaller x
    keep_sorted = (ys <= group_min[group]) & (before[group] > ys)
    keep = np.empty(len(x), dtype=bool)
    keep[order] = keep_sorted
    return keep


def _front_blocks(v: np.ndarray) -> np.ndarray:
    """Rows in order of their sum (a row's dominators all have a smaller sum), each block compared
    with the front found so far and with itself: O(n x front) instead of O(n^2)."""
    order = np.argsort(v.sum(1), kind="stable")
    keep = np.zeros(len(v), dtype=bool)
    front = np.zeros((0, v.shape[1]))
    for start in range(0, len(v), BLOCK):
        idx = order[start:start + BLOCK]
        rows = v[idx]
        against = np.vstack([front, rows])
        no_worse = (against[None, :, :] <= rows[:, None, :]).all(-1)  # [block, front + block]
        better = (against[None, :, :] < rows[:, None, :]).any(-1)
        survive = ~(no_worse & better).any(1)
        keep[idx] = survive
        front = np.vstack([front, rows[survive]])
    return keep


def hypervolume(values: np.ndarray, directions: list[str], reference: list[float]) -> float:
    """The volume dominated by the rows and bounded by `reference` (a point worse than every row
    on every objective counts; rows not better than the reference on all objectives add nothing).

    Exact: one objective is a length, two a staircase area, three or more a sum of slabs along
    the last objective, each the (d-1)-dimensional volume of the rows below it: O(n^(d-1) log n),
    plenty for the few hundred design points of a front.
    """
    flip = signs(directions)
    v = np.asarray(values, dtype=float).reshape(len(values), len(directions)) * flip
    ref = np.asarray(reference, dtype=float) * flip
    v = v[(v < ref).all(1)]
    if len(v) == 0:
        return 0.0
    return _volume(v[nondominated(v, ["minimize"] * v.shape[1])], ref)


def _volume(v: np.ndarray, ref: np.ndarray) -> float:
    if v.shape[1] == 1:
        return float(ref[0] - v[:, 0].min())
    if v.shape[1] == 2:
        order = np.argsort(v[:, 0])
        x, y = v[order, 0], np.minimum.accumulate(v[order, 1])
        widths = np.diff(np.r_[x, ref[0]])
        return float(np.sum(widths * (ref[1] - y)))
    order = np.argsort(v[:, -1])
    v = v[order]
    levels = np.r_[v[:, -1], ref[-1]]
    return float(sum((levels[i + 1] - levels[i]) * _volume(v[: i + 1, :-1], ref[:-1])
                     for i in range(len(v)) if levels[i + 1] > levels[i]))


def costs(directions: list[str], *values: np.ndarray) -> np.ndarray:
    """Which objectives are costs, compared by ratio rather than difference: minimised, every value positive."""
    seen = np.vstack([np.asarray(v, dtype=float).reshape(-1, len(directions)) for v in values])
    return np.array([d == "minimize" and bool((seen[:, j] > 0).all()) for j, d in enumerate(directions)])


def spread(values: np.ndarray, directions: list[str], k: int) -> list[int]:
    """Rows of `values` (a front), `k` of them spread over it (all rows if there are no more than `k`).

    Each objective is scaled to [0, 1] over the rows, a minimised one whose values are all positive (a
    cost) on the log scale, since costs span orders of magnitude and a design twice as cheap is as far
    from its neighbour at 1 kbit as at 1 Mbit. The first row is the best on the first objective; each
    next one is the row farthest (Euclidean, scaled) from those already chosen: Gonzalez's greedy
    k-centre, within a factor 2 of the most even spread.
    """
    v = np.asarray(values, dtype=float).reshape(len(values), len(directions))
    if len(v) <= k:
        return list(range(len(v)))
    logged = costs(directions, v)
    v = np.where(logged, np.log(np.where(logged, v, 1.0)), v) * signs(directions)
    v = (v - v.min(0)) / np.maximum(v.max(0) - v.min(0), 1e-12)
    chosen, row, distance = [], int(np.argmin(v[:, 0])), np.full(len(v), np.inf)
    while len(chosen) < k:
        chosen.append(row)
        distance = np.minimum(distance, np.linalg.norm(v - v[row], axis=1))
        row = int(np.argmax(distance))
    return chosen
