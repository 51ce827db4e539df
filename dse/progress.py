"""Progress on stderr: a bar over trained designs and one over the running trial's epochs
on a terminal; one line per finished trial elsewhere (logs, CI). Both say how many
designs were trained, rejected before training, reused and failed."""

from __future__ import annotations

import sys

import optuna
from optuna.trial import TrialState
from tqdm.auto import tqdm

from .store import names as n

SHOWN = ("rejected", "reused", "pruned", "failed")


def short(value: float) -> str:
    return f"{value:.3f}" if 1e-3 <= abs(value) < 10 or value == 0 else f"{value:.3g}"


class Progress:
    def __init__(self, total: int, counts: dict[str, int] | None = None, enabled: bool = True,
                 objectives: tuple[tuple[str, str], ...] = ()) -> None:
        self.enabled = enabled
        self.bars = enabled and sys.stderr.isatty()
        self.total = total
        self.counts = dict(counts or {})
        self.objectives = [m for m, _ in objectives]
        self.trials = tqdm(total=total, initial=min(total, self.trained), desc="trained", unit="design",
                           file=sys.stderr, disable=not self.bars, dynamic_ncols=True, position=0)
        self.epochs: tqdm | None = None
        self.phase: tuple[str, int] | None = None

    @property
    def trained(self) -> int:
        return self.counts.get("trained", 0)

    def tally(self) -> str:
        others = ", ".join(f"{self.counts.get(k, 0)} {k}" for k in SHOWN if self.counts.get(k, 0))
        return f"trained {self.trained}/{self.total}" + (f"; {others}" if others else "")

    def start_trial(self, number: int, epochs: int) -> None:
        self._close_epochs()
        if self.bars:
            self.epochs = tqdm(total=epochs, desc=f"  trial {number}", unit="epoch", file=sys.stderr,
                               leave=False, dynamic_ncols=True, position=1)

    def start_phase(self, label: str, epochs: int, done: int = 0) -> None:
        """Epochs of work that is no trial (a supernet's training): a bar, or one line per epoch."""
        self._close_epochs()
        self.phase = (label, epochs) if self.enabled and not self.bars else None
        if self.bars:
            self.epochs = tqdm(total=epochs, initial=done, desc=f"  {label}", unit="epoch", file=sys.stderr,
                               leave=False, dynamic_ncols=True, position=1)

    def epoch(self, step: int, accuracy: float) -> None:
        if self.epochs is not None:
            self.epochs.set_postfix_str(f"val acc {accuracy:.3f}", refresh=False)
            self.epochs.update(1)
        elif self.phase:
            label, total = self.phase
            print(f"{label}: epoch {step + 1}/{total}, val acc {accuracy:.3f}", file=sys.stderr, flush=True)

    def summary(self, trial: optuna.trial.FrozenTrial) -> str:
        status = trial.user_attrs.get(n.STATUS_ATTR) or trial.state.name.lower()
        if status == "trained" and trial.values:
            return "trained: " + ", ".join(f"{m} {short(v)}" for m, v in zip(self.objectives, trial.values))
        if status == "reused":
            return f"reused: the design of trial {trial.user_attrs.get(n.REUSED_ATTR)}"
        reason = next((str(trial.user_attrs[k]) for k in (n.FAIL_ATTR, n.REJECTED_ATTR, n.PRUNED_ATTR)
                       if trial.user_attrs.get(k)), "")
        return f"{'failed' if trial.state == TrialState.FAIL else status}{': ' + reason if reason else ''}"

    def trial_done(self, trial: optuna.trial.FrozenTrial, counts: dict[str, int]) -> None:
        self._close_epochs()
        grown = min(self.total, counts.get("trained", 0)) - min(self.total, self.trained)
        self.counts = dict(counts)
        if self.bars:
            self.trials.set_postfix_str(f"{self.tally()} | #{trial.number}: {self.summary(trial)}", refresh=False)
            self.trials.update(max(0, grown))
        elif self.enabled:
            seconds = trial.duration.total_seconds() if trial.duration else 0.0
            print(f"trial {trial.number} [{self.tally()}] {self.summary(trial)} ({seconds:.1f} s)",
                  file=sys.stderr, flush=True)

    def overall(self, counts: dict[str, int]) -> None:
        """Counts of the whole study, from the storage (several workers): show them if they changed."""
        if counts == self.counts:
            return
        grown = min(self.total, counts.get("trained", 0)) - min(self.total, self.trained)
        self.counts = dict(counts)
        if self.bars:
            self.trials.set_postfix_str(self.tally(), refresh=False)
            self.trials.update(max(0, grown))
        elif self.enabled:
            print(self.tally(), file=sys.stderr, flush=True)

    def _close_epochs(self) -> None:
        self.phase = None
        if self.epochs is not None:
            self.epochs.close()
            self.epochs = None

    def close(self) -> None:
        self._close_epochs()
        self.trials.close()
