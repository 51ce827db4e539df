"""One-shot search (``[study] search = "supernet"``): train a supernet once, then let trials inherit it.

Written by hand: the study-side glue between the spec's ``[space]``, the stored
supernet and the torch code of :mod:`dse.engines.surrogate.supernet` and
:mod:`dse.engines.surrogate.oneshot` (imported only when a study runs).

- :func:`sampler` draws designs of the space uniformly, :func:`prototypes` lists
  designs spanning every weight shape of it (every combination of the shape keys
  with every operation), from which the supernet's shared tensors are sized.
- :func:`ensure_supernet` loads the study's supernet, or trains it (continuing a
  checkpoint after Ctrl-C), showing progress like a trial's epochs. It is stored in
  a file named for the study beside the SQLite database,
  ``<db>.supernets/<study>.pt`` (``supernets/<study>.pt`` in the working directory
  for a server database), written after every epoch by an atomic rename; the
  study attribute ``dse_supernet`` records its file, SHA-256, epochs and steps, so a
  continued study reuses it rather than retraining. The checkpoint holds the
  weights and the epoch reached; the optimiser's moments restart on a resume. Workers of
  one study (``--workers``) take an fcntl lock on the file's ``.lock`` beside it: the first
  trains, the others wait and load what it stored.
- :func:`inherit` is a trial's evaluation: the design with the supernet's weights,
  measured like a trained one, plus the lineage attribute ``dse_inherited``.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import os
import random
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from .. import engines
from ..data import Dataset
from ..design import make_design
from ..engines import DataShape, Design, DesignError
from ..errors import UserError
from ..param import Param
from ..spec import StudySpec
from .scoring import budget

if TYPE_CHECKING:
    from ..engines import Budget, Report, TrialOutcome
    from ..interrupt import Interrupt
    from ..progress import Progress

ENGINE = "surrogate"
SHAPE_KEYS = ("hidden", "channels", "cells", "nodes")
"""The keys that change a network's weight shapes (the others change bits, masks or timesteps)."""


def draw(rng: random.Random, param: Param) -> Any:
    """One value of `param`, uniformly (log-uniformly for a log range)."""
    if param.choices is not None:
        return rng.choice(param.choices)
    if param.step is not None or (param.kind == "int" and not param.log):
        return rng.choice(param.values())
    if param.log:
        value = math.exp(rng.uniform(math.log(param.low), math.log(param.high)))
    else:
        value = rng.uniform(param.low, param.high)
    return min(int(param.high), max(int(param.low), round(value))) if param.kind == "int" else value


def sampler(spec: StudySpec) -> Callable[[random.Random], Design]:
    """``sample(rng)``: a design of the spec's space, every parameter drawn uniformly."""
    engine = engines.get(ENGINE)
    params = {p.name: p for p in spec.params_for(ENGINE)}

    def sample(rng: random.Random) -> Design:
        for _ in range(100):
            values = {name: draw(rng, p) for name, p in params.items() if name not in engine.expanded}
            design = make_design(ENGINE, values, lambda name, param: draw(rng, param), params)
            try:
                engine.validate(design)
            except DesignError:
                continue
            return design
        raise UserError(f"{spec.path}: [space]: 100 designs drawn in a row break the engine's rules")

    return sample


def prototypes(spec: StudySpec) -> list[Design]:
    """Designs spanning every weight shape of the space: each combination of the shape keys' values,
    with each candidate operation on every edge (an edge's shape does not depend on the other edges)."""
    keys = engines.get(ENGINE).all_keys
    params = {p.name: p for p in spec.params_for(ENGINE)}
    for key in SHAPE_KEYS:
        if key in params and not params[key].discrete:
            raise UserError(f"{spec.path}: [space].{key}: a supernet search needs discrete values "
                            f"(choices or an int range), got a continuous range")
    values = [params[k].values() if k in params else [keys[k].default] for k in SHAPE_KEYS]
    ops = params["ops"].values() if "ops" in params else [keys["ops"].default]
    designs = []
    for combo in itertools.product(*values):
        for op in ops:
            designs.append(make_design(ENGINE, {**dict(zip(SHAPE_KEYS, combo)), "ops": op, "cell_bits": False}))
    return designs


def supernet_path(url: str, study: str) -> Path:
    """``<db>.supernets/<study>.pt`` beside an SQLite database; ``supernets/<study>.pt`` otherwise."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        db = Path(parsed.database)
        return db.parent / f"{db.name}.supernets" / f"{study}.pt"
    return Path("supernets") / f"{study}.pt"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Stored:
    """A study's supernet in memory, and what its trials record of it."""

    net: Any  # dse.engines.surrogate.supernet.Supernet
    path: Path
    epochs: int
    steps: int
    seconds: float

    def lineage(self) -> dict[str, Any]:
        if not hasattr(self, "_sha"):
            self._sha = sha256(self.path)
        return {"supernet": self.path.name, "sha256": self._sha, "epochs": self.epochs, "steps": self.steps}


def supernet_epochs(spec: StudySpec) -> int:
    return spec.supernet_epochs or 4 * int(spec.train.get("epochs", engines.TRAIN_KEYS["epochs"].default))


def ensure_supernet(spec: StudySpec, data: Dataset, url: str, *, device: str = "cpu",
                    progress: "Progress | None" = None, interrupt: "Interrupt | None" = None,
                    seconds: float | None = None, path: Path | None = None) -> Stored:
    """The study's trained supernet: loaded where stored and finished, else trained (from its last
    checkpoint, if any). `seconds` bounds the training time (benchmarks); `path` overrides the file."""
    path = path or supernet_path(url, spec.name)
    with _locked(path):  # workers of one study: the first trains it, the others wait and load it
        return _ensure(spec, data, path, device, progress, interrupt, seconds)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.name}.lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _ensure(spec: StudySpec, data: Dataset, path: Path, device: str, progress: "Progress | None",
            interrupt: "Interrupt | None", seconds: float | None) -> Stored:
    import torch

    from ..engines.surrogate.oneshot import train_supernet
    from ..engines.surrogate.supernet import Supernet

    shape = DataShape(data.shape, data.n_classes)
    epochs = supernet_epochs(spec)
    saved = torch.load(path, weights_only=True) if path.exists() else None
    net = Supernet(shape, layout=saved["layout"]) if saved else Supernet(shape, prototypes(spec))
    start, steps, spent = 0, 0, 0.0
    if saved:
        net.load_state_dict(saved["state"])
        start, steps, spent = saved["epoch"], saved["steps"], saved["seconds"]
    if start < epochs and not (saved and saved.get("done")):
        plan = budget(spec, device=device, seed=spec.seed)
        began = time.perf_counter()

        def save(epoch: int, taken: int) -> None:
            _write(path, {"layout": net.layout, "state": {k: v.detach().cpu() for k, v in net.state_dict().items()},
                          "epoch": epoch, "steps": steps + taken, "seconds": spent + time.perf_counter() - began,
                          "done": epoch >= epochs or (seconds is not None and time.perf_counter() - began > seconds)})

        if progress is not None:
            progress.start_phase("supernet", epochs, start)
        deadline = began + seconds if seconds is not None else None
        with interrupt.training() if interrupt is not None else nullcontext():
            train_supernet(net, sampler(spec), data, plan, epochs, start_epoch=start,
                           report=progress.epoch if progress is not None else None, save=save, deadline=deadline)
        saved = torch.load(path, weights_only=True)
    net.cpu().eval()
    return Stored(net, path, saved["epoch"] if saved else epochs, saved["steps"] if saved else 0,
                  saved["seconds"] if saved else 0.0)


def _write(path: Path, content: dict) -> None:
    """Write a checkpoint whole or not at all (a rename), so Ctrl-C never leaves half a file."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    torch.save(content, partial)
    os.replace(partial, path)


def inherit(stored: Stored, design: Design, data: Dataset, plan: "Budget", report: "Report",
            finetune_steps: int = 0) -> tuple["TrialOutcome", dict[str, Any]]:
    """A trial's outcome with the supernet's weights, and its ``dse_inherited`` attribute."""
    from ..engines.surrogate.oneshot import run_inherited

    outcome = run_inherited(stored.net, design, data, plan, report, finetune_steps)
    norms = any(pop.norm for pop in stored.net.plan(design).populations)
    lineage = {**stored.lineage(), "finetune_steps": finetune_steps, "recalibrated": norms}
    return outcome, lineage
